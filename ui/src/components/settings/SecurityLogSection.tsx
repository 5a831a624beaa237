import { useEffect, useState } from 'react'
import { errorMessage } from '../../api'
import { accountApi, type SecurityEvent } from '../../accountApi'
import { FormError } from '../Field'
import { fullTime, timeAgo } from '../../util'

const labels: Record<string, string> = {
  sign_in: 'Signed in', sign_in_failed: 'Sign-in failed', second_factor_failed: 'Wrong second factor',
  recovery_code_used: 'Recovery code used', totp_enabled: 'Two-factor turned on', totp_disabled: 'Two-factor turned off',
  totp_reset: 'Two-factor reset by an admin', passkey_added: 'Passkey added', passkey_removed: 'Passkey deleted',
  token_created: 'Token created', token_revoked: 'Token revoked', session_revoked: 'Session revoked',
  password_changed: 'Password changed', profile_changed: 'Profile changed', member_role_changed: 'Project role changed',
  user_disabled: 'Account disabled', user_enabled: 'Account enabled', admin_granted: 'Admin granted',
  admin_revoked: 'Admin revoked', user_deleted: 'Account deleted',
}

/** A list of security events, newest first. */
export function EventList({ events, label }: { events: SecurityEvent[]; label: string }) {
  if (events.length === 0) return <p className="muted">Nothing yet.</p>
  return (
    <ul className="item-list" aria-label={label}>
      {events.map((e) => (
        <li key={e.id} className="item" data-kind={e.kind}>
          <div className="item-main">
            <div className="item-title">{labels[e.kind] ?? e.kind} {e.detail && <span className="muted">· {e.detail}</span>}</div>
            <div className="item-sub muted">
              <span title={fullTime(e.at)}>{timeAgo(e.at)}</span> · {e.ip || 'unknown address'}
              {e.user_agent && <> · {e.user_agent}</>}
              {e.actor_id && e.actor_id !== e.user_id && <> · by an admin</>}
            </div>
          </div>
        </li>
      ))}
    </ul>
  )
}

/** The caller's own security log. */
export function SecurityLogSection() {
  const [events, setEvents] = useState<SecurityEvent[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    accountApi.securityEvents().then(setEvents, (e) => setError(errorMessage(e)))
  }, [])
  return (
    <section className="card" aria-labelledby="security-log-h">
      <h2 id="security-log-h">Security log</h2>
      <p className="muted">Sign-ins and changes to your account's security, newest first.</p>
      <FormError message={error} />
      {events && <EventList events={events} label="Security events" />}
    </section>
  )
}
