import type { CheckpointDiff, CheckpointFileDiff } from '../../api'

const statusLetter = { added: 'A', modified: 'M', removed: 'D' } as const

function lineClass(line: string): string {
  if (line.startsWith('+++') || line.startsWith('---')) return 'cp-pl-file'
  if (line.startsWith('@@')) return 'cp-pl-hunk'
  if (line.startsWith('+')) return 'cp-pl-add'
  if (line.startsWith('-')) return 'cp-pl-del'
  if (line.startsWith('\\')) return 'cp-pl-note'
  return 'cp-pl-ctx'
}

/** A unified diff with added and removed lines coloured. */
export function Patch({ file }: { file: CheckpointFileDiff }) {
  if (file.binary) return <p className="cp-patch-note muted small">Binary file: no text diff.</p>
  if (!file.patch) {
    return <p className="cp-patch-note muted small">{file.truncated ? 'Too large to show a diff.' : 'No text changes.'}</p>
  }
  const lines = file.patch.replace(/\n$/, '').split('\n')
  return (
    <pre className="cp-patch" aria-label={`Changes to ${file.path}`}>
      {lines.map((l, i) => (
        <div key={i} className={lineClass(l)}>{l || ' '}</div>
      ))}
    </pre>
  )
}

export function StatusBadge({ status }: { status: CheckpointFileDiff['status'] }) {
  return <span className={`cp-status cp-status-${status}`} title={status}>{statusLetter[status] ?? '?'}</span>
}

export function Counts({ added, removed }: { added: number; removed: number }) {
  return (
    <span className="cp-counts">
      <span className="cp-add">+{added}</span> <span className="cp-del">−{removed}</span>
    </span>
  )
}

export function diffTotals(d: CheckpointDiff) {
  let added = 0
  let removed = 0
  for (const f of d.files) {
    added += f.lines_added
    removed += f.lines_removed
  }
  return { files: d.files.length, added, removed }
}
