import { useEffect, useRef } from 'react'
import type { RunState } from '../api'
import { Icon } from '../components/Icon'
import { isActive, reasonText, useRun } from './run'
import type { PaneProps } from './types'
import { useXterm } from './xterm'

const HIDE_CURSOR = '\x1b[?25l'
const CONSOLE_OPTIONS = { disableStdin: true, convertEol: true, cursorInactiveStyle: 'none', scrollback: 10000 } as const

/** The run's output (ANSI colours kept) in a read-only terminal, with Run / Stop / Restart. */
export function ConsolePane({ visible }: PaneProps) {
  const run = useRun()
  const { state, config, configError, actionError, busy, canRun, subscribe } = run
  const host = useRef<HTMLDivElement>(null)
  const mounted = useXterm(host, CONSOLE_OPTIONS, (m) => {
    m.term.write(HIDE_CURSOR)
    return subscribe((e) => {
      if (e.type === 'data') return m.term.write(e.text)
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
        {canRun && (
          <>
            {active ? (
              <button type="button" className="btn btn-small" aria-label="Restart" title="Restart the app" disabled={busy} onClick={run.run}>
                <Icon name="restart" size={14} /> Restart
              </button>
            ) : (
              <button type="button" className="btn btn-small btn-run" aria-label="Run" title="Run the app" disabled={busy} onClick={run.run}>
                <Icon name="play" size={14} /> Run
              </button>
            )}
            <button type="button" className="btn btn-small" aria-label="Stop" title="Stop the app" disabled={busy || !active} onClick={run.stop}>
              <Icon name="stop" size={14} /> Stop
            </button>
          </>
        )}
        <RunStatus state={state} />
        <div className="spacer" />
        <button type="button" className="btn-icon btn" aria-label="Clear console" title="Clear the console"
          onClick={() => { mounted.current?.term.clear() }}>
          <Icon name="clear" size={14} />
        </button>
      </div>
      {configError ? (
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
      {actionError && actionError !== configError && <div className="panel-error" role="alert">{actionError}</div>}
      <div className="console-output" data-testid="console-output" ref={host} />
    </div>
  )
}

/** The run state as a badge plus exit code, reason and listening port. */
export function RunStatus({ state }: { state: RunState | null }) {
  if (!state) return <span className="run-status muted small">…</span>
  const ended = state.state === 'exited' || state.state === 'stopped'
  const reason = reasonText(state.reason)
  return (
    <span className="run-status small" data-state={state.state} aria-live="polite">
      <span className={`run-dot run-dot-${state.state}`} aria-hidden="true" />
      <span className="run-state">{state.state}</span>
      {ended && state.exit_code !== undefined && state.exit_code !== null && (
        <span className="muted">exit code {state.exit_code}</span>
      )}
      {ended && reason && reason !== state.state && <span className="run-reason">{reason}</span>}
      {state.state === 'running' && state.port ? (
        <span className="muted" title={state.listening ? `The app accepts connections on port ${state.port}` : undefined}>
          {state.listening ? `on :${state.port}` : `waiting for :${state.port}`}
        </span>
      ) : null}
    </span>
  )
}
