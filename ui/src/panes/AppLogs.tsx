import { useEffect, useState } from 'react'
import { errorMessage, json } from '../api'

interface AppLog {
  release_id: string
  lines: string[]
  truncated: boolean
}

/** Logs: the live release's own output (stdout and stderr), searched on the server, followed every 2 s. */
export function AppLogs({ projectId, releaseId, visible }: { projectId: string; releaseId: string; visible: boolean }) {
  const [q, setQ] = useState('')
  const [log, setLog] = useState<AppLog | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    if (!visible || !releaseId) return
    let stop = false
    const fetchLog = async () => {
      const params = new URLSearchParams({ release: releaseId, q, tail: '500' })
      try {
        const l = await json<AppLog>('GET', `/api/projects/${encodeURIComponent(projectId)}/deployment/logs?${params}`)
        if (!stop) {
          setLog(l)
          setError(null)
        }
      } catch (err) {
        if (!stop) setError(errorMessage(err))
      }
    }
    fetchLog()
    const t = setInterval(fetchLog, 2000)
    return () => {
      stop = true
      clearInterval(t)
    }
  }, [projectId, releaseId, q, visible])

  return (
    <section className="app-logs" aria-label="App logs">
      <div className="app-logs-bar">
        <h3>Logs</h3>
        <input type="search" aria-label="Search logs" placeholder="Search logs" value={q} onChange={(e) => setQ(e.target.value)} />
        <span className="muted small">release {releaseId.slice(0, 8)}{log?.truncated ? ' · last 500 lines' : ''}</span>
      </div>
      {error && <div className="panel-error" role="alert">{error}</div>}
      <pre className="deploy-log app-log" aria-label="App log">
        {log === null ? 'Loading…' : log.lines.length === 0 ? (q ? 'No lines match.' : 'No output yet.') : log.lines.join('\n')}
      </pre>
    </section>
  )
}
