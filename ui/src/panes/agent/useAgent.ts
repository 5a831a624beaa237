// The Agent pane's state: provider status, past turns, the running turn's stream, send and stop.
import { useCallback, useEffect, useRef, useState } from 'react'
import { errorMessage } from '../../api'
import { agentApi, sendTurn, watchTurn, type AgentEvent, type AgentMode, type AgentStatus, type StreamHandler } from './agentApi'
import { applyEvent, applyResult, fromStored, newTurn, type TurnView } from './turnModel'

/** Fired on window when the agent changed files, so the file tree reloads. */
export const FILES_CHANGED_EVENT = 'ecode:files-changed'
const WRITES = new Set(['write', 'edit', 'bash', 'install_packages', 'run_app'])

export function useAgent(projectId: string) {
  const [status, setStatus] = useState<AgentStatus | null>(null)
  const [turns, setTurns] = useState<TurnView[]>([])
  const [running, setRunning] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const abort = useRef<AbortController | null>(null)

  // The handler that folds a stream into the last turn.
  const handler = useCallback((prompt: string): StreamHandler => (name, data) => {
    if (name === 'turn') {
      const id = (data as { turn_id: string }).turn_id
      setTurns((ts) => {
        const rest = ts.filter((t) => t.id !== id && t.id !== 'pending')
        return [...rest, newTurn(id, prompt || ts.find((t) => t.id === id)?.prompt || '')]
      })
      return
    }
    if (name === 'result') {
      setTurns((ts) => ts.length ? [...ts.slice(0, -1), applyResult(ts[ts.length - 1], data as never)] : ts)
      return
    }
    const e = data as AgentEvent
    setTurns((ts) => ts.length ? [...ts.slice(0, -1), applyEvent(ts[ts.length - 1], e)] : ts)
    if (e.type === 'tool_call_finished' && WRITES.has(e.tool_name ?? '')) window.dispatchEvent(new Event(FILES_CHANGED_EVENT))
  }, [])

  const watch = useCallback(async (prompt: string) => {
    const ctl = new AbortController()
    abort.current = ctl
    setRunning(true)
    try {
      await watchTurn(projectId, handler(prompt), ctl.signal)
    } catch (err) {
      if (!ctl.signal.aborted) setError(errorMessage(err))
    } finally {
      if (abort.current === ctl) setRunning(false)
    }
  }, [projectId, handler])

  useEffect(() => {
    let live = true
    agentApi.status().then((s) => live && setStatus(s), (err) => live && setError(errorMessage(err)))
    agentApi.turns(projectId).then((r) => {
      if (!live) return
      const past = r.turns.filter((t) => t.id !== r.running).map(fromStored)
      setTurns(past)
      const cur = r.turns.find((t) => t.id === r.running)
      if (r.running) void watch(cur?.prompt ?? '')
    }, (err) => live && setError(errorMessage(err)))
    return () => {
      live = false
      abort.current?.abort()
    }
  }, [projectId, watch])

  const send = useCallback(async (prompt: string, mode: AgentMode) => {
    setError(null)
    const ctl = new AbortController()
    abort.current = ctl
    setRunning(true)
    setTurns((ts) => [...ts, newTurn('pending', prompt)])
    try {
      await sendTurn(projectId, prompt, mode, handler(prompt), ctl.signal)
    } catch (err) {
      setTurns((ts) => ts.filter((t) => t.id !== 'pending'))
      if (!ctl.signal.aborted) setError(errorMessage(err))
    } finally {
      if (abort.current === ctl) setRunning(false)
      window.dispatchEvent(new Event(FILES_CHANGED_EVENT))
    }
  }, [projectId, handler])

  const stop = useCallback(async () => {
    try {
      await agentApi.stop(projectId)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [projectId])

  return { status, turns, running, error, send, stop }
}
