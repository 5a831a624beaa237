// The open editor tabs of a workspace: their editor states, dirty flags and saving.
import { useCallback, useEffect, useRef, useState } from 'react'
import type { EditorState, Text } from '@codemirror/state'
import { api, errorMessage } from '../../api'
import { isUnder } from '../../util'
import { createDocState } from './editorSetup'

/** How a file is shown: text in the editor, an image, or not at all. */
export type FileKind = 'text' | 'image' | 'binary'

const IMAGE = /\.(png|jpe?g|gif|webp|svgz?|ico|bmp|avif)$/i
const BINARY = /\.(zip|gz|tgz|tar|bz2|xz|7z|rar|pdf|woff2?|ttf|otf|eot|mp3|mp4|wav|ogg|webm|mov|exe|dll|so|dylib|class|jar|pyc|wasm|sqlite|db|bin)$/i

export function fileKind(path: string): FileKind {
  return /\.svg$/i.test(path) ? 'text' : IMAGE.test(path) ? 'image' : BINARY.test(path) ? 'binary' : 'text'
}

export interface OpenDoc {
  path: string
  state: EditorState | null
  /** The text last loaded from or saved to the server. */
  saved: Text | null
  scrollTop: number
  /** Bumped when `state` is replaced, so the editor view is rebuilt. */
  rev: number
  loading?: boolean
}

export interface TabInfo {
  path: string
  dirty: boolean
  loading: boolean
  saving: boolean
  error?: string
}

export function useOpenFiles(projectId: string, readOnly: boolean) {
  const docs = useRef(new Map<string, OpenDoc>())
  const [tabs, setTabs] = useState<TabInfo[]>([])
  const [active, setActive] = useState<string | null>(null)
  const saveRef = useRef<(path: string) => Promise<boolean>>(async () => false)

  const patchTab = useCallback((path: string, patch: Partial<TabInfo>) => {
    setTabs((ts) => {
      const i = ts.findIndex((t) => t.path === path)
      if (i < 0) return ts
      const cur = ts[i]
      if (Object.entries(patch).every(([k, v]) => cur[k as keyof TabInfo] === v)) return ts
      const next = ts.slice()
      next[i] = { ...cur, ...patch }
      return next
    })
  }, [])

  const makeState = useCallback(
    (doc: OpenDoc, text: string) =>
      createDocState(text, doc.path, readOnly, {
        onSave: () => void saveRef.current(doc.path),
        onChange: (state) => {
          doc.state = state
          if (doc.saved) patchTab(doc.path, { dirty: !state.doc.eq(doc.saved) })
        },
      }),
    [readOnly, patchTab],
  )

  const open = useCallback(
    async (path: string) => {
      setActive(path)
      const known = docs.current.get(path)
      if (known && (known.state || known.loading || fileKind(path) !== 'text')) return
      const text = fileKind(path) === 'text'
      const doc: OpenDoc = { path, state: null, saved: null, scrollTop: 0, rev: 0, loading: text }
      docs.current.set(path, doc)
      if (known) patchTab(path, { loading: true, error: undefined }) // its load failed before: retry in place
      else setTabs((ts) => [...ts, { path, dirty: false, loading: text, saving: false }])
      if (!text) return
      try {
        const content = await api.readFile(projectId, path)
        if (docs.current.get(doc.path) !== doc) return // closed meanwhile
        doc.state = makeState(doc, content)
        doc.saved = doc.state.doc
        doc.rev++
        patchTab(doc.path, { loading: false })
      } catch (err) {
        patchTab(doc.path, { loading: false, error: errorMessage(err) })
      } finally {
        doc.loading = false
      }
    },
    [projectId, makeState, patchTab],
  )

  const save = useCallback(
    async (path: string): Promise<boolean> => {
      const doc = docs.current.get(path)
      if (!doc?.state || readOnly) return false
      const text = doc.state.doc
      patchTab(path, { saving: true, error: undefined })
      try {
        await api.writeFile(projectId, doc.path, text.toString())
        doc.saved = text
        patchTab(doc.path, { saving: false, dirty: !doc.state.doc.eq(text) })
        return true
      } catch (err) {
        patchTab(doc.path, { saving: false, error: 'Not saved: ' + errorMessage(err) })
        return false
      }
    },
    [projectId, readOnly, patchTab],
  )
  saveRef.current = save

  const tabsRef = useRef(tabs)
  tabsRef.current = tabs

  /** Closes tabs without asking; the caller confirms dirty ones. */
  const close = useCallback((paths: string[]) => {
    if (paths.length === 0) return
    const gone = new Set(paths)
    for (const p of paths) docs.current.delete(p)
    const before = tabsRef.current
    const after = before.filter((t) => !gone.has(t.path))
    setTabs((ts) => ts.filter((t) => !gone.has(t.path)))
    setActive((a) => {
      if (a === null || !gone.has(a)) return a
      const i = before.findIndex((t) => t.path === a)
      return after[Math.min(Math.max(i, 0), after.length - 1)]?.path ?? null
    })
  }, [])

  /** Follows a rename or move of a file or folder. */
  const renamed = useCallback(
    (from: string, to: string) => {
      const moves: [string, string][] = []
      for (const p of docs.current.keys()) if (isUnder(p, from)) moves.push([p, to + p.slice(from.length)])
      if (moves.length === 0) return
      const map = new Map(moves)
      for (const [oldPath, newPath] of moves) {
        const doc = docs.current.get(oldPath)!
        docs.current.delete(oldPath)
        doc.path = newPath
        docs.current.set(newPath, doc)
        if (doc.state) {
          // rebuild for the new language; keep the unsaved text
          const sel = doc.state.selection
          doc.state = makeState(doc, doc.state.doc.toString())
          doc.state = doc.state.update({ selection: sel }).state
          doc.rev++
        }
      }
      setTabs((ts) => ts.map((t) => (map.has(t.path) ? { ...t, path: map.get(t.path)! } : t)))
      setActive((a) => (a && map.has(a) ? map.get(a)! : a))
    },
    [makeState],
  )

  /** Paths of open, edited and unsaved files under `root` (all when root is ''). */
  const dirtyUnder = useCallback(
    (root: string) => tabs.filter((t) => t.dirty && (root === '' || isUnder(t.path, root))).map((t) => t.path),
    [tabs],
  )

  const anyDirty = tabs.some((t) => t.dirty)
  useEffect(() => {
    if (!anyDirty) return
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault()
    }
    window.addEventListener('beforeunload', warn)
    return () => window.removeEventListener('beforeunload', warn)
  }, [anyDirty])

  return { docs, tabs, active, setActive, open, save, close, renamed, dirtyUnder }
}
