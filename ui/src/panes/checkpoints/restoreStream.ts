// Restoring a checkpoint with progress (docs/API.md "Checkpoints"): the restore endpoint answers
// Server-Sent Events when asked for text/event-stream.
import { ApiError, errorMessage, type RestoreResult } from '../../api'

export type RestorePhase = 'checkpoint' | 'stop' | 'files' | 'database' | 'restart'

export interface RestoreProgress {
  phase: RestorePhase
  done: number
  /** 0 while not known yet. */
  total: number
}

export interface SSEEvent {
  event: string
  data: string
}

/**
 * Splits a Server-Sent Events body into events as chunks arrive: push() takes the next chunk of
 * text and returns the events it completed.
 */
export function sseParser() {
  let buf = ''
  let event = 'message'
  let data: string[] = []
  return (chunk: string): SSEEvent[] => {
    buf += chunk
    const out: SSEEvent[] = []
    let nl: number
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1))
      if (line === '') {
        if (data.length > 0) out.push({ event, data: data.join('\n') })
        event = 'message'
        data = []
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'event') event = value
      else if (field === 'data') data.push(value)
    }
    return out
  }
}

async function errorFrom(res: Response): Promise<ApiError> {
  try {
    const b = await res.json()
    return new ApiError(res.status, b?.error?.code ?? 'http_' + res.status, b?.error?.message ?? res.statusText, b?.error?.fields)
  } catch {
    return new ApiError(res.status, 'http_' + res.status, res.statusText || 'request failed')
  }
}

/** POST .../restore as an event stream, calling onProgress as the server reports it. */
export async function restoreWithProgress(
  projectId: string,
  checkpointId: string,
  database: boolean,
  onProgress: (p: RestoreProgress) => void,
  secrets = false,
): Promise<RestoreResult> {
  let res: Response
  try {
    res = await fetch(`/api/projects/${encodeURIComponent(projectId)}/checkpoints/${encodeURIComponent(checkpointId)}/restore`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'text/event-stream', 'Content-Type': 'application/json' },
      body: JSON.stringify({ database, secrets }),
    })
  } catch (err) {
    throw new ApiError(0, 'network', 'Cannot reach the server: ' + errorMessage(err))
  }
  if (!res.ok) throw await errorFrom(res)
  if (!(res.headers.get('Content-Type') ?? '').startsWith('text/event-stream')) {
    return (await res.json()) as RestoreResult // a server without streaming restores
  }
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  const parse = sseParser()
  for (;;) {
    let chunk: ReadableStreamReadResult<string>
    try {
      chunk = await reader.read()
    } catch (err) {
      throw new ApiError(0, 'network', 'Lost the server while restoring: ' + errorMessage(err))
    }
    if (chunk.done) break
    for (const e of parse(chunk.value)) {
      const data = JSON.parse(e.data)
      if (e.event === 'progress') onProgress(data as RestoreProgress)
      else if (e.event === 'result') return data as RestoreResult
      else if (e.event === 'error') throw new ApiError(500, data?.code ?? 'internal', data?.message ?? 'restore failed', data?.fields)
    }
  }
  throw new ApiError(0, 'network', 'The restore ended without an answer; reload to see the project as it is.')
}
