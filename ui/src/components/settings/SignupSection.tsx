import { useEffect, useState } from 'react'
import { api, errorMessage, type Invite, type SignupPolicy } from '../../api'
import { useDialogs } from '../Dialogs'
import { FormError } from '../Field'
import { Icon } from '../Icon'
import { fullTime, timeAgo } from '../../util'

const policies: { value: SignupPolicy; label: string }[] = [
  { value: 'open', label: 'Open: anyone who can reach this server' },
  { value: 'invite', label: 'Invite only: people with an invite link' },
  { value: 'closed', label: 'Closed: nobody' },
]

/** Admins choose who may sign up, and make invite links. */
export function SignupSection() {
  const { confirm } = useDialogs()
  const [policy, setPolicy] = useState<SignupPolicy | null>(null)
  const [invites, setInvites] = useState<Invite[] | null>(null)
  const [link, setLink] = useState<string | null>(null)
  const [copied, setCopied] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState(false)

  useEffect(() => {
    api.signupPolicy().then((p) => setPolicy(p.policy), (e) => setError(errorMessage(e)))
    api.invites().then(setInvites, (e) => setError(errorMessage(e)))
  }, [])

  const choose = async (p: SignupPolicy) => {
    const before = policy
    setPolicy(p) // shown at once; put back if the server refuses
    setSaved(false)
    try {
      setPolicy((await api.setSignupPolicy(p)).policy)
      setSaved(true)
      setError(null)
    } catch (err) {
      setPolicy(before)
      setError(errorMessage(err))
    }
  }

  const create = async () => {
    try {
      const x = await api.createInvite()
      setLink(location.origin + x.path)
      setCopied(false)
      setError(null)
      setInvites((xs) => [x.invite, ...(xs ?? [])])
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  const copy = async () => {
    if (!link) return
    try {
      await navigator.clipboard.writeText(link)
      setCopied(true)
    } catch {
      setError('Could not copy; select the link and copy it by hand.')
    }
  }

  const revoke = async (x: Invite) => {
    const ok = await confirm({ title: 'Revoke invite link?', danger: true, confirmLabel: 'Revoke',
      message: <>Nobody will be able to sign up with this link any more.</> })
    if (!ok) return
    try {
      await api.revokeInvite(x.id)
      setInvites((xs) => xs?.filter((y) => y.id !== x.id) ?? null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <section className="card" aria-labelledby="signup-h">
      <h2 id="signup-h">Sign-up <span className="badge badge-admin">admin</span></h2>
      <FormError message={error} />
      {policy && (
        <fieldset className="radio-list">
          <legend>Who may create an account</legend>
          {policies.map((p) => (
            <label key={p.value} className="row">
              <input type="radio" name="signup-policy" value={p.value} checked={policy === p.value}
                onChange={() => choose(p.value)} />
              {p.label}
            </label>
          ))}
        </fieldset>
      )}
      {saved && <p className="muted" role="status">Saved.</p>}
      <h3>Invite links</h3>
      <p className="muted">Each link works once, for 7 days, even when sign-up is invite only.</p>
      <button type="button" className="btn btn-primary" onClick={create}>Create invite link</button>
      {link && (
        <div className="callout callout-accent new-token" role="status">
          <strong>Copy the invite link now — it will not be shown again.</strong>
          <div className="row">
            <input readOnly className="mono token-value" aria-label="Invite link" value={link}
              onFocus={(e) => e.target.select()} />
            <button type="button" className="btn" onClick={copy}>
              <Icon name={copied ? 'check' : 'copy'} /> {copied ? 'Copied' : 'Copy'}
            </button>
          </div>
        </div>
      )}
      {invites && invites.length === 0 && <p className="muted">No invite links yet.</p>}
      {invites && invites.length > 0 && (
        <ul className="item-list" aria-label="Invite links">
          {invites.map((x) => (
            <li key={x.id} className="item">
              <div className="item-main">
                <div className="item-title">Invite {x.status}</div>
                <div className="item-sub muted">
                  created <span title={fullTime(x.created_at)}>{timeAgo(x.created_at)}</span>
                  {x.status === 'active' && <> · expires {fullTime(x.expires_at)}</>}
                  {x.used_at && <> · used {timeAgo(x.used_at)}</>}
                </div>
              </div>
              {x.status === 'active' && (
                <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => revoke(x)}
                  aria-label="Revoke invite">
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
