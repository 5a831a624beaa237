import { useEffect, useState } from 'react'
import { errorMessage } from '../api'
import { Logo } from '../components/Icon'
import { Link } from '../router'
import { fullTime, timeAgo } from '../util'
import { statusApi, type StatusReport } from '../ops/opsApi'

const names: Record<string, string> = {
  database: 'Database', sandbox: 'Code execution (sandbox)', data_disk: 'Disk', redis: 'Redis (live collaboration)', jobs: 'Job queue',
}

/** The public status page: each component's health and the recent incidents. */
export function Status() {
  const [report, setReport] = useState<StatusReport | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    document.title = 'Status · E-Code'
    const load = () => statusApi.status().then((r) => {
      setReport(r)
      setError(null)
    }, (e) => setError(errorMessage(e)))
    load()
    const t = setInterval(load, 30_000)
    return () => clearInterval(t)
  }, [])
  return (
    <div className="page status-page">
      <header className="status-head">
        <Link href="/" className="topbar-home"><Logo /></Link>
        <h1>System status</h1>
      </header>
      <main className="settings">
        {error && <p role="alert">Could not read the status: {error}</p>}
        {report && (
          <>
            <p className={'status-overall status-' + report.status} role="status">
              {report.status === 'ok' ? 'All systems operational' : 'Some systems are having problems'}
            </p>
            <section className="card" aria-labelledby="components-h">
              <h2 id="components-h">Components</h2>
              <ul className="item-list" aria-label="Components">
                {report.components.map((c) => (
                  <li key={c.name} className="item" data-status={c.status}>
                    <div className="item-main">
                      <div className="item-title">{names[c.name] ?? c.name}</div>
                      {c.detail && <div className="item-sub muted">{c.detail}</div>}
                    </div>
                    <span className={'badge status-badge-' + c.status}>{c.status === 'ok' ? 'Operational' : 'Failing'}</span>
                  </li>
                ))}
              </ul>
              <p className="muted">Checked <span title={fullTime(report.checked_at)}>{timeAgo(report.checked_at)}</span>.</p>
            </section>
            <section className="card" aria-labelledby="incidents-h">
              <h2 id="incidents-h">Incidents</h2>
              {report.incidents.length === 0 ? (
                <p className="muted">No incidents in the last 14 days.</p>
              ) : (
                <ul className="item-list" aria-label="Incidents">
                  {report.incidents.map((i) => (
                    <li key={i.id} className="item" data-resolved={!!i.resolved_at}>
                      <div className="item-main">
                        <div className="item-title">{i.title} {i.resolved_at ? <span className="badge">Resolved</span> : <span className="badge status-badge-failing">Ongoing</span>}</div>
                        {i.body && <p className="incident-body">{i.body}</p>}
                        <div className="item-sub muted">
                          Posted <span title={fullTime(i.at)}>{timeAgo(i.at)}</span>
                          {i.resolved_at && <> · resolved <span title={fullTime(i.resolved_at)}>{timeAgo(i.resolved_at)}</span></>}
                        </div>
                      </div>
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </>
        )}
      </main>
    </div>
  )
}
