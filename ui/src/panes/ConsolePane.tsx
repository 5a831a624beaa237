import { useEffect, useRef, useState } from 'react'
import type { RunState } from '../api'
import { Icon } from '../components/Icon'
import { isActive, useRun } from './run'
import { runSummary } from './runStatus'
import type { PaneProps } from './types'
import { useXterm, type MountedTerminal } from './xterm'

const HIDE_CURSOR = '\x1b[?25l'
const CONSOLE_OPTIONS = { disableStdin: true, convertEol: true, cursorInactiveStyle: 'none', scrollback: 5000 } as const
/** Output waiting for the terminal beyond this is dropped (oldest first), so endless output cannot freeze the page. */
const MAX_PENDING = 64 << 10

/**
 * Feeds output to a terminal at the pace it can draw: one write in flight at a time, the rest
 * waiting in a bounded buffer. When output comes faster, the oldest waiting lines are dropped
 * and the console says how many.
 */
function boundedWriter(m: MountedTerminal, onDropped: (lines: number) => void) {
  let pending = ''
  let busy = false
  let dropped = 0
  let total = 0
  const flush = () => {
    if (busy || !pending) return
    let chunk = pending
    pending = ''
    if (dropped) {
      chunk = `\x1b[2m[… ${dropped.toLocaleString()} lines skipped to keep up …]\x1b[0m\r\n` + chunk
      dropped = 0
    }
    busy = true
    m.term.write(chunk, () => {
      busy = false
      requestAnimationFrame(flush)
    })
  }
  return {
    write(text: string) {
      pending += text
      if (pending.length > MAX_PENDING) {
        const cut = pending.indexOf('\n', pending.length - MAX_PENDING)
        const gone = pending.slice(0, cut < 0 ? pending.length - MAX_PENDING : cut + 1)
        let n = 0
        for (let i = gone.indexOf('\n'); i >= 0; i = gone.indexOf('\n', i + 1)) n++
        dropped += n
        total += n
        onDropped(total)
        pending = pending.slice(gone.length)
      }
      flush()
    },
    reset() {
      pending = ''
      dropped = 0
      total = 0
      onDropped(0)
    },
  }
}

/** The run's output (ANSI colours kept) in a read-only terminal, with Restart / Stop. */
export function ConsolePane({ visible }: PaneProps) {
  const run = useRun()
  const { state, config, configError, actionError, busy, canRun, subscribe } = run
  const host = useRef<HTMLDivElement>(null)
  const [dropped, setDropped] = useState(0)
  const mounted = useXterm(host, CONSOLE_OPTIONS, (m) => {
    m.term.write(HIDE_CURSOR)
    const out = boundedWriter(m, setDropped)
    return subscribe((e) => {
      if (e.type === 'data') return out.write(e.text)
      out.reset()
      m.term.reset()
      m.term.write(HIDE_CURSOR)
    })
  }, [subscribe])
  const { refreshConfig } = run
  useEffect(() => {
    if (!visible) return
    mounted.current?.fit()
    refreshConfig() // .ecode.toml may have been edited meanwhile
  }, [visible, refreshConfig])

  const active = isActive(state)
  return (
    <div className="pane console-pane">
      <div className="pane-toolbar">
        {canRun && active && (
          <>
            <button type="button" className="btn btn-small" aria-label="Restart" title="Restart the app" disabled={busy} onClick={run.run}>
              <Icon name="restart" size={14} /> Restart
            </button>
            <button type="button" className="btn btn-small" aria-label="Stop" title="Stop the app" disabled={busy} onClick={run.stop}>
              <Icon name="stop" size={14} /> Stop
            </button>
          </>
        )}
        <div className="spacer" />
        {dropped > 0 && (
          <span className="muted small console-dropped" title="The program printed faster than the page can show; the oldest waiting lines were skipped (the newest are shown)">
            {dropped.toLocaleString()} lines skipped
          </span>
        )}
        <button type="button" className="btn-icon btn" aria-label="Clear console" title="Clear the console"
          onClick={() => { mounted.current?.term.clear() }}>
          <Icon name="clear" size={14} />
        </button>
      </div>
      <RunStatus state={state} />
      {configError && /^no run command/i.test(configError) ? (
        <div className="run-config small muted" data-testid="nothing-to-run">
          Nothing to run yet. Add an entry file (index.html, index.js, main.py, main.go…) or a <code>.ecode.toml</code> with{' '}
          <code>run = "…"</code>, then press Run.
        </div>
      ) : configError ? (
        <div className="panel-error run-config-error" role="alert">
          <strong>Run configuration:</strong> {configError}
        </div>
      ) : (
        <div className="run-config small">
          {config ? (
            <>
              <span className="muted">{config.detected ? 'Detected command' : 'Command'}</span>{' '}
              <code title={[config.install && `install: ${config.install}`, config.build && `build: ${config.build}`].filter(Boolean).join('\n') || undefined}>
                {config.run}
              </code>
              {config.port > 0 && <span className="muted"> · port {config.port}</span>}
            </>
          ) : (
            <span className="muted">Loading the run configuration…</span>
          )}
        </div>
      )}
      {actionError && actionError !== configError && !/no run command/i.test(actionError) && <div className="panel-error" role="alert">{actionError}</div>}
      <div className="console-output" data-testid="console-output" ref={host} />
    </div>
  )
}

/** The run state: a dot and one sentence saying what happens now or why it ended, never cut off. */
export function RunStatus({ state }: { state: RunState | null }) {
  return (
    <div className="run-status small" data-state={state?.state ?? 'unknown'} data-phase={state?.phase} aria-live="polite">
      <span className={`run-dot run-dot-${state?.state ?? 'idle'}`} aria-hidden="true" />
      <span className="run-summary">{runSummary(state)}</span>
    </div>
  )
}
