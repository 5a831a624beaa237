// Live collaboration: one Yjs document per open file, synced with the
// server's y-websocket endpoint (GET /api/projects/{id}/collab/{path}).
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { encodePath } from '../api'

/** What other people see of us: a name and a cursor colour. */
export interface CollabUser {
  id: string
  name: string
  color: string
  colorLight: string
}

const palette = ['#30bced', '#6eeb83', '#ffbc42', '#ee6352', '#9ac2c9', '#8acb88', '#f78c6c', '#c792ea', '#ff5370', '#82aaff']

/** A stable colour for a user id. */
export function collabUser(id: string, name: string): CollabUser {
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0
  const color = palette[h % palette.length]
  return { id, name: name || 'Someone', color, colorLight: color + '33' }
}

/** The y-websocket server URL of a project (the room name is the file path). */
export function collabServerUrl(projectId: string): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${proto}//${location.host}/api/projects/${encodeURIComponent(projectId)}/collab`
}

// E-Code's own messages beside y-protocols' (see package collab): "write
// the file now" and its answer.
const MESSAGE_FLUSH = 100
const MESSAGE_FLUSHED = 101

/** The live document of one file: its Y.Text "content" and the connection. */
export class CollabSession {
  readonly doc = new Y.Doc()
  readonly text: Y.Text
  readonly provider: WebsocketProvider
  /** Undoes this tab's own changes only (one per document, kept across editor rebuilds). */
  readonly undo: Y.UndoManager
  private flushWaiters: (() => void)[] = []

  constructor(projectId: string, path: string, user: CollabUser) {
    this.text = this.doc.getText('content')
    this.undo = new Y.UndoManager(this.text)
    this.provider = new WebsocketProvider(collabServerUrl(projectId), encodePath(path), this.doc, { disableBc: true })
    this.provider.awareness.setLocalStateField('user', { name: user.name, color: user.color, colorLight: user.colorLight })
    this.provider.messageHandlers[MESSAGE_FLUSHED] = () => {
      const waiters = this.flushWaiters
      this.flushWaiters = []
      for (const w of waiters) w()
    }
  }

  /**
   * Asks the server to write the file now (everything sent before is in
   * it once this resolves true); false when offline or without an answer.
   */
  flush(timeoutMs: number): Promise<boolean> {
    const ws = this.provider.ws
    if (!this.online || !ws) return Promise.resolve(false)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.flushWaiters = this.flushWaiters.filter((w) => w !== done)
        resolve(false)
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        resolve(true)
      }
      this.flushWaiters.push(done)
      ws.send(new Uint8Array([MESSAGE_FLUSH]))
    })
  }

  /** Resolves true once the server's document has arrived, false after timeoutMs. */
  whenSynced(timeoutMs: number): Promise<boolean> {
    if (this.provider.synced) return Promise.resolve(true)
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer)
        this.provider.off('sync', onSync)
        resolve(ok)
      }
      const onSync = (synced: boolean) => synced && done(true)
      const timer = setTimeout(() => done(false), timeoutMs)
      this.provider.on('sync', onSync)
    })
  }

  /** Connected and synced: what this tab typed has reached the server. */
  get online(): boolean {
    return this.provider.wsconnected && this.provider.synced
  }

  destroy() {
    this.undo.destroy()
    this.provider.destroy()
    this.doc.destroy()
  }
}
