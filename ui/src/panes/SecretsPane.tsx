import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { ApiError, errorMessage, secretsApi, type AccountSecret, type SecretInfo } from '../api'
import type { PaneProps } from './types'
import './secrets.css'

/** Secrets: names and when they were last used; values masked until revealed (editors, audited). */
export function SecretsPane({ project, canWrite, visible }: PaneProps) {
  const [items, setItems] = useState<SecretInfo[] | null>(null)
  const [account, setAccount] = useState<AccountSecret[]>([])
  const [error, setError] = useState<string | null>(null)
  const [note, setNote] = useState<string | null>(null)
  const [name, setName] = useState('')
  const [value, setValue] = useState('')
  const [bulk, setBulk] = useState<string | null>(null)
  const [revealed, setRevealed] = useState<Record<string, string>>({})
  const [busy, setBusy] = useState(false)

  const load = useCallback(async () => {
    try {
      setItems(await secretsApi.list(project.id))
      if (canWrite) setAccount(await secretsApi.account())
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [project.id, canWrite])
  useEffect(() => {
    if (visible) load()
  }, [visible, load])

  const act = async (fn: () => Promise<string | void>) => {
    setBusy(true)
    setError(null)
    setNote(null)
    try {
      const msg = await fn()
      if (msg) setNote(msg)
      await load()
    } catch (err) {
      // field errors carry the reason (a reserved name, a bad .env line)
      setError(err instanceof ApiError && err.fields ? Object.values(err.fields).join('; ') : errorMessage(err))
    } finally {
      setBusy(false)
    }
  }
  const save = (e: FormEvent) => {
    e.preventDefault()
    act(async () => {
      const r = await secretsApi.put(project.id, name.trim(), value)
      setName('')
      setValue('')
      setRevealed({})
      return `${r.name} ${r.created ? 'added' : 'updated'}; a running app restarts with it.` + (r.warning ? ` Note: ${r.warning}.` : '')
    })
  }
  const importEnv = (e: FormEvent) => {
    e.preventDefault()
    act(async () => {
      const r = await secretsApi.importEnv(project.id, bulk ?? '')
      setBulk(null)
      return `Imported ${r.names.join(', ')}.`
    })
  }
  const reveal = (n: string) =>
    act(async () => {
      if (revealed[n] !== undefined) {
        setRevealed(({ [n]: _, ...rest }) => rest)
        return
      }
      const r = await secretsApi.reveal(project.id, n)
      setRevealed((m) => ({ ...m, [n]: r.value }))
    })
  const edit = (n: string) => {
    setName(n)
    setValue('')
  }
  const linkable = account.filter((a) => !(items ?? []).some((s) => s.scope === 'account' && s.name === a.name))

  return (
    <div className="pane secrets-pane">
      {canWrite && (
        <form className="pane-toolbar secrets-form" onSubmit={save} aria-label="Add or edit a secret">
          <input aria-label="Secret name" placeholder="NAME" value={name} onChange={(e) => setName(e.target.value)} required />
          <input aria-label="Secret value" placeholder="value" type="password" autoComplete="off" value={value}
            onChange={(e) => setValue(e.target.value)} required />
          <button type="submit" className="btn btn-small btn-primary" disabled={busy}>Save</button>
          <button type="button" className="btn btn-small" onClick={() => setBulk(bulk === null ? '' : null)}>Paste .env</button>
        </form>
      )}
      {canWrite && (
        <p className="muted small secrets-hint">
          Secrets reach Run, the shell, terminals and the agent's commands as environment variables; output shows them as
          [secret NAME]. PORT, DATABASE_URL, DATABASE_PATH, HOME, PATH and the proxy variables are E-Code's and cannot be secrets.
        </p>
      )}
      {bulk !== null && (
        <form className="secrets-bulk" onSubmit={importEnv}>
          <textarea aria-label=".env lines" rows={5} placeholder={'API_KEY=...\nDB_PASSWORD="..."'} value={bulk}
            onChange={(e) => setBulk(e.target.value)} />
          <button type="submit" className="btn btn-small btn-primary" disabled={busy}>Import</button>
        </form>
      )}
      {error && <div className="panel-error" role="alert">{error}</div>}
      {note && <div className="secrets-note" role="status">{note}</div>}
      {items === null && !error && <p className="muted small" role="status">Loading secrets…</p>}
      {items !== null && items.length === 0 && <p className="muted small">No secrets yet.</p>}
      {items !== null && items.length > 0 && (
        <table className="secrets-table">
          <thead>
            <tr><th>Name</th><th>Value</th><th>In use</th><th /></tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.scope + s.name} data-secret={s.name}>
                <td>
                  <code>{s.name}</code>
                  {s.scope === 'account' && <span className="muted small"> (account{s.missing ? ', deleted' : ''}{s.shadowed ? ', overridden' : ''})</span>}
                </td>
                <td className="secret-value">{revealed[s.name] !== undefined ? <code>{revealed[s.name]}</code> : '••••••••'}</td>
                <td className="muted small">{s.last_used_at ? `${s.used_by}, ${new Date(s.last_used_at).toLocaleString()}` : 'not yet'}</td>
                <td className="secret-actions">
                  {canWrite && s.scope === 'project' && (
                    <>
                      <button type="button" className="btn btn-small" onClick={() => reveal(s.name)}>
                        {revealed[s.name] !== undefined ? 'Hide' : 'Reveal'}
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => edit(s.name)}>Edit</button>
                      <button type="button" className="btn btn-small" onClick={() => confirm(`Delete ${s.name}?`) && act(() => secretsApi.remove(project.id, s.name))}>Delete</button>
                    </>
                  )}
                  {canWrite && s.scope === 'account' && (
                    <button type="button" className="btn btn-small" onClick={() => act(() => secretsApi.unlink(project.id, s.name))}>Unlink</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canWrite && linkable.length > 0 && (
        <div className="secrets-link">
          <span className="muted small">Link one of your account secrets:</span>
          {linkable.map((a) => (
            <button key={a.name} type="button" className="btn btn-small" onClick={() => act(() => secretsApi.link(project.id, a.name))}>{a.name}</button>
          ))}
        </div>
      )}
    </div>
  )
}
