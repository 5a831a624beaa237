import { useEffect, useState } from 'react'
import { api, errorMessage, type Session } from '../../api'
import { useDialogs } from '../Dialogs'
import { FormError } from '../Field'
import { fullTime, timeAgo } from '../../util'

/** A short, readable name for a browser from its user agent. */
function describeAgent(ua: string): string {
  if (!ua) return 'Unknown client'
  const browser = /Edg\//.test(ua) ? 'Edge' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Firefox\//.test(ua) ? 'Firefox'
    : /Safari\//.test(ua) ? 'Safari' : /curl|Go-http|python/i.test(ua) ? ua.split(' ')[0] : 'Browser'
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android'
    : /iPhone|iPad/.test(ua) ? 'iOS' : /Linux/.test(ua) ? 'Linux' : ''
  return os ? `${browser} on ${os}` : browser
}

export function SessionsSection() {
  const { confirm } = useDialogs()
  const [sessions, setSessions] = useState<Session[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api.sessions().then(setSessions, (e) => setError(errorMessage(e)))
  }, [])

  const revoke = async (s: Session) => {
    if (s.current) {
      const ok = await confirm({ title: 'Revoke this session?', message: 'You will be signed out of this browser.',
        confirmLabel: 'Revoke', danger: true })
      if (!ok) return
    }
    try {
      await api.revokeSession(s.id)
      setSessions((ss) => ss?.filter((x) => x.id !== s.id) ?? null)
      if (s.current) location.assign('/login')
    } catch (e) {
      setError(errorMessage(e))
    }
  }

  return (
    <section className="card" aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions</h2>
      <p className="muted">Browsers signed in to your account. Revoke any you do not recognise.</p>
      <FormError message={error} />
      {sessions && (
        <ul className="item-list" aria-label="Sessions">
          {sessions.map((s) => (
            <li key={s.id} className="item" data-current={s.current ? 'true' : undefined}>
              <div className="item-main">
                <div className="item-title" title={s.user_agent}>
                  {describeAgent(s.user_agent)} {s.current && <span className="badge badge-current">this browser</span>}
                </div>
                <div className="item-sub muted">
                  {s.ip || 'unknown address'} · signed in {timeAgo(s.created_at)} · last seen{' '}
                  <span title={fullTime(s.last_seen_at)}>{timeAgo(s.last_seen_at)}</span> · expires {timeAgo(s.expires_at)}
                </div>
              </div>
              <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => revoke(s)}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
