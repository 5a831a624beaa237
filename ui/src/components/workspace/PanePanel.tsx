import { useEffect, useRef, useState, type KeyboardEvent } from 'react'
import type { Project } from '../../api'
import { panes } from '../../panes'
import { useRun } from '../../panes/run'

/** After the user picks a pane, the app starting to listen does not switch to Preview for this long. */
const RECENT_PICK_MS = 5000

/** The right-hand tabbed panel. A pane is mounted the first time it is shown and then kept. */
export function PanePanel({ project, canWrite, hidden }: { project: Project; canWrite: boolean; hidden?: boolean }) {
  const [active, setActive] = useState(panes[0].id)
  const [mounted, setMounted] = useState<Set<string>>(() => new Set([panes[0].id]))
  const bar = useRef<HTMLDivElement>(null)
  const show = (id: string) => {
    setActive(id)
    setMounted((m) => (m.has(id) ? m : new Set([...m, id])))
  }
  const lastPick = useRef(0)
  const pick = (id: string) => {
    lastPick.current = Date.now()
    show(id)
  }

  // When the app starts accepting connections, show it (unless the user just chose a pane).
  const listening = useRun().state?.listening
  const wasListening = useRef<boolean | undefined>(undefined)
  useEffect(() => {
    if (listening === undefined) return
    if (wasListening.current === false && listening && Date.now() - lastPick.current > RECENT_PICK_MS) show('preview')
    wasListening.current = listening
  }, [listening])
  const keydown = (e: KeyboardEvent, i: number) => {
    const j = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? panes.length - 1 : null
    if (j === null) return
    e.preventDefault()
    const k = (j + panes.length) % panes.length
    pick(panes[k].id)
    bar.current?.querySelectorAll<HTMLElement>('[role="tab"]')[k]?.focus()
  }
  return (
    <section className="pane-panel" aria-label="Tools" hidden={hidden}>
      <div className="pane-tabs" role="tablist" aria-label="Tools" ref={bar}>
        {panes.map((p, i) => (
          <button
            key={p.id}
            type="button"
            role="tab"
            id={`pane-tab-${p.id}`}
            aria-controls={`pane-${p.id}`}
            aria-selected={p.id === active}
            tabIndex={p.id === active ? 0 : -1}
            className={'pane-tab' + (p.id === active ? ' active' : '')}
            data-pane={p.id}
            onClick={() => pick(p.id)}
            onKeyDown={(e) => keydown(e, i)}
          >
            {p.title}
          </button>
        ))}
      </div>
      {panes.map((p) =>
        mounted.has(p.id) ? (
          <div key={p.id} id={`pane-${p.id}`} role="tabpanel" aria-labelledby={`pane-tab-${p.id}`}
            className="pane-body" hidden={p.id !== active}>
            <p.component project={project} canWrite={canWrite} visible={!hidden && p.id === active} />
          </div>
        ) : null,
      )}
    </section>
  )
}
