import { useCallback, useEffect, useState } from 'react'
import { errorMessage, json, send } from '../api'
import type { PaneProps } from './types'
import { AppLogs } from './AppLogs'
import { DeployDomains } from './DeployDomains'
import { DeployRequests } from './DeployRequests'
import { DeploySecrets } from './DeploySecrets'
import { DeployRuns } from './DeployRuns'
import { DeploySettings, SizeSelect, type DeploySize } from './DeploySettings'
import './deployments.css'

interface Release {
  id: string
  status: string
  kind: string
  reason?: string
  checkpoint_id: string
  created_by: string
  created_at: string
  /** The production data as it was at this publish is kept (SQLite production databases). */
  data_snapshot?: boolean
}

interface Deployment {
  url: string
  kind: string
  status: string
  active_release_id: string
  releases: Release[]
  /** null while the server that ran it does not answer (see moving). */
  instances: number | null
  /** The server that ran it does not answer (it stopped): the app is moving to another server, its instances unknown. */
  moving?: boolean
  asleep?: boolean
  schedule?: string
  next_run_at?: string
  instance_count: number
  production_database: boolean
  database_choice: boolean
  idle_timeout_s?: number
  idle_timeout_default?: boolean
  max_instances?: number
  /** When the instances last restarted because a production secret changed. */
  secrets_restarted_at?: string
  /** The serving instances are being replaced: by such a restart, or (resizing) by a change of size. */
  restarting?: boolean
  resizing?: boolean
  /** The size of its sandboxes, and the sizes to choose from. */
  size?: DeploySize
  sizes?: DeploySize[]
  /** Why and when the last such restart failed (cleared by the next one that succeeds, or a publish). */
  secrets_restart_error?: string
  secrets_restart_failed_at?: string
}

const base = (id: string) => `/api/projects/${encodeURIComponent(id)}/deployment`

const deployApi = {
  get: (id: string) => json<Deployment>('GET', base(id)),
  publish: (id: string, kind: string, schedule: string, instances: number, database: string, size: string) =>
    json<{ release: Release; url: string }>('POST', `${base(id)}/publish`,
      kind === 'scheduled' ? { kind, schedule, database, size } : kind === 'static' ? { kind } : { kind, instances, database, size }),
  activate: (id: string, rid: string, restoreData: boolean) =>
    json<{ release: Release }>('POST', `${base(id)}/releases/${encodeURIComponent(rid)}/activate`, { restore_data: restoreData }),
  log: (id: string, rid: string) => send('GET', `${base(id)}/releases/${encodeURIComponent(rid)}/log`).then((r) => r.text()),
}

const busyStatuses = new Set(['building', 'starting'])

