import { useRef, type KeyboardEvent } from 'react'
import { basename } from '../../util'
import { Icon } from '../Icon'
import type { TabInfo } from './useOpenFiles'

interface Props {
  tabs: TabInfo[]
  active: string | null
  onSelect: (path: string) => void
  onClose: (path: string) => void
}

/** The row of open files above the editor. */
export function EditorTabs({ tabs, active, onSelect, onClose }: Props) {
  const list = useRef<HTMLDivElement>(null)
  const keydown = (e: KeyboardEvent, i: number) => {
    let j = -1
    if (e.key === 'ArrowRight') j = (i + 1) % tabs.length
    else if (e.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length
    else if (e.key === 'Home') j = 0
    else if (e.key === 'End') j = tabs.length - 1
    else if (e.key === 'Delete') {
      e.preventDefault()
      onClose(tabs[i].path)
      return
    }
    if (j < 0) return
    e.preventDefault()
    onSelect(tabs[j].path)
    list.current?.querySelectorAll<HTMLElement>('[role="tab"]')[j]?.focus()
  }
  return (
    <div className="editor-tabs" role="tablist" aria-label="Open files" ref={list}>
      {tabs.map((t, i) => {
        const selected = t.path === active
        return (
          // The close button is a mouse affordance beside the tab (hidden from assistive technology:
          // a tab list holds only tabs); from the keyboard, Delete closes the selected tab.
          <div key={t.path} className={'editor-tab-wrap' + (selected ? ' active' : '')} data-dirty={t.dirty ? 'true' : undefined} role="presentation"
            onMouseDown={(e) => {
              if (e.button === 1) {
                e.preventDefault()
                onClose(t.path)
              }
            }}>
            <div
              role="tab"
              className={'editor-tab' + (selected ? ' active' : '') + (t.error ? ' has-error' : '')}
              aria-selected={selected}
              tabIndex={selected ? 0 : -1}
              data-path={t.path}
              data-dirty={t.dirty ? 'true' : undefined}
              title={t.path + (t.dirty ? ' (unsaved changes)' : '') + ' — Delete closes it'}
              aria-keyshortcuts="Delete"
              onClick={() => onSelect(t.path)}
              onKeyDown={(e) => keydown(e, i)}
            >
              <span className="editor-tab-name">{basename(t.path)}</span>
              {t.dirty && !t.live && (
                <span className="dirty-dot" aria-label="unsaved changes" title="Unsaved changes">●</span>
              )}
            </div>
            <button
              type="button"
              className="editor-tab-close"
              tabIndex={-1}
              aria-hidden="true"
              aria-label={`Close ${basename(t.path)}`}
              title={`Close ${basename(t.path)}`}
              onClick={() => onClose(t.path)}
            >
              <Icon name="close" size={12} />
            </button>
          </div>
        )
      })}
    </div>
  )
}
