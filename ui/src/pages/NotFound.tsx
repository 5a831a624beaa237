import { TopBar } from '../components/TopBar'
import { Link } from '../router'

export function NotFound({ title = 'Page not found', detail }: { title?: string; detail?: string }) {
  return (
    <div className="page">
      <TopBar />
      <main className="empty-state not-found" role="main">
        <div className="empty-code" aria-hidden="true">404</div>
        <h1>{title}</h1>
        <p className="muted">{detail ?? 'There is nothing at this address.'}</p>
        <Link href="/" className="btn btn-primary">
          Back to your projects
        </Link>
      </main>
    </div>
  )
}
