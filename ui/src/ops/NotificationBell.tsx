import { useCallback, useEffect, useRef, useState } from 'react'
import { navigate } from '../router'
import { timeAgo, fullTime } from '../util'
import { notifyApi, type Notification } from './opsApi'

const POLL_MS = 30_000

/** The header's bell: unread count, and a list that marks items read. */
export function NotificationBell() {
  const [unread, setUnread] = useState(0)
  const [items, setItems] = useState<Notification[]>([])
  const [open, setOpen] = useState(false)
  const box = useRef<HTMLDivElement>(null)
  const load = useCallback(() => {
    notifyApi.list().then((d) => {
      setUnread(d.unread)
      setItems(d.items)
    }, () => {})
  }, [])
  useEffect(() => {
    load()
    const t = setInterval(load, POLL_MS)
    return () => clearInterval(t)
  }, [load])
  useEffect(() => {
    if (!open) return
    const close = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false)
    }
    document.addEventListener('mousedown', close)
    return () => document.removeEventListener('mousedown', close)
  }, [open])
  const toggle = () => {
    if (!open) load()
    setOpen(!open)
  }
  const openItem = async (n: Notification) => {
    if (!n.read_at) await notifyApi.markRead(n.id).catch(() => {})
    load()
    if (n.link) {
      setOpen(false)
      navigate(n.link)
    }
  }
  const readAll = () => notifyApi.markRead().then(load, () => {})
  return (
    <div className="bell" ref={box}>
      <button type="button" className="btn btn-ghost bell-button" aria-label={`Notifications, ${unread} unread`} aria-expanded={open} onClick={toggle}>
        <svg width="16" height="16" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2">
          <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 0 1-3.4 0" />
        </svg>
        {unread > 0 && <span className="bell-count">{unread > 99 ? '99+' : unread}</span>}
      </button>
      {open && (
        <div className="bell-panel" role="dialog" aria-label="Notifications">
          <div className="bell-head">
            <strong>Notifications</strong>
            {unread > 0 && <button type="button" className="btn btn-ghost" onClick={readAll}>Mark all read</button>}
          </div>
          {items.length === 0 ? (
            <p className="muted bell-empty">Nothing yet.</p>
          ) : (
            <ul className="bell-list" aria-label="Notification list">
              {items.map((n) => (
                <li key={n.id} data-unread={!n.read_at}>
                  <button type="button" className="bell-item" onClick={() => openItem(n)}>
                    <span className="bell-title">{n.title}</span>
                    {n.body && <span className="bell-body muted">{n.body}</span>}
                    <span className="bell-time muted" title={fullTime(n.at)}>{timeAgo(n.at)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  )
}
