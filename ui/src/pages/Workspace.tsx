import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { api, ApiError, errorMessage, type Project } from '../api'
import { Icon } from '../components/Icon'
import { RoleBadge } from '../components/RoleBadge'
import { TopBar } from '../components/TopBar'
import { EditorArea } from '../components/workspace/EditorArea'
import { FilesPanel } from '../components/workspace/FilesPanel'
import { defaultFile, useLayout } from '../components/workspace/layout'
import { MembersDialog } from '../components/workspace/MembersDialog'
import { MobileBar } from '../components/workspace/MobileBar'
import { PanePanel } from '../components/workspace/PanePanel'
import { CommandPalette, paneCommands, ProjectSearch, QuickOpen, type Command, type Picker } from '../components/workspace/pickers'
import { RunButton } from '../components/workspace/RunButton'
import { Splitter } from '../components/workspace/Splitter'
import { useOpenFiles } from '../components/workspace/useOpenFiles'
import { useDialogs } from '../components/Dialogs'
import { PresenceList } from '../collab/PresenceList'
import { SHOW_CHECKPOINT_EVENT } from '../panes/checkpoints/events'
import { isActive, RunProvider, useRun } from '../panes/run'
import { Link, navigate, setNavigationGuard } from '../router'
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
  return (
    <RunProvider projectId={project.id} canRun={project.role !== 'viewer'}>
      <WorkspaceView project={project} />
    </RunProvider>
  )
}

/** True while the viewport is narrower than 768 px (phones, small tablets). */
function useNarrow() {
  const query = '(max-width: 767px)'
  const [narrow, setNarrow] = useState(() => window.matchMedia(query).matches)
  useEffect(() => {
    const m = window.matchMedia(query)
    const on = () => setNarrow(m.matches)
    m.addEventListener('change', on)
    return () => m.removeEventListener('change', on)
  }, [])
  return narrow
}

const isMac = /Mac|iPhone|iPad/.test(navigator.platform)
const mod = isMac ? '⌘' : 'Ctrl+'

