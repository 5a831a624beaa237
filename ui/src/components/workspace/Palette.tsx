// One picker for quick open (Ctrl/Cmd+P), project search (Ctrl/Cmd+Shift+F) and the
// command palette (Ctrl/Cmd+K): a text box over a list; arrows move, Enter picks.
import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react'
import { Modal } from '../Modal'

export interface PaletteItem {
  id: string
  label: ReactNode
  detail?: ReactNode
  run: () => void
}

interface Props {
  title: string
  placeholder: string
  /** The items for a query (may be async; the newest query wins). */
  search: (query: string) => PaletteItem[] | Promise<PaletteItem[]>
  /** A line under the list (e.g. "500 results, refine the query"). */
  footer?: (query: string, items: PaletteItem[]) => ReactNode
  onClose: () => void
  /** Wait this long after typing before searching (for server searches). */
  debounceMs?: number
}

export function Palette({ title, placeholder, search, footer, onClose, debounceMs = 0 }: Props) {
  const [query, setQuery] = useState('')
  const [items, setItems] = useState<PaletteItem[]>([])
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [sel, setSel] = useState(0)
  const listId = useId()
  const list = useRef<HTMLUListElement>(null)
  const seq = useRef(0)

  useEffect(() => {
    const n = ++seq.current
    const t = setTimeout(async () => {
      setBusy(true)
      try {
        const got = await search(query)
        if (n !== seq.current) return
        setItems(got)
        setSel(0)
        setError(null)
      } catch (err) {
        if (n === seq.current) setError(err instanceof Error ? err.message : String(err))
      } finally {
        if (n === seq.current) setBusy(false)
      }
    }, query ? debounceMs : 0)
    return () => clearTimeout(t)
  }, [query, search, debounceMs])

  useEffect(() => {
    list.current?.querySelector<HTMLElement>(`[data-index="${sel}"]`)?.scrollIntoView({ block: 'nearest' })
  }, [sel])

  const pick = (i: number) => {
    const item = items[i]
    if (!item) return
    onClose()
    item.run()
  }
  const key = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown') setSel((s) => Math.min(items.length - 1, s + 1))
    else if (e.key === 'ArrowUp') setSel((s) => Math.max(0, s - 1))
    else if (e.key === 'Enter') pick(sel)
    else return
    e.preventDefault()
  }
  return (
    <Modal title={title} onClose={onClose} className="palette">
      <input className="palette-input" autoFocus value={query} placeholder={placeholder} aria-label={title}
        role="combobox" aria-expanded="true" aria-controls={listId} aria-autocomplete="list"
        aria-activedescendant={items[sel] ? `${listId}-${sel}` : undefined}
        onChange={(e) => setQuery(e.target.value)} onKeyDown={key} />
      {error && <div className="field-error" role="alert">{error}</div>}
      <ul className="palette-list" id={listId} role="listbox" aria-label={title} ref={list} aria-busy={busy}>
        {items.map((it, i) => (
          <li key={it.id} id={`${listId}-${i}`} role="option" aria-selected={i === sel} data-index={i}
            className={'palette-item' + (i === sel ? ' selected' : '')}
            onMouseMove={() => setSel(i)} onClick={() => pick(i)}>
            <span className="palette-label">{it.label}</span>
            {it.detail && <span className="palette-detail">{it.detail}</span>}
          </li>
        ))}
        {!busy && items.length === 0 && <li className="palette-empty muted">{query ? 'Nothing found' : 'Type to search'}</li>}
      </ul>
      {footer && <div className="palette-footer muted small">{footer(query, items)}</div>}
    </Modal>
  )
}
