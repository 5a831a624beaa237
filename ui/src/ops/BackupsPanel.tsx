import { useEffect, useState } from 'react'
import { errorMessage, json } from '../api'
import { FormError } from '../components/Field'
import { formatSize, fullTime, timeAgo } from '../util'

/** GET /api/admin/backups: the scheduled backups (docs/ARCHITECTURE.md, "Backups"). */
export interface BackupList {
  dir: string
  every: string // "0s": no schedule
  keep: number
  backups: { name: string; size: number; created_at: string }[]
}

/** Admin: the scheduled backups and where they are; restoring is `ecode restore` on the server. */
export function BackupsPanel() {
  const [list, setList] = useState<BackupList | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    json<BackupList>('GET', '/api/admin/backups').then(setList, (e) => setError(errorMessage(e)))
  }, [])
  const scheduled = list && list.every !== '0s'
  return (
    <section className="card" aria-labelledby="backups-admin-h">
      <h2 id="backups-admin-h">Backups</h2>
      <FormError message={error} />
      {list && (
        <>
          <p className="muted">
            {scheduled
              ? `A backup of the whole service every ${list.every}, the newest ${list.keep} kept, in ${list.dir}.`
              : `No scheduled backups: start the server with --backup-every (e.g. 24h). Backups go to ${list.dir}.`}{' '}
            Make one now with <code>ecode backup --out FILE</code>; bring one back with <code>ecode restore FILE</code> (see the README).
          </p>
          {list.backups.length === 0 ? (
            <p className="muted">No backups yet.</p>
          ) : (
            <ul className="item-list" aria-label="Backups">
              {list.backups.map((b) => (
                <li key={b.name} className="item">
                  <div className="item-main">
                    <div className="item-title"><code>{b.name}</code></div>
                    <div className="item-sub muted" title={fullTime(b.created_at)}>{timeAgo(b.created_at)} · {formatSize(b.size)}</div>
                  </div>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  )
}
