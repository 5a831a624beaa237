import { useState } from 'react'
import type { Checkpoint } from '../../api'
import { DiffView, type Against } from './DiffView'
import { FilesBrowser } from './FilesBrowser'

interface Props {
  projectId: string
  checkpoint: Checkpoint
  canWrite: boolean
  /** Bumped when the project changed (a restore), so "vs now" is asked again. */
  reload: number
  onRestore: () => void
  onFork: () => void
}

/** A selected checkpoint: its diff (vs previous or vs now), its files, and what can be done with it. */
export function Detail({ projectId, checkpoint, canWrite, reload, onRestore, onFork }: Props) {
  const [against, setAgainst] = useState<Against>('previous')
  const [browsing, setBrowsing] = useState(false)
  return (
    <div className="cp-detail">
      <div className="cp-detail-bar">
        <div className="cp-toggle" role="group" aria-label="Compare">
          <button type="button" className="btn btn-ghost btn-small" aria-pressed={!browsing && against === 'previous'}
            onClick={() => { setAgainst('previous'); setBrowsing(false) }}>vs previous</button>
          <button type="button" className="btn btn-ghost btn-small" aria-pressed={!browsing && against === 'current'}
            onClick={() => { setAgainst('current'); setBrowsing(false) }}>vs now</button>
        </div>
        <span className="spacer" />
        <button type="button" className="btn btn-ghost btn-small" aria-pressed={browsing} onClick={() => setBrowsing(!browsing)}>
          View files
        </button>
      </div>
      {browsing ? (
        <FilesBrowser projectId={projectId} cid={checkpoint.id} />
      ) : (
        <DiffView projectId={projectId} cid={checkpoint.id} against={against} reload={reload} />
      )}
      {canWrite && (
        <div className="cp-actions">
          <button type="button" className="btn btn-small" onClick={onFork}>Fork</button>
          <button type="button" className="btn btn-small btn-primary" onClick={onRestore}>Restore</button>
        </div>
      )}
    </div>
  )
}
