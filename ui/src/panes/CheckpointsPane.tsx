import { SHOW_CHECKPOINT_EVENT } from './checkpoints/events'
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react'
import { checkpointsApi, errorMessage, type Checkpoint, type Project, type RestoreResult } from '../api'
import { useDialogs } from '../components/Dialogs'
import { Link } from '../router'
import { Detail } from './checkpoints/Detail'
import { RestoreDialog } from './checkpoints/RestoreDialog'
import { Timeline } from './checkpoints/Timeline'
import './checkpoints/checkpoints.css'
import type { PaneProps } from './types'

type Outcome =
  | { kind: 'restored'; result: RestoreResult; database: boolean }
  | { kind: 'forked'; project: Project }

/** Tells the rest of the workspace (file tree, open files) that files changed on the server. */
function announceFilesChanged(projectId: string) {
  window.dispatchEvent(new CustomEvent('ecode:files-changed', { detail: { projectId } }))
}

/** Checkpoints: save one, browse the timeline and diffs, restore (with undo) or fork. */
export function CheckpointsPane({ project, canWrite, visible }: PaneProps) {
  const { prompt } = useDialogs()
  const [items, setItems] = useState<Checkpoint[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [selected, setSelected] = useState<string | null>(null)
  const [message, setMessage] = useState('')
  const [saving, setSaving] = useState(false)
  const [restoring, setRestoring] = useState<Checkpoint | null>(null)
  const [undoing, setUndoing] = useState(false)
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  const [changes, setChanges] = useState(0) // bumped when the project's files changed
  useEffect(() => { // "Open checkpoint" in the agent's turn
    const show = (e: Event) => {
      setSelected((e as CustomEvent<string>).detail)
      setChanges((n) => n + 1)
    }
    window.addEventListener(SHOW_CHECKPOINT_EVENT, show)
    return () => window.removeEventListener(SHOW_CHECKPOINT_EVENT, show)
  }, [])
  const seq = useRef(0)

  const load = useCallback(async () => {
    const n = ++seq.current
    try {
      const list = await checkpointsApi.list(project.id)
      if (n !== seq.current) return
      setItems(list)
      setError(null)
    } catch (err) {
      if (n === seq.current) setError(errorMessage(err))
    }
  }, [project.id])
  // Load when shown (the agent and other people add checkpoints meanwhile).
  useEffect(() => {
    if (visible) load()
  }, [visible, load])

  const save = async (e: FormEvent) => {
    e.preventDefault()
    setSaving(true)
    setError(null)
    try {
      const c = await checkpointsApi.create(project.id, message.trim())
      setMessage('')
      setItems((l) => [c, ...(l ?? []).filter((x) => x.id !== c.id)])
      load()
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setSaving(false)
    }
  }

  const restored = (result: RestoreResult, database: boolean) => {
    setRestoring(null)
    setOutcome({ kind: 'restored', result, database })
    setChanges((k) => k + 1)
    announceFilesChanged(project.id)
    load()
  }

  const undo = async () => {
    if (outcome?.kind !== 'restored') return
    setUndoing(true)
    setError(null)
    try {
      const r = await checkpointsApi.restore(project.id, outcome.result.backup.id, outcome.database)
      restored(r, outcome.database)
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setUndoing(false)
    }
  }

  const fork = async (c: Checkpoint) => {
    const name = await prompt({
      title: 'Fork into a new project',
      label: 'Project name',
      initial: `${project.name} (fork)`,
      confirmLabel: 'Fork',
    })
    if (!name) return
    setError(null)
    try {
      const p = await checkpointsApi.fork(project.id, c.id, name)
      setOutcome({ kind: 'forked', project: p })
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  const current = items?.find((c) => c.id === selected) ?? null
  return (
    <div className="pane checkpoints-pane">
      {canWrite && (
        <form className="pane-toolbar cp-save" onSubmit={save}>
          <input aria-label="Checkpoint message" placeholder="Describe this state…" value={message}
            maxLength={500} onChange={(e) => setMessage(e.target.value)} disabled={saving} />
          <button type="submit" className="btn btn-small btn-primary" disabled={saving}>
            {saving ? 'Saving…' : 'Save checkpoint'}
          </button>
        </form>
      )}
      {error && <div className="panel-error cp-error" role="alert">{error}</div>}
      {undoing && <div className="cp-outcome" role="status">Undoing the restore…</div>}
      {outcome?.kind === 'restored' && !undoing && (
        <div className="cp-outcome" role="status" data-backup-id={outcome.result.backup.id}>
          Restored “{outcome.result.restored.message || outcome.result.restored.id}”; your previous state was saved as
          checkpoint “{outcome.result.backup.message || outcome.result.backup.id}” —{' '}
          <button type="button" className="cp-link" onClick={undo}>Undo</button>
          {!!outcome.result.dependencies_changed?.length && (
            <span className="warning-text small"> Dependencies changed ({outcome.result.dependencies_changed.join(', ')}): reinstall them.</span>
          )}
          {outcome.result.database_error && (
            <span className="warning-text small cp-db-error"> The files were restored, but not the database: {outcome.result.database_error}</span>
          )}
        </div>
      )}
      {outcome?.kind === 'forked' && (
        <div className="cp-outcome" role="status">
          Forked into <Link href={`/p/${outcome.project.id}`}>{outcome.project.name}</Link>.
        </div>
      )}
      <div className="cp-scroll">
        {items === null && !error && <p className="muted small cp-empty" role="status">Loading checkpoints…</p>}
        {items?.length === 0 && (
          <p className="muted small cp-empty">
            No checkpoints yet. {canWrite ? 'Save one to be able to come back to this state.' : ''}
          </p>
        )}
        {items && items.length > 0 && (
          <Timeline items={items} selected={selected} onSelect={setSelected}
            detail={current && (
              <Detail key={current.id} projectId={project.id} checkpoint={current} canWrite={canWrite}
                reload={changes} onRestore={() => setRestoring(current)} onFork={() => fork(current)} />
            )} />
        )}
      </div>
      {restoring && (
        <RestoreDialog projectId={project.id} checkpoint={restoring} onClose={() => setRestoring(null)} onRestored={restored} />
      )}
    </div>
  )
}