function WorkspaceView({ project }: { project: Project }) {
  const { confirm } = useDialogs()
  const canWrite = project.role !== 'viewer'
  const files = useOpenFiles(project.id, !canWrite)
  const run = useRun()
  const narrow = useNarrow()
  const { layout, update, saveNow, restored } = useLayout(project.id)
  const [showMembers, setShowMembers] = useState(false)
  const [picker, setPicker] = useState<Picker>(null)
  const dirty = new Set(files.tabs.filter((t) => t.dirty).map((t) => t.path))

  // Open files: the tabs of the last visit (cursors where they were), else the project's entry file.
  const { open, openAt, setActive } = files
  const opened = useRef(false)
  const [, setOpened] = useState(false)
  useEffect(() => {
    let cancelled = false
    ;(async () => {
      let tabs = layout.tabs
      if (!restored || tabs.length === 0) {
        const paths = (await api.tree(project.id).catch(() => null))?.children?.filter((c) => c.type === 'file').map((c) => c.path) ?? []
        const first = defaultFile(paths)
        tabs = first ? [first] : []
      }
      for (const p of tabs) {
        if (cancelled) return
        await openAt(p, { offset: layout.cursors[p] ?? 0 })
      }
      if (cancelled) return
      if (layout.active && tabs.includes(layout.active)) setActive(layout.active)
      opened.current = true
      setOpened(true)
    })()
    return () => { cancelled = true }
  }, [project.id]) // eslint-disable-line react-hooks/exhaustive-deps

  // Remember the open tabs, the active one and the cursors.
  const tabPaths = files.tabs.map((t) => t.path).join('\n')
  const { cursorOf } = files
  useEffect(() => {
    const state = () => {
      const cursors: Record<string, number> = {}
      for (const p of files.tabs) cursors[p.path] = cursorOf(p.path) ?? 0
      return { tabs: files.tabs.map((t) => t.path), active: files.active, cursors }
    }
    if (!opened.current) return // not before the last visit's tabs are back
    update(state())
    const t = setInterval(() => update(state()), 2000)
    const leave = () => saveNow(state())
    window.addEventListener('pagehide', leave)
    return () => { clearInterval(t); window.removeEventListener('pagehide', leave); saveNow(state()) }
  }, [tabPaths, files.active, opened.current]) // eslint-disable-line react-hooks/exhaustive-deps

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

  const showPane = useCallback((id: string) => update(narrow ? { mobilePane: id } : { pane: id, toolsShown: true }), [narrow]) // eslint-disable-line react-hooks/exhaustive-deps
  const openFile = useCallback((path: string) => {
    void open(path)
    if (narrow) update({ mobilePane: 'editor' })
  }, [open, narrow]) // eslint-disable-line react-hooks/exhaustive-deps
  const openLine = useCallback((path: string, line: number, col: number) => {
    void openAt(path, { line, col })
    if (narrow) update({ mobilePane: 'editor' })
  }, [openAt, narrow]) // eslint-disable-line react-hooks/exhaustive-deps

  // "Open checkpoint" in an agent turn shows the Checkpoints pane (which selects it).
  useEffect(() => {
    const show = () => showPane('checkpoints')
    window.addEventListener(SHOW_CHECKPOINT_EVENT, show)
    return () => window.removeEventListener(SHOW_CHECKPOINT_EVENT, show)
  }, [showPane])

  const { active, save } = files
  const runNow = useCallback(() => {
    if (!run.canRun) return
    if (isActive(run.state)) void run.run() // Restart
    else void run.run()
    if (narrow) update({ mobilePane: 'console' })
    else if (layout.pane !== 'preview') update({ pane: 'console', toolsShown: true })
  }, [run, narrow, layout.pane]) // eslint-disable-line react-hooks/exhaustive-deps

  // Workspace shortcuts, taken before the editor sees them (CodeMirror binds Mod-Enter itself).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey || e.defaultPrevented) return
      const k = e.key.toLowerCase()
      let act: (() => void) | null = null
      if (k === 'enter' && !e.shiftKey) act = runNow
      else if (k === 'p' && !e.shiftKey) act = () => setPicker('files')
      else if (k === 'f' && e.shiftKey) act = () => setPicker('search')
      else if (k === 'k' && !e.shiftKey) act = () => setPicker('commands')
      else if (k === 's' && !e.shiftKey) act = () => { if (active && canWrite) void save(active) }
      if (!act) return
      e.preventDefault()
      e.stopPropagation()
      act()
    }
    window.addEventListener('keydown', onKey, true)
    return () => window.removeEventListener('keydown', onKey, true)
  }, [active, save, canWrite, runNow])

  const commands = useMemo<Command[]>(() => [
    ...(run.canRun ? [
      { id: 'run', label: isActive(run.state) ? 'Restart the app' : 'Run the app', shortcut: `${mod}Enter`, run: runNow },
      ...(isActive(run.state) ? [{ id: 'stop', label: 'Stop the app', run: () => void run.stop() }] : []),
    ] : []),
    { id: 'open', label: 'Open file…', shortcut: `${mod}P`, run: () => setPicker('files') },
    { id: 'search', label: 'Search in project…', shortcut: `${mod}Shift+F`, run: () => setPicker('search') },
    ...(active && canWrite ? [{ id: 'save', label: 'Save file', shortcut: `${mod}S`, run: () => void save(active) }] : []),
    ...paneCommands(showPane),
    { id: 'files', label: 'Show Files', run: () => (narrow ? update({ mobilePane: 'files' }) : document.querySelector<HTMLElement>('.files-panel [role="tree"]')?.focus()) },
    { id: 'tools', label: layout.toolsShown ? 'Hide the tool panel' : 'Show the tool panel', run: () => update({ toolsShown: !layout.toolsShown }) },
    { id: 'max', label: layout.maximized ? 'Restore the tool panel size' : 'Maximise the tool panel', run: () => update({ maximized: !layout.maximized, toolsShown: true }) },
    { id: 'members', label: 'Members…', run: () => setShowMembers(true) },
    { id: 'zip', label: 'Download zip', run: () => { location.href = api.zipUrl(project.id) } },
    { id: 'home', label: 'Back to projects', run: () => navigate('/') },
  ], [run, runNow, active, canWrite, save, showPane, narrow, layout.toolsShown, layout.maximized, project.id]) // eslint-disable-line react-hooks/exhaustive-deps

  const toolsShown = layout.toolsShown || layout.maximized
  const maximized = layout.maximized && !narrow
  const columns = maximized ? '1fr'
    : `${layout.sideWidth}px 6px minmax(240px, 1fr)` + (toolsShown ? ` 6px ${layout.paneWidth}px` : '')
  const mp = layout.mobilePane
  const paneShown = narrow ? !['files', 'editor'].includes(mp) : toolsShown
  const panePicked = narrow && paneShown ? mp : layout.pane

  return (
    <div className={'page workspace-page' + (narrow ? ' narrow' : '')}>
      <TopBar>
        <Link href="/" className="btn btn-ghost" aria-label="Back to projects"><Icon name="back" /></Link>
        <h1 className="project-title" title={project.name}>{project.name}</h1>
        <RoleBadge role={project.role} />
        {!canWrite && <span className="muted small">read-only</span>}
        <div className="spacer" />
        <RunButton title={`Run the app (${mod}Enter)`} />
        <div className="spacer" />
        <PresenceList projectId={project.id} activeFile={files.active} />
        <button type="button" className="btn btn-ghost" aria-label="Search in project" title={`Search in project (${mod}Shift+F)`} onClick={() => setPicker('search')}>
          <Icon name="search" />
        </button>
        <button type="button" className="btn btn-ghost hide-narrow" title={`Commands (${mod}K)`} onClick={() => setPicker('commands')}>
          <kbd>{mod}K</kbd><span className="sr-only">Commands</span>
        </button>
        {!narrow && (
          <button type="button" className="btn btn-ghost" aria-pressed={toolsShown}
            title="Show or hide the Console, Terminal, Preview, Agent and Checkpoints panel"
            onClick={() => update({ toolsShown: !toolsShown, maximized: false })}>
            <Icon name="panel" /> Tools
          </button>
        )}
        <button type="button" className="btn btn-ghost" aria-label="Members" onClick={() => setShowMembers(true)}>
          <Icon name="users" /> <span className="hide-narrow">Members</span>
        </button>
        <a className="btn btn-ghost hide-narrow" href={api.zipUrl(project.id)} download>
          <Icon name="download" /> Download zip
        </a>
      </TopBar>
      <div className={'workspace' + (maximized ? ' tools-maximized' : '')} data-mobile-pane={narrow ? mp : undefined}
        style={narrow ? undefined : { gridTemplateColumns: columns }}>
        <div className="ws-cell ws-files" hidden={narrow ? mp !== 'files' : maximized}>
          <FilesPanel
            projectId={project.id}
            canWrite={canWrite}
            activeFile={files.active}
            dirty={dirty}
            onOpen={openFile}
            onRenamed={files.renamed}
            onDeleted={(p) => files.close(files.tabs.filter((t) => isUnder(t.path, p)).map((t) => t.path))}
          />
        </div>
        {!narrow && !maximized && (
          <Splitter size={layout.sideWidth} min={160} max={520} direction={1} onResize={(w) => update({ sideWidth: w })} label="Resize file panel" />
        )}
        <div className="ws-cell ws-editor" hidden={narrow ? mp !== 'editor' : maximized}>
          <EditorArea projectId={project.id} files={files} canWrite={canWrite} onClose={closeTab} />
        </div>
        {!narrow && !maximized && toolsShown && (
          <Splitter size={layout.paneWidth} min={260} max={Math.max(600, window.innerWidth - 500)} direction={-1}
            onResize={(w) => update({ paneWidth: w })} label="Resize tool panel" />
        )}
        <div className="ws-cell ws-tools" hidden={!paneShown}>
          <PanePanel project={project} canWrite={canWrite} hidden={!paneShown} active={panePicked}
            onPick={(id) => update({ pane: id })} maximized={maximized} bare={narrow}
            onMaximize={(on) => update({ maximized: on })} />
        </div>
      </div>
      {narrow && <MobileBar active={mp} onPick={(id) => update({ mobilePane: id })} />}
      {showMembers && <MembersDialog project={project} onClose={() => setShowMembers(false)} />}
      {picker === 'files' && <QuickOpen projectId={project.id} onOpen={openFile} onClose={() => setPicker(null)} />}
      {picker === 'search' && <ProjectSearch projectId={project.id} onOpen={openLine} onClose={() => setPicker(null)} />}
      {picker === 'commands' && <CommandPalette commands={commands} onClose={() => setPicker(null)} />}
    </div>
  )
}
