// Operations API: error tracking, page-load timings (docs/API.md, "Operations").
import { json } from '../api'

export interface ErrorGroup {
  id: string
  source: 'server' | 'browser'
  kind: string
  message: string
  route: string
  stack: string
  count: number
  first_seen: string
  last_seen: string
  last_request_id: string
  last_user_id: string
}

export interface ErrorEvent {
  id: string
  request_id: string
  user_id: string
  route: string
  url: string
  user_agent: string
  stack: string
  at: string
}

export interface VitalSummary {
  name: string
  page: string
  samples: number
  p50: number
  p75: number
  p95: number
}

const enc = encodeURIComponent

export const opsApi = {
  errors: () => json<ErrorGroup[]>('GET', '/api/admin/errors'),
  error: (id: string) => json<{ group: ErrorGroup; events: ErrorEvent[] }>('GET', `/api/admin/errors/${enc(id)}`),
  resolveError: (id: string) => json<void>('DELETE', `/api/admin/errors/${enc(id)}`),
  vitals: () => json<VitalSummary[]>('GET', '/api/admin/vitals'),
}

export interface Notification {
  id: string
  kind: string
  title: string
  body: string
  link: string
  at: string
  read_at: string | null
}

export interface NotificationPrefs {
  email_enabled: boolean
  email: Record<string, boolean>
}

export const notifyApi = {
  list: () => json<{ unread: number; items: Notification[] }>('GET', '/api/notifications'),
  markRead: (id?: string) => json<void>('POST', '/api/notifications/read', { id: id ?? '' }),
  prefs: () => json<NotificationPrefs>('GET', '/api/me/notification-prefs'),
  setPrefs: (email: Record<string, boolean>) => json<NotificationPrefs>('PUT', '/api/me/notification-prefs', { email }),
}

export interface Incident {
  id: string
  title: string
  body: string
  at: string
  resolved_at: string | null
}

export interface StatusReport {
  status: 'ok' | 'degraded'
  components: { name: string; status: 'ok' | 'failing'; detail?: string }[]
  incidents: Incident[]
  checked_at: string
}

export const statusApi = {
  status: () => json<StatusReport>('GET', '/status.json'),
  postIncident: (title: string, body: string) => json<Incident>('POST', '/api/admin/incidents', { title, body }),
  resolveIncident: (id: string) => json<void>('POST', `/api/admin/incidents/${enc(id)}/resolve`),
}
