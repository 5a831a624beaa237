import { useEffect, useState } from 'react'
import { api, ApiError, errorMessage, type Project } from '../api'
import { Icon } from '../components/Icon'
import { RoleBadge } from '../components/RoleBadge'
import { TopBar } from '../components/TopBar'
import { EditorArea } from '../components/workspace/EditorArea'
import { FilesPanel } from '../components/workspace/FilesPanel'
import { MembersDialog } from '../components/workspace/MembersDialog'
import { PanePanel } from '../components/workspace/PanePanel'
import { RunButton } from '../components/workspace/RunButton'
import { Splitter } from '../components/workspace/Splitter'
import { useOpenFiles } from '../components/workspace/useOpenFiles'
import { useDialogs } from '../components/Dialogs'
import { PresenceList } from '../collab/PresenceList'
import { RunProvider } from '../panes/run'
import { Link, setNavigationGuard } from '../router'
import { basename, isUnder } from '../util'
import { NotFound } from './NotFound'

export default function Workspace({ id }: { id: string }) {
  const [project, setProject] = useState<Project | null>(null)
  const [error, setError] = useState<unknown>(null)
  useEffect(() => {
    api.project(id).then(setProject, setError)
  }, [id])
  useEffect(() => {
    document.title = (project ? project.name : 'Project') + ' · E-Code'
  }, [project])

  if (error instanceof ApiError && error.status === 404) {
    return <NotFound title="Project not found" detail="This project does not exist, or you are not a member of it." />
  }
  if (error) {
    return <NotFound title="Could not open the project" detail={errorMessage(error)} />
  }
  if (!project) return <div className="center-screen muted">Opening project…</div>
  return <WorkspaceView project={project} />
}

function useStoredSize(key: string, initial: number) {
  const [size, setSize] = useState(() => Number(localStorage.getItem(key)) || initial)
  useEffect(() => localStorage.setItem(key, String(size)), [key, size])
  return [size, setSize] as const
}

function useStoredFlag(key: string, initial: boolean) {
  const [on, setOn] = useState(() => (localStorage.getItem(key) ?? String(initial)) === 'true')
  useEffect(() => localStorage.setItem(key, String(on)), [key, on])
  return [on, setOn] as const
}

function WorkspaceView({ project }: { project: Project }) {
  const { confirm } = useDialogs()
  const canWrite = project.role !== 'viewer'
  const files = useOpenFiles(project.id, !canWrite)
  const [showMembers, setShowMembers] = useState(false)
  const [sideWidth, setSideWidth] = useStoredSize('ecode.sideWidth', 250)
  const [paneWidth, setPaneWidth] = useStoredSize('ecode.paneWidth', 400)
  const [toolsShown, setToolsShown] = useStoredFlag('ecode.toolsShown', true)
  const dirty = new Set(files.tabs.filter((t) => t.dirty).map((t) => t.path))

  const closeTab = async (path: string) => {
    if (dirty.has(path)) {
      const ok = await confirm({
        title: 'Close without saving?',
        message: <><code>{basename(path)}</code> has unsaved changes. They will be lost.</>,
        confirmLabel: 'Close without saving',
        danger: true,
      })
      if (!ok) return
    }
    files.close([path])
  }

  // Leaving the workspace in-app with unsaved files asks first (closing the browser tab: see useOpenFiles).
  const unsaved = dirty.size
  useEffect(() => {
    if (unsaved === 0) return
    return setNavigationGuard(() =>
      confirm({
        title: 'Leave with unsaved changes?',
        message: `${unsaved} open file${unsaved === 1 ? ' has' : 's have'} unsaved changes. They will be lost.`,
        confirmLabel: 'Leave without saving',
        danger: true,
      }),
    )
  }, [unsaved, confirm])

  // Ctrl/Cmd-S anywhere in the workspace saves the active file (the editor handles it itself when focused).
  const { active, save } = files
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 's' && !e.defaultPrevented) {
        e.preventDefault()
        if (active && canWrite) save(active)
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [active, save, canWrite])

  return (
    <RunProvider projectId={project.id} canRun={canWrite}>
      <div className="page workspace-page">
        <TopBar>
          <Link href="/" className="btn btn-ghost" aria-label="Back to projects"><Icon name="back" /></Link>
          <h1 className="project-title" title={project.name}>{project.name}</h1>
          <RoleBadge role={project.role} />
          {!canWrite && <span className="muted small">read-only</span>}
          <div className="spacer" />
          <RunButton />
          <div className="spacer" />
          <PresenceList projectId={project.id} activeFile={files.active} />
          <button type="button" className="btn btn-ghost" aria-pressed={toolsShown}
            title="Show or hide the Console, Terminal, Preview, Agent and Checkpoints panel"
            onClick={() => setToolsShown(!toolsShown)}>
            <Icon name="panel" /> Tools
          </button>
          <button type="button" className="btn btn-ghost" onClick={() => setShowMembers(true)}>
            <Icon name="users" /> Members
          </button>
          <a className="btn btn-ghost" href={api.zipUrl(project.id)} download>
            <Icon name="download" /> Download zip
          </a>
        </TopBar>
        <div className="workspace" style={{ gridTemplateColumns: `${sideWidth}px 4px minmax(240px, 1fr)` + (toolsShown ? ` 4px ${paneWidth}px` : '') }}>
          <FilesPanel
            projectId={project.id}
            canWrite={canWrite}
            activeFile={files.active}
            dirty={dirty}
            onOpen={files.open}
            onRenamed={files.renamed}
            onDeleted={(p) => files.close(files.tabs.filter((t) => isUnder(t.path, p)).map((t) => t.path))}
          />
          <Splitter size={sideWidth} min={160} max={520} direction={1} onResize={setSideWidth} label="Resize file panel" />
          <EditorArea projectId={project.id} files={files} canWrite={canWrite} onClose={closeTab} />
          {toolsShown && (
            <Splitter size={paneWidth} min={240} max={900} direction={-1} onResize={setPaneWidth} label="Resize tool panel" />
          )}
          <PanePanel project={project} canWrite={canWrite} hidden={!toolsShown} />
        </div>
        {showMembers && <MembersDialog project={project} onClose={() => setShowMembers(false)} />}
      </div>
    </RunProvider>
  )
}
