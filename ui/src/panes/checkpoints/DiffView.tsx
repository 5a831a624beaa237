import { useEffect, useState } from 'react'
import { checkpointsApi, errorMessage, type CheckpointDiff } from '../../api'
import { Counts, Patch, StatusBadge } from './Patch'

export type Against = 'previous' | 'current'

/** Loads a checkpoint's diff; `reload` changes force a new request (e.g. after a restore). */
export function useDiff(projectId: string, cid: string, against: Against, reload = 0) {
  const [diff, setDiff] = useState<CheckpointDiff | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let live = true
    setDiff(null)
    setError(null)
    checkpointsApi.diff(projectId, cid, against).then(
      (d) => live && setDiff(d),
      (err) => live && setError(errorMessage(err)),
    )
    return () => {
      live = false
    }
  }, [projectId, cid, against, reload])
  return { diff, error }
}

/** Database tables whose row count changed, "before → after". */
export function TablesList({ diff }: { diff: CheckpointDiff }) {
  if (diff.tables.length === 0) return null
  return (
    <div className="cp-tables">
      <h4>Database</h4>
      <ul>
        {diff.tables.map((t) => (
          <li key={t.name} data-table={t.name}>
            <span className="mono">{t.name}</span>
            <span className="muted small">
              {t.before} → {t.after} rows
            </span>
          </li>
        ))}
      </ul>
    </div>
  )
}

/** The changed files (click one for its patch) and tables of one diff. */
export function DiffView({ projectId, cid, against, reload }: { projectId: string; cid: string; against: Against; reload: number }) {
  const { diff, error } = useDiff(projectId, cid, against, reload)
  const [open, setOpen] = useState<string | null>(null)
  if (error) return <div className="panel-error" role="alert">{error}</div>
  if (!diff) return <p className="cp-loading muted small" role="status">Loading changes…</p>
  if (diff.files.length === 0 && diff.tables.length === 0) {
    return <p className="muted small cp-nochange">{against === 'current' ? 'Same as the project now.' : 'No changes.'}</p>
  }
  return (
    <div className="cp-diff" data-against={against}>
      {diff.files.length > 0 && (
        <ul className="cp-files" aria-label="Changed files">
          {diff.files.map((f) => (
            <li key={f.path} data-path={f.path} data-status={f.status}>
              <button type="button" className="cp-file" aria-expanded={open === f.path}
                onClick={() => setOpen(open === f.path ? null : f.path)}>
                <StatusBadge status={f.status} />
                <span className="cp-file-path mono" title={f.path}>{f.path}</span>
                {f.binary ? <span className="muted small">binary</span> : <Counts added={f.lines_added} removed={f.lines_removed} />}
              </button>
              {open === f.path && <Patch file={f} />}
            </li>
          ))}
        </ul>
      )}
      <TablesList diff={diff} />
    </div>
  )
}
