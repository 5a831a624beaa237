import { useEffect, type ComponentType } from 'react'
import { TopBar } from '../components/TopBar'
import { Icon } from '../components/Icon'
import { BackupsPanel } from '../ops/BackupsPanel'
import { ErrorsPanel } from '../ops/ErrorsPanel'
import { IncidentsPanel } from '../ops/IncidentsPanel'
import { JobsPanel } from '../ops/JobsPanel'
import { MonitoringPanel } from '../ops/MonitoringPanel'
import { NodesPanel } from '../ops/NodesPanel'
import { Link } from '../router'
import { useSession } from '../session'

export type AdminTab = 'monitoring' | 'errors' | 'jobs' | 'incidents' | 'nodes'

const tabs: { id: AdminTab; label: string }[] = [
  { id: 'monitoring', label: 'Monitoring' },
  { id: 'errors', label: 'Errors' },
  { id: 'jobs', label: 'Jobs' },
  { id: 'incidents', label: 'Incidents' },
  { id: 'nodes', label: 'Servers' },
]

const panels: Record<AdminTab, ComponentType> = {
  monitoring: MonitoringPanel,
  errors: ErrorsPanel,
  jobs: JobsPanel,
  incidents: IncidentsPanel,
  nodes: NodesPanel,
}

/** The operator's pages: monitoring charts, errors, the job queue, incidents. */
export function Admin({ tab }: { tab: AdminTab }) {
  const { user } = useSession()
  const label = tabs.find((t) => t.id === tab)?.label ?? 'Admin'
  const Panel = panels[tab]
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
        {!user.is_admin ? <p className="muted">Only admins can see this page.</p> : <Panel />}
        {user.is_admin && tab === 'incidents' && <BackupsPanel />}
      </main>
    </div>
  )
}
