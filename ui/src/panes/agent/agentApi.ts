// The AI agent's API (docs/API.md "AI agent"): status, quote, turns (an SSE stream over a POST), stop.
import { ApiError, errorMessage } from '../../api'

export interface AgentStatus {
  configured: boolean
  provider?: string
  model?: string
  help?: string
  env_vars: string[]
}

export interface AgentMode {
  thinking: boolean
  high_power: boolean
  web_search: boolean
  level?: string // the complexity level the user chose ("" or absent: classified)
}

export interface Quote {
  level?: string
  multiplier?: number
  price_min_micros?: number
  price_max_micros?: number
  cap_micros?: number
  level_source?: string
  level_reason?: string
  levels?: string[]
  refusal?: { code: string; message: string; fields?: Record<string, string> }
  model: string
  max_output_tokens: number
  web_search: boolean
  limits: { max_steps: number; max_wall_s: number; max_tokens: number; max_cost_usd: number }
  first_call_max_usd: number
  max_usd: number
  price_checked?: string
}

export interface Usage {
  input_tokens: number
  output_tokens: number
  cache_read_tokens?: number
  cache_write_tokens?: number
}

export interface Metrics {
  steps: number
  tool_calls: number
  usage: Usage
  cost_usd: number
  files_modified: string[] | null
  lines_added: number
  lines_removed: number
  wall: number // nanoseconds
}

/** One event of a turn, as the server sends and stores it. */
export interface AgentEvent {
  type: string
  seq: number
  step: number
  text?: string
  index?: number
  tool_id?: string
  tool_name?: string
  input?: unknown
  result?: string
  is_error?: boolean
  path?: string
  diff?: string
  lines_added?: number
  lines_removed?: number
  cost_usd?: number
  metrics?: Metrics
  stop_reason?: string
  attempt?: number
  reason?: string
  /** secret_request: the secret's name */
  name?: string
  todos?: { content: string; status: string }[]
}

export interface TurnResult {
  stop_reason: string
  text: string
  question?: string
  metrics: Metrics
}

export interface StoredTurn {
  id: string
  prompt: string
  mode: Partial<AgentMode & { extended_thinking: boolean }>
  status: 'running' | 'finished' | 'failed'
  stop_reason: string
  result: TurnResult | { result?: TurnResult; error?: string } | Record<string, never>
  created_at: string
  events: AgentEvent[]
}

const base = (id: string) => `/api/projects/${encodeURIComponent(id)}/agent`

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  let res: Response
  try {
    res = await fetch(url, {
      method, credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (err) {
    throw new ApiError(0, 'network', 'Cannot reach the server: ' + errorMessage(err))
  }
  if (!res.ok) throw await toError(res)
  return (await res.json()) as T
}

async function toError(res: Response): Promise<ApiError> {
  try {
    const b = await res.json()
    return new ApiError(res.status, b?.error?.code ?? 'http_' + res.status, b?.error?.message ?? res.statusText)
  } catch {
    return new ApiError(res.status, 'http_' + res.status, res.statusText || 'request failed')
  }
}

export const agentApi = {
  status: () => call<AgentStatus>('GET', '/api/agent/status'),
  quote: (id: string, prompt: string, mode: AgentMode) => call<Quote>('POST', `${base(id)}/quote`, { prompt, ...mode }),
  turns: (id: string) => call<{ turns: StoredTurn[]; running: string | null }>('GET', `${base(id)}/turns`),
  stop: (id: string) => call<{ stopped: boolean }>('POST', `${base(id)}/stop`),
}

export type StreamHandler = (name: string, data: unknown) => void

/** Reads a Server-Sent Events body, calling on(name, parsed data) per event. */
async function readStream(res: Response, on: StreamHandler): Promise<void> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buf += value
    let cut: number
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut)
      buf = buf.slice(cut + 2)
      let name = 'message'
      let data = ''
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7)
        else if (line.startsWith('data: ')) data += line.slice(6)
      }
      if (data) on(name, JSON.parse(data))
    }
  }
}

/** Starts a turn and streams its events until the final `result` event. */
export async function sendTurn(id: string, prompt: string, mode: AgentMode, on: StreamHandler, signal?: AbortSignal): Promise<void> {
  let res: Response
  try {
    res = await fetch(`${base(id)}/turns`, {
      method: 'POST', credentials: 'same-origin', signal,
      headers: { Accept: 'text/event-stream', 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt, ...mode }),
    })
  } catch (err) {
    throw new ApiError(0, 'network', 'Cannot reach the server: ' + errorMessage(err))
  }
  if (!res.ok) throw await toError(res)
  await readStream(res, on)
}

/** Watches the project's running turn from its start (resolves at once when none runs). */
export async function watchTurn(id: string, on: StreamHandler, signal?: AbortSignal): Promise<void> {
  const res = await fetch(`${base(id)}/stream`, { credentials: 'same-origin', signal, headers: { Accept: 'text/event-stream' } })
  if (res.status === 204 || !res.ok) return
  await readStream(res, on)
}
