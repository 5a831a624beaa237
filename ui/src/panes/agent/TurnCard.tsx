import { SHOW_CHECKPOINT_EVENT } from '../checkpoints/events'
import type { Item, TurnView } from './turnModel'
import { formatCost, formatDuration, inputSummary } from './turnModel'

/** One turn: the user's prompt, then the agent's text, thinking, actions, and the metrics at the end. */
export function TurnCard({ turn }: { turn: TurnView }) {
  return (
    <section className="agent-turn" data-testid="agent-turn" data-status={turn.status}>
      <div className="agent-prompt">{turn.prompt}</div>
      {turn.items.map((it, k) => <ItemView key={k} item={it} />)}
      {turn.todos.length > 0 && (
        <ul className="agent-todos small" aria-label="Agent plan">
          {turn.todos.map((td, k) => (
            <li key={k} data-status={td.status}>
              <span aria-hidden="true">{td.status === 'completed' ? '✓' : td.status === 'in_progress' ? '▸' : '○'}</span> {td.content}
            </li>
          ))}
        </ul>
      )}
      {turn.status === 'running' && (
        <div className="agent-working small muted" aria-live="polite">
          <span className="run-dot run-dot-starting" aria-hidden="true" /> Working… {turn.costSoFar > 0 && formatCost(turn.costSoFar)}
        </div>
      )}
      {turn.question && turn.status !== 'running' && (
        <div className="agent-question">The agent asks: {turn.question} <span className="muted small">(answer in the prompt box)</span></div>
      )}
      {turn.error && <div className="panel-error" role="alert">{turn.error}</div>}
      {turn.status !== 'running' && <MetricsRow turn={turn} />}
    </section>
  )
}

function ItemView({ item }: { item: Item }) {
  switch (item.kind) {
    case 'text':
      return <div className="agent-text">{item.text}</div>
    case 'thinking':
      return (
        <details className="agent-thinking">
          <summary className="small muted">Thinking</summary>
          <div className="agent-thinking-body small">{item.text}</div>
        </details>
      )
    case 'notice':
      return (
        <div className={`agent-notice small${item.tone === 'warn' ? ' warn' : ''}`}>
          {item.text}
          {item.checkpoint && (
            <> <button type="button" className="cp-link" data-checkpoint={item.checkpoint}
              onClick={() => window.dispatchEvent(new CustomEvent(SHOW_CHECKPOINT_EVENT, { detail: item.checkpoint }))}>
              Open checkpoint
            </button></>
          )}
        </div>
      )
    case 'tool':
      return <ActionCard item={item} />
  }
}

function ActionCard({ item }: { item: Extract<Item, { kind: 'tool' }> }) {
  const state = !item.done ? 'running' : item.isError ? 'error' : 'ok'
  const summary = inputSummary(item.name, item.input)
  return (
    <details className="agent-action" data-testid="agent-action" data-tool={item.name} data-state={state} open={!!item.diff}>
      <summary>
        <span className={`agent-action-dot ${state}`} aria-hidden="true" />
        <span className="agent-action-name">{item.name}</span>
        <span className="agent-action-input" title={summary}>{summary}</span>
        {(item.added || item.removed) ? (
          <span className="agent-lines small">
            <span className="plus">+{item.added ?? 0}</span> <span className="minus">−{item.removed ?? 0}</span>
          </span>
        ) : null}
      </summary>
      {item.diff ? <Diff text={item.diff} /> : null}
      {item.result !== undefined && !item.diff && <pre className="agent-result">{item.result}</pre>}
      {item.result !== undefined && item.diff && <div className="small muted agent-result-line">{item.result.split('\n')[0]}</div>}
      {!item.done && item.input && !summary && <pre className="agent-result muted">{item.input}</pre>}
    </details>
  )
}

function Diff({ text }: { text: string }) {
  return (
    <pre className="agent-diff">
      {text.split('\n').map((l, k) => {
        const cls = l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : l.startsWith('@@') ? 'hunk' : ''
        return <div key={k} className={cls}>{l || ' '}</div>
      })}
    </pre>
  )
}

function MetricsRow({ turn }: { turn: TurnView }) {
  const m = turn.metrics
  if (!m) return turn.stop ? <div className="agent-metrics small muted">Stopped: {turn.stop}</div> : null
  const tokens = (m.usage?.input_tokens ?? 0) + (m.usage?.output_tokens ?? 0) + (m.usage?.cache_read_tokens ?? 0) + (m.usage?.cache_write_tokens ?? 0)
  const files = m.files_modified ?? []
  return (
    <div className="agent-metrics small" data-testid="agent-metrics">
      {turn.stop && turn.stop !== 'end_turn' && <span className="agent-stop">{turn.stop.replace(/_/g, ' ')}</span>}
      <span title="Prompt and output tokens, cache included">{tokens.toLocaleString()} tokens</span>
      <span>{formatCost(m.cost_usd)}</span>
      <span title={'Changed by the agent in this turn:\n' + (files.join('\n') || 'none')}>{files.length} file{files.length === 1 ? '' : 's'} modified by the agent</span>
      <span><span className="plus">+{m.lines_added}</span> <span className="minus">−{m.lines_removed}</span></span>
      <span>{formatDuration(m.wall)}</span>
      <span className="muted">{m.steps} steps · {m.tool_calls} actions</span>
    </div>
  )
}
