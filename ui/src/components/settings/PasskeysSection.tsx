import { useEffect, useState, type FormEvent } from 'react'
import { errorMessage } from '../../api'
import { accountApi, type Passkey } from '../../accountApi'
import { useDialogs } from '../Dialogs'
import { FormError } from '../Field'
import { fullTime, timeAgo } from '../../util'

/** Passkeys: sign in without a password, or use one instead of a code. */
export function PasskeysSection() {
  const { confirm } = useDialogs()
  const [keys, setKeys] = useState<Passkey[] | null>(null)
  const [name, setName] = useState('')
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    accountApi.passkeys().then(setKeys, (e) => setError(errorMessage(e)))
  }, [])

  const add = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    try {
      const p = await accountApi.addPasskey(name.trim() || 'Passkey')
      setKeys((ks) => [...(ks ?? []), p])
      setName('')
    } catch (err) {
      setError(err instanceof DOMException ? 'The passkey was not created.' : errorMessage(err))
    }
  }

  const remove = async (p: Passkey) => {
    const ok = await confirm({ title: 'Delete passkey?', danger: true, confirmLabel: 'Delete',
      message: <>“{p.name}” will no longer sign you in.</> })
    if (!ok) return
    try {
      await accountApi.deletePasskey(p.id)
      setKeys((ks) => ks?.filter((x) => x.id !== p.id) ?? null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <section className="card" aria-labelledby="passkeys-h">
      <h2 id="passkeys-h">Passkeys</h2>
      <p className="muted">Sign in with your device's screen lock or a security key instead of a password, or use one
        instead of a code when two-factor authentication is on.</p>
      <form className="row" onSubmit={add} noValidate>
        <input aria-label="Passkey name" placeholder="Passkey name, e.g. laptop" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="btn btn-primary">Add a passkey</button>
      </form>
      <FormError message={error} />
      {keys && keys.length === 0 && <p className="muted">No passkeys yet.</p>}
      {keys && keys.length > 0 && (
        <ul className="item-list" aria-label="Passkeys">
          {keys.map((p) => (
            <li key={p.id} className="item">
              <div className="item-main">
                <div className="item-title">{p.name}</div>
                <div className="item-sub muted">
                  added <span title={fullTime(p.created_at)}>{timeAgo(p.created_at)}</span> · last used{' '}
                  {p.last_used_at ? <span title={fullTime(p.last_used_at)}>{timeAgo(p.last_used_at)}</span> : 'never'}
                </div>
              </div>
              <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => remove(p)} aria-label={`Delete ${p.name}`}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
