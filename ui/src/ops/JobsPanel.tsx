import { useCallback, useEffect, useState } from 'react'
import { errorMessage } from '../api'
import { useDialogs } from '../components/Dialogs'
import { FormError } from '../components/Field'
import { fullTime, timeAgo } from '../util'
import { monitorApi, type Job, type JobList, type JobState } from './monitorApi'

const stateNames: Record<JobState, string> = {
  running: 'Running', available: 'Waiting', scheduled: 'Scheduled', retryable: 'Retrying', pending: 'Pending',
  discarded: 'Failed', cancelled: 'Cancelled', completed: 'Completed',
}
const order: JobState[] = ['running', 'available', 'scheduled', 'retryable', 'discarded', 'cancelled', 'completed', 'pending']
/** How often the open page reads the list again. */
const REFRESH_MS = 5_000
const finished = (s: JobState) => s === 'completed' || s === 'cancelled' || s === 'discarded'

/** The background job queue by state: each job's attempts and errors, with Retry and Cancel. */
export function JobsPanel() {
  const [state, setState] = useState<JobState>('running')
  const [list, setList] = useState<JobList | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [answer, setAnswer] = useState<string | null>(null)
  const load = useCallback(() => {
    monitorApi.jobs(state).then((l) => {
      setList(l)
      setError(null)
    }, (e) => setError(errorMessage(e)))
  }, [state])
  useEffect(() => {
    load()
    const t = window.setInterval(load, REFRESH_MS)
    return () => window.clearInterval(t)
  }, [load])
  const acted = (verb: string) => (j: Job) => {
    setAnswer(`${verb} job ${j.id} (${j.kind}): it is now ${stateNames[j.state].toLowerCase()}.`)
    load()
  }
  return (
    <section className="card" aria-labelledby="jobs-h">
      <h2 id="jobs-h">Jobs</h2>
      <p className="muted">Background work (checkpoint clean-up, session sweeps, project deletions, …) queued in the database; failed attempts are retried with backoff.</p>
      <div className="row jobs-states" role="tablist" aria-label="Job states">
        {order.map((s) => (
          <button key={s} type="button" role="tab" aria-selected={s === state} className={'btn' + (s === state ? ' btn-primary' : ' btn-ghost')}
            onClick={() => { setState(s); setAnswer(null) }}>
            {stateNames[s]} <span className="badge">{list?.counts[s] ?? 0}</span>
          </button>
        ))}
      </div>
      <div className="row">
        <button type="button" className="btn btn-ghost" onClick={load}>Refresh</button>
      </div>
      <FormError message={error} />
      {answer && <p role="status" className="jobs-answer">{answer}</p>}
      {list && list.jobs.length === 0 && <p className="muted">No {stateNames[state].toLowerCase()} jobs.</p>}
      {list && list.jobs.length > 0 && (list.counts[state] ?? 0) > list.jobs.length && (
        <p className="muted">The newest {list.jobs.length} of {list.counts[state]}.</p>
      )}
      {list && list.jobs.length > 0 && (
        <ul className="item-list" aria-label={`${stateNames[state]} jobs`}>
          {list.jobs.map((j) => <JobItem key={j.id} job={j} onDone={acted} onError={setError} />)}
        </ul>
      )}
    </section>
  )
}

function JobItem({ job: j, onDone, onError }: { job: Job; onDone: (verb: string) => (j: Job) => void; onError: (m: string) => void }) {
  const [open, setOpen] = useState(false)
  const [busy, setBusy] = useState(false)
  const { confirm } = useDialogs()
  const act = async (verb: 'Retried' | 'Cancelled') => {
    const retry = verb === 'Retried'
    const ok = await confirm({
      title: retry ? `Retry job ${j.id}?` : `Cancel job ${j.id}?`,
      message: retry ? `The ${j.kind} job runs again now.` : `The ${j.kind} job will not run (if it is running, it is told to stop) and is not retried.`,
      confirmLabel: retry ? 'Retry job' : 'Cancel job',
      danger: !retry,
    })
    if (!ok) return
    setBusy(true)
    try {
      onDone(verb)(await (retry ? monitorApi.retryJob(j.id) : monitorApi.cancelJob(j.id)))
    } catch (e) {
      onError(errorMessage(e))
    } finally {
      setBusy(false)
    }
  }
  const last = j.errors[j.errors.length - 1]
  return (
    <li className="item job-item" data-kind={j.kind} data-state={j.state}>
      <div className="item-main">
        <div className="item-title">
          <span className="badge">{stateNames[j.state]}</span> <code>{j.kind}</code> <span className="muted">#{j.id}</span>
        </div>
        <div className="item-sub muted">
          attempt {j.attempt} of {j.max_attempts} · created <span title={fullTime(j.created_at)}>{timeAgo(j.created_at)}</span>
          {' '}· {finished(j.state) ? 'scheduled' : 'runs'} <span title={fullTime(j.scheduled_at)}>{timeAgo(j.scheduled_at)}</span>
          {j.finalized_at && <> · finished <span title={fullTime(j.finalized_at)}>{timeAgo(j.finalized_at)}</span></>}
        </div>
        {last && !open && <div className="error-message job-last-error">{last.error}</div>}
        {open && (
          <div className="error-detail">
            <pre className="error-stack" aria-label="Arguments">{JSON.stringify(j.args, null, 2)}</pre>
            {j.errors.length === 0 ? <p className="muted">No failed attempts.</p> : (
              <table className="table" aria-label="Failed attempts">
                <thead><tr><th>Attempt</th><th>When</th><th>Error</th></tr></thead>
                <tbody>
                  {j.errors.map((e) => (
                    <tr key={e.attempt + e.at}>
                      <td>{e.attempt}</td><td title={fullTime(e.at)}>{timeAgo(e.at)}</td><td className="error-message">{e.error}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        )}
      </div>
      <div className="item-actions">
        <button type="button" className="btn btn-ghost" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide' : j.errors.length ? `Errors (${j.errors.length})` : 'Details'}
        </button>
        {j.state !== 'running' && <button type="button" className="btn btn-ghost" disabled={busy} onClick={() => act('Retried')} aria-label={`Retry job ${j.id}`}>Retry</button>}
        {!finished(j.state) && <button type="button" className="btn btn-ghost" disabled={busy} onClick={() => act('Cancelled')} aria-label={`Cancel job ${j.id}`}>Cancel</button>}
      </div>
    </li>
  )
}
