import type { ReactNode } from 'react'
import { api } from '../api'
import { confirmLeave, Link, navigate } from '../router'
import { useSession } from '../session'
import { Icon, Logo } from './Icon'
import { NotificationBell } from '../ops/NotificationBell'

/** The app header: logo, page-specific content, and the user menu. */
export function TopBar({ children }: { children?: ReactNode }) {
  const { user, setUser } = useSession()
  const signOut = async () => {
    if (!(await confirmLeave())) return
    try {
      await api.logout()
    } catch {
      // the session may be gone already; we leave either way
    }
    setUser(null)
    navigate('/login', { force: true })
  }
  return (
    <header className="topbar">
      <Link href="/" className="topbar-home" title="E-Code: your projects">
        <Logo />
      </Link>
      <div className="topbar-main">{children}</div>
      {user && (
        <nav className="topbar-user" aria-label="Account">
          <span className="user-name" title={user.email}>
            <span className="avatar" aria-hidden="true">{initials(user.name || user.email)}</span>
            {user.name || user.email}
          </span>
          <NotificationBell />
          {user.is_admin && (
            <Link href="/admin/errors" className="btn btn-ghost" title="Admin: monitoring, errors, jobs, incidents">
              <Icon name="users" /> Admin
            </Link>
          )}
          <Link href="/usage" className="btn btn-ghost" title="Usage and credits">
            <Icon name="history" /> Usage
          </Link>
          <Link href="/settings" className="btn btn-ghost" title="Settings">
            <Icon name="gear" /> Settings
          </Link>
          <button type="button" className="btn btn-ghost" onClick={signOut} title="Sign out">
            <Icon name="logout" /> Sign out
          </button>
        </nav>
      )}
    </header>
  )
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean)
  if (parts.length === 0) return '?'
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase()
}
