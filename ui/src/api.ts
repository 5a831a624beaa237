// Typed client for the E-Code HTTP API (docs/API.md).

export type Role = 'owner' | 'editor' | 'viewer'

export interface ServerInfo {
  version: string
  dev_login: boolean
  banners: string[]
  signup_open: boolean
  signup_policy?: SignupPolicy
  has_users: boolean
  /** Largest file and largest upload request the server accepts (bytes). */
  max_file_bytes?: number
  max_upload_bytes?: number
}

export type SignupPolicy = 'open' | 'invite' | 'closed'

export interface Invite {
  id: string
  created_at: string
  expires_at: string
  used_at?: string
  status: 'active' | 'used' | 'expired'
}

export interface Readiness {
  status: 'ready' | 'unready'
  checks?: Record<string, string>
}

export interface User {
  id: string
  email: string
  name: string
  is_admin: boolean
  created_at: string
}

export interface Session {
  id: string
  created_at: string
  last_seen_at: string
  expires_at: string
  user_agent: string
  ip: string
  current: boolean
}

export interface Token {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
}

export interface NewToken {
  id: string
  name: string
  created_at: string
  token: string
}

export interface Template {
  id: string
  name: string
  description: string
}

export interface Project {
  id: string
  name: string
  template: string
  owner_id: string
  role: Role
  created_at: string
  updated_at: string
}

export interface Member {
  user_id: string
  email: string
  name: string
  role: Role
  created_at: string
}

export interface FileNode {
  name: string
  path: string
  type: 'file' | 'dir'
  size?: number
  mtime?: string
  children?: FileNode[]
}

export interface WriteResult {
  path: string
  size: number
  mtime: string
}

export type RunStateName = 'idle' | 'starting' | 'running' | 'exited' | 'stopped'
export type RunReason = 'timeout' | 'out_of_memory' | 'process_limit' | 'disk_full' | 'killed' | 'stopped'

export interface RunState {
  state: RunStateName
  run_id?: string
  command?: string
  exit_code?: number
  reason?: RunReason | string
  port?: number
  listening: boolean
  preview_url?: string
  started_at?: string
  ended_at?: string
  /** The script's step: install, build or run. */
  phase?: 'install' | 'build' | 'run'
  /** The limits the run is under (to name the one that was hit). */
  limits?: { memory_bytes?: number; max_procs?: number; tmp_bytes?: number }
}

export interface SearchMatch {
  path: string
  line: number
  column: number
  text: string
}

export interface SearchResult {
  matches: SearchMatch[]
  truncated: boolean
  files: number
}

export interface RunConfig {
  run: string
  build?: string
  install?: string
  port: number
  env?: Record<string, string>
  detected: boolean
}

export interface TerminalInfo {
  id: string
  created_at: string
  rows: number
  cols: number
  exited: boolean
}

/** An error answered by the server ({"error": {code, message, fields}}) or a network failure. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: Record<string, string>

  constructor(status: number, code: string, message: string, fields?: Record<string, string>) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.fields = fields ?? {}
  }
}

/** Turns anything thrown into a short human message. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message
  if (err instanceof Error) return err.message
  return String(err)
}

const JSON_TYPE = 'application/json'

let onUnauthenticated: (() => void) | null = null
/** Registers what happens when a request outside /api/auth answers 401 (the session ended). */
export function setUnauthenticatedHandler(fn: (() => void) | null) {
  onUnauthenticated = fn
}

