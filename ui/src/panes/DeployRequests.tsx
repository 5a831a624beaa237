import { useCallback, useEffect, useState } from 'react'
import { errorMessage, json } from '../api'

interface Counts {
  requests: number
  classes: Record<string, number>
  bytes: number
}

const classes = ['2xx', '3xx', '4xx', '5xx']

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`
}

/** Requests: the deployment's requests, status classes and bytes out since the server started. */
export function DeployRequests({ projectId, visible }: { projectId: string; visible: boolean }) {
  const [counts, setCounts] = useState<Counts | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = useCallback(async () => {
    try {
      setCounts(await json<Counts>('GET', `/api/projects/${encodeURIComponent(projectId)}/deployment/metrics`))
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [projectId])
  useEffect(() => {
    if (visible) load()
  }, [visible, load])
  return (
    <section className="deploy-requests" aria-label="Requests">
      <h3 className="small">
        Requests{' '}
        <button type="button" className="btn btn-small" onClick={load}>
          Refresh
        </button>
      </h3>
      {error && <div className="panel-error" role="alert">{error}</div>}
      {counts && (
        <dl className="small deploy-requests-stats">
          <div>
            <dt>Requests</dt>
            <dd data-stat="requests">{counts.requests}</dd>
          </div>
          {classes.map((c) => (
            <div key={c}>
              <dt>{c}</dt>
              <dd data-stat={c}>{counts.classes[c] ?? 0}</dd>
            </div>
          ))}
          <div>
            <dt>Bytes out</dt>
            <dd data-stat="bytes">{formatBytes(counts.bytes)}</dd>
          </div>
        </dl>
      )}
    </section>
  )
}
