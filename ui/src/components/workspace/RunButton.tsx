import { isActive, useRun } from '../../panes/run'
import { Icon } from '../Icon'

/** The top bar's Run button (the only one): Run while nothing runs, Stop while the app starts or runs. */
export function RunButton({ title }: { title?: string }) {
  const { state, busy, canRun, run, stop } = useRun()
  if (!canRun) return null
  const active = isActive(state)
  return active ? (
    <button type="button" className="btn btn-run-top btn-stop" aria-label="Stop" title="Stop the app" disabled={busy} onClick={stop}>
      <Icon name="stop" /> Stop
    </button>
  ) : (
    <button type="button" className="btn btn-run-top" aria-label="Run" title={title ?? 'Run the app'} disabled={busy} onClick={run}>
      <Icon name="play" /> Run
    </button>
  )
}
