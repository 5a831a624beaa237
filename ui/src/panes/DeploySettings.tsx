import { useEffect, useState, type FormEvent } from 'react'
import { errorMessage, json } from '../api'

/** A deployment size: the CPU and memory of each of its sandboxes. */
export interface DeploySize {
  name: string
  cpu: number
  memory_bytes: number
  /** Standard (1 vCPU / 1 GiB) instance-seconds billed per second. */
  weight: number
  /** In GET's list: the owner may choose it here, else why not. */
  allowed?: boolean
  reason?: string
}

/** "small: 0.5 vCPU, 512 MiB" */
export const sizeLabel = (z: DeploySize) =>
  `${z.name}: ${z.cpu} vCPU, ${Math.round(z.memory_bytes / (1 << 20))} MiB${z.weight !== 1 ? ` (billed ×${z.weight})` : ''}`

/** A choice of the deployment's size; sizes the owner may not choose are listed, disabled, with why. */
export function SizeSelect({ label, sizes, value, disabled, onChange }: {
  label: string
  sizes: DeploySize[]
  value: string
  disabled?: boolean
  onChange: (name: string) => void
}) {
  return (
    <select aria-label={label} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
      {sizes.map((z) => (
        <option key={z.name} value={z.name} disabled={z.allowed === false} title={z.reason}>
          {sizeLabel(z)}{z.allowed === false ? ` — ${z.reason ?? 'not on your plan or server'}` : ''}
        </option>
      ))}
    </select>
  )
}

/** The live deployment's settings as GET /api/projects/{id}/deployment shows them. */
export interface DeploySettingsState {
  kind: string
  instance_count: number
  schedule?: string
  idle_timeout_s?: number
  idle_timeout_default?: boolean
  max_instances?: number
  size?: DeploySize
  sizes?: DeploySize[]
  /** A change of size is replacing the serving instances (after the PATCH answered 202). */
  resizing?: boolean
  /** Why and when the last change of size failed (the old instances kept serving); cleared by the next one. */
  resize_error?: string
  resize_failed_at?: string
}

/**
 * Settings of the live deployment, changed without publishing (PATCH
 * /api/projects/{id}/deployment): the instance count (the serving
 * instances grow or shrink at once), a scheduled deployment's schedule and
 * an autoscale deployment's idle timeout, and the size of its sandboxes
 * (a new size replaces the serving instances). Save shows the server's answer.
 */
export function DeploySettings<T extends DeploySettingsState>({ projectId, dep, canWrite, onSaved }: {
  projectId: string
  dep: T
  canWrite: boolean
  onSaved: (d: T) => void
}) {
  const [instances, setInstances] = useState(String(dep.instance_count))
  const [schedule, setSchedule] = useState(dep.schedule ?? '')
  const [idleMin, setIdleMin] = useState(dep.idle_timeout_default ? '' : String((dep.idle_timeout_s ?? 0) / 60))
  const [size, setSize] = useState(dep.size?.name ?? 'default')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [note, setNote] = useState<string | null>(null)
  useEffect(() => {
    setInstances(String(dep.instance_count))
    setSchedule(dep.schedule ?? '')
    setIdleMin(dep.idle_timeout_default ? '' : String((dep.idle_timeout_s ?? 0) / 60))
    setSize(dep.size?.name ?? 'default')
  }, [dep.instance_count, dep.schedule, dep.idle_timeout_s, dep.idle_timeout_default, dep.size?.name])

  const runs = dep.kind === 'server' || dep.kind === 'autoscale'
  if (!runs && dep.kind !== 'scheduled') return null

  const save = async (e: FormEvent) => {
    e.preventDefault()
    const body: Record<string, unknown> = {}
    if (runs) body.instances = Number(instances)
    if (dep.kind === 'scheduled') body.schedule = schedule
    if (dep.kind === 'autoscale') body.idle_timeout_s = idleMin.trim() === '' ? 0 : Math.round(Number(idleMin) * 60)
    if (size !== (dep.size?.name ?? 'default')) body.size = size // only a change: it replaces the instances
    setBusy(true)
    setError(null)
    setNote(null)
    try {
      const d = await json<T>('PATCH', `/api/projects/${encodeURIComponent(projectId)}/deployment`, body)
      onSaved(d)
      setNote(d.resizing ? 'Saved: the new size applies once its instances answer.' : 'Saved: the live deployment uses it now.')
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className="deploy-settings" aria-label="Deployment settings">
      <h3>Settings</h3>
      <form onSubmit={save} className="deploy-settings-form">
        {runs && (
          <label className="small">
            Instances{' '}
            <input aria-label="Live instance count" type="number" min={1} max={dep.max_instances ?? 8} value={instances}
              disabled={!canWrite} onChange={(e) => setInstances(e.target.value)} />
            <span className="muted"> new ones join once they answer; removed ones finish their requests</span>
          </label>
        )}
        {dep.sizes && dep.sizes.length > 0 && (
          <label className="small">
            Size{' '}
            <SizeSelect label="Live size" sizes={dep.sizes} value={size} disabled={!canWrite} onChange={setSize} />
            <span className="muted" aria-label="Current size">
              {' '}now {dep.size ? sizeLabel(dep.size) : 'default'}; a new size starts new instances and switches when they answer
            </span>
            {(dep.resizing || (busy && size !== (dep.size?.name ?? 'default'))) && (
              <span className="deploy-resizing" role="status">
                {' '}Resizing: new instances of the new size are starting; the old ones serve until they answer…
              </span>
            )}
            {!dep.resizing && dep.resize_error && (
              <span className="form-error deploy-resize-failed" role="alert">
                {' '}The last change of size failed
                {dep.resize_failed_at ? ` (${new Date(dep.resize_failed_at).toLocaleString()})` : ''}: {dep.resize_error}.
                The instances of the size before kept serving.
              </span>
            )}
          </label>
        )}
        {dep.kind === 'scheduled' && (
          <label className="small">
            Schedule (cron, UTC){' '}
            <input aria-label="Live schedule" value={schedule} disabled={!canWrite} spellCheck={false}
              onChange={(e) => setSchedule(e.target.value)} />
          </label>
        )}
        {dep.kind === 'autoscale' && (
          <label className="small">
            Idle timeout (minutes){' '}
            <input aria-label="Idle timeout minutes" type="number" min={1} max={1440} value={idleMin} disabled={!canWrite}
              placeholder={`${(dep.idle_timeout_s ?? 900) / 60} (server default)`} onChange={(e) => setIdleMin(e.target.value)} />
            <span className="muted"> empty: the server&apos;s default</span>
          </label>
        )}
        {canWrite && (
          <button type="submit" className="btn btn-small btn-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save settings'}
          </button>
        )}
      </form>
      {error && <p className="form-error" role="alert">{error}</p>}
      {note && <p className="small" role="status">{note}</p>}
    </section>
  )
}
