import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react'
import { errorMessage, secretsApi } from '../api'
import { Icon } from '../components/Icon'
import { agentApi, type AgentMode, type AgentStatus, type Quote } from './agent/agentApi'
import { TurnCard } from './agent/TurnCard'
import { formatCost } from './agent/turnModel'
import { useAgent } from './agent/useAgent'
import { useSession } from '../session'
import { startPromptKey } from '../components/dashboard/BuildPrompt'
import type { PaneProps } from './types'
import './agent/agent.css'

/** The AI agent: a conversation per project; its edits land in the project's files as it works. */
export function AgentPane({ project, canWrite }: PaneProps) {
  const { status, turns, running, error, send, stop } = useAgent(project.id)
  const [prompt, setPrompt] = useState('')
  const [mode, setMode] = useState<AgentMode>({ thinking: false, high_power: false, web_search: false })
  const quote = useQuote(project.id, prompt, mode, !!status?.configured && canWrite)
  const log = useRef<HTMLDivElement>(null)

  useEffect(() => {
    const el = log.current
    if (el) el.scrollTop = el.scrollHeight
  }, [turns])

  // A project made from the dashboard's prompt: send that prompt once, as the first turn.
  useEffect(() => {
    if (!status?.configured || !canWrite || running) return
    const key = startPromptKey(project.id)
    const raw = sessionStorage.getItem(key)
    if (!raw) return
    sessionStorage.removeItem(key)
    try {
      const start = JSON.parse(raw) as { prompt: string; mode: AgentMode }
      if (start.prompt) void send(start.prompt, start.mode)
    } catch {
      // not ours
    }
  }, [status, canWrite, running, project.id, send])

  if (status && !status.configured) return <Unconfigured status={status} />

  const submit = (e?: FormEvent) => {
    e?.preventDefault()
    const text = prompt.trim()
    if (!text || running) return
    setPrompt('')
    void send(text, mode)
  }
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey) submit()
    if (e.key === 'Enter' && !e.shiftKey) e.preventDefault()
  }
  const toggle = (k: keyof AgentMode) => setMode((m) => ({ ...m, [k]: !m[k] }))

  return (
    <div className="pane agent-pane">
      <div className="pane-toolbar">
        <span className="small muted">{status ? `${status.provider} · ${status.model}` : 'Loading…'}</span>
        <div className="spacer" />
        {running && canWrite && (
          <button type="button" className="btn btn-small" aria-label="Stop the agent" onClick={stop}>
            <Icon name="stop" size={14} /> Stop
          </button>
        )}
      </div>
      <div className="agent-log" ref={log} data-testid="agent-log">
        {turns.length === 0 && !running && (
          <div className="pane-empty"><p>Ask the agent to build or change something.</p><p className="small">Its edits appear in the files as it works.</p></div>
        )}
        {turns.map((t, i) => (
          <TurnCard key={t.id} turn={t} onProvideSecret={canWrite && i === turns.length - 1 ? async (name, value) => {
            await secretsApi.put(project.id, name, value)
            void send(`The user provided ${name}.`, mode) // the model gets the name only
          } : undefined} />
        ))}
      </div>
      {error && <div className="panel-error agent-error" role="alert">{error}</div>}
      {canWrite ? (
        <form className="agent-input" onSubmit={submit}>
          <textarea aria-label="Message the agent" placeholder="Describe what to build or change…" rows={3} value={prompt}
            onChange={(e) => setPrompt(e.target.value)} onKeyDown={onKey} />
          <div className="agent-controls">
            <Toggle label="Extended Thinking" on={mode.thinking} onClick={() => toggle('thinking')} />
            <Toggle label="High Power" on={mode.high_power} onClick={() => toggle('high_power')} />
            <Toggle label="Web Search" on={mode.web_search} onClick={() => toggle('web_search')} />
            <div className="spacer" />
            <button type="submit" className="btn btn-small btn-primary" disabled={running || !prompt.trim()}>Send</button>
          </div>
          <QuoteLine quote={quote} />
          <PriceLine quote={quote} level={mode.level ?? ''} setLevel={(level) => setMode((m) => ({ ...m, level }))} />
        </form>
      ) : (
        <div className="agent-input small muted">Viewers can read the conversation; editors can message the agent.</div>
      )}
    </div>
  )
}

