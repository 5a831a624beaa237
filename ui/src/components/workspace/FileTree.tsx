import { useEffect, useRef, type KeyboardEvent } from 'react'
import type { FileNode } from '../../api'
import { dirname, formatSize } from '../../util'
import { Icon } from '../Icon'

interface Row {
  node: FileNode
  depth: number
}

/** The rows currently visible: children of expanded folders, depth first. */
export function visibleRows(root: FileNode, expanded: Set<string>): Row[] {
  const rows: Row[] = []
  const walk = (nodes: FileNode[] | undefined, depth: number) => {
    for (const n of nodes ?? []) {
      rows.push({ node: n, depth })
      if (n.type === 'dir' && expanded.has(n.path)) walk(n.children, depth + 1)
    }
  }
  walk(root.children, 1)
  return rows
}

export function findNode(root: FileNode | null, path: string): FileNode | null {
  if (!root) return null
  if (root.path === path) return root
  for (const c of root.children ?? []) {
    if (c.path === path || path.startsWith(c.path + '/')) {
      const f = findNode(c, path)
      if (f) return f
    }
  }
  return null
}

interface Props {
  root: FileNode
  expanded: Set<string>
  selected: string | null
  activeFile: string | null
  dirty: Set<string>
  onSelect: (node: FileNode) => void
  onToggle: (path: string, open?: boolean) => void
  onOpen: (path: string) => void
  onRename?: (node: FileNode) => void
  onDelete?: (node: FileNode) => void
  onContextMenu?: (node: FileNode, x: number, y: number) => void
}

export function FileTree(props: Props) {
  const { root, expanded, selected, activeFile, dirty, onSelect, onToggle, onOpen } = props
  const rows = visibleRows(root, expanded)
  const tree = useRef<HTMLDivElement>(null)
  const focusWanted = useRef(false)

  useEffect(() => {
    if (!focusWanted.current || !selected) return
    focusWanted.current = false
    tree.current?.querySelector<HTMLElement>(`[role="treeitem"][data-path="${CSS.escape(selected)}"]`)?.focus()
  }, [selected])

  const activate = (n: FileNode) => {
    onSelect(n)
    if (n.type === 'dir') onToggle(n.path)
    else onOpen(n.path)
  }

  const keydown = (e: KeyboardEvent) => {
    const i = rows.findIndex((r) => r.node.path === selected)
    const cur = rows[i]?.node
    const go = (j: number) => {
      const r = rows[Math.max(0, Math.min(rows.length - 1, j))]
      if (!r) return
      focusWanted.current = true
      onSelect(r.node)
    }
    switch (e.key) {
      case 'ArrowDown': go(i + 1); break
      case 'ArrowUp': go(i < 0 ? 0 : i - 1); break
      case 'Home': go(0); break
      case 'End': go(rows.length - 1); break
      case 'ArrowRight':
        if (cur?.type === 'dir') {
          if (!expanded.has(cur.path)) onToggle(cur.path, true)
          else go(i + 1)
        }
        break
      case 'ArrowLeft':
        if (cur?.type === 'dir' && expanded.has(cur.path)) onToggle(cur.path, false)
        else if (cur && dirname(cur.path)) go(rows.findIndex((r) => r.node.path === dirname(cur.path)))
        break
      case 'Enter':
      case ' ':
        if (cur) activate(cur)
        break
      case 'F2':
        if (cur && props.onRename) props.onRename(cur)
        break
      case 'Delete':
        if (cur && props.onDelete) props.onDelete(cur)
        break
      case 'ContextMenu':
        if (cur && props.onContextMenu) {
          const r = (e.target as HTMLElement).getBoundingClientRect()
          props.onContextMenu(cur, r.left + 24, r.bottom)
        }
        break
      default:
        return
    }
    e.preventDefault()
  }

  if (rows.length === 0) {
    return <div className="tree-empty muted">No files yet.</div>
  }
  const focusable = rows.some((r) => r.node.path === selected) ? selected : rows[0].node.path
  return (
    <div className="file-tree" role="tree" aria-label="Files" ref={tree} onKeyDown={keydown}>
      {rows.map(({ node, depth }) => {
        const isDir = node.type === 'dir'
        const open = isDir && expanded.has(node.path)
        const cls = ['tree-row', node.path === selected && 'selected', node.path === activeFile && 'active']
        return (
          <div
            key={node.path}
            role="treeitem"
            className={cls.filter(Boolean).join(' ')}
            data-path={node.path}
            data-type={node.type}
            aria-level={depth}
            aria-expanded={isDir ? open : undefined}
            aria-selected={node.path === selected}
            tabIndex={node.path === focusable ? 0 : -1}
            style={{ paddingLeft: 8 + (depth - 1) * 14 }}
            title={isDir ? node.path : `${node.path} · ${formatSize(node.size)}`}
            onClick={() => activate(node)}
            onContextMenu={(e) => {
              if (!props.onContextMenu) return
              e.preventDefault()
              onSelect(node)
              props.onContextMenu(node, e.clientX, e.clientY)
            }}
          >
            <span className={'tree-chevron' + (open ? ' open' : '')} aria-hidden="true">
              {isDir && <Icon name="chevron" size={12} />}
            </span>
            <Icon name={isDir ? (open ? 'folderOpen' : 'folder') : 'file'} className={isDir ? 'icon-dir' : 'icon-file'} />
            <span className="tree-name">{node.name}</span>
            {dirty.has(node.path) && <span className="dirty-dot" aria-label="unsaved changes">●</span>}
          </div>
        )
      })}
    </div>
  )
}