/** Deployments: publish (static files or a server), the public URL, releases with one-click rollback, build logs. */
export function DeploymentsPane({ project, canWrite, visible }: PaneProps) {
  const [dep, setDep] = useState<Deployment | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [dialog, setDialog] = useState(false)
  const [kind, setKind] = useState('server')
  const [schedule, setSchedule] = useState('0 * * * *')
  const [instances, setInstances] = useState(1)
  const [database, setDatabase] = useState('empty')
  const [size, setSize] = useState('') // '': the deployment's size
  const [busy, setBusy] = useState(false)
  const [logFor, setLogFor] = useState<string | null>(null)
  const [log, setLog] = useState('')
  const [rollbackOf, setRollbackOf] = useState<Release | null>(null)
  const [restoreData, setRestoreData] = useState(false)

  const load = useCallback(async () => {
    try {
      const d = await deployApi.get(project.id)
      setDep(d)
      if (d.kind) setKind(d.kind)
      if (d.schedule) setSchedule(d.schedule)
      if (d.instance_count) setInstances(d.instance_count)
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [project.id])
  useEffect(() => {
    if (visible) load()
  }, [visible, load])
  // While a release builds or starts, follow it (and its log when open); a published
  // deployment is read again now and then (not while the publish dialog is open: a read resets
  // its choices), so that a pause (credits used up) or a crash shows.
  const building = (dep?.releases.some((r) => busyStatuses.has(r.status)) || dep?.restarting) ?? false
  const published = dep !== null && dep.status !== 'none'
  useEffect(() => {
    if (!visible || (!building && !logFor && (!published || dialog))) return
    const t = setInterval(async () => {
      await load()
      if (logFor) setLog(await deployApi.log(project.id, logFor).catch(() => ''))
    }, building || logFor ? 1000 : 10_000)
    return () => clearInterval(t)
  }, [visible, building, logFor, published, dialog, load, project.id])

  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true)
    setError(null)
    try {
      await fn()
      await load()
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }
  const publish = () =>
    act(async () => {
      const r = await deployApi.publish(project.id, kind, schedule, instances, database, size)
      setDialog(false)
      setLogFor(r.release.id)
      setLog('')
    })
  const showLog = async (rid: string) => {
    if (logFor === rid) {
      setLogFor(null)
      return
    }
    setLogFor(rid)
    setLog(await deployApi.log(project.id, rid).catch((e) => errorMessage(e)))
  }

  return (
    <div className="pane deployments-pane">
      <div className="pane-toolbar deployments-toolbar">
        {canWrite && (
          <button type="button" className="btn btn-small btn-primary" onClick={() => { setSize(''); setDialog(true) }} disabled={busy}>
            Publish
          </button>
        )}
        {dep?.url && (
          <a className="deployment-url" href={dep.url} target="_blank" rel="noreferrer">
            {dep.url}
          </a>
        )}
        {dep && dep.status !== 'none' && <span className={`deploy-status deploy-${dep.status}`}>{dep.status}</span>}
        {dep && dep.status !== 'none' && dep.kind !== 'static' && dep.kind !== 'scheduled' && (
          <span className="small deploy-instances" aria-label="Instances">
            {dep.moving
              ? 'moving to another server: instances unknown for now'
              : dep.asleep
              ? 'asleep: the next request starts it'
              : `${dep.instances} instance${dep.instances === 1 ? '' : 's'}${dep.instances !== dep.instance_count ? ` of ${dep.instance_count}` : ''}`}
          </span>
        )}
      </div>
      {dep?.status === 'suspended' && (
        <p className="small deploy-suspended-note" role="alert">
          Paused: {dep.releases.find((r) => r.id === dep.active_release_id)?.reason ?? 'stopped'}. Visitors see a page saying
          the app is paused. <a href="/usage">Top up or upgrade</a>, then publish again or resume the release.
        </p>
      )}
      {dialog && (
        <div className="publish-dialog" role="dialog" aria-label="Publish">
          <p className="small">
            Publishing checkpoints the project and builds it in a fresh sandbox. The live release keeps serving until the
            new one answers; then traffic switches.
          </p>
          <label className="small">
            Kind{' '}
            <select aria-label="Deployment kind" value={kind} onChange={(e) => setKind(e.target.value)}>
              <option value="server">Server: a long-running process</option>
              <option value="static">Static: files served by E-Code</option>
              <option value="autoscale">Autoscale: a server that sleeps when idle and wakes on the first request</option>
              <option value="scheduled">Scheduled: the run command on a cron schedule</option>
            </select>
          </label>
          {(kind === 'server' || kind === 'autoscale') && (
            <label className="small">
              Instances{' '}
              <input aria-label="Instance count" type="number" min={1} max={8} value={instances}
                onChange={(e) => setInstances(Math.max(1, Math.min(8, Number(e.target.value) || 1)))} />
              <span className="muted"> requests are spread round robin over them</span>
            </label>
          )}
          {kind !== 'static' && dep?.sizes && dep.sizes.length > 0 && (
            <label className="small">
              Size{' '}
              <SizeSelect label="Deployment size" sizes={dep.sizes} value={size || dep.size?.name || 'default'} onChange={setSize} />
              <span className="muted"> the CPU and memory of each instance (and of builds and runs)</span>
            </label>
          )}
          {kind !== 'static' && dep?.database_choice && !dep.production_database && (
            <label className="small">
              Production database{' '}
              <select aria-label="Production database" value={database} onChange={(e) => setDatabase(e.target.value)}>
                <option value="empty">Empty</option>
                <option value="copy">A copy of the development database</option>
              </select>
              <span className="muted"> made once; later releases and rollbacks keep its data</span>
            </label>
          )}
          {kind !== 'static' && dep?.production_database && (
            <p className="muted small">The production database is kept as it is (it is never overwritten by a release).</p>
          )}
          {kind === 'scheduled' && (
            <label className="small">
              Schedule (cron, UTC){' '}
              <input aria-label="Schedule" value={schedule} onChange={(e) => setSchedule(e.target.value)} placeholder="*/15 * * * *" spellCheck={false} />
              <span className="muted"> minute hour day month weekday, or @hourly, @daily</span>
            </label>
          )}
          <div className="publish-actions">
            <button type="button" className="btn btn-small btn-primary" onClick={publish} disabled={busy}>
              Publish now
            </button>
            <button type="button" className="btn btn-small" onClick={() => setDialog(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {error && <div className="panel-error" role="alert">{error}</div>}
      {dep === null && !error && <p className="muted small" role="status">Loading…</p>}
      {dep !== null && dep.releases.length === 0 && <p className="muted small">Not published yet.</p>}
      {dep !== null && dep.releases.length > 0 && (
        <table className="deployments-table">
          <thead>
            <tr><th>Release</th><th>Status</th><th>Checkpoint</th><th>By</th><th>When</th><th /></tr>
          </thead>
          <tbody>
            {dep.releases.map((r) => (
              <tr key={r.id} data-release={r.id} data-status={r.status}>
                <td><code>{r.id.slice(0, 8)}</code>{r.id === dep.active_release_id && <span className="muted small"> (active)</span>}</td>
                <td>
                  <span className={`deploy-status deploy-${r.status}`}>{r.status}</span>
                  {r.reason && <div className="small deploy-reason">{r.reason}</div>}
                </td>
                <td><code>{r.checkpoint_id.slice(0, 8)}</code></td>
                <td className="small">{r.created_by.slice(0, 8)}</td>
                <td className="small">{new Date(r.created_at).toLocaleString()}</td>
                <td className="deploy-actions">
                  <button type="button" className="btn btn-small" onClick={() => showLog(r.id)}>{logFor === r.id ? 'Hide log' : 'Log'}</button>
                  {canWrite && r.id !== dep.active_release_id && (r.status === 'ready' || r.status === 'live') && (
                    <button type="button" className="btn btn-small" disabled={busy} onClick={() => { setRollbackOf(r); setRestoreData(false) }}>
                      Roll back
                    </button>
                  )}
                  {canWrite && r.id === dep.active_release_id && r.status === 'suspended' && (
                    <button type="button" className="btn btn-small" disabled={busy} onClick={() => act(() => deployApi.activate(project.id, r.id, false))}>
                      Resume
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rollbackOf && (
        <div className="publish-dialog" role="dialog" aria-label="Roll back">
          <p className="small">
            Roll back to release <code>{rollbackOf.id.slice(0, 8)}</code>? Its code goes live; the production data stays as it is
            unless you also restore the data snapshot taken when it was published.
          </p>
          <label className="small">
            <input type="checkbox" checked={restoreData} disabled={!rollbackOf.data_snapshot}
              onChange={(e) => setRestoreData(e.target.checked)} />{' '}
            Also restore this release&apos;s data snapshot (replaces the production database)
            {!rollbackOf.data_snapshot && <span className="muted"> — this release has none</span>}
          </label>
          <div className="publish-actions">
            <button type="button" className="btn btn-small btn-primary" disabled={busy}
              onClick={() => act(async () => { await deployApi.activate(project.id, rollbackOf.id, restoreData); setRollbackOf(null) })}>
              Confirm roll back
            </button>
            <button type="button" className="btn btn-small" onClick={() => setRollbackOf(null)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {logFor && <pre className="deploy-log" aria-label="Build log">{log || 'No output yet.'}</pre>}
      {(dep?.kind === 'server' || dep?.kind === 'autoscale') && dep.active_release_id && (
        <AppLogs projectId={project.id} releaseId={dep.active_release_id} visible={visible} />
      )}
      {dep && dep.status !== 'none' && <DeployRequests projectId={project.id} visible={visible} />}
      {dep?.kind === 'scheduled' && dep.schedule && (
        <DeployRuns projectId={project.id} schedule={dep.schedule} nextRunAt={dep.next_run_at} visible={visible} />
      )}
      {dep && dep.status !== 'none' && (
        <DeploySettings projectId={project.id} dep={dep} canWrite={canWrite} onSaved={(d) => setDep(d)} />
      )}
      {dep !== null && (
        <DeploySecrets projectId={project.id} canWrite={canWrite} kind={dep.status === 'none' ? '' : dep.kind}
          restarting={(dep.restarting ?? false) && !dep.resizing} restartedAt={dep.secrets_restarted_at}
          restartError={dep.secrets_restart_error} restartFailedAt={dep.secrets_restart_failed_at} onChanged={load} />
      )}
      {dep && dep.status !== 'none' && <DeployDomains projectId={project.id} canWrite={canWrite} />}
    </div>
  )
}
