import { useEffect, useState, type FormEvent } from 'react'
import { api, ApiError, errorMessage, type NewToken, type Token } from '../../api'
import { useDialogs } from '../Dialogs'
import { FormError } from '../Field'
import { Icon } from '../Icon'
import { fullTime, timeAgo } from '../../util'

export function TokensSection() {
  const { confirm } = useDialogs()
  const [tokens, setTokens] = useState<Token[] | null>(null)
  const [name, setName] = useState('')
  const [created, setCreated] = useState<NewToken | null>(null)
  const [copied, setCopied] = useState(false)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    api.tokens().then(setTokens, (e) => setError(errorMessage(e)))
  }, [])

  const create = async (e: FormEvent) => {
    e.preventDefault()
    if (!name.trim()) return setError('Give the token a name, e.g. “laptop CLI”')
    try {
      const t = await api.createToken(name.trim())
      setCreated(t)
      setCopied(false)
      setName('')
      setError(null)
      setTokens((ts) => [{ id: t.id, name: t.name, created_at: t.created_at, last_used_at: null }, ...(ts ?? [])])
    } catch (err) {
      setError(err instanceof ApiError && err.fields.name ? err.fields.name : errorMessage(err))
    }
  }

  const revoke = async (t: Token) => {
    const ok = await confirm({ title: 'Revoke token?', danger: true, confirmLabel: 'Revoke',
      message: <>Programs using “{t.name}” will no longer be able to access your account.</> })
    if (!ok) return
    try {
      await api.revokeToken(t.id)
      setTokens((ts) => ts?.filter((x) => x.id !== t.id) ?? null)
      if (created?.id === t.id) setCreated(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  const copy = async () => {
    if (!created) return
    try {
      await navigator.clipboard.writeText(created.token)
      setCopied(true)
    } catch {
      setError('Could not copy; select the token and copy it by hand.')
    }
  }

  return (
    <section className="card" aria-labelledby="tokens-h">
      <h2 id="tokens-h">Personal access tokens</h2>
      <p className="muted">
        For programs and the command line: send <code>Authorization: Bearer &lt;token&gt;</code>.
      </p>
      <form className="row" onSubmit={create} noValidate>
        <input aria-label="Token name" placeholder="Token name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="btn btn-primary">Create token</button>
      </form>
      <FormError message={error} />
      {created && (
        <div className="callout callout-accent new-token" role="status">
          <strong>Copy your new token “{created.name}” now — it will not be shown again.</strong>
          <div className="row">
            <input readOnly className="mono token-value" aria-label="New token" value={created.token}
              onFocus={(e) => e.target.select()} />
            <button type="button" className="btn" onClick={copy}>
              <Icon name={copied ? 'check' : 'copy'} /> {copied ? 'Copied' : 'Copy'}
            </button>
          </div>
        </div>
      )}
      {tokens && tokens.length === 0 && <p className="muted">No tokens yet.</p>}
      {tokens && tokens.length > 0 && (
        <ul className="item-list" aria-label="Tokens">
          {tokens.map((t) => (
            <li key={t.id} className="item">
              <div className="item-main">
                <div className="item-title">{t.name}</div>
                <div className="item-sub muted">
                  created <span title={fullTime(t.created_at)}>{timeAgo(t.created_at)}</span> · last used{' '}
                  {t.last_used_at ? <span title={fullTime(t.last_used_at)}>{timeAgo(t.last_used_at)}</span> : 'never'}
                </div>
              </div>
              <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => revoke(t)}
                aria-label={`Revoke ${t.name}`}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
