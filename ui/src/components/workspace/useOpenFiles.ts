// The open editor tabs of a workspace: their editor states, dirty flags and saving.
//
// Text files open as live documents (ui/src/collab): the server keeps and
// writes the text, every keystroke reaches it at once and other people's
// edits and cursors appear. "Dirty" then means "typed since you last
// pressed Save"; Save confirms the server has everything (it fails while
// the connection is down; the text is kept and sent when it returns).
// When the live connection cannot be made, the file is loaded and saved
// with the files API as before.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { EditorState, Text } from '@codemirror/state'
import { api, errorMessage } from '../../api'
import { collabExtension } from '../../collab/binding'
import { CollabSession, collabUser } from '../../collab/session'
import { useSession } from '../../session'
import { isUnder } from '../../util'
import { createDocState } from './editorSetup'

/** How long to wait for the live document before falling back to the files API. */
const LIVE_TIMEOUT_MS = 6000

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
  /** The live document, when the file is edited together. */
  session?: CollabSession | null
  /** For live documents: the state brought up to date with the live text (remote edits made while no view showed it). */
  current?: () => EditorState | null
}

export interface TabInfo {
  path: string
  dirty: boolean
  loading: boolean
  saving: boolean
  error?: string
  /** Edited live with others (the server saves). */
  live?: boolean
  /** The live connection is down; edits are kept and sent when it returns. */
  offline?: boolean
}

