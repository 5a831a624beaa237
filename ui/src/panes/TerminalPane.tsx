import { useCallback, useEffect, useRef, useState } from 'react'
import { api, ApiError, errorMessage, type TerminalInfo } from '../api'
import { Icon } from '../components/Icon'
import { TerminalView, type TerminalStatus } from './TerminalView'
import type { PaneProps } from './types'

/** Shells in the project's sandbox, one tab each. Terminals outlive the page: opening the pane reattaches. */
export function TerminalPane({ project, canWrite, visible }: PaneProps) {
  const [terms, setTerms] = useState<TerminalInfo[] | null>(null)
  const [active, setActive] = useState<string | null>(null)
  const [statuses, setStatuses] = useState<Record<string, TerminalStatus>>({})
  const [error, setError] = useState<string | null>(null)
  const [creating, setCreating] = useState(false)
  // Tab names ("Shell N") stay put when other tabs close.
  const numbers = useRef(new Map<string, number>())
  // A tab whose project moved to another server shows a new shell there: tab id → the shell's id.
  const shells = useRef(new Map<string, string>())
  const nameOf = (tid: string) => {
    const m = numbers.current
    if (!m.has(tid)) m.set(tid, Math.max(0, ...m.values()) + 1)
    return `Shell ${m.get(tid)}`
  }

  useEffect(() => {
    if (!canWrite) return
    api.terminals(project.id).then(
      (list) => {
        setTerms(list)
        setActive((a) => a ?? list.find((t) => !t.exited)?.id ?? list[0]?.id ?? null)
      },
      (err) => { setTerms([]); setError(errorMessage(err)) },
    )
  }, [project.id, canWrite])

  const create = async () => {
    setCreating(true)
    setError(null)
    try {
      const t = await api.createTerminal(project.id)
      setTerms((list) => [...(list ?? []), t])
      setActive(t.id)
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setCreating(false)
    }
  }

  const close = async (tid: string) => {
    setError(null)
    try {
      if (statuses[tid] !== 'gone') await api.deleteTerminal(project.id, shells.current.get(tid) ?? tid)
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) {
        setError(errorMessage(err))
        return
      }
    }
    const list = terms ?? []
    const i = list.findIndex((t) => t.id === tid)
    const rest = list.filter((t) => t.id !== tid)
    setTerms(rest)
    if (active === tid) setActive(rest[Math.min(i, rest.length - 1)]?.id ?? null)
  }

  const onStatus = useCallback((tid: string, s: TerminalStatus) => setStatuses((m) => ({ ...m, [tid]: s })), [])
  const onMoved = useCallback((tid: string, shell: string) => { shells.current.set(tid, shell) }, [])

  if (!canWrite) {
    return (
      <div className="pane-empty">
        <Icon name="terminal" size={28} />
        <p className="muted">Terminals need editor access to this project.</p>
      </div>
    )
  }
  return (
    <div className="pane terminal-pane">
      <div className="pane-toolbar terminal-tabs" role="tablist" aria-label="Terminals" hidden={!terms?.length}>
        {(terms ?? []).map((t) => {
          const s = statuses[t.id]
          const name = nameOf(t.id)
          const ended = s === 'exited' || s === 'gone' || (!s && t.exited)
          return (
            <div key={t.id} className={'term-tab' + (t.id === active ? ' active' : '') + (ended ? ' ended' : '')}>
              <button type="button" role="tab" aria-selected={t.id === active} className="term-tab-name"
                data-terminal={t.id} onClick={() => setActive(t.id)}>
                <Icon name="terminal" size={13} /> {name}
              </button>
              <button type="button" className="term-tab-close" aria-label={`Close ${name}`}
                title="Close (ends the shell)" onClick={() => close(t.id)}>
                <Icon name="close" size={12} />
              </button>
            </div>
          )
        })}
        {terms && terms.length > 0 && (
          <button type="button" className="btn btn-icon" aria-label="New terminal" title="New terminal"
            disabled={creating} onClick={create}>
            <Icon name="plus" size={14} />
          </button>
        )}
      </div>
      {error && <div className="panel-error" role="alert">{error}</div>}
      <div className="terminal-stack">
        {(terms ?? []).map((t) => (
          <TerminalView key={t.id} projectId={project.id} tid={t.id} active={visible && t.id === active}
            onStatus={onStatus} onMoved={onMoved} />
        ))}
        {terms && terms.length === 0 && (
          <div className="pane-empty">
            <Icon name="terminal" size={28} />
            <p className="muted">A shell in your project's sandbox, in <code>/workspace</code>.</p>
            <button type="button" className="btn btn-primary" disabled={creating} onClick={create}>
              <Icon name="plus" /> New terminal
            </button>
          </div>
        )}
      </div>
    </div>
  )
}
