import { useState } from 'react'
import { errorMessage, type Checkpoint, type CheckpointDiff, type RestoreResult } from '../../api'
import { Modal } from '../../components/Modal'
import { useDiff } from './DiffView'
import { Counts, StatusBadge } from './Patch'
import { restoreWithProgress, type RestorePhase, type RestoreProgress } from './restoreStream'

const PHASES: Record<RestorePhase, string> = {
  checkpoint: 'Saving the present as a checkpoint',
  stop: 'Stopping the run',
  files: 'Restoring files',
  database: 'Restoring the database',
  restart: 'Starting the run again',
}

/** The restore's progress: the phase and, when known, how far it is. */
function ProgressBar({ progress }: { progress: RestoreProgress | null }) {
  const label = progress ? PHASES[progress.phase] ?? progress.phase : 'Starting'
  const known = progress != null && progress.total > 0
  return (
    <div className="cp-progress small" role="status" data-phase={progress?.phase ?? ''}>
      <span className="cp-spinner" aria-hidden="true" />
      <div className="cp-progress-body">
        <div className="cp-progress-label">
          <span className="cp-progress-phase">{label}…</span>
          {known && <span className="cp-progress-count mono">{progress.done}/{progress.total}</span>}
        </div>
        <progress className="cp-progress-bar" max={known ? progress.total : undefined} value={known ? progress.done : undefined} />
        <span className="muted">The run is stopped and restarted if it was running.</span>
      </div>
    </div>
  )
}

/**
 * "vs now" compares the checkpoint (old side) with the project now (new side); a restore goes the
 * other way, so what it will do is that diff reversed.
 */
export function restoreEffect(d: CheckpointDiff): CheckpointDiff {
  const flip = { added: 'removed', removed: 'added', modified: 'modified' } as const
  return {
    files: d.files.map((f) => ({ ...f, status: flip[f.status], lines_added: f.lines_removed, lines_removed: f.lines_added })),
    tables: d.tables.map((t) => ({ name: t.name, before: t.after, after: t.before })),
  }
}

interface Props {
  projectId: string
  checkpoint: Checkpoint
  onClose: () => void
  onRestored: (r: RestoreResult, database: boolean) => void
}

/** Confirms a restore, showing what it will change, then restores and reports back. */
export function RestoreDialog({ projectId, checkpoint, onClose, onRestored }: Props) {
  const { diff, error: diffError } = useDiff(projectId, checkpoint.id, 'current')
  const [database, setDatabase] = useState(true)
  const [secrets, setSecrets] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [progress, setProgress] = useState<RestoreProgress | null>(null)
  const effect = diff ? restoreEffect(diff) : null

  const restore = async () => {
    setBusy(true)
    setError(null)
    setProgress(null)
    try {
      const r = await restoreWithProgress(projectId, checkpoint.id, database, setProgress, secrets)
      onRestored(r, database)
    } catch (err) {
      setError(errorMessage(err))
      setBusy(false)
    }
  }

  return (
    <Modal title="Restore checkpoint?" onClose={() => !busy && onClose()} className="cp-restore-dialog">
      <p className="modal-message">
        The project goes back to “{checkpoint.message || checkpoint.id}”. Your present state is saved as a checkpoint
        first, so you can undo this.
      </p>
      <div className="cp-restore-summary" aria-live="polite">
        {diffError && <div className="panel-error">{diffError}</div>}
        {!effect && !diffError && <p className="muted small" role="status">Working out what will change…</p>}
        {effect && effect.files.length === 0 && effect.tables.length === 0 && (
          <p className="muted small">No files differ from the project now.</p>
        )}
        {effect && effect.files.length > 0 && (
          <>
            <p className="small">{effect.files.length} {effect.files.length === 1 ? 'file' : 'files'} will change:</p>
            <ul className="cp-files cp-files-static">
              {effect.files.map((f) => (
                <li key={f.path} data-path={f.path} data-status={f.status} className="cp-file">
                  <StatusBadge status={f.status} />
                  <span className="cp-file-path mono">{f.path}</span>
                  {!f.binary && <Counts added={f.lines_added} removed={f.lines_removed} />}
                </li>
              ))}
            </ul>
          </>
        )}
        {effect && effect.tables.length > 0 && (
          <p className="small">
            Database: {effect.tables.map((t) => `${t.name} ${t.before} → ${t.after} rows`).join(', ')}
          </p>
        )}
      </div>
      <label className="cp-check">
        <input type="checkbox" checked={database} disabled={busy} onChange={(e) => setDatabase(e.target.checked)} />
        Also restore the database
      </label>
      <label className="cp-check">
        <input type="checkbox" checked={secrets} disabled={busy} onChange={(e) => setSecrets(e.target.checked)} />
        Also bring back the secrets as they were (names and versions)
      </label>
      {error && <div className="form-error" role="alert">{error}</div>}
      {busy && <ProgressBar progress={progress} />}
      <div className="modal-actions">
        <button type="button" className="btn" onClick={onClose} disabled={busy}>Cancel</button>
        <button type="button" className="btn btn-danger" onClick={restore} disabled={busy} autoFocus>
          Restore checkpoint
        </button>
      </div>
    </Modal>
  )
}
