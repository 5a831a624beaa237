import { useEffect, useState } from 'react'
import { api, errorMessage, type User } from '../../api'
import { FormError } from '../Field'
import { timeAgo } from '../../util'

/** Admins see every account on the server. */
export function UsersSection() {
  const [users, setUsers] = useState<User[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api.adminUsers().then(setUsers, (e) => setError(errorMessage(e)))
  }, [])
  return (
    <section className="card" aria-labelledby="users-h">
      <h2 id="users-h">Users <span className="badge badge-admin">admin</span></h2>
      <FormError message={error} />
      {users && (
        <ul className="item-list" aria-label="Users">
          {users.map((u) => (
            <li key={u.id} className="item">
              <div className="item-main">
                <div className="item-title">
                  {u.name} {u.is_admin && <span className="badge badge-admin">admin</span>}
                </div>
                <div className="item-sub muted">{u.email} · joined {timeAgo(u.created_at)}</div>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
