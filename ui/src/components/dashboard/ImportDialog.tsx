// The dashboard's Import dialog: choose a source (a zip, a Git repository, Bolt, Lovable, Figma),
// start the import (POST /api/imports), then watch it live (GET /api/imports/{id}/events)
// until it ends with a report and an "Open project" button, or with its error.
import { useEffect, useState, type FormEvent } from 'react'
import { ApiError, errorMessage, json, send } from '../../api'
import { Field, FormError } from '../Field'
import { Modal } from '../Modal'
import { navigate } from '../../router'

type Kind = 'zip' | 'git' | 'bolt' | 'lovable' | 'figma'
type Status = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'

interface ImportReport {
  source?: string
  files?: number
  bytes?: number
  detection?: {
    app_root?: string
    framework?: string
    package_manager?: string
    run_config?: { run?: string; install?: string; port?: number }
    notes?: string[]
  }
  secrets?: { name: string; from: string }[]
  carried?: string[]
  not_carried?: string[]
}

export interface ImportRecord {
  id: string
  source: string
  name: string
  status: Status
  progress?: { step?: string; message?: string; files?: number; bytes?: number; waiting_until?: string }
  project_id?: string
  report?: ImportReport
  error?: string
}

const KINDS: { id: Kind; label: string }[] = [
  { id: 'zip', label: 'Zip file' },
  { id: 'git', label: 'Git repository' },
  { id: 'bolt', label: 'Bolt' },
  { id: 'lovable', label: 'Lovable' },
  { id: 'figma', label: 'Figma' },
]

const ENDED: Status[] = ['succeeded', 'failed', 'cancelled']

type From = 'zip' | 'url'

/** Whether the chosen source is a file upload (a zip, Bolt's exported zip, a Figma file's JSON). */
const isUpload = (kind: Kind, from: From) => kind === 'zip' || ((kind === 'bolt' || kind === 'figma') && from === 'zip')

/** Starts an import: multipart (source, name, then file) for uploads, JSON for URLs. */
async function startImport(form: { kind: Kind; from: From; file: File | null; url: string; token: string; ref: string; name: string }) {
  if (isUpload(form.kind, form.from)) {
    if (!form.file) throw new ApiError(400, 'invalid', form.kind === 'figma' ? "Choose the Figma file's JSON to import" : 'Choose a zip file to import')
    const body = new FormData()
    body.append('source', form.kind)
    if (form.name.trim()) body.append('name', form.name.trim())
    body.append('file', form.file) // the file part goes last
    const res = await send('POST', '/api/imports', body)
    return (await res.json()) as { id: string; status: Status }
  }
  if (form.kind === 'figma') {
    if (!form.url.trim()) throw new ApiError(400, 'invalid', "Enter the Figma file's URL")
    if (!form.token) throw new ApiError(400, 'invalid', 'Enter a Figma personal access token')
  }
  if (!form.url.trim()) throw new ApiError(400, 'invalid', 'Enter the repository URL')
  const source = form.kind
  return json<{ id: string; status: Status }>('POST', '/api/imports', {
    source, url: form.url.trim(), token: form.token || undefined, ref: form.ref.trim() || undefined, name: form.name.trim() || undefined,
  })
}

/** onImported runs once an import succeeds (the dashboard reloads its projects). */
export function ImportDialog({ onClose, onImported }: { onClose: () => void; onImported?: () => void }) {
  const [kind, setKind] = useState<Kind>('zip')
  const [from, setFrom] = useState<From>('zip')
  const [file, setFile] = useState<File | null>(null)
  const [url, setUrl] = useState('')
  const [token, setToken] = useState('')
  const [ref, setRef] = useState('')
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [id, setId] = useState<string | null>(null)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    setBusy(true)
    try {
      const started = await startImport({ kind, from, file, url, token, ref, name })
      setId(started.id)
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }

  if (id) return <Modal title="Import" onClose={onClose}><ImportProgress id={id} onBack={() => setId(null)} onImported={onImported} /></Modal>

  const upload = isUpload(kind, from)
  const figma = kind === 'figma'
  return (
    <Modal title="Import a project" onClose={onClose}>
      <form onSubmit={submit} noValidate aria-label="Import a project">
        <div className="import-kinds" role="tablist" aria-label="Source">
          {KINDS.map((k) => (
            <button key={k.id} type="button" role="tab" aria-selected={kind === k.id} data-source={k.id}
              className={'btn btn-small' + (kind === k.id ? ' btn-primary' : '')} onClick={() => { setKind(k.id); setFrom(k.id === 'figma' ? 'url' : 'zip'); setFile(null) }}>
              {k.label}
            </button>
          ))}
        </div>
        {kind === 'bolt' && (
          <div className="field">
            <label htmlFor="import-bolt-from">Bolt project from</label>
            <select id="import-bolt-from" value={from} onChange={(e) => setFrom(e.target.value as From)}>
              <option value="zip">Its exported zip</option>
              <option value="url">Its GitHub repository</option>
            </select>
          </div>
        )}
        {figma && (
          <div className="field">
            <label htmlFor="import-figma-from">Figma file from</label>
            <select id="import-figma-from" value={from} onChange={(e) => setFrom(e.target.value as From)}>
              <option value="url">Its URL and a personal access token</option>
              <option value="zip">Its JSON (as the Figma REST API returns it)</option>
            </select>
          </div>
        )}
        {upload ? (
          <div className="field">
            <label htmlFor="import-file">{figma ? 'Figma file JSON' : 'Zip file'}</label>
            <input id="import-file" type="file" accept={figma ? '.json,application/json' : '.zip,application/zip'} onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </div>
        ) : figma ? (
          <>
            <Field label="Figma file URL" type="url" value={url} placeholder="https://www.figma.com/design/KEY/Name"
              onChange={(e) => setUrl(e.target.value)} />
            <Field label="Personal access token" type="password" value={token} autoComplete="off"
              hint="Figma → Settings → Security → Personal access tokens (file content: read). Used for this import only, never stored."
              onChange={(e) => setToken(e.target.value)} />
          </>
        ) : (
          <>
            <Field label={kind === 'git' ? 'Repository URL' : 'GitHub repository URL'} type="url" value={url}
              placeholder="https://github.com/owner/repo" onChange={(e) => setUrl(e.target.value)} />
            {kind === 'git' && (
              <>
                <Field label="Access token (optional)" type="password" value={token} autoComplete="off"
                  hint="For a private repository; used for this import only, never stored." onChange={(e) => setToken(e.target.value)} />
                <Field label="Branch, tag or commit (optional)" value={ref} onChange={(e) => setRef(e.target.value)} />
              </>
            )}
          </>
        )}
        <Field label="Project name (optional)" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />
        <FormError message={error} />
        <div className="modal-actions">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Starting…' : 'Import'}</button>
        </div>
      </form>
    </Modal>
  )
}

