// Real-user monitoring: uncaught errors, unhandled promise rejections and
// page-load timings (web vitals) go to the server, signed in or not.
// Reports are few by design: at most 10 errors per page load, each
// message once, and the vitals once, when the page is hidden.

const MAX_ERRORS = 10

function post(url: string, body: unknown) {
  const data = JSON.stringify(body)
  try {
    if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([data], { type: 'application/json' }))) return
  } catch {
    // fall through to fetch
  }
  fetch(url, { method: 'POST', body: data, headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin', keepalive: true }).catch(() => {})
}

function installErrors() {
  const seen = new Set<string>()
  const report = (kind: 'error' | 'unhandled_rejection', message: string, stack: string) => {
    const key = kind + message
    if (seen.has(key) || seen.size >= MAX_ERRORS) return
    seen.add(key)
    post('/api/errors/report', { kind, message: message.slice(0, 1000), stack: stack.slice(0, 16000), url: location.href, page: location.pathname })
  }
  window.addEventListener('error', (e) => {
    if (!(e instanceof ErrorEvent)) return // a resource failed to load: not a script error
    const err = e.error as Error | undefined
    report('error', err?.message ? `${err.name}: ${err.message}` : e.message, err?.stack ?? `at ${e.filename}:${e.lineno}:${e.colno}`)
  })
  window.addEventListener('unhandledrejection', (e) => {
    const r = e.reason as unknown
    if (r instanceof Error) report('unhandled_rejection', `${r.name}: ${r.message}`, r.stack ?? '')
    else report('unhandled_rejection', String(r), '')
  })
}

type Entry = PerformanceEntry & { value?: number; hadRecentInput?: boolean; interactionId?: number; processingStart?: number }

function observe(type: string, fn: (e: Entry) => void) {
  try {
    new PerformanceObserver((list) => list.getEntries().forEach((e) => fn(e as Entry))).observe({ type, buffered: true } as PerformanceObserverInit)
  } catch {
    // the browser does not measure this
  }
}

function installVitals() {
  const m: Record<string, number> = {}
  observe('largest-contentful-paint', (e) => (m.LCP = e.startTime))
  observe('paint', (e) => {
    if (e.name === 'first-contentful-paint') m.FCP = e.startTime
  })
  observe('layout-shift', (e) => {
    if (!e.hadRecentInput) m.CLS = (m.CLS ?? 0) + (e.value ?? 0)
  })
  observe('first-input', (e) => (m.FID = (e.processingStart ?? e.startTime) - e.startTime))
  observe('event', (e) => {
    if (e.interactionId) m.INP = Math.max(m.INP ?? 0, e.duration)
  })
  const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined
  if (nav) m.TTFB = nav.responseStart
  let sent = false
  const send = () => {
    if (sent) return
    const metrics = Object.entries(m).map(([name, value]) => ({ name, value: Math.round(value * 1000) / 1000 }))
    if (metrics.length === 0) return
    sent = true
    post('/api/vitals', { page: location.pathname, metrics })
  }
  document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && send())
  window.addEventListener('pagehide', send)
}

export function installReporting() {
  installErrors()
  installVitals()
}
