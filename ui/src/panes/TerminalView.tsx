import { useEffect, useRef, useState } from 'react'
import { api } from '../api'
import { useXterm } from './xterm'

export type TerminalStatus = 'connecting' | 'connected' | 'reconnecting' | 'exited' | 'gone'

const encoder = new TextEncoder()
const MAX_BACKOFF_MS = 15_000
const TERMINAL_OPTIONS = { cursorBlink: true }

/**
 * One shell: an xterm wired to the terminal's WebSocket. Binary frames carry the bytes both ways;
 * text frames are control messages (resize out, exit in). On every (re)connect the server replays
 * the scrollback, so the screen is cleared first. A dropped socket is reopened with backoff while
 * the terminal still exists.
 */
export function TerminalView({ projectId, tid, active, onStatus }: {
  projectId: string
  tid: string
  /** Shown and focused (the pane is visible and this is the selected tab). */
  active: boolean
  onStatus?: (tid: string, status: TerminalStatus) => void
}) {
  const host = useRef<HTMLDivElement>(null)
  const [status, setStatus] = useState<TerminalStatus>('connecting')
  const statusCb = useRef(onStatus)
  statusCb.current = onStatus

  const activeRef = useRef(active)
  activeRef.current = active
  const mounted = useXterm(host, TERMINAL_OPTIONS, (m) => {
    const { term } = m
    if (activeRef.current) term.focus() // xterm.js loads after the first render
    let ws: WebSocket | null = null
    let disposed = false
    let ended = false // exited or deleted: never reconnect
    let attempts = 0
    let moved = false // closed with 4012: the shell stayed on the server the project left
    let timer: ReturnType<typeof setTimeout> | undefined
    const report = (s: TerminalStatus) => {
      setStatus(s)
      statusCb.current?.(tid, s)
    }
    const send = (data: string | Uint8Array<ArrayBuffer>) => {
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(data)
    }
    const sendSize = () => send(JSON.stringify({ type: 'resize', rows: term.rows, cols: term.cols }))

    const connect = () => {
      const sock = new WebSocket(api.terminalSocketUrl(projectId, tid))
      sock.binaryType = 'arraybuffer'
      ws = sock
      sock.onopen = () => {
        if (attempts > 0) term.reset() // the scrollback is replayed: start from a clean screen
        attempts = 0
        report('connected')
        m.fit()
        sendSize()
      }
      sock.onmessage = (e) => {
        if (typeof e.data !== 'string') {
          term.write(new Uint8Array(e.data as ArrayBuffer))
          return
        }
        let msg: { type?: string; exit_code?: number }
        try {
          msg = JSON.parse(e.data)
        } catch {
          return
        }
        if (msg.type === 'exit') {
          ended = true
          term.write(`\r\n\x1b[2m[process exited with code ${msg.exit_code ?? '?'}]\x1b[0m\r\n`)
          report('exited')
        }
      }
      sock.onclose = (e) => {
        if (ws !== sock) return
        ws = null
        if (disposed || ended) return
        // 4012: the project moved to another server (one drained or died); its shells stay behind.
        if (e.code === 4012) moved = true
        report('reconnecting')
        // Reconnect only while the terminal exists and its shell runs.
        api.terminals(projectId).then(
          (list) => {
            if (disposed) return
            const t = list.find((x) => x.id === tid)
            if (!t || t.exited) {
              ended = true
              term.write(`\r\n\x1b[2m[${t ? 'process exited' : moved ? 'the project moved to another server: open a new terminal' : 'terminal closed'}]\x1b[0m\r\n`)
              report(t ? 'exited' : 'gone')
              return
            }
            retry()
          },
          () => !disposed && retry(),
        )
      }
    }
    const retry = () => {
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempts++)
      timer = setTimeout(connect, delay)
    }

    const input = term.onData((d) => send(encoder.encode(d)))
    const binary = term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)))
    const resized = term.onResize(sendSize)
    connect()
    return () => {
      disposed = true
      clearTimeout(timer)
      input.dispose()
      binary.dispose()
      resized.dispose()
      ws?.close()
      ws = null
    }
  }, [projectId, tid])

  useEffect(() => {
    if (!active) return
    mounted.current?.fit()
    mounted.current?.term.focus()
  }, [active])

  return (
    <div className="terminal-view" hidden={!active} data-terminal={tid} data-status={status}>
      <div className="terminal-host" ref={host} data-testid="terminal-output" />
      {status === 'reconnecting' && <div className="terminal-banner">Connection lost, reconnecting…</div>}
    </div>
  )
}
