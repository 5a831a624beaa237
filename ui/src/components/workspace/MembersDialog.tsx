import { useEffect, useState, type FormEvent } from 'react'
import { api, ApiError, errorMessage, type Member, type Project, type Role } from '../../api'
import { navigate } from '../../router'
import { useSession } from '../../session'
import { useDialogs } from '../Dialogs'
import { FormError } from '../Field'
import { Modal } from '../Modal'
import { RoleBadge } from '../RoleBadge'
import { initials } from '../TopBar'

export function MembersDialog({ project, onClose }: { project: Project; onClose: () => void }) {
  const { user } = useSession()
  const { confirm } = useDialogs()
  const [members, setMembers] = useState<Member[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<Role>('editor')
  const [emailError, setEmailError] = useState<string | null>(null)
  const isOwner = project.role === 'owner'

  useEffect(() => {
    api.members(project.id).then(setMembers, (e) => setError(errorMessage(e)))
  }, [project.id])

  const invite = async (e: FormEvent) => {
    e.preventDefault()
    if (!email.trim()) return setEmailError('Enter the email of an existing account')
    setEmailError(null)
    setError(null)
    try {
      const m = await api.addMember(project.id, email.trim(), role)
      setMembers((ms) => [...(ms ?? []).filter((x) => x.user_id !== m.user_id), m])
      setEmail('')
    } catch (err) {
      if (err instanceof ApiError && err.fields.email) setEmailError(err.fields.email)
      else setError(errorMessage(err))
    }
  }

  const changeRole = async (m: Member, r: Role) => {
    setError(null)
    try {
      const updated = await api.setMemberRole(project.id, m.user_id, r)
      setMembers((ms) => ms?.map((x) => (x.user_id === m.user_id ? updated : x)) ?? null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  const remove = async (m: Member) => {
    const self = m.user_id === user?.id
    const ok = await confirm({
      title: self ? 'Leave project?' : 'Remove member?',
      message: self ? 'You will lose access to this project.' : `${m.name || m.email} will lose access to this project.`,
      confirmLabel: self ? 'Leave' : 'Remove',
      danger: true,
    })
    if (!ok) return
    try {
      await api.removeMember(project.id, m.user_id)
      if (self) return navigate('/')
      setMembers((ms) => ms?.filter((x) => x.user_id !== m.user_id) ?? null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <Modal title={`Members of ${project.name}`} onClose={onClose} className="members-dialog">
      <FormError message={error} />
      {isOwner && (
        <form className="invite-form" onSubmit={invite} noValidate>
          <div className={'field grow' + (emailError ? ' field-invalid' : '')}>
            <label htmlFor="invite-email">Invite by email</label>
            <input id="invite-email" type="email" placeholder="teammate@example.com" value={email} autoFocus
              onChange={(e) => setEmail(e.target.value)} aria-invalid={emailError ? true : undefined} />
            {emailError && <div className="field-error">{emailError}</div>}
          </div>
          <div className="field">
            <label htmlFor="invite-role">Role</label>
            <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              <option value="editor">Editor</option>
              <option value="viewer">Viewer</option>
            </select>
          </div>
          <button type="submit" className="btn btn-primary">Invite</button>
        </form>
      )}
      {members === null && !error && <p className="muted">Loading…</p>}
      {members && (
        <ul className="item-list" aria-label="Members">
          {members.map((m) => (
            <li key={m.user_id} className="item" data-email={m.email}>
              <span className="avatar" aria-hidden="true">{initials(m.name || m.email)}</span>
              <div className="item-main">
                <div className="item-title">
                  {m.name || m.email} {m.user_id === user?.id && <span className="muted">(you)</span>}
                </div>
                <div className="item-sub muted">{m.email}</div>
              </div>
              {isOwner && m.role !== 'owner' ? (
                <select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => changeRole(m, e.target.value as Role)}>
                  <option value="editor">editor</option>
                  <option value="viewer">viewer</option>
                </select>
              ) : (
                <RoleBadge role={m.role} />
              )}
              {m.role !== 'owner' && (isOwner || m.user_id === user?.id) && (
                <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => remove(m)}
                  aria-label={m.user_id === user?.id ? 'Leave project' : `Remove ${m.email}`}>
                  {m.user_id === user?.id ? 'Leave' : 'Remove'}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <p className="muted small">
        Editors can change files; viewers can only read. Only the owner manages members.
      </p>
    </Modal>
  )
}
