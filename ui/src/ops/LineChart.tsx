// A small time-series line chart drawn as SVG (no chart library).

export interface Line {
  name: string
  /** One value per point (same order as the chart's times). */
  values: number[]
  color?: string
}

interface Props {
  title: string
  /** The points' times, in milliseconds since the epoch, oldest first. */
  times: number[]
  lines: Line[]
  from: number
  to: number
  /** Points further apart than this (ms) are not joined: no samples between them. */
  gap: number
  format: (v: number) => string
}

const W = 320
const H = 110
const PAD_L = 4
const PAD_T = 8
const PLOT_H = H - PAD_T - 18
const COLORS = ['#f26207', '#5b9cff', '#3fb950', '#d2a8ff']

/** A chart of one or more lines over [from, to]: each point is a dot with a tooltip. */
export function LineChart({ title, times, lines, from, to, gap, format }: Props) {
  const top = Math.max(0, ...lines.flatMap((l) => l.values))
  const scaleY = top > 0 ? top * 1.1 : 1
  const x = (t: number) => PAD_L + ((t - from) / Math.max(1, to - from)) * (W - 2 * PAD_L)
  const y = (v: number) => PAD_T + PLOT_H - (v / scaleY) * PLOT_H
  const last = lines.map((l) => `${l.name} ${format(l.values[l.values.length - 1] ?? 0)}`).join(', ')
  const clock = (t: number) => new Date(t).toLocaleString(undefined, to - from > 36 * 3600e3 ? { month: 'short', day: 'numeric' } : { hour: '2-digit', minute: '2-digit' })
  return (
    <figure className="chart" aria-label={title}>
      <figcaption>
        <span className="chart-title">{title}</span>
        <span className="chart-legend">
          {lines.map((l, i) => (
            <span key={l.name} className="chart-key">
              <span className="chart-swatch" style={{ background: l.color ?? COLORS[i % COLORS.length] }} />
              {l.name} <strong>{times.length ? format(l.values[l.values.length - 1]) : '—'}</strong>
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={times.length ? `${title}: latest ${last}` : `${title}: no data`}>
        <line x1={PAD_L} x2={W - PAD_L} y1={PAD_T + PLOT_H} y2={PAD_T + PLOT_H} className="chart-axis" />
        <line x1={PAD_L} x2={W - PAD_L} y1={PAD_T} y2={PAD_T} className="chart-grid" />
        <text x={PAD_L + 2} y={PAD_T + 9} className="chart-label">{format(top)}</text>
        <text x={PAD_L} y={H - 3} className="chart-label">{clock(from)}</text>
        <text x={W - PAD_L} y={H - 3} textAnchor="end" className="chart-label">{clock(to)}</text>
        {lines.map((l, li) => {
          const color = l.color ?? COLORS[li % COLORS.length]
          const d = times.map((t, i) => `${i > 0 && t - times[i - 1] <= gap ? 'L' : 'M'}${x(t).toFixed(1)},${y(l.values[i]).toFixed(1)}`).join('')
          return (
            <g key={l.name} stroke={color} fill={color}>
              <path d={d} fill="none" strokeWidth={1.5} />
              {times.map((t, i) => (
                <circle key={t} cx={x(t)} cy={y(l.values[i])} r={times.length > 60 ? 1.2 : 2.2} data-point="">
                  <title>{`${new Date(t).toLocaleString()}: ${l.name} ${format(l.values[i])}`}</title>
                </circle>
              ))}
            </g>
          )
        })}
      </svg>
    </figure>
  )
}
