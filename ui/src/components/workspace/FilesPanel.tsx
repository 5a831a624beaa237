import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react'
import { api, errorMessage, type FileNode } from '../../api'
import { dirname, isUnder, joinPath } from '../../util'
import { useDialogs } from '../Dialogs'
import { ContextMenu } from '../ContextMenu'
import { Icon } from '../Icon'
import { FileTree, findNode } from './FileTree'
import { bytesText, UploadList, useUploads } from './uploads'

interface Props {
  projectId: string
  canWrite: boolean
  activeFile: string | null
  dirty: Set<string>
  onOpen: (path: string) => void
  onRenamed: (from: string, to: string) => void
  onDeleted: (path: string) => void
}

function badPath(p: string): string | null {
  if (p.startsWith('/')) return 'Use a path relative to the project root'
  if (p.split('/').some((s) => s === '..' || s === '.' || s === '')) return 'Not a valid path'
  return null
}

/** Every folder above `path`, so it can be revealed. */
function ancestors(path: string): string[] {
  const out: string[] = []
  for (let d = dirname(path); d; d = dirname(d)) out.push(d)
  return out
}

/** The left sidebar: file tree plus its actions. */
export function FilesPanel({ projectId, canWrite, activeFile, dirty, onOpen, onRenamed, onDeleted }: Props) {
  const { confirm, prompt } = useDialogs()
  const [root, setRoot] = useState<FileNode | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [expanded, setExpanded] = useState<Set<string>>(new Set())
  const [selected, setSelected] = useState<FileNode | null>(null)
  const [dragging, setDragging] = useState(false)
  const [menu, setMenu] = useState<{ node: FileNode; x: number; y: number } | null>(null)
  const closeMenu = useCallback(() => setMenu(null), [])
  const uploadInput = useRef<HTMLInputElement>(null)

  const load = useCallback(async () => {
    try {
      const tree = await api.tree(projectId)
      setRoot(tree)
      setError(null)
      return tree
    } catch (err) {
      setError(errorMessage(err))
      return null
    }
  }, [projectId])
  useEffect(() => {
    load()
  }, [load])
  useEffect(() => { // the agent changed files
    const reload = () => void load()
    window.addEventListener('ecode:files-changed', reload)
    return () => window.removeEventListener('ecode:files-changed', reload)
  }, [load])
  useEffect(() => { // anything else did: a run, a terminal, another member, a restore
    const events = new EventSource(`/api/projects/${encodeURIComponent(projectId)}/tree/events`)
    events.addEventListener('changed', () => void load())
    return () => events.close()
  }, [projectId, load])

  const reveal = (path: string, alsoSelf = false) =>
    setExpanded((s) => new Set([...s, ...ancestors(path), ...(alsoSelf ? [path] : [])]))
  const toggle = (path: string, open?: boolean) =>
    setExpanded((s) => {
      const n = new Set(s)
      if (open ?? !n.has(path)) n.add(path)
      else n.delete(path)
      return n
    })

  /** The folder new things go into: the selected folder, or the selected file's folder. */
  const targetDir = selected ? (selected.type === 'dir' ? selected.path : dirname(selected.path)) : ''
  const where = targetDir ? `in ${targetDir}/` : 'in the project root'

  const run = async (what: () => Promise<void>) => {
    setError(null)
    setNotice(null)
    try {
      await what()
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  const exists = (p: string) => findNode(root, p) !== null
  const validateNew = (name: string) => badPath(joinPath(targetDir, name)) ?? (exists(joinPath(targetDir, name)) ? 'Already exists' : null)

  const newFile = async () => {
    const name = await prompt({ title: 'New file', label: `File name ${where}`, confirmLabel: 'Create', validate: validateNew })
    if (!name) return
    const path = joinPath(targetDir, name)
    await run(async () => {
      await api.writeFile(projectId, path, '')
      reveal(path)
      const tree = await load()
      setSelected(findNode(tree, path))
      onOpen(path)
    })
  }

  const newFolder = async () => {
    const name = await prompt({ title: 'New folder', label: `Folder name ${where}`, confirmLabel: 'Create', validate: validateNew })
    if (!name) return
    const path = joinPath(targetDir, name)
    await run(async () => {
      await api.mkdir(projectId, path)
      reveal(path, true)
      const tree = await load()
      setSelected(findNode(tree, path))
    })
  }

  const rename = async (node: FileNode | null = selected) => {
    if (!node || !canWrite) return
    const start = node.path.length - node.name.length
    const dot = node.type === 'file' ? node.name.lastIndexOf('.') : -1
    const to = await prompt({
      title: node.type === 'dir' ? 'Rename or move folder' : 'Rename or move file',
      label: 'New path (relative to the project root)',
      initial: node.path,
      select: [start, dot > 0 ? start + dot : node.path.length],
      confirmLabel: 'Rename',
      validate: (v) => badPath(v) ?? (v !== node.path && exists(v) ? 'Something with this name already exists' : null)
        ?? (isUnder(v, node.path) && v !== node.path ? 'Cannot move a folder into itself' : null),
    })
    if (!to || to === node.path) return
    await run(async () => {
      await api.move(projectId, node.path, to)
      onRenamed(node.path, to)
      reveal(to)
      const tree = await load()
      setSelected(findNode(tree, to))
    })
  }

  const remove = async (node: FileNode | null = selected) => {
    if (!node || !canWrite) return
    const unsaved = [...dirty].filter((p) => isUnder(p, node.path)).length
    const ok = await confirm({
      title: `Delete ${node.type === 'dir' ? 'folder' : 'file'}?`,
      danger: true,
      confirmLabel: 'Delete',
      message: (
        <>
          <code>{node.path}</code>
          {node.type === 'dir' ? ' and everything in it' : ''} will be deleted. This cannot be undone.
          {unsaved > 0 && <p className="warning-text">Unsaved changes in {unsaved} open file(s) will be lost.</p>}
        </>
      ),
    })
    if (!ok) return
    await run(async () => {
      await api.deleteFile(projectId, node.path)
      onDeleted(node.path)
      setSelected(null)
      await load()
    })
  }

  const uploads = useUploads(projectId, useCallback((dir: string) => {
    if (dir) reveal(dir, true)
    void load()
  }, [load])) // eslint-disable-line react-hooks/exhaustive-deps
  const upload = (files: File[]) => {
    if (files.length === 0 || !canWrite) return
    void uploads.upload(files, targetDir)
  }

  const drop = (e: DragEvent) => {
    e.preventDefault()
    setDragging(false)
    upload([...e.dataTransfer.files])
  }

  return (
    <aside
      className={'files-panel' + (dragging ? ' dragging' : '')}
      aria-label="Project files"
      onDragOver={(e) => {
        if (!canWrite || !e.dataTransfer.types.includes('Files')) return
        e.preventDefault()
        setDragging(true)
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node)) setDragging(false)
      }}
      onDrop={drop}
    >
      <div className="panel-head">
        <span className="panel-title">Files</span>
        <div className="panel-actions" role="toolbar" aria-label="File actions">
          {canWrite && (
            <>
              <button type="button" className="btn btn-icon" aria-label="New file" title={`New file ${where}`} onClick={newFile}>
                <Icon name="newFile" />
              </button>
              <button type="button" className="btn btn-icon" aria-label="New folder" title={`New folder ${where}`} onClick={newFolder}>
                <Icon name="newFolder" />
              </button>
              <button type="button" className="btn btn-icon" aria-label="Upload"
                title={`Upload files ${where}` + (uploads.limit ? ` (up to ${bytesText(uploads.limit)} each)` : '')}
                onClick={() => uploadInput.current?.click()}>
                <Icon name="upload" />
              </button>
              <input ref={uploadInput} type="file" multiple hidden aria-label="Upload files"
                onChange={(e) => {
                  upload([...(e.target.files ?? [])])
                  e.target.value = ''
                }} />
              <button type="button" className="btn btn-icon" aria-label="Rename" title="Rename or move (F2)"
                disabled={!selected} onClick={() => rename()}>
                <Icon name="rename" />
              </button>
              <button type="button" className="btn btn-icon" aria-label="Delete" title="Delete (Del)"
                disabled={!selected} onClick={() => remove()}>
                <Icon name="trash" />
              </button>
            </>
          )}
          <button type="button" className="btn btn-icon" aria-label="Refresh" title="Refresh" onClick={() => run(async () => void (await load()))}>
            <Icon name="refresh" />
          </button>
        </div>
      </div>
      {error && <div className="panel-error" role="alert">{error}</div>}
      {notice && <div className="panel-notice" role="status">{notice}</div>}
      <UploadList items={uploads.items} dismiss={uploads.dismiss} />
      <div className="files-scroll" onClick={(e) => e.target === e.currentTarget && setSelected(null)}>
        {root ? (
          <FileTree root={root} expanded={expanded} selected={selected?.path ?? null} activeFile={activeFile} dirty={dirty}
            onSelect={setSelected} onToggle={toggle} onOpen={onOpen}
            onRename={canWrite ? rename : undefined} onDelete={canWrite ? remove : undefined}
            onContextMenu={canWrite ? (node, x, y) => setMenu({ node, x, y }) : undefined} />
        ) : (
          !error && <div className="tree-empty muted">Loading…</div>
        )}
      </div>
      {menu && (
        <ContextMenu x={menu.x} y={menu.y} onClose={closeMenu} label={`Actions for ${menu.node.path}`}
          items={[
            ...(menu.node.type === 'file' ? [{ label: 'Open', onSelect: () => onOpen(menu.node.path) }] : []),
            { label: 'New file…', onSelect: newFile },
            { label: 'New folder…', onSelect: newFolder },
            { label: 'Upload files…', onSelect: () => uploadInput.current?.click() },
            { label: 'Rename…', onSelect: () => rename(menu.node) },
            { label: 'Delete…', onSelect: () => remove(menu.node), danger: true },
          ]} />
      )}
      {dragging && <div className="drop-hint">Drop to upload {where}{uploads.limit ? ` (up to ${bytesText(uploads.limit)} each)` : ''}</div>}
    </aside>
  )
}
