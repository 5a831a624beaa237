import { useEffect, useState, type FormEvent } from 'react'
import { ApiError, errorMessage, json } from '../api'

/** A plan as GET /api/admin/billing/plans lists it. */
export type Plan = {
  id: string; name: string; price_micros?: number; included_micros: number; max_projects: number
  sandbox_memory_mib: number; sandbox_cpu?: number; project_disk_mib?: number
  concurrent_runs: number; deployments: number; agent_monthly_cap_micros: number; stripe_price?: string
}

/** The numeric fields the form edits: the API's name, its label, and how a typed value maps to it. */
const numberFields: { key: keyof Plan; label: string; hint: string; step: string; dollars?: boolean }[] = [
  { key: 'price_micros', label: 'Price ($ a month)', hint: '', step: '0.01', dollars: true },
  { key: 'included_micros', label: 'Included credits ($ a month)', hint: '', step: '0.01', dollars: true },
  { key: 'max_projects', label: 'Projects', hint: '0: no limit', step: '1' },
  { key: 'sandbox_memory_mib', label: 'Sandbox memory (MiB)', hint: "0: the server's", step: '1' },
  { key: 'sandbox_cpu', label: 'Deployment CPU (cores)', hint: 'the largest deployment size allowed; 0: no cap', step: '0.1' },
  { key: 'project_disk_mib', label: 'Project disk (MiB)', hint: "0: the server's --project-disk", step: '1' },
  { key: 'concurrent_runs', label: 'Concurrent runs', hint: '0: no limit', step: '1' },
  { key: 'deployments', label: 'Deployments', hint: '0: no limit', step: '1' },
  { key: 'agent_monthly_cap_micros', label: 'Agent cap ($ a month)', hint: '0: none', step: '0.01', dollars: true },
]

type Draft = Record<string, string>

const toDraft = (p?: Plan): Draft => {
  const d: Draft = { id: p?.id ?? '', name: p?.name ?? '' }
  for (const f of numberFields) {
    const v = Number(p?.[f.key] ?? 0)
    d[f.key] = String(f.dollars ? v / 1e6 : v)
  }
  return d
}

const fromDraft = (d: Draft, base?: Plan): Plan => {
  const p: Record<string, unknown> = { ...(base ?? {}), id: d.id.trim(), name: d.name.trim() }
  for (const f of numberFields) {
    const v = d[f.key].trim() === '' ? 0 : Number(d[f.key])
    p[f.key] = f.dollars ? Math.round(v * 1e6) : v
  }
  return p as Plan
}

/**
 * The admin's plan form: pick a plan to edit (or a new one), change its
 * limits (among them the deployment CPU and the project disk) and save it
 * (PUT /api/admin/billing/plans/{id}); the server's reasons for refused
 * fields show next to them.
 */
export function PlanEditor({ plans, onSaved }: { plans: Plan[]; onSaved: () => void }) {
  const [editing, setEditing] = useState('')
  const base = plans.find((p) => p.id === editing)
  const [draft, setDraft] = useState<Draft>(() => toDraft(base))
  const [fields, setFields] = useState<Record<string, string>>({})
  const [msg, setMsg] = useState('')
  useEffect(() => {
    setDraft(toDraft(plans.find((p) => p.id === editing)))
    setFields({})
  }, [editing, plans])

  const save = async (e: FormEvent) => {
    e.preventDefault()
    setMsg('')
    setFields({})
    const p = fromDraft(draft, base)
    if (!p.id) {
      setFields({ id: 'give the plan an id' })
      return
    }
    try {
      await json('PUT', `/api/admin/billing/plans/${encodeURIComponent(p.id)}`, p)
      setMsg(`Plan ${p.id} saved.`)
      setEditing(p.id)
      onSaved()
    } catch (err) {
      if (err instanceof ApiError && Object.keys(err.fields).length > 0) setFields(err.fields)
      setMsg(errorMessage(err))
    }
  }

  const fieldError = (key: string) =>
    fields[key] ? <span className="form-error" role="alert" aria-label={`Error of ${key}`}>{fields[key]}</span> : null
  const set = (key: string, v: string) => setDraft((d) => ({ ...d, [key]: v }))

  return (
    <form className="plan-editor" aria-label="Plan editor" onSubmit={save}>
      <label className="small">
        Plan{' '}
        <select aria-label="Plan to edit" value={editing} onChange={(e) => setEditing(e.target.value)}>
          <option value="">New plan</option>
          {plans.map((p) => <option key={p.id} value={p.id}>{p.name} ({p.id})</option>)}
        </select>
      </label>
      <div className="plan-fields">
        <label className="small">
          Id <input aria-label="Plan id" value={draft.id} disabled={editing !== ''} onChange={(e) => set('id', e.target.value)} />
          {fieldError('id')}
        </label>
        <label className="small">
          Name <input aria-label="Plan name" value={draft.name} onChange={(e) => set('name', e.target.value)} />
          {fieldError('name')}
        </label>
        {numberFields.map((f) => (
          <label key={f.key} className="small">
            {f.label}{' '}
            <input aria-label={f.label} type="number" step={f.step} value={draft[f.key]} onChange={(e) => set(f.key, e.target.value)} />
            {f.hint && <span className="muted"> {f.hint}</span>}
            {fieldError(f.key)}
          </label>
        ))}
      </div>
      <p>
        <button className="btn btn-small btn-primary" type="submit">Save plan</button>
        {msg && <span role="status"> {msg}</span>}
      </p>
    </form>
  )
}
