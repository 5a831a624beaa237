// A tiny router on history.pushState.
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react'

import type { AdminTab } from './pages/Admin'

const EVENT = 'ecode:navigate'

/** Asked before leaving the page in-app (e.g. unsaved files); resolves false to stay. */
type Guard = () => Promise<boolean>
let guard: Guard | null = null
let current = location.pathname + location.search

/** Runs the guard, if any (true: fine to leave). */
export function confirmLeave(): Promise<boolean> {
  return guard ? guard() : Promise.resolve(true)
}

/** Installs a guard; returns the function that removes it. */
export function setNavigationGuard(g: Guard): () => void {
  guard = g
  return () => {
    if (guard === g) guard = null
  }
}

function go(to: string, replace: boolean) {
  if (replace) history.replaceState(null, '', to)
  else history.pushState(null, '', to)
  current = location.pathname + location.search
  window.dispatchEvent(new Event(EVENT))
}

/** Moves to `to` in-app; `force` skips the navigation guard (e.g. the session ended). */
export async function navigate(to: string, opts: { replace?: boolean; force?: boolean } = {}) {
  if (to === location.pathname + location.search) return
  if (guard && !opts.force && !(await guard())) return
  go(to, !!opts.replace)
}

// The back and forward buttons: the URL has already changed, so put it back while the guard decides.
window.addEventListener('popstate', () => {
  const target = location.pathname + location.search
  if (!guard || target === current) {
    current = target
    window.dispatchEvent(new Event(EVENT))
    return
  }
  history.pushState(null, '', current)
  guard().then((ok) => ok && go(target, false))
})

/** The current location path, re-rendering on navigation. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname)
  useEffect(() => {
    const update = () => setPath(location.pathname)
    window.addEventListener(EVENT, update)
    return () => window.removeEventListener(EVENT, update)
  }, [])
  return path
}

export type Route =
  | { name: 'login' }
  | { name: 'signup' }
  | { name: 'dashboard' }
  | { name: 'settings' }
  | { name: 'admin'; tab: AdminTab }
  | { name: 'status' }
  | { name: 'usage' }
  | { name: 'workspace'; id: string }
  | { name: 'notfound' }

export function matchRoute(path: string): Route {
  const p = path.replace(/\/+$/, '') || '/'
  if (p === '/') return { name: 'dashboard' }
  if (p === '/login') return { name: 'login' }
  if (p === '/signup') return { name: 'signup' }
  if (p === '/settings') return { name: 'settings' }
  if (p === '/status') return { name: 'status' }
  const a = /^\/admin\/(monitoring|errors|jobs|incidents|nodes)$/.exec(p)
  if (a) return { name: 'admin', tab: a[1] as AdminTab }
  if (p === '/usage') return { name: 'usage' }
  const m = /^\/p\/([^/]+)$/.exec(p)
  if (m) return { name: 'workspace', id: decodeURIComponent(m[1]) }
  return { name: 'notfound' }
}

/** An <a> that navigates in-app on a plain left click. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { onClick, ...rest } = props
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e)
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    if (props.target && props.target !== '_self') return
    e.preventDefault()
    navigate(props.href)
  }
  return <a {...rest} onClick={click} />
}

/** Where to go after signing in: ?next= when it is a local path, else the dashboard. */
export function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next')
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/'
}
