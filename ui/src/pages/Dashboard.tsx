import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { api, ApiError, errorMessage, type Project, type Template } from '../api'
import { useDialogs } from '../components/Dialogs'
import { FormError } from '../components/Field'
import { Icon } from '../components/Icon'
import { RoleBadge } from '../components/RoleBadge'
import { TopBar } from '../components/TopBar'
import { Link, navigate } from '../router'
import { useSession } from '../session'
import { fullTime, timeAgo } from '../util'

export function Dashboard() {
  const { user } = useSession()
  const { confirm, prompt } = useDialogs()
  const [projects, setProjects] = useState<Project[] | null>(null)
  const [templates, setTemplates] = useState<Template[]>([])
  const [error, setError] = useState<string | null>(null)

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

  return (
    <div className="page">
      <TopBar />
      <main className="dashboard">
        <div className="dashboard-head">
          <h1>{user?.name ? `${user.name.split(' ')[0]}’s projects` : 'Projects'}</h1>
        </div>
        <NewProjectForm templates={templates} />
        <FormError message={error} />
        <section aria-label="Projects">
          {projects === null ? (
            !error && <p className="muted">Loading projects…</p>
          ) : projects.length === 0 ? (
            <div className="empty-state">
              <h2>No projects yet</h2>
              <p className="muted">Create one above, from a template or from scratch.</p>
            </div>
          ) : (
            <table className="project-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Template</th>
                  <th scope="col">Role</th>
                  <th scope="col">Updated</th>
                  <th scope="col"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {projects.map((p) => (
                  <tr key={p.id} data-project-id={p.id}>
                    <td className="project-name">
                      <Link href={`/p/${encodeURIComponent(p.id)}`}>{p.name}</Link>
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
      </main>
    </div>
  )
}

function NewProjectForm({ templates }: { templates: Template[] }) {
  const [name, setName] = useState('')
  const [template, setTemplate] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const chosen = template || (templates.some((t) => t.id === 'blank') ? 'blank' : (templates[0]?.id ?? ''))
  const description = templates.find((t) => t.id === chosen)?.description

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (!name.trim()) return setError('Give the project a name')
    setBusy(true)
    setError(null)
    try {
      const p = await api.createProject(name.trim(), chosen || undefined)
      navigate(`/p/${encodeURIComponent(p.id)}`)
    } catch (err) {
      setError(err instanceof ApiError && err.fields.name ? err.fields.name : errorMessage(err))
      setBusy(false)
    }
  }

  return (
    <form className="new-project" onSubmit={submit} aria-label="New project" noValidate>
      <h2><Icon name="plus" /> New project</h2>
      <div className="new-project-row">
        <div className="field grow">
          <label htmlFor="np-name">Name</label>
          <input id="np-name" value={name} maxLength={100} placeholder="my-app"
            onChange={(e) => { setName(e.target.value); setError(null) }} aria-invalid={error ? true : undefined} />
        </div>
        <div className="field">
          <label htmlFor="np-template">Template</label>
          <select id="np-template" value={chosen} onChange={(e) => setTemplate(e.target.value)}>
            {templates.map((t) => (
              <option key={t.id} value={t.id}>{t.name}</option>
            ))}
          </select>
        </div>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create project'}
        </button>
      </div>
      {error ? <div className="field-error">{error}</div> : description ? <div className="field-hint">{description}</div> : null}
    </form>
  )
}
