import { useEffect } from 'react'
import { TopBar } from '../components/TopBar'
import { Icon } from '../components/Icon'
import { ErrorsPanel } from '../ops/ErrorsPanel'
import { IncidentsPanel } from '../ops/IncidentsPanel'
import { NodesPanel } from '../ops/NodesPanel'
import { Link } from '../router'
import { useSession } from '../session'

export type AdminTab = 'errors' | 'incidents' | 'nodes'

const tabs: { id: AdminTab; label: string }[] = [
  { id: 'errors', label: 'Errors' },
  { id: 'incidents', label: 'Incidents' },
  { id: 'nodes', label: 'Servers' },
]

/** The operator's pages: errors (and more tabs as they come). */
export function Admin({ tab }: { tab: AdminTab }) {
  const { user } = useSession()
  const label = tabs.find((t) => t.id === tab)?.label ?? 'Admin'
  useEffect(() => {
    document.title = `${label} · Admin · E-Code`
  }, [label])
  if (!user) return null
  return (
    <div className="page">
      <TopBar>
        <Link href="/" className="btn btn-ghost"><Icon name="back" /> Projects</Link>
        <nav className="admin-tabs" aria-label="Admin">
          {tabs.map((t) => (
            <Link key={t.id} href={`/admin/${t.id}`} className={'btn btn-ghost' + (t.id === tab ? ' active' : '')} aria-current={t.id === tab ? 'page' : undefined}>
              {t.label}
            </Link>
          ))}
        </nav>
      </TopBar>
      <main className="settings admin-page">
        <h1>{label}</h1>
        {!user.is_admin ? <p className="muted">Only admins can see this page.</p> : tab === 'errors' ? <ErrorsPanel /> : tab === 'nodes' ? <NodesPanel /> : <IncidentsPanel />}
      </main>
    </div>
  )
}
