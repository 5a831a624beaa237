// Folds a turn's events into what the Agent pane shows: text, thinking, action cards, notices, metrics.
import type { AgentEvent, Metrics, StoredTurn, TurnResult } from './agentApi'

export type Item =
  | { kind: 'text'; step: number; text: string }
  | { kind: 'thinking'; step: number; text: string }
  | {
      kind: 'tool'; step: number; index: number; id: string; name: string; input: string; done: boolean
      result?: string; isError?: boolean; path?: string; diff?: string; added?: number; removed?: number
    }
  | { kind: 'notice'; step: number; text: string; tone?: 'warn'; checkpoint?: string }

export interface TurnView {
  id: string
  prompt: string
  status: 'running' | 'finished' | 'failed'
  items: Item[]
  todos: { content: string; status: string }[]
  costSoFar: number
  metrics?: Metrics
  stop?: string
  error?: string
  question?: string
}

export function newTurn(id: string, prompt: string): TurnView {
  return { id, prompt, status: 'running', items: [], todos: [], costSoFar: 0 }
}

/** Returns the turn with one more event applied (a new object; items are copied when changed). */
export function applyEvent(t: TurnView, e: AgentEvent): TurnView {
  const items = t.items.slice()
  const last = items[items.length - 1]
  const appendText = (kind: 'text' | 'thinking') => {
    if (last && last.kind === kind && last.step === e.step) items[items.length - 1] = { ...last, text: last.text + (e.text ?? '') }
    else items.push({ kind, step: e.step, text: e.text ?? '' })
  }
  const findTool = (pred: (i: Extract<Item, { kind: 'tool' }>) => boolean) => {
    for (let k = items.length - 1; k >= 0; k--) {
      const it = items[k]
      if (it.kind === 'tool' && pred(it)) return k
    }
    return -1
  }
  switch (e.type) {
    case 'text_delta':
      appendText('text')
      break
    case 'thinking_delta':
      appendText('thinking')
      break
    case 'tool_call_started':
      items.push({ kind: 'tool', step: e.step, index: e.index ?? 0, id: e.tool_id ?? '', name: e.tool_name ?? '', input: '', done: false })
      break
    case 'tool_call_input_delta': {
      const k = findTool((i) => i.step === e.step && i.index === (e.index ?? 0) && !i.done)
      if (k >= 0) {
        const it = items[k] as Extract<Item, { kind: 'tool' }>
        items[k] = { ...it, input: it.input + (e.text ?? '') }
      }
      break
    }
    case 'tool_call': {
      const input = JSON.stringify(e.input ?? {})
      const k = findTool((i) => i.id === e.tool_id)
      if (k >= 0) items[k] = { ...(items[k] as Extract<Item, { kind: 'tool' }>), input }
      else items.push({ kind: 'tool', step: e.step, index: 0, id: e.tool_id ?? '', name: e.tool_name ?? '', input, done: false })
      break
    }
    case 'tool_call_finished': {
      const k = findTool((i) => i.id === e.tool_id)
      const done = { done: true, result: e.result, isError: e.is_error, path: e.path, diff: e.diff, added: e.lines_added, removed: e.lines_removed }
      if (k >= 0) items[k] = { ...(items[k] as Extract<Item, { kind: 'tool' }>), ...done }
      else items.push({ kind: 'tool', step: e.step, index: 0, id: e.tool_id ?? '', name: e.tool_name ?? '', input: '', ...done })
      break
    }
    case 'retrying': {
      // the failed attempt's partial output is discarded
      const kept = items.filter((i) => i.step !== e.step || (i.kind === 'tool' && i.done) || i.kind === 'notice')
      kept.push({ kind: 'notice', step: e.step, text: `Retrying (attempt ${e.attempt}): ${e.reason ?? ''}`, tone: 'warn' })
      return { ...t, items: kept }
    }
    case 'context_compacted':
      items.push({ kind: 'notice', step: e.step, text: `Context ${e.reason}: ${e.text ?? ''}` })
      break
    case 'checkpoint_created':
      items.push({ kind: 'notice', step: e.step, text: 'Checkpoint saved with the agent’s changes.', checkpoint: e.text })
      break
    case 'waiting_for_user':
      return { ...t, items, question: e.text }
    case 'server_block':
      items.push({ kind: 'notice', step: e.step, text: `${e.tool_name ?? 'web search'}` })
      break
    case 'todo_updated':
      return { ...t, items, todos: e.todos ?? [] }
    case 'usage':
      return { ...t, items, costSoFar: t.costSoFar + (e.cost_usd ?? 0) }
    case 'turn_finished':
      return { ...t, items, metrics: e.metrics, stop: e.stop_reason, status: e.stop_reason === 'error' ? 'failed' : 'finished' }
    default:
      return t
  }
  return { ...t, items }
}

/** The final `result` event of a stream. */
export function applyResult(t: TurnView, r: { result?: TurnResult | null; error?: string }): TurnView {
  const res = r.result ?? undefined
  return {
    ...t, status: r.error || res?.stop_reason === 'error' ? 'failed' : 'finished',
    metrics: res?.metrics ?? t.metrics, stop: res?.stop_reason ?? t.stop, error: r.error,
    question: res?.question || t.question,
  }
}

/** A stored turn replayed from its events. */
export function fromStored(s: StoredTurn): TurnView {
  let t = newTurn(s.id, s.prompt)
  for (const e of s.events) t = applyEvent(t, e)
  const r = s.result as { result?: TurnResult; error?: string } & Partial<TurnResult>
  if (s.status !== 'running') {
    t = applyResult(t, r.stop_reason ? { result: r as TurnResult } : { result: r.result, error: r.error })
    if (s.stop_reason === 'interrupted') t = { ...t, status: 'failed', error: 'interrupted by a server restart' }
  }
  return t
}

/** A short summary of a tool call's input for its card header. */
export function inputSummary(name: string, input: string): string {
  let v: Record<string, unknown>
  try {
    v = JSON.parse(input || '{}')
  } catch {
    return input.slice(0, 80)
  }
  const pick = v.file_path ?? v.path ?? v.command ?? v.pattern ?? v.action ?? v.query ?? v.sql ?? v.packages
  if (name === 'todo_write' && Array.isArray(v.todos)) return `${v.todos.length} items`
  if (pick === undefined) return ''
  const s = Array.isArray(pick) ? pick.join(' ') : String(pick)
  return s.length > 80 ? s.slice(0, 77) + '…' : s
}

export function formatDuration(ns: number): string {
  const s = ns / 1e9
  if (s < 60) return `${s.toFixed(1)} s`
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
}

export function formatCost(usd: number): string {
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`
}
