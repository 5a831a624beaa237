// The workspace's three pickers: quick open, project search and the command palette.
import { useCallback, useRef } from 'react'
import { api, type FileNode } from '../../api'
import { panes } from '../../panes'
import { Palette, type PaletteItem } from './Palette'
import { fuzzyFilter } from './fuzzy'

export type Picker = 'files' | 'search' | 'commands' | null

function filePaths(n: FileNode, out: string[] = []): string[] {
  for (const c of n.children ?? []) {
    if (c.type === 'dir') filePaths(c, out)
    else out.push(c.path)
  }
  return out
}

function splitPath(p: string) {
  const i = p.lastIndexOf('/')
  return { name: p.slice(i + 1), dir: i < 0 ? '' : p.slice(0, i) }
}

/** Ctrl/Cmd+P: every file of the project, matched fuzzily by name. */
export function QuickOpen({ projectId, onOpen, onClose }: { projectId: string; onOpen: (path: string) => void; onClose: () => void }) {
  const paths = useRef<Promise<string[]> | null>(null)
  const search = useCallback(async (q: string): Promise<PaletteItem[]> => {
    paths.current ??= api.tree(projectId).then((t) => filePaths(t))
    return fuzzyFilter(q, await paths.current).map((p) => {
      const { name, dir } = splitPath(p)
      return { id: p, label: name, detail: dir, run: () => onOpen(p) }
    })
  }, [projectId, onOpen])
  return <Palette title="Open file" placeholder="File name…" search={search} onClose={onClose} />
}

/** Ctrl/Cmd+Shift+F: lines of the whole project; picking one opens the file at that line. */
export function ProjectSearch({ projectId, onOpen, onClose }: {
  projectId: string
  onOpen: (path: string, line: number, col: number) => void
  onClose: () => void
}) {
  const last = useRef({ truncated: false, files: 0 })
  const search = useCallback(async (q: string): Promise<PaletteItem[]> => {
    if (q.trim().length < 2) {
      last.current = { truncated: false, files: 0 }
      return []
    }
    const res = await api.search(projectId, q)
    last.current = { truncated: res.truncated, files: res.files }
    return res.matches.map((m) => ({
      id: `${m.path}:${m.line}:${m.column}`,
      label: <><span className="search-path">{m.path}</span><span className="muted">:{m.line}</span></>,
      detail: <code className="search-line">{m.text.trim()}</code>,
      run: () => onOpen(m.path, m.line, m.column),
    }))
  }, [projectId, onOpen])
  const footer = (q: string, items: PaletteItem[]) =>
    q.trim().length < 2 ? 'Type at least two characters. Lower case ignores case; node_modules, .git and binary files are skipped.'
      : `${items.length}${last.current.truncated ? '+' : ''} matching line${items.length === 1 ? '' : 's'} in ${last.current.files} files searched` +
        (last.current.truncated ? ' — refine the query to see all' : '')
  return <Palette title="Search in project" placeholder="Text to find in every file…" search={search} footer={footer} debounceMs={200} onClose={onClose} />
}

export interface Command {
  id: string
  label: string
  shortcut?: string
  run: () => void
}

/** Ctrl/Cmd+K: every workspace action by name. */
export function CommandPalette({ commands, onClose }: { commands: Command[]; onClose: () => void }) {
  const search = useCallback((q: string): PaletteItem[] => {
    const byLabel = new Map(commands.map((c) => [c.label, c]))
    return fuzzyFilter(q, commands.map((c) => c.label), 100).map((label) => {
      const c = byLabel.get(label)!
      return { id: c.id, label: c.label, detail: c.shortcut && <kbd>{c.shortcut}</kbd>, run: c.run }
    })
  }, [commands])
  return <Palette title="Commands" placeholder="Type a command…" search={search} onClose={onClose} />
}

/** The commands that show a tool pane, one per registered pane. */
export function paneCommands(show: (id: string) => void): Command[] {
  return panes.map((p) => ({ id: 'pane-' + p.id, label: `Show ${p.title}`, run: () => show(p.id) }))
}
