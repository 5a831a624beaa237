import { useEffect, useRef, type KeyboardEvent } from 'react'

export interface MenuItem {
  label: string
  onSelect: () => void
  danger?: boolean
}

interface Props {
  x: number
  y: number
  items: MenuItem[]
  onClose: () => void
  label: string
}

/** A small right-click menu: arrow keys move, Enter picks, Escape or a click elsewhere closes. */
export function ContextMenu({ x, y, items, onClose, label }: Props) {
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = ref.current
    el?.querySelector<HTMLElement>('[role="menuitem"]')?.focus()
    const away = (e: Event) => {
      if (!el?.contains(e.target as Node)) onClose()
    }
    document.addEventListener('mousedown', away, true)
    window.addEventListener('blur', onClose)
    window.addEventListener('resize', onClose)
    return () => {
      document.removeEventListener('mousedown', away, true)
      window.removeEventListener('blur', onClose)
      window.removeEventListener('resize', onClose)
    }
  }, [onClose])

  const keydown = (e: KeyboardEvent) => {
    const buttons = [...(ref.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])]
    const i = buttons.indexOf(document.activeElement as HTMLElement)
    if (e.key === 'Escape' || e.key === 'Tab') onClose()
    else if (e.key === 'ArrowDown') buttons[(i + 1) % buttons.length]?.focus()
    else if (e.key === 'ArrowUp') buttons[(i - 1 + buttons.length) % buttons.length]?.focus()
    else return
    e.preventDefault()
  }

  // keep the menu inside the window
  const left = Math.min(x, window.innerWidth - 200)
  const top = Math.min(y, window.innerHeight - items.length * 30 - 16)
  return (
    <div className="context-menu" role="menu" aria-label={label} ref={ref} style={{ left, top }} onKeyDown={keydown}>
      {items.map((it) => (
        <button
          key={it.label}
          type="button"
          role="menuitem"
          className={'context-item' + (it.danger ? ' danger' : '')}
          onClick={() => {
            onClose()
            it.onSelect()
          }}
        >
          {it.label}
        </button>
      ))}
    </div>
  )
}
