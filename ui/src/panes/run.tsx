// The project's run, shared by the top bar's Run button, the Console and the Preview:
// its state, its configuration and its output, streamed from /run/output (one EventSource).
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import { api, ApiError, errorMessage, type RunConfig, type RunState } from '../api'

export type OutputEvent = { type: 'data'; text: string } | { type: 'reset' }
type Listener = (e: OutputEvent) => void

export interface RunContextValue {
  state: RunState | null
  config: RunConfig | null
  /** Why the run configuration cannot be used (broken .ecode.toml, nothing detected). */
  configError: string | null
  /** The last Run/Stop request that failed. */
  actionError: string | null
  busy: boolean
  canRun: boolean
  run(): Promise<void>
  stop(): Promise<void>
  refreshConfig(): void
  /** The current run's output received so far, then every new chunk (and resets when a new run starts). */
  subscribe(listener: Listener): () => void
}

const RunContext = createContext<RunContextValue | null>(null)

export function useRun(): RunContextValue {
  const ctx = useContext(RunContext)
  if (!ctx) throw new Error('useRun outside RunProvider')
  return ctx
}

/** True while the run's process is starting or running. */
export const isActive = (s: RunState | null) => !!s && (s.state === 'starting' || s.state === 'running')

const KEEP = 1 << 20 // characters of output kept for panes that mount later

export function RunProvider({ projectId, canRun, children }: { projectId: string; canRun: boolean; children: ReactNode }) {
  const [state, setState] = useState<RunState | null>(null)
  const [config, setConfig] = useState<RunConfig | null>(null)
  const [configError, setConfigError] = useState<string | null>(null)
  const [actionError, setActionError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  // Output: kept chunks for late subscribers, plus the live listeners.
  const out = useRef({ chunks: [] as string[], size: 0, runId: '', streaming: false, listeners: new Set<Listener>() })
  const emit = useCallback((e: OutputEvent) => {
    const o = out.current
    if (e.type === 'reset') {
      o.chunks = []
      o.size = 0
    } else {
      o.chunks.push(e.text)
      o.size += e.text.length
      while (o.size > KEEP && o.chunks.length > 1) o.size -= o.chunks.shift()!.length
    }
    for (const l of o.listeners) l(e)
  }, [])
  const subscribe = useCallback((l: Listener) => {
    const o = out.current
    if (o.chunks.length) l({ type: 'data', text: o.chunks.join('') })
    o.listeners.add(l)
    return () => void o.listeners.delete(l)
  }, [])

  /**
   * Applies a RunState. On the stream, a new run_id clears the previous run's output: the server
   * announces a new run before its output, so only the stream (not a POST's answer, which may
   * overtake the old run's last output) decides where one run's output ends.
   */
  const apply = useCallback((s: RunState, fromStream = false) => {
    const o = out.current
    if (fromStream && s.run_id) {
      if (o.runId && s.run_id !== o.runId) emit({ type: 'reset' })
      o.runId = s.run_id
    }
    // While the stream is up it is the fresher source for the run it reports: an answer to a
    // request (e.g. Run's "starting") may arrive after the stream already said "running".
    if (!fromStream && o.streaming && s.run_id && s.run_id === o.runId) return
    setState(s)
  }, [emit])

  const refreshConfig = useCallback(() => {
    api.runConfig(projectId).then(
      (c) => { setConfig(c); setConfigError(null) },
      (err) => { setConfig(null); setConfigError(err instanceof ApiError && err.status === 404 ? null : errorMessage(err)) },
    )
  }, [projectId])
  useEffect(refreshConfig, [refreshConfig])
  useEffect(() => {
    api.runState(projectId).then((s) => apply(s), () => {})
  }, [projectId, apply])

  // The output stream. EventSource reconnects by itself (sending Last-Event-ID) after a dropped
  // connection; when the server refuses it (readyState CLOSED) we open a new one with ?since=.
  useEffect(() => {
    let es: EventSource | null = null
    let lastId = '' // the last output event's id, opaque (sent back as ?since= when reopening)
    let failures = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    let closed = false
    const open = () => {
      es = new EventSource(api.runOutputUrl(projectId, lastId || undefined))
      es.onopen = () => {
        failures = 0
        out.current.streaming = true
        api.runState(projectId).then((s) => !closed && apply(s), () => {})
      }
      es.addEventListener('state', (e) => {
        let s: RunState
        try {
          s = JSON.parse((e as MessageEvent).data)
        } catch {
          return
        }
        if (s.run_id && out.current.runId && s.run_id !== out.current.runId) lastId = ''
        apply(s, true)
      })
      es.addEventListener('output', (e) => {
        const m = e as MessageEvent
        if (m.lastEventId) lastId = m.lastEventId
        try {
          emit({ type: 'data', text: (JSON.parse(m.data) as { data: string }).data })
        } catch {
          // a malformed event: skip it
        }
      })
      es.onerror = () => {
        out.current.streaming = false
        if (closed || !es || es.readyState !== EventSource.CLOSED) return
        es.close()
        timer = setTimeout(open, Math.min(30_000, 1000 * 2 ** failures++))
      }
    }
    open()
    return () => {
      closed = true
      out.current.streaming = false
      clearTimeout(timer)
      es?.close()
    }
  }, [projectId, apply, emit])

  const act = useCallback(async (fn: (id: string) => Promise<RunState>) => {
    setBusy(true)
    setActionError(null)
    try {
      apply(await fn(projectId))
    } catch (err) {
      setActionError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }, [projectId, apply])
  const run = useCallback(async () => {
    await act(api.run)
    refreshConfig() // a detected configuration is written back on Run
  }, [act, refreshConfig])
  const stop = useCallback(() => act(api.stop), [act])

  const value = useMemo<RunContextValue>(
    () => ({ state, config, configError, actionError, busy, canRun, run, stop, refreshConfig, subscribe }),
    [state, config, configError, actionError, busy, canRun, run, stop, refreshConfig, subscribe],
  )
  return <RunContext.Provider value={value}>{children}</RunContext.Provider>
}