function Toggle({ label, on, onClick }: { label: string; on: boolean; onClick: () => void }) {
  return (
    <button type="button" className={`agent-toggle small${on ? ' on' : ''}`} aria-pressed={on} onClick={onClick}>{label}</button>
  )
}

/** The limits and the most the next turn can cost, refreshed as the prompt and the mode change. */
function useQuote(projectId: string, prompt: string, mode: AgentMode, enabled: boolean) {
  const [quote, setQuote] = useState<Quote | string | null>(null)
  useEffect(() => {
    if (!enabled) return
    let live = true
    const timer = setTimeout(() => {
      agentApi.quote(projectId, prompt.trim() || 'hello', mode).then((q) => live && setQuote(q), (err) => live && setQuote(errorMessage(err)))
    }, 300)
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [projectId, prompt, mode, enabled])
  return quote
}

function QuoteLine({ quote }: { quote: Quote | string | null }) {
  if (!quote) return null
  if (typeof quote === 'string') return <div className="agent-quote small muted">Quote unavailable: {quote}</div>
  const l = quote.limits
  // With billing the price line below is the one amount the person pays; the
  // model's own cost limit stays in the tooltip so there is one money figure.
  const billed = !!quote.level
  const cost = `model cost at most ${formatCost(quote.max_usd)}, first call at most ${formatCost(quote.first_call_max_usd)}`
  return (
    <div className="agent-quote small muted" data-testid="agent-quote"
      title={`${cost}${quote.price_checked ? `; prices checked ${quote.price_checked}` : ''}`}>
      {quote.model}{billed ? '' : ` · max ${formatCost(quote.max_usd)}`} · {l.max_steps} steps · {Math.round(l.max_wall_s / 60)} min · {(l.max_tokens / 1e6).toFixed(1)}M tokens
    </div>
  )
}

const money = (m: number) => '$' + (Math.round(m / 10000) / 100).toFixed(2)
const levelName = (l: string) => l.replace('_', ' ')

/** The turn's price before it runs: its complexity level (changeable), the range and the hard cap; or the refusal. */
function PriceLine({ quote, level, setLevel }: { quote: Quote | string | null; level: string; setLevel: (l: string) => void }) {
  if (!quote || typeof quote === 'string' || !quote.level) return null
  if (quote.refusal) {
    return (
      <div className="panel-error small" role="alert" data-testid="agent-refusal">
        {quote.refusal.message} <a href={quote.refusal.fields?.link ?? '/usage'}>Top up or upgrade</a>
      </div>
    )
  }
  return (
    <div className="agent-quote small" data-testid="agent-price">
      <label>
        Level{' '}
        <select aria-label="Complexity level" value={level} onChange={(e) => setLevel(e.target.value)}>
          <option value="">auto ({levelName(quote.level)})</option>
          {(quote.levels ?? []).map((l) => <option key={l} value={l}>{levelName(l)}</option>)}
        </select>
      </label>{' '}
      <span data-testid="agent-price-level">{levelName(quote.level)} ×{quote.multiplier}</span> ·{' '}
      {money(quote.price_min_micros ?? 0)}–{money(quote.price_max_micros ?? 0)} · never more than{' '}
      <strong data-testid="agent-price-cap">{money(quote.cap_micros ?? 0)}</strong> · Send confirms
    </div>
  )
}

function Unconfigured({ status }: { status: AgentStatus }) {
  const isAdmin = !!useSession().user?.is_admin
  return (
    <div className="pane agent-pane">
      <div className="pane-empty agent-setup" data-testid="agent-unconfigured">
        <p><strong>The AI agent is not set up on this server yet.</strong></p>
        {isAdmin ? (
          <p><a className="btn btn-small btn-primary" href="/settings#ai-provider">Open Settings → AI provider</a></p>
        ) : (
          <p className="small">Ask an administrator of this server to connect an AI provider.</p>
        )}
        <details className="small">
          <summary>Or configure it when starting the server</summary>
          {status.help && <p>{status.help}</p>}
          <pre className="agent-result">{'ANTHROPIC_API_KEY=sk-ant-… ecode serve\n# or an OpenAI-compatible server (Ollama, vLLM, llama.cpp):\nOPENAI_BASE_URL=http://localhost:11434/v1 ECODE_AGENT_MODEL=qwen3-coder ecode serve'}</pre>
          <p className="muted">Variables read: {status.env_vars.join(', ')}. Restart the server after setting them.</p>
        </details>
      </div>
    </div>
  )
}
