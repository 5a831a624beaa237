import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { errorMessage, json } from '../api'

/** A production secret (GET /api/projects/{id}/deployment/secrets): never its value. */
interface ProductionSecret {
  name: string
  version: number
  updated_at: string
}

const base = (projectId: string) => `/api/projects/${encodeURIComponent(projectId)}/deployment/secrets`

const prodSecretsApi = {
  list: (projectId: string) => json<ProductionSecret[]>('GET', base(projectId)),
  put: (projectId: string, name: string, value: string) =>
    json<{ warning?: string }>('PUT', `${base(projectId)}/${encodeURIComponent(name)}`, { value }),
  remove: (projectId: string, name: string) => json<void>('DELETE', `${base(projectId)}/${encodeURIComponent(name)}`),
}

/** When a change reaches the app, by the deployment's kind ('' when not published). */
function appliesWhen(kind: string): string {
  switch (kind) {
    case 'server':
    case 'autoscale':
      return 'the live instances restart with it now (an asleep app gets it when it wakes)'
    case 'scheduled':
      return 'the next run uses it'
    default:
      return 'the next publish uses it'
  }
}

/**
 * Production secrets: values the deployment's builds and instances get
 * instead of the project's (development) secrets of the same name. A
 * change restarts the live instances with it (new ones first, then the
 * old ones drain), which the section shows.
 */
export function DeploySecrets({ projectId, canWrite, kind, restarting, restartedAt, restartError, restartFailedAt, onChanged }: {
  projectId: string
  canWrite: boolean
  kind: string
  restarting: boolean
  restartedAt?: string
  /** Why the last restart with changed secrets failed (the instances before it keep serving), and when. */
  restartError?: string
  restartFailedAt?: string
  onChanged: () => void
}) {
  const [items, setItems] = useState<ProductionSecret[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [note, setNote] = useState<string | null>(null)
  const [name, setName] = useState('')
  const [value, setValue] = useState('')
  const [busy, setBusy] = useState(false)

  const load = useCallback(async () => {
    try {
      setItems(await prodSecretsApi.list(projectId))
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [projectId])
  useEffect(() => {
    load()
  }, [load])

  const act = async (fn: () => Promise<string | undefined | void>) => {
    setBusy(true)
    setNote(null)
    try {
      const n = await fn()
      setError(null)
      if (n) setNote(n)
      await load()
      onChanged()
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }
  const save = (e: FormEvent) => {
    e.preventDefault()
    act(async () => {
      const r = await prodSecretsApi.put(projectId, name.trim(), value)
      setName('')
      setValue('')
      return r.warning || `Saved: ${appliesWhen(kind)}.`
    })
  }

  return (
    <section className="deploy-secrets" aria-label="Production secrets">
      <h3>Production secrets</h3>
      <p className="muted small">
        The published app gets these instead of the project's secrets of the same name (the others it gets as they are).
        The workspace never sees them. When one changes, {appliesWhen(kind)}.
      </p>
      {restarting && <p className="small deploy-secrets-restart" role="status">Restarting with the new secrets…</p>}
      {!restarting && restartedAt && (
        <p className="small deploy-secrets-restart" aria-label="Secrets restart">
          Restarted with new secrets at {new Date(restartedAt).toLocaleString()}
        </p>
      )}
      {!restarting && restartError && (
        <p className="form-error small deploy-secrets-restart-failed" role="alert" aria-label="Secrets restart failed">
          The restart with the new secrets failed
          {restartFailedAt ? ` at ${new Date(restartFailedAt).toLocaleString()}` : ''}: {restartError}. The instances from before
          keep serving with the old values; fix the secret (or the app) to restart again.
        </p>
      )}
      {error && <p className="form-error" role="alert">{error}</p>}
      {note && <p className="small" role="status">{note}</p>}
      {items === null && !error && <p className="muted">Loading…</p>}
      {items?.length === 0 && <p className="muted small">No production secrets: the app gets the development values.</p>}
      {items && items.length > 0 && (
        <ul className="deploy-secrets-list">
          {items.map((s) => (
            <li key={s.name} data-secret={s.name}>
              <code>{s.name}</code>
              <span className="muted small"> v{s.version}, {new Date(s.updated_at).toLocaleString()}</span>
              {canWrite && (
                <>
                  <button type="button" className="btn btn-small" disabled={busy} onClick={() => { setName(s.name); setValue('') }}>
                    Change
                  </button>
                  <button
                    type="button"
                    className="btn btn-small btn-danger"
                    disabled={busy}
                    onClick={() => confirm(`Remove the production value of ${s.name}?`) && act(() => prodSecretsApi.remove(projectId, s.name))}
                  >
                    Remove
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      {canWrite && (
        <form className="deploy-secrets-form" onSubmit={save}>
          <input aria-label="Production secret name" placeholder="NAME" value={name} onChange={(e) => setName(e.target.value)}
            autoCapitalize="off" spellCheck={false} />
          <input aria-label="Production secret value" placeholder="value" type="password" value={value}
            onChange={(e) => setValue(e.target.value)} autoComplete="off" />
          <button type="submit" className="btn btn-small btn-primary" disabled={busy || name.trim() === '' || value === ''}>
            Save
          </button>
        </form>
      )}
    </section>
  )
}
