import { useCallback, useEffect, useState } from 'react'
import { errorMessage } from '../api'
import { FormError } from '../components/Field'
import { fullTime, timeAgo } from '../util'
import { opsApi, type ErrorEvent, type ErrorGroup, type VitalSummary } from './opsApi'

const kinds: Record<string, string> = {
  panic: 'Panic', server_error: 'Server error', error: 'Uncaught error', unhandled_rejection: 'Unhandled rejection',
}

/** The tracked errors, most recently seen first, each with its stack and occurrences. */
export function ErrorsPanel() {
  const [groups, setGroups] = useState<ErrorGroup[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = useCallback(() => {
    opsApi.errors().then(setGroups, (e) => setError(errorMessage(e)))
  }, [])
  useEffect(load, [load])
  return (
    <section className="card" aria-labelledby="errors-h">
      <h2 id="errors-h">Errors</h2>
      <p className="muted">Panics and server errors, and errors in people's browsers, grouped by cause.</p>
      <div className="row">
        <button type="button" className="btn" onClick={load}>Refresh</button>
      </div>
      <FormError message={error} />
      {groups && groups.length === 0 && <p className="muted">No errors. Good.</p>}
      {groups && groups.length > 0 && (
        <ul className="item-list" aria-label="Errors">
          {groups.map((g) => <ErrorItem key={g.id} group={g} onResolved={load} />)}
        </ul>
      )}
      <VitalsTable />
    </section>
  )
}

function ErrorItem({ group: g, onResolved }: { group: ErrorGroup; onResolved: () => void }) {
  const [events, setEvents] = useState<ErrorEvent[] | null>(null)
  const [open, setOpen] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const toggle = () => {
    setOpen(!open)
    if (!events) opsApi.error(g.id).then((d) => setEvents(d.events), (e) => setError(errorMessage(e)))
  }
  const resolve = () => opsApi.resolveError(g.id).then(onResolved, (e) => setError(errorMessage(e)))
  return (
    <li className="item error-item" data-source={g.source}>
      <div className="item-main">
        <div className="item-title">
          <span className="badge">{g.source}</span> <span className="badge">{kinds[g.kind] ?? g.kind}</span>{' '}
          <span className="error-message">{g.message}</span>
        </div>
        <div className="item-sub muted">
          {g.count} {g.count === 1 ? 'time' : 'times'} · last <span title={fullTime(g.last_seen)}>{timeAgo(g.last_seen)}</span> · first{' '}
          <span title={fullTime(g.first_seen)}>{timeAgo(g.first_seen)}</span>
          {g.route && <> · {g.route}</>} · request {g.last_request_id || '—'}
        </div>
        {open && (
          <div className="error-detail">
            <pre className="error-stack" aria-label="Stack">{g.stack || '(no stack)'}</pre>
            <FormError message={error} />
            {events && (
              <table className="table" aria-label="Occurrences">
                <thead><tr><th>When</th><th>Request id</th><th>User</th><th>Where</th></tr></thead>
                <tbody>
                  {events.map((e) => (
                    <tr key={e.id}>
                      <td title={fullTime(e.at)}>{timeAgo(e.at)}</td>
                      <td><code>{e.request_id}</code></td>
                      <td>{e.user_id || 'signed out'}</td>
                      <td>{e.url || e.route}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        )}
      </div>
      <div className="item-actions">
        <button type="button" className="btn btn-ghost" aria-expanded={open} onClick={toggle}>{open ? 'Hide' : 'Details'}</button>
        <button type="button" className="btn btn-ghost" onClick={resolve}>Resolve</button>
      </div>
    </li>
  )
}

function VitalsTable() {
  const [vitals, setVitals] = useState<VitalSummary[] | null>(null)
  useEffect(() => {
    opsApi.vitals().then(setVitals, () => setVitals([]))
  }, [])
  if (!vitals || vitals.length === 0) return null
  const fmt = (v: VitalSummary, x: number) => (v.name === 'CLS' ? x.toFixed(3) : `${Math.round(x)} ms`)
  return (
    <>
      <h3>Page-load timings</h3>
      <p className="muted">Web vitals browsers measured since the server started.</p>
      <table className="table" aria-label="Page-load timings">
        <thead><tr><th>Metric</th><th>Page</th><th>Samples</th><th>p50</th><th>p75</th><th>p95</th></tr></thead>
        <tbody>
          {vitals.map((v) => (
            <tr key={v.name + v.page}>
              <td>{v.name}</td><td>{v.page}</td><td>{v.samples}</td><td>{fmt(v, v.p50)}</td><td>{fmt(v, v.p75)}</td><td>{fmt(v, v.p95)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
