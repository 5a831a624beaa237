import { useEffect, useState } from 'react'
import { errorMessage } from '../api'
import { FormError } from '../components/Field'
import { notifyApi, type NotificationPrefs } from './opsApi'

const kindLabels: Record<string, string> = {
  security_event: 'Security events on my account',
  invitation: 'Invitations to projects',
  quota_warning: 'Quota warnings',
  deployment_failed: 'Failed deployments',
  deployment_rolled_back: 'Rolled-back deployments',
  import_finished: 'Finished imports',
}

/** Settings: which notifications also reach the user by email. */
export function NotificationsSection() {
  const [prefs, setPrefs] = useState<NotificationPrefs | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState(false)
  useEffect(() => {
    notifyApi.prefs().then(setPrefs, (e) => setError(errorMessage(e)))
  }, [])
  // The box changes at once; the server's answer confirms it (or the
  // previous choice comes back with the error).
  const set = (kind: string, on: boolean) => {
    setSaved(false)
    setError(null)
    const before = prefs
    setPrefs((p) => (p ? { ...p, email: { ...p.email, [kind]: on } } : p))
    notifyApi.setPrefs({ [kind]: on }).then((p) => {
      setPrefs(p)
      setSaved(true)
    }, (e) => {
      setPrefs(before)
      setError(errorMessage(e))
    })
  }
  return (
    <section className="card" aria-labelledby="notif-h">
      <h2 id="notif-h">Email notifications</h2>
      <p className="muted">
        Every notification shows under the bell. Choose which also reach you by email.
        {prefs && !prefs.email_enabled && ' This server has no mail server configured, so no email is sent for now.'}
      </p>
      <FormError message={error} />
      {prefs && (
        <fieldset className="radio-list">
          <legend>Email me about</legend>
          {Object.keys(kindLabels).map((k) => (
            <label key={k} className="row">
              <input type="checkbox" checked={!!prefs.email[k]} onChange={(e) => set(k, e.target.checked)} /> {kindLabels[k]}
            </label>
          ))}
        </fieldset>
      )}
      {saved && <p role="status" className="muted">Saved.</p>}
    </section>
  )
}
