// Uploads with a progress bar per file and the server's limits stated up front.
import { useCallback, useState } from 'react'
import { ApiError, type ServerInfo } from '../../api'
import { useSession } from '../../session'
import { Icon } from '../Icon'

/** Bytes as "10 MiB", "512 KiB", "1.5 MiB". */
export function bytesText(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[i]}`
}

export interface UploadItem {
  id: number
  name: string
  loaded: number
  total: number
  status: 'uploading' | 'done' | 'error'
  error?: string
}

/** POSTs one file to /upload with XMLHttpRequest, which reports upload progress (fetch does not). */
function send(projectId: string, file: File, dir: string, onProgress: (loaded: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const form = new FormData()
    if (dir) form.append('dir', dir)
    form.append('files', file, file.name)
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `/api/projects/${encodeURIComponent(projectId)}/upload`)
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.upload.onprogress = (e) => onProgress(e.loaded)
    xhr.onerror = () => reject(new ApiError(0, 'network', 'Cannot reach the server'))
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve()
      let message = xhr.statusText || `HTTP ${xhr.status}`
      try {
        message = JSON.parse(xhr.responseText).error?.message ?? message
      } catch {
        // not JSON
      }
      reject(new ApiError(xhr.status, 'upload', message))
    }
    xhr.send(form)
  })
}

/** The per-file limit that applies (the smaller of the file and the request limits). */
export function uploadLimit(server: ServerInfo | null): number {
  const l = [server?.max_file_bytes, server?.max_upload_bytes].filter((n): n is number => !!n && n > 0)
  return l.length ? Math.min(...l) : 0
}

/** Uploads files one by one; keeps every file's progress, and its error until dismissed. */
export function useUploads(projectId: string, onDone: (dir: string) => void) {
  const { server } = useSession()
  const limit = uploadLimit(server)
  const [items, setItems] = useState<UploadItem[]>([])
  const patch = (id: number, p: Partial<UploadItem>) => setItems((xs) => xs.map((x) => (x.id === id ? { ...x, ...p } : x)))
  const upload = useCallback(async (files: File[], dir: string) => {
    const batch = files.map((f, i) => ({ file: f, item: { id: Date.now() * 1000 + i, name: (dir ? dir + '/' : '') + f.name, loaded: 0, total: f.size, status: 'uploading' as UploadItem['status'] } }))
    setItems((xs) => [...xs.filter((x) => x.status !== 'done'), ...batch.map((b) => b.item)])
    let any = false
    for (const { file, item } of batch) {
      if (limit && file.size > limit) {
        patch(item.id, { status: 'error', error: `${file.name} is ${bytesText(file.size)}; files up to ${bytesText(limit)} can be uploaded` })
        continue
      }
      try {
        await send(projectId, file, dir, (loaded) => patch(item.id, { loaded }))
        patch(item.id, { status: 'done', loaded: file.size })
        any = true
      } catch (err) {
        patch(item.id, { status: 'error', error: `${file.name}: ${err instanceof Error ? err.message : String(err)}` })
      }
    }
    if (any) onDone(dir)
  }, [projectId, limit, onDone])
  const dismiss = (id: number) => setItems((xs) => xs.filter((x) => x.id !== id))
  return { items, upload, dismiss, limit }
}

/** The uploads in progress, finished ones, and failed ones with their reason (kept until dismissed). */
export function UploadList({ items, dismiss }: { items: UploadItem[]; dismiss: (id: number) => void }) {
  if (items.length === 0) return null
  return (
    <ul className="upload-list" aria-label="Uploads">
      {items.map((u) => (
        <li key={u.id} className={`upload-item upload-${u.status}`} data-file={u.name} role={u.status === 'error' ? 'alert' : undefined}>
          <div className="upload-line">
            <span className="upload-name" title={u.name}>{u.name}</span>
            <button type="button" className="btn btn-icon btn-small" aria-label={`Dismiss ${u.name}`} onClick={() => dismiss(u.id)}>
              <Icon name="close" size={12} />
            </button>
          </div>
          {u.status === 'error' ? (
            <div className="upload-error">{u.error}</div>
          ) : (
            <>
              <progress max={u.total || 1} value={u.loaded} aria-label={`Uploading ${u.name}`} />
              <div className="upload-meta muted small">
                {u.status === 'done' ? `Uploaded · ${bytesText(u.total)}` : `${bytesText(u.loaded)} of ${bytesText(u.total)}`}
              </div>
            </>
          )}
        </li>
      ))}
    </ul>
  )
}
