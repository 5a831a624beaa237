import type { ReactNode } from 'react'
import type { Checkpoint } from '../../api'
import { fullTime, timeAgo } from '../../util'

/** Who or what made a checkpoint: the user's name, "Agent", "Restore" or "Fork". */
export function authorLabel(c: Checkpoint): string {
  switch (c.trigger) {
    case 'agent':
      return 'Agent'
    case 'restore':
      return 'Restore'
    case 'fork':
      return c.created_by_name ? `Fork · ${c.created_by_name}` : 'Fork'
    default:
      return c.created_by_name || 'Someone'
  }
}

/** 1234 → "1.2 s", 95000 → "1 min 35 s" */
function seconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)} min ${s % 60} s`
}

/** "3 files · +12 −4 · 1,200 tokens · 4.2 s" */
export function Metrics({ c }: { c: Checkpoint }) {
  const m = c.metrics
  const changed = (m?.files_added ?? 0) + (m?.files_modified ?? 0) + (m?.files_removed ?? 0)
  return (
    <span className="cp-metrics">
      <span title={`Since the previous checkpoint (every change, yours and the agent's): ${m?.files_added ?? 0} added, ${m?.files_modified ?? 0} modified, ${m?.files_removed ?? 0} removed`}>
        {changed} {changed === 1 ? 'file' : 'files'} changed since the previous checkpoint
      </span>
      <span className="cp-add">+{m?.lines_added ?? 0}</span>
      <span className="cp-del">−{m?.lines_removed ?? 0}</span>
      {(m?.tokens_used ?? 0) > 0 && <span>{m.tokens_used.toLocaleString()} tokens</span>}
      {(m?.execution_ms ?? 0) > 0 && <span title="how long the work took">{seconds(m.execution_ms)}</span>}
    </span>
  )
}

interface Props {
  items: Checkpoint[]
  selected: string | null
  onSelect: (id: string | null) => void
  /** Rendered under the selected item. */
  detail: ReactNode
}

/** The checkpoints, newest first; the selected one opens its detail in place. */
export function Timeline({ items, selected, onSelect, detail }: Props) {
  return (
    <ul className="cp-timeline" aria-label="Checkpoints">
      {items.map((c) => {
        const open = c.id === selected
        return (
          <li key={c.id} role="listitem" data-checkpoint-id={c.id} data-trigger={c.trigger}
            className={'cp-item' + (open ? ' open' : '')}>
            <button type="button" className="cp-head" aria-expanded={open}
              onClick={() => onSelect(open ? null : c.id)}>
              <span className={`cp-dot cp-dot-${c.trigger}`} aria-hidden="true" />
              <span className="cp-main">
                <span className="cp-message">{c.message || '(no message)'}</span>
                <span className="cp-sub">
                  <span className={`cp-who cp-who-${c.trigger}`}>{authorLabel(c)}</span>
                  <time dateTime={c.created_at} title={fullTime(c.created_at)}>{timeAgo(c.created_at)}</time>
                </span>
                <Metrics c={c} />
              </span>
            </button>
            {open && detail}
          </li>
        )
      })}
    </ul>
  )
}
