import type { KeyboardEvent, PointerEvent } from 'react'

interface Props {
  /** Current size in px of the panel this splitter resizes. */
  size: number
  min: number
  max: number
  /** +1 when dragging right grows the panel (a left panel), -1 when it shrinks it (a right panel). */
  direction: 1 | -1
  onResize: (size: number) => void
  label: string
}

/** A vertical drag handle between two columns; arrow keys work too. */
export function Splitter({ size, min, max, direction, onResize, label }: Props) {
  const clamp = (v: number) => Math.max(min, Math.min(max, v))
  const down = (e: PointerEvent<HTMLDivElement>) => {
    const startX = e.clientX
    const start = size
    const el = e.currentTarget
    el.setPointerCapture(e.pointerId)
    document.body.classList.add('resizing')
    const move = (ev: globalThis.PointerEvent) => onResize(clamp(start + direction * (ev.clientX - startX)))
    const up = () => {
      el.removeEventListener('pointermove', move)
      el.removeEventListener('pointerup', up)
      el.removeEventListener('pointercancel', up)
      document.body.classList.remove('resizing')
    }
    el.addEventListener('pointermove', move)
    el.addEventListener('pointerup', up)
    el.addEventListener('pointercancel', up)
  }
  const key = (e: KeyboardEvent) => {
    const step = e.shiftKey ? 50 : 10
    if (e.key === 'ArrowLeft') onResize(clamp(size - direction * step))
    else if (e.key === 'ArrowRight') onResize(clamp(size + direction * step))
    else return
    e.preventDefault()
  }
  return (
    <div
      className="splitter"
      role="separator"
      aria-orientation="vertical"
      aria-label={label}
      aria-valuenow={Math.round(size)}
      aria-valuemin={min}
      aria-valuemax={max}
      tabIndex={0}
      onPointerDown={down}
      onKeyDown={key}
    />
  )
}
