import { useCallback, useEffect, useState } from 'react'
import { errorMessage, json, send } from '../api'

/** A scheduled deployment's run, or a due time skipped or missed. */
interface Run {
  id: string
  release_id: string
  scheduled_at: string
  started_at?: string
  ended_at?: string
  status: 'running' | 'succeeded' | 'failed' | 'skipped' | 'missed'
  exit_code?: number
  reason?: string
}

const base = (projectId: string) => `/api/projects/${encodeURIComponent(projectId)}/deployment/runs`

const time = (t?: string) => (t ? new Date(t).toLocaleString() : '—')

/** Run history of a scheduled deployment: each due time with its start, end, exit code and log. */
export function DeployRuns({ projectId, schedule, nextRunAt, visible }: { projectId: string; schedule: string; nextRunAt?: string; visible: boolean }) {
  const [runs, setRuns] = useState<Run[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [logFor, setLogFor] = useState<string | null>(null)
  const [log, setLog] = useState('')

  const load = useCallback(async () => {
    try {
      setRuns(await json<Run[]>('GET', base(projectId)))
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [projectId])
  useEffect(() => {
    if (!visible) return
    load()
    const t = setInterval(load, 5000)
    return () => clearInterval(t)
  }, [visible, load])

  const showLog = async (id: string) => {
    if (logFor === id) {
      setLogFor(null)
      return
    }
    setLogFor(id)
    setLog(await send('GET', `${base(projectId)}/${encodeURIComponent(id)}/log`).then((r) => r.text()).catch((e) => errorMessage(e)))
  }

  return (
    <section className="deploy-runs" aria-label="Scheduled runs">
      <h3>Runs</h3>
      <p className="small">
        Schedule <code>{schedule}</code> (UTC){nextRunAt && <>; next run {new Date(nextRunAt).toLocaleString()}</>}
      </p>
      {error && <p className="form-error" role="alert">{error}</p>}
      {runs?.length === 0 && <p className="muted small">No runs yet.</p>}
      {runs && runs.length > 0 && (
        <table className="deployments-table">
          <thead>
            <tr><th>Due</th><th>Status</th><th>Started</th><th>Ended</th><th>Exit</th><th /></tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-run={r.id} data-status={r.status}>
                <td className="small">{time(r.scheduled_at)}</td>
                <td>
                  <span className={`deploy-status run-${r.status}`}>{r.status}</span>
                  {r.reason && <div className="small deploy-reason">{r.reason}</div>}
                </td>
                <td className="small">{time(r.started_at)}</td>
                <td className="small">{time(r.ended_at)}</td>
                <td>{r.exit_code ?? ''}</td>
                <td>
                  {r.started_at && (
                    <button type="button" className="btn btn-small" onClick={() => showLog(r.id)}>{logFor === r.id ? 'Hide log' : 'Log'}</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {logFor && <pre className="deploy-log" aria-label="Run log">{log || 'No output.'}</pre>}
    </section>
  )
}
