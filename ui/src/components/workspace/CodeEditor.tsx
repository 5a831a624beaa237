import { useEffect, useRef } from 'react'
import type { EditorState } from '@codemirror/state'
import { EditorView } from '@codemirror/view'
import { languageSlot, loadLanguage } from './editorSetup'
import type { OpenDoc } from './useOpenFiles'

export interface CursorInfo {
  line: number
  col: number
  selected: number
}

function cursorOf(state: EditorState): CursorInfo {
  const main = state.selection.main
  const line = state.doc.lineAt(main.head)
  return { line: line.number, col: main.head - line.from + 1, selected: Math.abs(main.to - main.from) }
}

interface Props {
  doc: OpenDoc
  autoFocus?: boolean
  onCursor?: (c: CursorInfo) => void
}

/**
 * Shows one open document; rebuilt when the document (or its state) changes.
 * A live document's binding (remote edits and cursors) lives with the view.
 */
export function CodeEditor({ doc, autoFocus, onCursor }: Props) {
  const host = useRef<HTMLDivElement>(null)
  const cursorCb = useRef(onCursor)
  cursorCb.current = onCursor
  useEffect(() => {
    // a live document may have changed while no view showed it
    const state = doc.current ? doc.current() : doc.state
    if (!state || !host.current) return
    const view = new EditorView({
      state,
      parent: host.current,
      dispatchTransactions: (trs, v) => {
        v.update(trs)
        if (trs.some((tr) => tr.selection || tr.docChanged)) cursorCb.current?.(cursorOf(v.state))
      },
    })
    cursorCb.current?.(cursorOf(view.state))
    view.scrollDOM.tabIndex = 0 // the scroll area is reachable by keyboard (e.g. in read-only files)
    if (doc.scrollTop < 0) {
      // (not while hidden, e.g. behind a maximised tool panel: with no width it would scroll sideways)
      if (view.scrollDOM.clientWidth > 0) view.dispatch({ effects: EditorView.scrollIntoView(view.state.selection.main.head, { y: 'center' }) })
      doc.scrollTop = 0
    } else view.scrollDOM.scrollTop = doc.scrollTop
    if (autoFocus) view.focus()
    let live = true
    void loadLanguage(doc.path).then((lang) => {
      if (live && languageSlot.get(view.state) !== lang) view.dispatch({ effects: languageSlot.reconfigure(lang) })
    })
    return () => {
      live = false
      doc.scrollTop = view.scrollDOM.scrollTop
      view.destroy()
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [doc, doc.rev])
  return <div className="code-editor" ref={host} />
}