export function useOpenFiles(projectId: string, readOnly: boolean) {
  const docs = useRef(new Map<string, OpenDoc>())
  const [tabs, setTabs] = useState<TabInfo[]>([])
  const [active, setActive] = useState<string | null>(null)
  const saveRef = useRef<(path: string) => Promise<boolean>>(async () => false)
  const { user } = useSession()
  const me = useMemo(() => (user ? collabUser(user.id, user.name) : null), [user])
  const meRef = useRef(me)
  meRef.current = me

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
    (doc: OpenDoc, text: string, session?: CollabSession | null) =>
      createDocState(
        text,
        doc.path,
        readOnly,
        {
          onSave: () => void saveRef.current(doc.path),
          onChange: (state, localEdit) => {
            doc.state = state
            if (doc.session) {
              if (localEdit) patchTab(doc.path, { dirty: true })
            } else if (doc.saved) patchTab(doc.path, { dirty: !state.doc.eq(doc.saved) })
          },
        },
        session ? collabExtension(session) : undefined,
      ),
    [readOnly, patchTab],
  )

  /** Loads doc's text: live when possible, else from the files API. */
  const load = useCallback(
    async (doc: OpenDoc) => {
      const path = doc.path
      try {
        let session: CollabSession | null = null
        if (meRef.current) {
          session = new CollabSession(projectId, path, meRef.current)
          if (!(await session.whenSynced(LIVE_TIMEOUT_MS))) {
            session.destroy()
            session = null
          }
        }
        if (docs.current.get(doc.path) !== doc || doc.path !== path) {
          session?.destroy() // closed or renamed meanwhile
          return
        }
        if (session) {
          const s = session
          doc.session = s
          doc.state = makeState(doc, s.text.toString(), s)
          doc.current = () => {
            if (doc.session !== s || !doc.state) return doc.state
            const live = s.text.toString()
            if (doc.state.doc.toString() !== live) {
              const head = Math.min(doc.state.selection.main.head, live.length)
              doc.state = makeState(doc, live, s)
              doc.state = doc.state.update({ selection: { anchor: head } }).state
            }
            return doc.state
          }
          s.provider.on('status', ({ status }: { status: string }) => {
            if (doc.session === s) patchTab(doc.path, { offline: status !== 'connected' })
          })
        } else {
          const content = await api.readFile(projectId, path)
          if (docs.current.get(doc.path) !== doc || doc.path !== path) return
          doc.state = makeState(doc, content)
        }
        doc.saved = doc.state.doc
        doc.rev++
        patchTab(doc.path, { loading: false, live: !!session, offline: false })
      } catch (err) {
        patchTab(doc.path, { loading: false, error: errorMessage(err) })
      } finally {
        doc.loading = false
      }
    },
    [projectId, makeState, patchTab],
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
      await load(doc)
    },
    [load, patchTab],
  )

  /** Opens path with the cursor at a line (and column, 1-based) or an offset, scrolled into view. */
  const openAt = useCallback(
    async (path: string, at: { line?: number; col?: number; offset?: number }) => {
      await open(path)
      const doc = docs.current.get(path)
      const st = doc?.current ? doc.current() : doc?.state
      if (!doc || !st) return
      let pos = Math.min(at.offset ?? 0, st.doc.length)
      if (at.line) {
        const l = st.doc.line(Math.min(Math.max(1, at.line), st.doc.lines))
        pos = Math.min(l.from + Math.max(0, (at.col ?? 1) - 1), l.to)
      }
      doc.state = st.update({ selection: { anchor: pos } }).state
      doc.scrollTop = -1 // scroll the cursor into view
      doc.rev++
      setActive(path)
      setTabs((ts) => ts.slice())
    },
    [open],
  )

  /** The cursor offset of an open file (for restoring it later). */
  const cursorOf = useCallback((path: string) => docs.current.get(path)?.state?.selection.main.head, [])

  const save = useCallback(
    async (path: string): Promise<boolean> => {
      const doc = docs.current.get(path)
      if (!doc?.state || readOnly) return false
      const text = doc.state.doc
      if (doc.session) {
        // The server keeps every update and writes the file itself; Save has it written now.
        patchTab(path, { saving: true, error: undefined })
        const ok = await doc.session.flush(10000)
        if (!ok) {
          patchTab(doc.path, { saving: false, error: 'Not saved yet: offline. Your changes are kept and sent when the connection returns.' })
          return false
        }
        doc.saved = text
        patchTab(doc.path, { saving: false, dirty: false })
        return true
      }
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
    for (const p of paths) {
      docs.current.get(p)?.session?.destroy()
      docs.current.delete(p)
    }
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
      const reload: OpenDoc[] = []
      for (const p of docs.current.keys()) if (isUnder(p, from)) moves.push([p, to + p.slice(from.length)])
      if (moves.length === 0) return
      const map = new Map(moves)
      for (const [oldPath, newPath] of moves) {
        const doc = docs.current.get(oldPath)!
        docs.current.delete(oldPath)
        doc.path = newPath
        docs.current.set(newPath, doc)
        if (doc.session) {
          // a live document belongs to its path: open the new path's one
          doc.session.destroy()
          doc.session = null
          doc.current = undefined
          doc.state = null
          doc.loading = true
          doc.rev++
          reload.push(doc)
        } else if (doc.state) {
          // rebuild for the new language; keep the unsaved text
          const sel = doc.state.selection
          doc.state = makeState(doc, doc.state.doc.toString())
          doc.state = doc.state.update({ selection: sel }).state
          doc.rev++
        }
      }
      setTabs((ts) => ts.map((t) => (map.has(t.path) ? { ...t, path: map.get(t.path)!, loading: t.loading || reload.some((d) => d.path === map.get(t.path)) } : t)))
      setActive((a) => (a && map.has(a) ? map.get(a)! : a))
      for (const doc of reload) void load(doc)
    },
    [makeState, load],
  )

  /** Paths of open, edited and unsaved files under `root` (all when root is ''). */
  const dirtyUnder = useCallback(
    (root: string) => tabs.filter((t) => t.dirty && (root === '' || isUnder(t.path, root))).map((t) => t.path),
    [tabs],
  )

  // Leaving the workspace ends the live connections.
  useEffect(() => {
    const all = docs.current
    return () => {
      for (const doc of all.values()) doc.session?.destroy()
    }
  }, [])

  const anyDirty = tabs.some((t) => t.dirty)
  useEffect(() => {
    if (!anyDirty) return
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault()
    }
    window.addEventListener('beforeunload', warn)
    return () => window.removeEventListener('beforeunload', warn)
  }, [anyDirty])

  return { docs, tabs, active, setActive, open, openAt, cursorOf, save, close, renamed, dirtyUnder }
}
