import { Suspense, useEffect, useRef, useState, type KeyboardEvent } from 'react'
import type { Project } from '../../api'
import { panes } from '../../panes'
import { useRun } from '../../panes/run'
import { Icon } from '../Icon'

interface Props {
  project: Project
  canWrite: boolean
  hidden?: boolean
  /** The pane shown. */
  active: string
  onPick: (id: string) => void
  maximized: boolean
  onMaximize: (on: boolean) => void
  /** No tab row (on phones the bottom bar picks the pane). */
  bare?: boolean
}

/** The right-hand tabbed panel. A pane is loaded and mounted the first time it is shown, then kept. */
export function PanePanel({ project, canWrite, hidden, active, onPick, maximized, onMaximize, bare }: Props) {
  const [mounted, setMounted] = useState<Set<string>>(() => new Set([active]))
  useEffect(() => setMounted((m) => (m.has(active) ? m : new Set([...m, active]))), [active])
  const bar = useRef<HTMLDivElement>(null)

  // When the app starts accepting connections while the Console is shown, show the app. Other
  // panes (a checkpoint restore's notice, the agent's turn) are never covered.
  const listening = useRun().state?.listening
  const wasListening = useRef<boolean | undefined>(undefined)
  useEffect(() => {
    if (listening === undefined) return
    if (wasListening.current === false && listening && active === 'console' && !bare) onPick('preview')
    wasListening.current = listening
  }, [listening]) // eslint-disable-line react-hooks/exhaustive-deps

  const keydown = (e: KeyboardEvent, i: number) => {
    const j = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? panes.length - 1 : null
    if (j === null) return
    e.preventDefault()
    const k = (j + panes.length) % panes.length
    onPick(panes[k].id)
    bar.current?.querySelectorAll<HTMLElement>('[role="tab"]')[k]?.focus()
  }
  return (
    <section className="pane-panel" aria-label="Tools" hidden={hidden}>
      {!bare && (
        <div className="pane-tabs-row">
          <div className="pane-tabs" role="tablist" aria-label="Tools" ref={bar}>
            {panes.map((p, i) => (
              <button key={p.id} type="button" role="tab" id={`pane-tab-${p.id}`} aria-controls={`pane-${p.id}`}
                aria-selected={p.id === active} tabIndex={p.id === active ? 0 : -1}
                className={'pane-tab' + (p.id === active ? ' active' : '')} data-pane={p.id}
                onClick={() => onPick(p.id)} onKeyDown={(e) => keydown(e, i)}>
                {p.title}
              </button>
            ))}
          </div>
          <button type="button" className="btn btn-icon pane-maximize" aria-pressed={maximized}
            aria-label={maximized ? 'Restore the tool panel size' : 'Maximise the tool panel'}
            title={maximized ? 'Restore the tool panel size' : 'Maximise the tool panel'} onClick={() => onMaximize(!maximized)}>
            <Icon name={maximized ? 'minimize' : 'maximize'} />
          </button>
        </div>
      )}
      {panes.map((p) =>
        mounted.has(p.id) ? (
          <div key={p.id} id={`pane-${p.id}`} role="tabpanel" aria-labelledby={bare ? undefined : `pane-tab-${p.id}`}
            aria-label={bare ? p.title : undefined} className="pane-body" hidden={p.id !== active}>
            <Suspense fallback={<div className="pane-loading muted">Loading {p.title}…</div>}>
              <p.component project={project} canWrite={canWrite} visible={!hidden && p.id === active} />
            </Suspense>
          </div>
        ) : null,
      )}
    </section>
  )
}
