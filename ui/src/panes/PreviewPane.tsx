import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react'
import { api, errorMessage } from '../api'
import { Icon } from '../components/Icon'
import { isActive, useRun } from './run'
import type { PaneProps } from './types'

/**
 * The running app in an iframe on its own origin. The first load of `/` goes through a fresh
 * preview session URL (it sets the preview origin's cookie and redirects to `/`); other paths
 * typed in the address bar are loaded on the preview origin directly.
 */
export function PreviewPane({ project }: PaneProps) {
  const { state } = useRun()
  const live = isActive(state) && !!state?.port
  const [src, setSrc] = useState<string | null>(null)
  const [origin, setOrigin] = useState<string | null>(null)
  const [path, setPath] = useState('/')
  const [address, setAddress] = useState('/')
  const [loads, setLoads] = useState(0) // remounts the iframe so the same URL loads again
  const [error, setError] = useState<string | null>(null)
  const seq = useRef(0)

  const load = useCallback(async (target: string) => {
    const n = ++seq.current
    setError(null)
    setPath(target)
    setAddress(target)
    try {
      let url: string
      if (target === '/' || !origin) {
        const session = await api.previewSession(project.id)
        const u = new URL(session.url)
        setOrigin(u.origin)
        url = target === '/' ? session.url : u.origin + target
      } else {
        url = origin + target
      }
      if (n !== seq.current) return
      setSrc(url)
      setLoads((k) => k + 1)
    } catch (err) {
      if (n === seq.current) setError(errorMessage(err))
    }
  }, [project.id, origin])

  // Load when a run with a port becomes active, and again once the app accepts connections.
  const runKey = live ? `${state?.run_id ?? ''}:${state?.port}:${state?.listening}` : ''
  const loadRef = useRef(load)
  loadRef.current = load
  useEffect(() => {
    if (!runKey) {
      seq.current++
      setSrc(null)
      return
    }
    loadRef.current('/')
  }, [runKey])

  const go = (e: FormEvent) => {
    e.preventDefault()
    let p = address.trim() || '/'
    if (/^https?:\/\//i.test(p)) {
      try {
        const u = new URL(p)
        p = u.pathname + u.search + u.hash
      } catch {
        // keep what was typed
      }
    }
    if (!p.startsWith('/')) p = '/' + p
    load(p)
  }

  const openInTab = async () => {
    const win = window.open('about:blank', '_blank') // opened now, while the click still counts
    try {
      const { url } = await api.previewSession(project.id)
      if (win) {
        win.opener = null
        win.location.href = url
      } else {
        window.open(url, '_blank', 'noopener')
      }
    } catch (err) {
      win?.close()
      setError(errorMessage(err))
    }
  }

  if (!live) {
    return (
      <div className="pane-empty preview-empty">
        <Icon name="play" size={28} />
        <p>Press Run to see your app here</p>
        {state && (state.state === 'exited' || state.state === 'stopped') && (
          <p className="muted small">The last run {state.state === 'stopped' ? 'was stopped' : 'exited'}.</p>
        )}
      </div>
    )
  }
  return (
    <div className="pane preview-pane">
      <form className="pane-toolbar preview-bar" onSubmit={go}>
        <button type="button" className="btn btn-icon" aria-label="Reload" title="Reload" onClick={() => load(path)}>
          <Icon name="refresh" size={14} />
        </button>
        <div className="preview-address">
          {origin && <span className="preview-origin" title={origin}>{new URL(origin).host}</span>}
          <input aria-label="Preview address" value={address} spellCheck={false}
            onChange={(e) => setAddress(e.target.value)} />
        </div>
        <button type="button" className="btn btn-icon" aria-label="Open in new tab" title="Open in a new tab" onClick={openInTab}>
          <Icon name="external" size={14} />
        </button>
      </form>
      {error && <div className="panel-error" role="alert">{error}</div>}
      {!state?.listening && <div className="preview-waiting small muted">Waiting for the app to listen on port {state?.port}…</div>}
      <div className="preview-frame-host">
        {src && (
          <iframe key={loads} title="Preview" src={src} className="preview-frame"
            sandbox="allow-scripts allow-forms allow-same-origin allow-popups allow-modals" />
        )}
      </div>
    </div>
  )
}
