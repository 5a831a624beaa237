import { useState } from 'react'
import { CodeEditor, type CursorInfo } from './CodeEditor'
import { languageName } from './editorSetup'
import { EditorTabs } from './EditorTabs'
import { fileKind, type FileKind, type TabInfo, type useOpenFiles } from './useOpenFiles'
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
            <SaveState tab={tab} kind={kind} canWrite={canWrite} onSave={() => files.save(tab.path)} />
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
              <dt><kbd>{mod}</kbd>+<kbd>P</kbd></dt><dd>Open a file by name</dd>
              <dt><kbd>{mod}</kbd>+<kbd>Shift</kbd>+<kbd>F</kbd></dt><dd>Search the whole project</dd>
              <dt><kbd>{mod}</kbd>+<kbd>Enter</kbd></dt><dd>Run the app</dd>
              <dt><kbd>{mod}</kbd>+<kbd>K</kbd></dt><dd>All commands</dd>
            </dl>
          </div>
        </div>
      )}
    </section>
  )
}

/**
 * The one save indicator. Live files are kept by the server as you type, so Run uses exactly the
 * text on screen; files edited without the live connection are saved with Save, and Run uses the
 * saved file.
 */
function SaveState({ tab, kind, canWrite, onSave }: { tab: TabInfo; kind: FileKind; canWrite: boolean; onSave: () => void }) {
  let text: string
  let tone = ''
  let hint: string
  if (kind !== 'text') {
    text = kind === 'image' ? 'Image' : 'Binary file'
    hint = ''
  } else if (tab.error) {
    text = tab.error
    tone = 'error'
    hint = ''
  } else if (tab.loading) {
    text = 'Loading…'
    hint = ''
  } else if (!canWrite) {
    text = 'Read-only'
    hint = 'You can view this project but not change it'
  } else if (tab.saving) {
    text = 'Saving…'
    hint = ''
  } else if (tab.live && tab.offline) {
    text = 'Offline — edits kept here'
    tone = 'error'
    hint = 'Your edits are kept in this tab and sent when the connection returns; Run uses the last text the server received'
  } else if (tab.live) {
    text = 'Saved automatically'
    tone = 'ok'
    hint = 'Every keystroke reaches the server, which saves the file: Run uses exactly what you see. Save confirms the server has it all.'
  } else if (tab.dirty) {
    text = 'Unsaved changes'
    tone = 'warn'
    hint = 'Run uses the saved file: save to run these changes'
  } else {
    text = 'Saved'
    tone = 'ok'
    hint = 'Run uses this file as shown'
  }
  const emphasise = canWrite && kind === 'text' && tab.dirty && !tab.live
  return (
    <>
      <span className={'editor-status' + (tab.live ? ' editor-live' : '')} role="status" data-tone={tone || undefined}
        data-live={tab.live ? (tab.offline ? 'offline' : 'online') : undefined} title={hint || undefined}>
        {tone === 'ok' && <Icon name="check" size={12} />} {text}
      </span>
      {canWrite && kind === 'text' && (
        <button type="button" className={'btn btn-small' + (emphasise ? ' btn-primary' : '')} disabled={!tab.dirty || tab.saving}
          onClick={onSave} title={`Save (${mod}+S)`}>
          <Icon name="save" /> Save
        </button>
      )}
    </>
  )
}
