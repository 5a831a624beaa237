import { useEffect, useState } from 'react'
import { checkpointsApi, errorMessage, type CheckpointTreeEntry } from '../../api'
import { formatSize } from '../../util'

/** The checkpoint's files, read-only: a list of paths and the chosen file's text. */
export function FilesBrowser({ projectId, cid }: { projectId: string; cid: string }) {
  const [entries, setEntries] = useState<CheckpointTreeEntry[] | null>(null)
  const [path, setPath] = useState<string | null>(null)
  const [text, setText] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    let live = true
    checkpointsApi.tree(projectId, cid).then(
      (l) => live && setEntries([...l].sort((a, b) => a.path.localeCompare(b.path))),
      (err) => live && setError(errorMessage(err)),
    )
    return () => {
      live = false
    }
  }, [projectId, cid])

  useEffect(() => {
    if (!path) return
    let live = true
    setText(null)
    setError(null)
    checkpointsApi.readFile(projectId, cid, path).then(
      (t) => live && setText(t),
      (err) => live && setError(errorMessage(err)),
    )
    return () => {
      live = false
    }
  }, [projectId, cid, path])

  if (!entries) return error ? <div className="panel-error" role="alert">{error}</div> : <p className="muted small" role="status">Loading files…</p>
  return (
    <div className="cp-browser">
      <ul className="cp-browser-list" aria-label="Checkpoint files">
        {entries.map((e) => {
          const depth = e.path.split('/').length - 1
          return (
            <li key={e.path}>
              <button type="button" className={'cp-browser-file' + (e.path === path ? ' active' : '')}
                data-path={e.path} aria-current={e.path === path ? 'true' : undefined}
                style={{ paddingLeft: 8 + depth * 12 }} onClick={() => setPath(e.path)}>
                <span className="mono">{e.path}</span>
                {e.size > 0 && <span className="muted small">{formatSize(e.size)}</span>}
              </button>
            </li>
          )
        })}
        {entries.length === 0 && <li className="muted small">No files.</li>}
      </ul>
      {error && <div className="panel-error" role="alert">{error}</div>}
      {path && text !== null && (
        <pre className="cp-file-view" aria-label={`${path} (read-only)`} tabIndex={0}>{text}</pre>
      )}
      {path && text === null && !error && <p className="muted small" role="status">Loading {path}…</p>}
    </div>
  )
}
