import { useCallback, useEffect, useState } from 'react'
import { errorMessage } from '../api'
import { FormError } from '../components/Field'
import { money } from '../pages/Usage'
import { LineChart, type Line } from './LineChart'
import { monitorApi, type MonitorPoint, type MonitorRange, type MonitorSeries } from './monitorApi'

const ranges: { id: MonitorRange; label: string }[] = [
  { id: '1h', label: 'Last hour' },
  { id: '24h', label: 'Last 24 hours' },
  { id: '7d', label: 'Last 7 days' },
]

/** How often the open page reads the series again. */
const REFRESH_MS = 10_000

const count = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1))
const millis = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`)

function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${units[i]}`
}

function stepName(s: number): string {
  if (s % 3600 === 0) return s === 3600 ? 'hour' : `${s / 3600} hours`
  if (s % 60 === 0) return s === 60 ? 'minute' : `${s / 60} minutes`
  return `${s} seconds`
}

interface ChartSpec {
  title: string
  format: (v: number) => string
  lines: { name: string; value: (p: MonitorPoint) => number }[]
}

function charts(step: number): ChartSpec[] {
  const per = `per ${stepName(step)}`
  return [
    { title: `Requests (${per})`, format: count, lines: [{ name: 'Requests', value: (p) => p.requests }] },
    { title: `Server errors, 5xx (${per})`, format: count, lines: [{ name: 'Errors', value: (p) => p.errors_5xx }] },
    {
      title: 'Latency', format: millis,
      lines: [{ name: 'p50', value: (p) => p.p50_ms }, { name: 'p95', value: (p) => p.p95_ms }],
    },
    { title: 'Active sandboxes', format: count, lines: [{ name: 'Sandboxes', value: (p) => p.sandboxes_active }] },
    { title: 'Active users (last 15 minutes)', format: count, lines: [{ name: 'Users', value: (p) => p.users_active }] },
    { title: `Agent spend (${per})`, format: money, lines: [{ name: 'Spend', value: (p) => p.agent_spend_micros }] },
    {
      title: 'Job queue', format: count,
      lines: [
        { name: 'Waiting', value: (p) => p.jobs_queued },
        { name: 'Running', value: (p) => p.jobs_running },
        { name: 'Failed', value: (p) => p.jobs_failed },
      ],
    },
    {
      title: 'Data disk used', format: bytes,
      lines: [{ name: 'Used', value: (p) => Math.max(0, p.disk_total_bytes - p.disk_free_bytes) }, { name: 'Size', value: (p) => p.disk_total_bytes }],
    },
  ]
}

/** Charts of the server's own samples: requests, errors, latency, sandboxes, users, agent spend, jobs, disk. */
export function MonitoringPanel() {
  const [range, setRange] = useState<MonitorRange>('1h')
  const [series, setSeries] = useState<MonitorSeries | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = useCallback(() => {
    monitorApi.series(range).then((s) => {
      setSeries(s)
      setError(null)
    }, (e) => setError(errorMessage(e)))
  }, [range])
  useEffect(() => {
    load()
    const t = window.setInterval(load, REFRESH_MS)
    return () => window.clearInterval(t)
  }, [load])
  const times = series?.points.map((p) => Date.parse(p.at)) ?? []
  return (
    <section className="card" aria-labelledby="monitoring-h">
      <h2 id="monitoring-h">Monitoring</h2>
      <p className="muted">What the servers recorded of themselves, every minute by default (<code>--monitor-interval</code>); kept for a week.</p>
      <div className="row" role="group" aria-label="Range">
        {ranges.map((r) => (
          <button key={r.id} type="button" className={'btn' + (r.id === range ? ' btn-primary' : ' btn-ghost')} aria-pressed={r.id === range} onClick={() => setRange(r.id)}>
            {r.label}
          </button>
        ))}
        <button type="button" className="btn btn-ghost" onClick={load}>Refresh</button>
      </div>
      <FormError message={error} />
      {series && series.points.length === 0 && (
        <p className="muted" role="status">No samples in this range yet. Each server records one every monitoring interval; charts appear after the first.</p>
      )}
      {series && series.points.length > 0 && (
        <div className="chart-grid-list">
          {charts(series.step_seconds).map((c) => {
            const lines: Line[] = c.lines.map((l) => ({ name: l.name, values: series.points.map(l.value) }))
            return (
              <LineChart key={c.title} title={c.title} times={times} lines={lines} format={c.format}
                from={Date.parse(series.from)} to={Date.parse(series.to)} gap={series.step_seconds * 2500} />
            )
          })}
        </div>
      )}
    </section>
  )
}
