import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { ApiError, errorMessage, secretsApi, type AccountSecret } from '../../api'
import { useDialogs } from '../Dialogs'
import { fullTime } from '../../util'

/** Account secrets: set once, link into several projects from each project's Secrets pane. */
export function AccountSecretsSection() {
  const { confirm } = useDialogs()
  const [items, setItems] = useState<AccountSecret[] | null>(null)
  const [name, setName] = useState('')
  const [value, setValue] = useState('')
  const [revealed, setRevealed] = useState<Record<string, string>>({})
  const [error, setError] = useState<string | null>(null)

  const load = useCallback(() => secretsApi.account().then(setItems, (e) => setError(errorMessage(e))), [])
  useEffect(() => {
    load()
  }, [load])

  const fail = (err: unknown) =>
    setError(err instanceof ApiError && err.fields && Object.keys(err.fields).length ? Object.values(err.fields).join('; ') : errorMessage(err))
  const save = async (e: FormEvent) => {
    e.preventDefault()
    try {
      await secretsApi.putAccount(name.trim(), value)
      setName('')
      setValue('')
      setError(null)
      load()
    } catch (err) {
      fail(err)
    }
  }
  const reveal = async (n: string) => {
    if (revealed[n] !== undefined) return setRevealed(({ [n]: _, ...rest }) => rest)
    try {
      const r = await secretsApi.revealAccount(n)
      setRevealed((m) => ({ ...m, [n]: r.value }))
    } catch (err) {
      fail(err)
    }
  }
  const remove = async (n: string) => {
    const ok = await confirm({ title: `Delete ${n}?`, danger: true, confirmLabel: 'Delete',
      message: <>Projects it is linked into lose the variable (their apps restart).</> })
    if (!ok) return
    try {
      await secretsApi.removeAccount(n)
      load()
    } catch (err) {
      fail(err)
    }
  }

  return (
    <section className="card" aria-labelledby="acct-secrets-h">
      <h2 id="acct-secrets-h">Account secrets</h2>
      <p className="muted small">Set a key once and link it into any of your projects from their Secrets pane. Values are shown only when you reveal them (audited).</p>
      <form className="token-form" onSubmit={save}>
        <input aria-label="Account secret name" placeholder="NAME" value={name} onChange={(e) => setName(e.target.value)} required />
        <input aria-label="Account secret value" type="password" autoComplete="off" placeholder="value" value={value}
          onChange={(e) => setValue(e.target.value)} required />
        <button type="submit" className="btn btn-primary btn-small">Save</button>
      </form>
      {error && <div className="form-error" role="alert">{error}</div>}
      {items && items.length > 0 && (
        <ul className="token-list">
          {items.map((s) => (
            <li key={s.name} data-secret={s.name}>
              <code>{s.name}</code> <span className="muted small">updated {fullTime(s.updated_at)}; linked into {s.projects.length} project(s)</span>{' '}
              {revealed[s.name] !== undefined ? <code>{revealed[s.name]}</code> : <span aria-label="hidden value">••••••••</span>}{' '}
              <button type="button" className="btn btn-small" onClick={() => reveal(s.name)}>{revealed[s.name] !== undefined ? 'Hide' : 'Reveal'}</button>{' '}
              <button type="button" className="btn btn-small" onClick={() => remove(s.name)}>Delete</button>
            </li>
          ))}
        </ul>
      )}
      {items && items.length === 0 && <p className="muted small">No account secrets.</p>}
    </section>
  )
}
