import { useState } from 'react'
import { CodeEditor, type CursorInfo } from './CodeEditor'
import { languageName } from './editorSetup'
import { EditorTabs } from './EditorTabs'
import { fileKind, type useOpenFiles } from './useOpenFiles'
import { api } from '../../api'
import { Icon } from '../Icon'

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform)
const mod = isMac ? '⌘' : 'Ctrl'

interface Props {
  projectId: string
  files: ReturnType<typeof useOpenFiles>
  canWrite: boolean
  onClose: (path: string) => void
}

/** The centre column: open-file tabs, the active file's toolbar and its editor. */
export function EditorArea({ projectId, files, canWrite, onClose }: Props) {
  const { tabs, active, docs } = files
  const tab = tabs.find((t) => t.path === active)
  const doc = active ? docs.current.get(active) : undefined
  const kind = active ? fileKind(active) : 'text'
  const rawUrl = active ? api.fileUrl(projectId, active) : ''
  const [cursor, setCursor] = useState<CursorInfo | null>(null)

  return (
    <section className="editor-area" aria-label="Editor">
      {tabs.length > 0 && <EditorTabs tabs={tabs} active={active} onSelect={files.setActive} onClose={onClose} />}
      {tab ? (
        <>
          <div className="editor-bar">
            <span className="editor-path" title={tab.path}>
              {tab.path.split('/').map((seg, i, all) => (
                <span key={i} className={i === all.length - 1 ? 'crumb last' : 'crumb'}>{seg}</span>
              ))}
            </span>
            {kind === 'text' && doc?.state && cursor && (
              <span className="editor-pos" aria-label="Cursor position">
                Ln {cursor.line}, Col {cursor.col}{cursor.selected > 0 && ` (${cursor.selected} selected)`}
              </span>
            )}
            {kind === 'text' && <span className="editor-lang">{languageName(tab.path)}</span>}
            {kind === 'text' && tab.live && (
              <span className="editor-live" data-live={tab.offline ? 'offline' : 'online'}
                title="Edited live: everyone with the file open sees changes as they are typed, and the server saves them">
                Live
              </span>
            )}
            <span className="editor-status" role="status">
              {kind !== 'text' ? (kind === 'image' ? 'Image' : 'Binary file') : tab.error ? <span className="error-text">{tab.error}</span>
                : tab.saving ? 'Saving…' : tab.loading ? 'Loading…'
                : tab.live && tab.offline ? <span className="error-text" title="Your edits are kept in this tab and sent when the connection returns">Offline — reconnecting…</span>
                : tab.dirty ? (tab.live ? 'Edited (synced live)' : 'Unsaved changes') : canWrite ? 'Saved' : 'Read-only'}
            </span>
            {canWrite && kind === 'text' && (
              <button type="button" className="btn btn-small btn-primary" disabled={!tab.dirty || tab.saving}
                onClick={() => files.save(tab.path)} title={`Save (${mod}+S)`}>
                <Icon name="save" /> Save
              </button>
            )}
          </div>
          <div className="editor-host">
            {kind === 'image' ? (
              <div className="image-view"><img src={rawUrl} alt={tab.path} /></div>
            ) : kind === 'binary' ? (
              <div className="editor-empty muted">
                This is a binary file. <a href={rawUrl} download>Download it</a> to open it elsewhere.
              </div>
            ) : doc?.state ? (
              <CodeEditor key={doc.path} doc={doc} autoFocus onCursor={setCursor} />
            ) : tab.loading ? (
              <div className="editor-empty muted">Loading {tab.path}…</div>
            ) : (
              <div className="editor-empty error-text">{tab.error ?? 'Cannot show this file.'}</div>
            )}
          </div>
        </>
      ) : (
        <div className="editor-empty">
          <div className="editor-welcome">
            <h2>No file open</h2>
            <p className="muted">Pick a file in the tree on the left{canWrite ? ', or create a new one' : ''}.</p>
            <dl className="shortcuts">
              <dt><kbd>{mod}</kbd>+<kbd>S</kbd></dt><dd>Save</dd>
              <dt><kbd>↑</kbd> <kbd>↓</kbd> <kbd>←</kbd> <kbd>→</kbd></dt><dd>Move in the file tree</dd>
              <dt><kbd>F2</kbd></dt><dd>Rename the selected file</dd>
              <dt><kbd>{mod}</kbd>+<kbd>F</kbd></dt><dd>Find in file</dd>
            </dl>
          </div>
        </div>
      )}
    </section>
  )
}
