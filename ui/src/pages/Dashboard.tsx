import { useCallback, useEffect, useMemo, useState } from 'react'
import { api, errorMessage, type Project, type Template } from '../api'
import { BuildPrompt, TemplateGallery } from '../components/dashboard/BuildPrompt'
import { ImportDialog } from '../components/dashboard/ImportDialog'
import { useDialogs } from '../components/Dialogs'
import { FormError } from '../components/Field'
import { RoleBadge } from '../components/RoleBadge'
import { TopBar } from '../components/TopBar'
import { Link } from '../router'
import { useSession } from '../session'
import { fullTime, timeAgo } from '../util'

export function Dashboard() {
  const { user } = useSession()
  const { confirm, prompt } = useDialogs()
  const [projects, setProjects] = useState<Project[] | null>(null)
  const [templates, setTemplates] = useState<Template[]>([])
  const [error, setError] = useState<string | null>(null)
  const [importing, setImporting] = useState(false)

  const load = useCallback(async () => {
    try {
      setProjects(await api.projects())
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [])

  useEffect(() => {
    document.title = 'Projects · E-Code'
    load()
    api.templates().then(setTemplates, (err) => setError(errorMessage(err)))
  }, [load])

  const rename = async (p: Project) => {
    const name = await prompt({ title: 'Rename project', label: 'Project name', initial: p.name, confirmLabel: 'Rename',
      validate: (v) => (v.length > 100 ? 'At most 100 characters' : null) })
    if (!name || name === p.name) return
    try {
      const updated = await api.renameProject(p.id, name)
      setProjects((ps) => ps?.map((x) => (x.id === p.id ? updated : x)) ?? null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  const remove = async (p: Project) => {
    const ok = await confirm({ title: 'Delete project?', danger: true, confirmLabel: 'Delete project',
      message: <>“{p.name}” and all its files will be deleted for every member. This cannot be undone.</> })
    if (!ok) return
    try {
      await api.deleteProject(p.id)
      setProjects((ps) => ps?.filter((x) => x.id !== p.id) ?? null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  const templateName = (id: string) => templates.find((t) => t.id === id)?.name ?? id
  const [query, setQuery] = useState('')
  const [sort, setSort] = useState<Sort>(() => (localStorage.getItem('ecode.projectSort') as Sort) || 'updated')
  useEffect(() => localStorage.setItem('ecode.projectSort', sort), [sort])
  const shown = useMemo(() => sortProjects((projects ?? []).filter((p) => p.name.toLowerCase().includes(query.trim().toLowerCase())), sort),
    [projects, query, sort])

  return (
    <div className="page">
      <TopBar />
      <main className="dashboard">
        <BuildPrompt templates={templates} />
        <TemplateGallery templates={templates} />
        <FormError message={error} />
        <section aria-labelledby="projects-title">
          <div className="project-tools">
            <h2 id="projects-title">{user?.name ? `${user.name.split(' ')[0]}’s projects` : 'Your projects'}</h2>
            <div className="field">
              <label htmlFor="project-search">Search</label>
              <input id="project-search" type="search" value={query} placeholder="Project name…" onChange={(e) => setQuery(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="project-sort">Sort by</label>
              <select id="project-sort" value={sort} onChange={(e) => setSort(e.target.value as Sort)}>
                <option value="updated">Last updated</option>
                <option value="name">Name</option>
                <option value="created">Newest</option>
              </select>
            </div>
            <button type="button" className="btn" onClick={() => setImporting(true)}>Import</button>
          </div>
          {projects === null ? (
            !error && <p className="muted">Loading projects…</p>
          ) : projects.length === 0 ? (
            <div className="empty-state">
              <h2>No projects yet</h2>
              <p className="muted">Create one above, from a template or from scratch.</p>
            </div>
          ) : shown.length === 0 ? (
            <p className="muted">No project matches “{query}”.</p>
          ) : (
            <table className="project-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col" className="col-template">Template</th>
                  <th scope="col" className="col-role">Role</th>
                  <th scope="col" className="col-updated">Updated</th>
                  <th scope="col" className="col-actions"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {shown.map((p) => (
                  <tr key={p.id} data-project-id={p.id}>
                    <td className="project-name">
                      <Link href={`/p/${encodeURIComponent(p.id)}`} title={p.name}>{p.name}</Link>
                    </td>
                    <td className="muted">{p.template ? templateName(p.template) : '—'}</td>
                    <td><RoleBadge role={p.role} /></td>
                    <td className="muted" title={fullTime(p.updated_at)}>{timeAgo(p.updated_at)}</td>
                    <td className="row-actions">
                      <Link href={`/p/${encodeURIComponent(p.id)}`} className="btn btn-small">Open</Link>
                      {p.role !== 'viewer' && (
                        <button type="button" className="btn btn-small" onClick={() => rename(p)} aria-label={`Rename ${p.name}`}>
                          Rename
                        </button>
                      )}
                      {p.role === 'owner' && (
                        <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => remove(p)}
                          aria-label={`Delete ${p.name}`}>
                          Delete
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        {importing && <ImportDialog onClose={() => setImporting(false)} onImported={load} />}
      </main>
    </div>
  )
}

type Sort = 'updated' | 'name' | 'created'

function sortProjects(ps: Project[], sort: Sort): Project[] {
  const by: Record<Sort, (a: Project, b: Project) => number> = {
    updated: (a, b) => b.updated_at.localeCompare(a.updated_at),
    created: (a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''),
    name: (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }),
  }
  return [...ps].sort(by[sort])
}
