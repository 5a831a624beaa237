import { useEffect, useState } from 'react'
import { errorMessage } from '../../api'
import { accountApi, type AdminUser, type SecurityEvent } from '../../accountApi'
import { useSession } from '../../session'
import { Modal } from '../Modal'
import { FormError } from '../Field'
import { EventList } from './SecurityLogSection'
import { timeAgo } from '../../util'

/** Admins manage every account: disable, admin rights, 2FA reset, delete. */
export function UsersSection() {
  const { user: me } = useSession()
  const [users, setUsers] = useState<AdminUser[] | null>(null)
  const [events, setEvents] = useState<SecurityEvent[] | null>(null)
  const [deleting, setDeleting] = useState<AdminUser | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = () => {
    accountApi.adminUsers().then(setUsers, (e) => setError(errorMessage(e)))
    accountApi.adminSecurityEvents().then(setEvents, (e) => setError(errorMessage(e)))
  }
  useEffect(load, [])

  const act = async (fn: () => Promise<unknown>) => {
    setError(null)
    try {
      await fn()
    } catch (e) {
      setError(errorMessage(e))
    }
    load()
  }

  return (
    <section className="card" aria-labelledby="users-h">
      <h2 id="users-h">Users <span className="badge badge-admin">admin</span></h2>
      <FormError message={error} />
      {users && (
        <ul className="item-list" aria-label="Users">
          {users.map((u) => (
            <li key={u.id} className="item" data-email={u.email}>
              <div className="item-main">
                <div className="item-title">
                  {u.name} {u.is_admin && <span className="badge badge-admin">admin</span>}
                  {u.disabled && <span className="badge">disabled</span>}
                  {u.two_factor && <span className="badge badge-current">2FA</span>}
                </div>
                <div className="item-sub muted">
                  {u.email} · joined {timeAgo(u.created_at)} · last sign-in {u.last_login_at ? timeAgo(u.last_login_at) : 'never'}
                </div>
              </div>
              {u.id !== me?.id && (
                <div className="row">
                  <button type="button" className="btn btn-small" onClick={() => act(() => accountApi.adminPatchUser(u.id, { disabled: !u.disabled }))}>
                    {u.disabled ? 'Enable' : 'Disable'}
                  </button>
                  <button type="button" className="btn btn-small" onClick={() => act(() => accountApi.adminPatchUser(u.id, { is_admin: !u.is_admin }))}>
                    {u.is_admin ? 'Revoke admin' : 'Make admin'}
                  </button>
                  {u.two_factor && (
                    <button type="button" className="btn btn-small" onClick={() => act(() => accountApi.adminResetTwoFactor(u.id))}>
                      Reset 2FA
                    </button>
                  )}
                  <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => setDeleting(u)}>Delete</button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {deleting && users && (
        <DeleteUser user={deleting} others={users.filter((u) => u.id !== deleting.id)} onClose={() => setDeleting(null)}
          onDelete={(projects, to) => act(() => accountApi.adminDeleteUser(deleting.id, projects, to)).then(() => setDeleting(null))} />
      )}
      <h3>Security log (everyone)</h3>
      {events && <EventList events={events} label="All security events" />}
    </section>
  )
}

function DeleteUser({ user, others, onClose, onDelete }: {
  user: AdminUser
  others: AdminUser[]
  onClose: () => void
  onDelete: (projects: 'delete' | 'transfer', to?: string) => void
}) {
  const [projects, setProjects] = useState<'delete' | 'transfer'>('transfer')
  const [to, setTo] = useState(others[0]?.id ?? '')
  return (
    <Modal title={`Delete ${user.email}?`} onClose={onClose}>
      <p>The account is deleted at once. What happens to the projects they own?</p>
      <label className="row">
        <input type="radio" name="projects" checked={projects === 'transfer'} onChange={() => setProjects('transfer')} />
        Give them to
        <select aria-label="New owner" value={to} onChange={(e) => setTo(e.target.value)} disabled={projects !== 'transfer'}>
          {others.map((o) => <option key={o.id} value={o.id}>{o.name} ({o.email})</option>)}
        </select>
      </label>
      <label className="row">
        <input type="radio" name="projects" checked={projects === 'delete'} onChange={() => setProjects('delete')} />
        Delete them
      </label>
      <div className="row">
        <button type="button" className="btn btn-danger" onClick={() => onDelete(projects, projects === 'transfer' ? to : undefined)}>
          Delete user
        </button>
        <button type="button" className="btn btn-ghost" onClick={onClose}>Cancel</button>
      </div>
    </Modal>
  )
}
