import { useEffect, useRef, useState } from 'react'
import { api, ApiError } from '../api'
import { useXterm } from './xterm'

export type TerminalStatus = 'connecting' | 'connected' | 'reconnecting' | 'exited' | 'gone'

const encoder = new TextEncoder()
const MAX_BACKOFF_MS = 15_000
const TERMINAL_OPTIONS = { cursorBlink: true }
const MOVED = 'the project moved to another server'
const RESTARTED = 'the server restarted'
/** Shown after the replayed scrollback when a dropped socket came back to the same, still running, shell. */
const RESUMED = '[reconnected]'

/** The socket dropped without the server closing it for a reason of its own (exit, revocation, move):
 *  the network went, or the server stopped (1001) or died (1006). */
const abnormalClose = (code: number) => code === 1001 || code === 1005 || code === 1006 || (code >= 1011 && code <= 1014)

/**
 * One shell: an xterm wired to the terminal's WebSocket. Binary frames carry the bytes both ways;
 * text frames are control messages (resize out, exit in). On every (re)connect the server replays
 * the scrollback, so the screen is cleared first. A dropped socket is reopened with backoff while
 * the terminal still exists. When the project moved to another server (the socket closed with 4012,
 * or its server stopped answering) the shell stayed behind, and when the socket dropped (network
 * loss, a server restart) and the shell is gone when it comes back: a new one is opened in its place,
 * with a line saying why, and onMoved tells the server's id of the new shell; back on the same shell, a
 * line after its replayed scrollback says so (on the screen only). A shell that exited or
 * was closed is not replaced.
 */
export function TerminalView({ projectId, tid, active, onStatus, onMoved }: {
  projectId: string
  tid: string
  /** Shown and focused (the pane is visible and this is the selected tab). */
  active: boolean
  onStatus?: (tid: string, status: TerminalStatus) => void
  onMoved?: (tid: string, shell: string) => void
}) {
  const host = useRef<HTMLDivElement>(null)
  const [status, setStatus] = useState<TerminalStatus>('connecting')
  const statusCb = useRef(onStatus)
  statusCb.current = onStatus
  const movedCb = useRef(onMoved)
  movedCb.current = onMoved

  const activeRef = useRef(active)
  activeRef.current = active
  const mounted = useXterm(host, TERMINAL_OPTIONS, (m) => {
    const { term } = m
    if (activeRef.current) term.focus() // xterm.js loads after the first render
    let ws: WebSocket | null = null
    let disposed = false
    let ended = false // exited or deleted: never reconnect
    let attempts = 0
    let moved = false // the project left the server running the shell (4012, or that server went away)
    let shell = tid // the server's id of the shell shown: a new one after the project moved
    let fresh = false // shell is new: nothing to replay, say why the screen goes on in another shell
    let why = MOVED // why the shell was replaced
    let resumed = false // reconnected to the same shell: say so once its scrollback is replayed
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
      const sock = new WebSocket(api.terminalSocketUrl(projectId, shell))
      sock.binaryType = 'arraybuffer'
      ws = sock
      sock.onopen = () => {
        if (fresh) term.write(`\r\n\x1b[2m[reconnected \u2014 new shell: ${why}]\x1b[0m\r\n`)
        else if (attempts > 0) {
          term.reset() // the scrollback is replayed: start from a clean screen
          resumed = true
        }
        fresh = false
        attempts = 0
        report('connected')
        m.fit()
        sendSize()
      }
      sock.onmessage = (e) => {
        if (typeof e.data !== 'string') {
          term.write(new Uint8Array(e.data as ArrayBuffer))
          // The replay comes as one message: the notice goes after it, on this screen only (not to the shell).
          if (resumed) term.write(`\r\n\x1b[2m${RESUMED}\x1b[0m\r\n`)
          resumed = false
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
        const dropped = abnormalClose(e.code) // if its shell is gone when the server answers again, the server restarted
        report('reconnecting')
        // Reconnect only while the terminal exists and its shell runs.
        api.terminals(projectId).then(
          (list) => {
            if (disposed) return
            const t = list.find((x) => x.id === shell)
            if (!t && (moved || dropped)) {
              why = moved ? MOVED : RESTARTED
              reopen()
              return
            }
            if (!t || t.exited) {
              ended = true
              term.write(`\r\n\x1b[2m[${t ? 'process exited' : 'terminal closed'}]\x1b[0m\r\n`)
              report(t ? 'exited' : 'gone')
              return
            }
            retry()
          },
          (err) => {
            if (disposed) return
            // The server that ran the shell does not answer (it died): the project moves once its lease ends.
            if (err instanceof ApiError && err.status === 503 && (err.code === 'node_unreachable' || err.code === 'project_moved')) moved = true
            retry()
          },
        )
      }
    }
    const retry = (then = connect) => {
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempts++)
      timer = setTimeout(then, delay)
    }
    // A new shell where the project runs now, in place of the one left behind.
    const reopen = () => {
      api.createTerminal(projectId, term.rows, term.cols).then(
        (t) => {
          if (disposed) {
            api.deleteTerminal(projectId, t.id).catch(() => {})
            return
          }
          shell = t.id
          moved = false
          fresh = true
          movedCb.current?.(tid, t.id)
          connect()
        },
        () => !disposed && retry(reopen),
      )
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
