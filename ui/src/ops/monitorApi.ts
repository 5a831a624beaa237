// Monitoring and job queue API (docs/API.md, "Operations").
import { json } from '../api'

export type MonitorRange = '1h' | '24h' | '7d'

export interface MonitorPoint {
  at: string
  requests: number
  errors_5xx: number
  p50_ms: number
  p95_ms: number
  sandboxes_active: number
  users_active: number
  agent_spend_micros: number
  jobs_queued: number
  jobs_running: number
  jobs_failed: number
  disk_free_bytes: number
  disk_total_bytes: number
}

export interface MonitorSeries {
  range: MonitorRange
  from: string
  to: string
  step_seconds: number
  points: MonitorPoint[]
}

export type JobState = 'available' | 'scheduled' | 'running' | 'retryable' | 'completed' | 'cancelled' | 'discarded' | 'pending'

export interface Job {
  id: string
  kind: string
  state: JobState
  attempt: number
  max_attempts: number
  args: unknown
  errors: { at: string; attempt: number; error: string }[]
  created_at: string
  scheduled_at: string
  finalized_at?: string
}

export interface JobList {
  states: JobState[]
  counts: Partial<Record<JobState, number>>
  jobs: Job[]
}

const enc = encodeURIComponent

export const monitorApi = {
  series: (range: MonitorRange) => json<MonitorSeries>('GET', `/api/admin/monitoring?range=${range}`),
  jobs: (state: JobState) => json<JobList>('GET', `/api/admin/jobs?state=${state}&limit=100`),
  retryJob: (id: string) => json<Job>('POST', `/api/admin/jobs/${enc(id)}/retry`),
  cancelJob: (id: string) => json<Job>('POST', `/api/admin/jobs/${enc(id)}/cancel`),
}