async function toError(res: Response): Promise<ApiError> {
  let code = 'http_' + res.status
  let message = res.statusText || 'request failed'
  let fields: Record<string, string> | undefined
  try {
    const body = await res.json()
    if (body && typeof body === 'object' && body.error) {
      code = body.error.code ?? code
      message = body.error.message ?? message
      fields = body.error.fields
    }
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(res.status, code, message, fields)
}

export async function send(method: string, url: string, body?: BodyInit, contentType?: string): Promise<Response> {
  const headers: Record<string, string> = { Accept: JSON_TYPE }
  if (contentType) headers['Content-Type'] = contentType
  let res: Response
  try {
    res = await fetch(url, { method, body, headers, credentials: 'same-origin' })
  } catch (err) {
    throw new ApiError(0, 'network', 'Cannot reach the server: ' + errorMessage(err))
  }
  if (!res.ok) {
    const err = await toError(res)
    if (res.status === 401 && !url.startsWith('/api/auth/') && url !== '/api/me') onUnauthenticated?.()
    throw err
  }
  return res
}

export async function json<T>(method: string, url: string, payload?: unknown): Promise<T> {
  const res = await send(method, url, payload === undefined ? undefined : JSON.stringify(payload), payload === undefined ? undefined : JSON_TYPE)
  if (res.status === 204) return undefined as T
  const text = await res.text()
  return (text ? JSON.parse(text) : undefined) as T
}

const enc = encodeURIComponent
/** Encodes a project-relative path segment by segment, keeping the slashes. */
export function encodePath(path: string): string {
  return path.split('/').map(enc).join('/')
}

const proj = (id: string) => `/api/projects/${enc(id)}`

export const api = {
  // Server
  server: () => json<ServerInfo>('GET', '/api/server'),
  /** GET /healthz: true when the process answers "ok". */
  health: () => send('GET', '/healthz').then(async (r) => (await r.text()).trim() === 'ok'),
  /** GET /readyz: 200 ready, or 503 with the failing checks (answered, not thrown). */
  ready: async (): Promise<Readiness> => {
    const res = await fetch('/readyz', { credentials: 'same-origin', headers: { Accept: JSON_TYPE } })
    if (res.status !== 200 && res.status !== 503) throw await toError(res)
    return res.json()
  },

  // Auth
  signup: (email: string, password: string, name: string, invite?: string) =>
    json<User>('POST', '/api/auth/signup', invite ? { email, password, name, invite } : { email, password, name }),
  login: (email: string, password: string, totp?: string) =>
    json<User>('POST', '/api/auth/login', totp ? { email, password, totp } : { email, password }),
  logout: () => json<void>('POST', '/api/auth/logout'),
  devLogin: (email: string) => json<User>('POST', '/api/auth/dev-login', { email }),
  me: () => json<User>('GET', '/api/me'),

  sessions: () => json<Session[]>('GET', '/api/sessions'),
  revokeSession: (sid: string) => json<void>('DELETE', `/api/sessions/${enc(sid)}`),
  tokens: () => json<Token[]>('GET', '/api/tokens'),
  createToken: (name: string) => json<NewToken>('POST', '/api/tokens', { name }),
  revokeToken: (tid: string) => json<void>('DELETE', `/api/tokens/${enc(tid)}`),
  adminUsers: () => json<User[]>('GET', '/api/admin/users'),
  signupPolicy: () => json<{ policy: SignupPolicy }>('GET', '/api/admin/signup-policy'),
  setSignupPolicy: (policy: SignupPolicy) => json<{ policy: SignupPolicy }>('PUT', '/api/admin/signup-policy', { policy }),
  invites: () => json<Invite[]>('GET', '/api/admin/invites'),
  createInvite: () => json<{ invite: Invite; token: string; path: string }>('POST', '/api/admin/invites'),
  revokeInvite: (iid: string) => json<void>('DELETE', `/api/admin/invites/${enc(iid)}`),

  // Projects
  templates: () => json<Template[]>('GET', '/api/templates'),
  /** The template that fits a description of what to build. */
  suggestTemplate: (prompt: string) =>
    json<{ template: string }>('GET', `/api/templates/suggest?prompt=${enc(prompt)}`).then((r) => r.template),
  projects: () => json<Project[]>('GET', '/api/projects'),
  project: (id: string) => json<Project>('GET', proj(id)),
  createProject: (name: string, template?: string) =>
    json<Project>('POST', '/api/projects', template ? { name, template } : { name }),
  renameProject: (id: string, name: string) => json<Project>('PATCH', proj(id), { name }),
  deleteProject: (id: string) => json<void>('DELETE', proj(id)),

  // Members
  members: (id: string) => json<Member[]>('GET', `${proj(id)}/members`),
  addMember: (id: string, email: string, role: Role) =>
    json<Member>('POST', `${proj(id)}/members`, { email, role }),
  setMemberRole: (id: string, uid: string, role: Role) =>
    json<Member>('PATCH', `${proj(id)}/members/${enc(uid)}`, { role }),
  removeMember: (id: string, uid: string) => json<void>('DELETE', `${proj(id)}/members/${enc(uid)}`),

  // Files
  tree: (id: string) => json<FileNode>('GET', `${proj(id)}/files`),
  readFile: async (id: string, path: string): Promise<string> => {
    const res = await send('GET', `${proj(id)}/files/${encodePath(path)}`)
    return res.text()
  },
  writeFile: (id: string, path: string, content: string) =>
    send('PUT', `${proj(id)}/files/${encodePath(path)}`, content, 'application/octet-stream')
      .then((r) => r.json() as Promise<WriteResult>),
  deleteFile: (id: string, path: string) => json<void>('DELETE', `${proj(id)}/files/${encodePath(path)}`),
  mkdir: (id: string, path: string) => json<{ path: string }>('POST', `${proj(id)}/mkdir`, { path }),
  move: (id: string, from: string, to: string) => json<{ path: string }>('POST', `${proj(id)}/move`, { from, to }),
  upload: (id: string, files: File[], dir?: string) => {
    const form = new FormData()
    if (dir) form.append('dir', dir) // the API wants dir before the files
    for (const f of files) form.append('files', f, f.name)
    return send('POST', `${proj(id)}/upload`, form).then(
      (r) => r.json() as Promise<{ files: { path: string; size: number }[] }>,
    )
  },
  /** Lines of the project's text files containing q (case-insensitive when q is lower case). */
  search: (id: string, q: string) => json<SearchResult>('GET', `${proj(id)}/search?q=${enc(q)}`),
  zipUrl: (id: string) => `${proj(id)}/zip`,
  /** The raw file, for <img src> and download links. */
  fileUrl: (id: string, path: string) => `${proj(id)}/files/${encodePath(path)}`,

  // Running code
  runConfig: (id: string) => json<RunConfig>('GET', `${proj(id)}/runconfig`),
  runState: (id: string) => json<RunState>('GET', `${proj(id)}/run`),
  run: (id: string) => json<RunState>('POST', `${proj(id)}/run`),
  stop: (id: string) => json<RunState>('POST', `${proj(id)}/stop`),
  /** The EventSource URL of the current run's output (`output` and `state` events). */
  runOutputUrl: (id: string, since?: string) => `${proj(id)}/run/output` + (since ? `?since=${enc(since)}` : ''),

  // Terminals
  terminals: (id: string) => json<TerminalInfo[]>('GET', `${proj(id)}/terminals`),
  createTerminal: (id: string, rows?: number, cols?: number) =>
    json<TerminalInfo>('POST', `${proj(id)}/terminals`, rows && cols ? { rows, cols } : {}),
  deleteTerminal: (id: string, tid: string) => json<void>('DELETE', `${proj(id)}/terminals/${enc(tid)}`),
  /** The terminal's WebSocket URL on this origin (ws: or wss:); the session cookie authenticates it. */
  terminalSocketUrl: (id: string, tid: string) =>
    `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${proj(id)}/terminals/${enc(tid)}/ws`,

  // Preview
  previewSession: (id: string) => json<{ url: string }>('POST', `${proj(id)}/preview/session`),
}

// Checkpoints (docs/API.md "Checkpoints")

export type CheckpointTrigger = 'user' | 'agent' | 'restore' | 'fork'

export interface CheckpointMetrics {
  files: number
  bytes: number
  files_added: number
  files_modified: number
  files_removed: number
  lines_added: number
  lines_removed: number
  tokens_used: number
  execution_ms: number
  db_tables?: Record<string, number>
}

export interface Checkpoint {
  id: string
  message: string
  trigger: CheckpointTrigger
  created_by: string
  created_by_name: string
  parent_id?: string
  created_at: string
  metrics: CheckpointMetrics
}

export type ChangeStatus = 'added' | 'removed' | 'modified'

export interface CheckpointFileDiff {
  path: string
  status: ChangeStatus
  lines_added: number
  lines_removed: number
  binary?: boolean
  truncated?: boolean
  patch?: string
}

export interface CheckpointTableDiff {
  name: string
  before: number
  after: number
}

export interface CheckpointDiff {
  files: CheckpointFileDiff[]
  tables: CheckpointTableDiff[]
}

export interface CheckpointTreeEntry {
  path: string
  size: number
  mode: number
}

export interface RestoreResult {
  restored: Checkpoint
  backup: Checkpoint
  files_written: number
  db_restored: boolean
  dependencies_changed?: string[]
  /** Why the database was not restored (the files were). */
  database_error?: string
}

const cp = (id: string, cid: string) => `${proj(id)}/checkpoints/${enc(cid)}`

/** Reads a diff's tables in the documented shape, also accepting {table, old_rows, new_rows}. */
function tableDiff(t: Record<string, unknown>): CheckpointTableDiff {
  const num = (v: unknown) => (typeof v === 'number' ? v : 0)
  return {
    name: String(t.name ?? t.table ?? ''),
    before: num(t.before ?? t.old_rows),
    after: num(t.after ?? t.new_rows),
  }
}

export const checkpointsApi = {
  list: (id: string) => json<Checkpoint[] | null>('GET', `${proj(id)}/checkpoints`).then((l) => l ?? []),
  create: (id: string, message: string) => json<Checkpoint>('POST', `${proj(id)}/checkpoints`, { message }),
  diff: async (id: string, cid: string, against: 'previous' | 'current'): Promise<CheckpointDiff> => {
    const d = await json<{ files?: CheckpointFileDiff[] | null; tables?: Record<string, unknown>[] | null }>(
      'GET', `${cp(id, cid)}/diff?against=${against}`)
    return { files: d?.files ?? [], tables: (d?.tables ?? []).map(tableDiff) }
  },
  tree: (id: string, cid: string) =>
    json<CheckpointTreeEntry[] | null>('GET', `${cp(id, cid)}/tree`).then((l) => l ?? []),
  readFile: async (id: string, cid: string, path: string): Promise<string> => {
    const res = await send('GET', `${cp(id, cid)}/files/${encodePath(path)}`)
    return res.text()
  },
  restore: (id: string, cid: string, database: boolean) =>
    json<RestoreResult>('POST', `${cp(id, cid)}/restore`, { database }),
  fork: (id: string, cid: string, name: string) => json<Project>('POST', `${cp(id, cid)}/fork`, { name }),
}

// Admin: the AI agent's model provider (docs/API.md "AI agent"). The API key
// is write-only: the server answers whether one is set and its last 4 characters.
export type ProviderKind = 'anthropic' | 'openai'

export interface ProviderSettings {
  provider: ProviderKind | ''
  base_url: string
  model: string
  high_power_model: string
  api_key_set: boolean
  api_key_hint: string
  source: 'settings' | 'environment' | 'none'
  anthropic_models: string[]
}

export interface ProviderUpdate {
  provider: ProviderKind | ''
  base_url?: string
  /** Omitted: keep the stored key; '': clear it. */
  api_key?: string
  model?: string
  high_power_model?: string
}

export const providerApi = {
  get: () => json<ProviderSettings>('GET', '/api/admin/agent/settings'),
  put: (u: ProviderUpdate) => json<ProviderSettings>('PUT', '/api/admin/agent/settings', u),
  test: () => json<{ ok: boolean; error?: string }>('POST', '/api/admin/agent/test'),
}

// Secrets (project and account); values only on an explicit reveal.
export interface SecretInfo {
  name: string
  scope: 'project' | 'account'
  version: number
  updated_at: string
  linked_from?: string
  missing?: boolean
  shadowed?: boolean
  last_used_at?: string
  used_by?: string
}
export interface AccountSecret extends SecretInfo {
  projects: string[]
}
export interface SecretPut {
  name: string
  created: boolean
  warning?: string
}
export const secretsApi = {
  list: (id: string) => json<SecretInfo[]>('GET', `${proj(id)}/secrets`),
  put: (id: string, name: string, value: string) => json<SecretPut>('PUT', `${proj(id)}/secrets/${enc(name)}`, { value }),
  remove: (id: string, name: string) => json<void>('DELETE', `${proj(id)}/secrets/${enc(name)}`),
  reveal: (id: string, name: string) => json<{ value: string }>('POST', `${proj(id)}/secrets/${enc(name)}/reveal`),
  importEnv: (id: string, env: string) => json<{ names: string[] }>('POST', `${proj(id)}/secrets/import`, { env }),
  link: (id: string, name: string) => json<void>('PUT', `${proj(id)}/secrets/links/${enc(name)}`),
  unlink: (id: string, name: string) => json<void>('DELETE', `${proj(id)}/secrets/links/${enc(name)}`),
  account: () => json<AccountSecret[]>('GET', '/api/me/secrets'),
  putAccount: (name: string, value: string) => json<SecretPut>('PUT', `/api/me/secrets/${enc(name)}`, { value }),
  removeAccount: (name: string) => json<void>('DELETE', `/api/me/secrets/${enc(name)}`),
  revealAccount: (name: string) => json<{ value: string }>('POST', `/api/me/secrets/${enc(name)}/reveal`),
}
