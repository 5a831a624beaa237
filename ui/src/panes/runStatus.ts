// The run's state in one plain sentence: what is happening now, or why it ended
// (with the limit that was hit).
import type { RunState } from '../api'

/** Bytes as "1 GiB", "512 MiB". */
export function sizeText(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1 && n % 1024 === 0) {
    n /= 1024
    i++
  }
  return `${n} ${units[i]}`
}

/** Why a run ended, with the limit when one was hit ("" when it simply exited). */
export function endReason(s: RunState): string {
  const l = s.limits ?? {}
  switch (s.reason) {
    case undefined:
    case '':
      return ''
    case 'out_of_memory':
      return 'out of memory' + (l.memory_bytes ? ` (limit ${sizeText(l.memory_bytes)})` : '')
    case 'process_limit':
      return 'too many processes' + (l.max_procs ? ` (limit ${l.max_procs})` : '')
    case 'timeout':
      return 'took too long (time limit)'
    case 'disk_full':
      return "the project's disk is full"
    case 'stopped':
      return 'stopped by you'
    case 'killed':
      return 'killed'
    default:
      return s.reason.replace(/_/g, ' ')
  }
}

const PHASE_NAMES = { install: 'installing dependencies', build: 'building' } as const

/** The whole sentence shown beside the run's dot. */
export function runSummary(s: RunState | null): string {
  if (!s) return 'checking…'
  switch (s.state) {
    case 'idle':
      return 'not running — press Run'
    case 'starting':
      if (s.phase === 'install' || s.phase === 'build') return PHASE_NAMES[s.phase] + '…'
      if (s.phase === 'run') return s.port ? `running — no port opened yet (waiting for :${s.port})` : 'running — no port opened yet'
      return 'starting…'
    case 'running':
      return s.listening && s.port ? `running on :${s.port}` : 'running'
    case 'stopped':
      return 'stopped'
    case 'exited': {
      const why = endReason(s)
      const failedStep = s.exit_code && (s.phase === 'install' || s.phase === 'build') ? `${s.phase} failed` : ''
      if (why && why !== 'stopped by you') return `stopped: ${why}` + (failedStep ? ` during ${s.phase}` : '')
      if (failedStep) return `${failedStep} (exit code ${s.exit_code})`
      return s.exit_code ? `exited with code ${s.exit_code}` : 'finished (exit code 0)'
    }
  }
  return s.state
}