/** Follows one import over its event stream and shows where it is, then how it ended. */
function ImportProgress({ id, onBack, onImported }: { id: string; onBack: () => void; onImported?: () => void }) {
  const [rec, setRec] = useState<ImportRecord | null>(null)
  const [lost, setLost] = useState(false)
  useEffect(() => {
    const es = new EventSource(`/api/imports/${encodeURIComponent(id)}/events`)
    let ended = false
    es.addEventListener('import', (e) => {
      const x = JSON.parse((e as MessageEvent).data) as ImportRecord
      setRec(x)
      setLost(false)
      if (ENDED.includes(x.status)) {
        ended = true
        es.close()
        if (x.status === 'succeeded') onImported?.()
      }
    })
    es.onerror = () => { if (!ended) setLost(true) } // EventSource reconnects by itself
    return () => es.close()
  }, [id, onImported])

  const cancel = async () => {
    try { await send('POST', `/api/imports/${encodeURIComponent(id)}/cancel`) } catch { /* the stream says how it ended */ }
  }

  const p = rec?.progress ?? {}
  const status = rec?.status ?? 'queued'
  return (
    <div className="import-progress" data-status={status} aria-live="polite">
      <p>
        <strong className="import-status" data-testid="import-status">{STATUS_TEXT[status]}</strong>
        {p.step && !ENDED.includes(status) && <span className="muted"> · {p.step}{p.message ? `: ${p.message}` : ''}</span>}
      </p>
      {!ENDED.includes(status) && (
        <p className="muted small" data-testid="import-counts">
          {p.files ?? 0} files · {formatBytes(p.bytes ?? 0)}
          {p.waiting_until && <> · waiting on a rate limit until {new Date(p.waiting_until).toLocaleTimeString()}</>}
        </p>
      )}
      {lost && !ENDED.includes(status) && <p className="muted small">Connection lost; reconnecting…</p>}
      {status === 'failed' && <FormError message={rec?.error ?? 'The import failed.'} />}
      {status === 'succeeded' && rec?.report && <ImportReportView report={rec.report} />}
      <div className="modal-actions">
        {!ENDED.includes(status) && <button type="button" className="btn" onClick={cancel}>Cancel import</button>}
        {(status === 'failed' || status === 'cancelled') && <button type="button" className="btn" onClick={onBack}>Try again</button>}
        {status === 'succeeded' && rec?.project_id && (
          <button type="button" className="btn btn-primary" onClick={() => navigate(`/p/${encodeURIComponent(rec.project_id!)}`)}>
            Open project
          </button>
        )}
      </div>
    </div>
  )
}

const STATUS_TEXT: Record<Status, string> = {
  queued: 'Queued…', running: 'Importing…', succeeded: 'Imported', failed: 'Import failed', cancelled: 'Import cancelled',
}

function ImportReportView({ report }: { report: ImportReport }) {
  const d = report.detection ?? {}
  const rc = d.run_config
  return (
    <div className="import-report" data-testid="import-report">
      <p className="small">{report.files ?? 0} files · {formatBytes(report.bytes ?? 0)}
        {d.framework && <> · {d.framework}</>}{d.package_manager && <> · {d.package_manager}</>}
        {d.app_root && d.app_root !== '.' && <> · app in <code>{d.app_root}</code></>}
      </p>
      {rc?.run && <p className="small">Run command: <code>{rc.run}</code>{rc.port ? <> on port {rc.port}</> : null}</p>}
      {(report.secrets?.length ?? 0) > 0 && (
        <>
          <h3 className="small">Moved into project secrets</h3>
          <ul className="small">{report.secrets!.map((s) => <li key={s.name + s.from}><code>{s.name}</code> from {s.from}</li>)}</ul>
        </>
      )}
      {(report.carried?.length ?? 0) > 0 && (
        <>
          <h3 className="small">Carried</h3>
          <ul className="small">{report.carried!.map((c) => <li key={c}>{c}</li>)}</ul>
        </>
      )}
      {(report.not_carried?.length ?? 0) > 0 && (
        <>
          <h3 className="small">Not carried</h3>
          <ul className="small" data-testid="import-not-carried">{report.not_carried!.map((c) => <li key={c}>{c}</li>)}</ul>
        </>
      )}
      {(d.notes?.length ?? 0) > 0 && <ul className="small muted">{d.notes!.map((n) => <li key={n}>{n}</li>)}</ul>}
    </div>
  )
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}
