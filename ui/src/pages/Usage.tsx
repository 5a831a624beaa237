import { useCallback, useEffect, useState } from 'react'
import { TopBar } from '../components/TopBar'
import { Icon } from '../components/Icon'
import { Link } from '../router'
import { errorMessage, json } from '../api'
import { useSession } from '../session'
import { Checkout, type Offers } from './UsageCheckout'
import { PlanEditor, type Plan } from './PlanEditor'

type MeterLine = { meter: string; quantity: number; unit: string; amount_micros: number }
type UsageReport = {
  month: string; meters: MeterLine[]; total_micros: number; plan: Plan; balance_micros: number
  included_micros: number; used_micros: number; left_micros: number; warning: boolean
  projects: { project_id: string; name?: string; amount_micros: number; meters: MeterLine[] }[]
  days: { day: string; amount_micros: number; meters: Record<string, number> }[]
  checkout?: Offers
}

const METER_NAMES: Record<string, string> = {
  ai_tokens: 'AI tokens', agent_turn: 'Agent work (level minimum, caps, reversals)', compute_cpu: 'Compute (CPU)',
  compute_memory: 'Compute (memory)', storage: 'Storage', bandwidth: 'Bandwidth', deployment: 'Deployments',
}

/** Formats integer micro-units as dollars. */
export function money(micros: number): string {
  const neg = micros < 0
  const cents = Math.round(Math.abs(micros) / 10000)
  return (neg ? '-' : '') + '$' + Math.floor(cents / 100) + '.' + String(cents % 100).padStart(2, '0')
}

/** One bar per day of the month, as SVG. */
function DayChart({ report }: { report: UsageReport }) {
  const [y, m] = report.month.split('-').map(Number)
  const days = new Date(y, m, 0).getDate()
  const by = new Map(report.days.map((d) => [d.day, d.amount_micros]))
  const values = Array.from({ length: days }, (_, i) => by.get(`${report.month}-${String(i + 1).padStart(2, '0')}`) ?? 0)
  const top = Math.max(1, ...values)
  const w = 620, h = 160, bw = w / days
  return (
    <svg className="usage-chart" viewBox={`0 0 ${w} ${h + 20}`} role="img" aria-label={`Charges per day in ${report.month}`} width="100%">
      {values.map((v, i) => {
        const bh = Math.max(0, (v / top) * h)
        return (
          <g key={i}>
            <rect x={i * bw + 1} y={h - bh} width={bw - 2} height={bh} fill="currentColor" opacity={0.7}>
              <title>{`${report.month}-${i + 1}: ${money(v)}`}</title>
            </rect>
            {(i === 0 || (i + 1) % 5 === 0) && <text x={i * bw + bw / 2} y={h + 14} fontSize="10" textAnchor="middle" fill="currentColor">{i + 1}</text>}
          </g>
        )
      })}
    </svg>
  )
}

export function Usage() {
  const { user } = useSession()
  const [month, setMonth] = useState(() => new Date().toISOString().slice(0, 7))
  const [report, setReport] = useState<UsageReport | null>(null)
  const [err, setErr] = useState('')
  useEffect(() => {
    document.title = 'Usage · E-Code'
  }, [])
  useEffect(() => {
    json<UsageReport>('GET', `/api/usage?month=${month}`).then(setReport, (e) => setErr(errorMessage(e)))
  }, [month])
  if (!user) return null
  return (
    <div className="page">
      <TopBar>
        <Link href="/" className="btn btn-ghost"><Icon name="back" /> Projects</Link>
      </TopBar>
      <main className="settings usage-page">
        <h1>Usage</h1>
        <label>Month <input type="month" value={month} onChange={(e) => setMonth(e.target.value)} aria-label="Month" /></label>
        {err && <p role="alert" className="error">{err}</p>}
        {report && (
          <>
            {report.warning && (
              <p role="alert" className="banner banner-warning" data-testid="usage-warning">
                You have used 80% or more of your credits this month. <a href="#top-up">Top up or upgrade</a>.
              </p>
            )}
            <section className="card" aria-labelledby="credits-h">
              <h2 id="credits-h">Credits</h2>
              <dl className="profile-list">
                <dt>Used this month</dt><dd data-testid="usage-used">{money(report.used_micros)}</dd>
                <dt>Left</dt><dd data-testid="usage-left">{money(report.left_micros)}</dd>
                <dt>Included in plan</dt><dd>{money(report.included_micros)}</dd>
                <dt>Credit balance</dt><dd>{money(report.balance_micros)}</dd>
              </dl>
            </section>
            <section className="card" aria-labelledby="days-h">
              <h2 id="days-h">Per day</h2>
              <DayChart report={report} />
            </section>
            <section className="card" aria-labelledby="meters-h">
              <h2 id="meters-h">By meter</h2>
              <table className="table">
                <thead><tr><th>Meter</th><th>Quantity</th><th>Amount</th></tr></thead>
                <tbody>
                  {report.meters.map((m) => (
                    <tr key={m.meter}><td>{METER_NAMES[m.meter] ?? m.meter}</td><td>{m.quantity.toLocaleString()} {m.unit}</td><td>{money(m.amount_micros)}</td></tr>
                  ))}
                  <tr><th>Total</th><td /><th data-testid="usage-total">{money(report.total_micros)}</th></tr>
                </tbody>
              </table>
            </section>
            <section className="card" aria-labelledby="projects-h">
              <h2 id="projects-h">By project</h2>
              <table className="table">
                <thead><tr><th>Project</th><th>Amount</th></tr></thead>
                <tbody>
                  {report.projects.map((p) => (
                    <tr key={p.project_id}><td>{p.name || p.project_id || '(account)'}</td><td>{money(p.amount_micros)}</td></tr>
                  ))}
                </tbody>
              </table>
            </section>
            <section className="card" aria-labelledby="plan-h" id="top-up">
              <h2 id="plan-h">Plan: <span data-testid="usage-plan">{report.plan.name}</span></h2>
              <dl className="profile-list">
                <dt>Included credits</dt><dd>{money(report.plan.included_micros)} a month</dd>
                <dt>Projects</dt><dd>{report.plan.max_projects || 'no limit'}</dd>
                <dt>Sandbox memory</dt><dd>{report.plan.sandbox_memory_mib} MiB</dd>
                <dt>Deployment CPU</dt><dd>{report.plan.sandbox_cpu ? `${report.plan.sandbox_cpu} vCPU` : 'no cap'}</dd>
                <dt>Project disk</dt><dd>{report.plan.project_disk_mib ? `${report.plan.project_disk_mib} MiB` : "the server's"}</dd>
                <dt>Concurrent runs</dt><dd>{report.plan.concurrent_runs || 'no limit'}</dd>
                <dt>Deployments</dt><dd>{report.plan.deployments || 'no limit'}</dd>
                <dt>Agent monthly cap</dt><dd>{report.plan.agent_monthly_cap_micros ? money(report.plan.agent_monthly_cap_micros) : 'none'}</dd>
              </dl>
              <Checkout offers={report.checkout} planId={report.plan.id} />
            </section>
            <p>
              <a className="btn" href={`/api/usage/statement.csv?month=${report.month}`} download>Download statement (CSV)</a>{' '}
              <button className="btn" type="button" onClick={() => window.print()}>Print statement</button>
            </p>
          </>
        )}
        {user.is_admin && <BillingAdmin month={month} />}
      </main>
    </div>
  )
}

