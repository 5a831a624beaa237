import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react'
import { api, ApiError, errorMessage, setUnauthenticatedHandler, type ServerInfo, type User } from './api'
import { BannerBar } from './components/BannerBar'
import { DialogsProvider } from './components/Dialogs'
import { Logo } from './components/Icon'
import { AuthPage } from './pages/AuthPage'
import { Dashboard } from './pages/Dashboard'
import { NotFound } from './pages/NotFound'
import { Settings } from './pages/Settings'
import { Admin } from './pages/Admin'
import { Status } from './pages/Status'
import { Usage } from './pages/Usage'
import { matchRoute, navigate, nextPath, usePath } from './router'
import { SessionContext } from './session'

// The workspace carries CodeMirror; load it only when a project is opened.
const Workspace = lazy(() => import('./pages/Workspace'))

const PUBLIC = new Set(['login', 'signup'])
/** Pages anyone sees, signed in or not. */
const OPEN = new Set(['status'])

export function App() {
  const path = usePath()
  const route = matchRoute(path)
  const [server, setServer] = useState<ServerInfo | null>(null)
  const [user, setUser] = useState<User | null>(null)
  const [ready, setReady] = useState(false)
  const [loadError, setLoadError] = useState<string | null>(null)

  const refresh = useCallback(async () => {
    const [s, u] = await Promise.allSettled([api.server(), api.me()])
    if (s.status === 'fulfilled') setServer(s.value)
    let me: User | null = null
    if (u.status === 'fulfilled') me = u.value
    else if (!(u.reason instanceof ApiError && u.reason.status === 401)) {
      setLoadError(errorMessage(u.reason))
      return null
    }
    setLoadError(null)
    setUser(me)
    setReady(true)
    return me
  }, [])

  useEffect(() => {
    refresh()
    setUnauthenticatedHandler(() => {
      setUser(null)
      const here = location.pathname
      navigate(here === '/' ? '/login' : '/login?next=' + encodeURIComponent(here), { replace: true, force: true })
    })
    return () => setUnauthenticatedHandler(null)
  }, [refresh])

  const isPublic = PUBLIC.has(route.name)
  const isOpen = OPEN.has(route.name)
  useEffect(() => {
    if (!ready || isOpen) return
    if (!user && !isPublic) {
      navigate(path === '/' ? '/login' : '/login?next=' + encodeURIComponent(path), { replace: true, force: true })
    } else if (user && isPublic) {
      navigate(nextPath(), { replace: true })
    }
  }, [ready, user, isPublic, isOpen, path])

  const session = useMemo(() => ({ server, user, refresh, setUser }), [server, user, refresh])

  let page
  if (loadError) {
    page = (
      <div className="center-screen">
        <Logo />
        <p className="muted">{loadError}</p>
        <button className="btn btn-primary" onClick={() => refresh()}>
          Retry
        </button>
      </div>
    )
  } else if (isOpen) {
    page = <Status />
  } else if (!ready || (!user && !isPublic) || (user && isPublic)) {
    page = <div className="center-screen" aria-busy="true" />
  } else {
    switch (route.name) {
      case 'login':
      case 'signup':
        page = <AuthPage mode={route.name} />
        break
      case 'dashboard':
        page = <Dashboard />
        break
      case 'settings':
        page = <Settings />
        break
      case 'admin':
        page = <Admin tab={route.tab} />
        break
      case 'usage':
        page = <Usage />
        break
      case 'workspace':
        page = (
          <Suspense fallback={<div className="center-screen muted">Loading workspace…</div>}>
            <Workspace key={route.id} id={route.id} />
          </Suspense>
        )
        break
      default:
        page = <NotFound />
    }
  }

  return (
    <SessionContext.Provider value={session}>
      <DialogsProvider>
        <div className="app">
          <BannerBar />
          <div className="app-page">{page}</div>
        </div>
      </DialogsProvider>
    </SessionContext.Provider>
  )
}
