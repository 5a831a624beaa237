import type { ReactNode } from 'react'

/** Shown by panes whose feature has not landed yet. */
export function Placeholder({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="pane-placeholder">
      <h3>{title}</h3>
      <p className="muted">{children}</p>
      <p className="pane-soon">This feature arrives in a later version.</p>
    </div>
  )
}
