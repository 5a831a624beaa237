// The workspace layout of one project, kept in localStorage so that a reload
// (or the next visit) shows the same panels, open files and cursor positions.
import { useEffect, useRef, useState } from 'react'

export interface Layout {
  sideWidth: number
  paneWidth: number
  toolsShown: boolean
  /** The tool panel fills the workspace. */
  maximized: boolean
  pane: string
  /** The one pane shown on a phone (files, editor or a tool pane id). */
  mobilePane: string
  tabs: string[]
  active: string | null
  /** Cursor offsets by open file. */
  cursors: Record<string, number>
}

const DEFAULTS: Layout = {
  sideWidth: 250, paneWidth: 480, toolsShown: true, maximized: false, pane: 'console', mobilePane: 'editor',
  tabs: [], active: null, cursors: {},
}

const key = (projectId: string) => `ecode.layout.${projectId}`

export function loadLayout(projectId: string): { layout: Layout; stored: boolean } {
  try {
    const raw = localStorage.getItem(key(projectId))
    if (raw) return { layout: { ...DEFAULTS, ...JSON.parse(raw) }, stored: true }
  } catch {
    // unreadable: start afresh
  }
  return { layout: { ...DEFAULTS }, stored: false }
}

/** The project's layout, saved (debounced) whenever it changes. */
export function useLayout(projectId: string) {
  const [initial] = useState(() => loadLayout(projectId))
  const [layout, setLayout] = useState<Layout>(initial.layout)
  useEffect(() => {
    const t = setTimeout(() => localStorage.setItem(key(projectId), JSON.stringify(layout)), 150)
    return () => clearTimeout(t)
  }, [projectId, layout])
  const latest = useRef(layout)
  latest.current = layout
  const update = (patch: Partial<Layout>) => setLayout((l) => ({ ...l, ...patch }))
  /** Updates and writes at once (when the page is going away). */
  const saveNow = (patch: Partial<Layout>) => {
    latest.current = { ...latest.current, ...patch }
    localStorage.setItem(key(projectId), JSON.stringify(latest.current))
    update(patch)
  }
  return { layout, update, saveNow, restored: initial.stored }
}

/** The file to open in a project nobody has opened here before: its entry point, else its README. */
export function defaultFile(paths: string[]): string | null {
  const prefer = ['index.html', 'index.js', 'main.py', 'main.go', 'app.py', 'server.js', 'src/main.tsx', 'src/index.js', 'README.md']
  for (const p of prefer) if (paths.includes(p)) return p
  return paths.find((p) => !p.includes('/') && !p.startsWith('.')) ?? null
}