type Account = { id: string; email: string; name: string; plan: string; used_micros: number; balance_micros: number; left_micros: number }

/** The admin's part: every account's usage, plans, grants and the price book. */
function BillingAdmin({ month }: { month: string }) {
  const [accounts, setAccounts] = useState<Account[]>([])
  const [plans, setPlans] = useState<Plan[]>([])
  const [book, setBook] = useState('')
  const [msg, setMsg] = useState('')
  const load = useCallback(() => {
    json<{ accounts: Account[] }>('GET', `/api/admin/billing/accounts?month=${month}`).then((r) => setAccounts(r.accounts), (e) => setMsg(errorMessage(e)))
    json<{ plans: Plan[] }>('GET', '/api/admin/billing/plans').then((r) => setPlans(r.plans), (e) => setMsg(errorMessage(e)))
    json<unknown>('GET', '/api/admin/billing/price-book').then((r) => setBook(JSON.stringify(r, null, 2)), (e) => setMsg(errorMessage(e)))
  }, [month])
  useEffect(load, [load])
  const act = (p: Promise<unknown>, done: string) => p.then(() => { setMsg(done); load() }, (e) => setMsg(errorMessage(e)))
  return (
    <section className="card" aria-labelledby="billing-admin-h">
      <h2 id="billing-admin-h">Billing administration</h2>
      {msg && <p role="status">{msg}</p>}
      <table className="table">
        <thead><tr><th>Account</th><th>Plan</th><th>Used</th><th>Left</th><th>Grant credits ($)</th></tr></thead>
        <tbody>
          {accounts.map((a) => (
            <tr key={a.id}>
              <td>{a.email}</td>
              <td>
                <select aria-label={`Plan of ${a.email}`} value={a.plan}
                  onChange={(e) => act(json('PUT', `/api/admin/billing/accounts/${a.id}/plan`, { plan: e.target.value }), 'Plan assigned.')}>
                  {plans.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
                </select>
              </td>
              <td>{money(a.used_micros)}</td>
              <td>{money(a.left_micros)}</td>
              <td>
                <form onSubmit={(e) => {
                  e.preventDefault()
                  const v = Number(new FormData(e.currentTarget).get('amount'))
                  act(json('POST', `/api/admin/billing/accounts/${a.id}/credits`, { amount_micros: Math.round(v * 100) * 10000, reason: 'granted by an admin' }), 'Credits granted.')
                }}>
                  <input name="amount" type="number" step="0.01" aria-label={`Credits for ${a.email}`} />
                  <button className="btn btn-small" type="submit">Grant</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Plans</h3>
      <table className="table" aria-label="Plans">
        <thead><tr><th>Plan</th><th>Memory</th><th>Deployment CPU</th><th>Project disk</th><th>Deployments</th></tr></thead>
        <tbody>
          {plans.map((p) => (
            <tr key={p.id} data-plan={p.id}>
              <td>{p.name} ({p.id})</td>
              <td>{p.sandbox_memory_mib ? `${p.sandbox_memory_mib} MiB` : "server's"}</td>
              <td>{p.sandbox_cpu ? `${p.sandbox_cpu} vCPU` : 'no cap'}</td>
              <td>{p.project_disk_mib ? `${p.project_disk_mib} MiB` : "server's"}</td>
              <td>{p.deployments || 'no limit'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <PlanEditor plans={plans} onSaved={load} />
      <h3>Price book</h3>
      <textarea aria-label="Price book (JSON)" rows={14} cols={80} value={book} onChange={(e) => setBook(e.target.value)} />
      <p><button className="btn" type="button" onClick={() => {
        try { act(json('PUT', '/api/admin/billing/price-book', JSON.parse(book)), 'Price book saved.') } catch (er) { setMsg(errorMessage(er)) }
      }}>Save price book</button></p>
    </section>
  )
}
