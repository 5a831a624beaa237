// "What do you want to build?": a prompt creates a project from the fitting template and
// starts the agent on it; or pick a template card and name the project yourself.
import { useEffect, useState, type FormEvent } from 'react'
import { api, ApiError, errorMessage, type Template } from '../../api'
import { navigate } from '../../router'
import { FormError } from '../Field'

/** The prompt waiting for a new project's Agent pane (it sends it once, then forgets it). */
export const startPromptKey = (projectId: string) => `ecode.startPrompt.${projectId}`

export interface StartMode {
  thinking: boolean
  high_power: boolean
  web_search: boolean
}

/** Each template's badge (a short monogram in the language's colour) and language. */
const ICONS: Record<string, { icon: string; color: string; lang: string }> = {
  blank: { icon: '+', color: '#8a93a6', lang: 'Anything' },
  static: { icon: '</>', color: '#e06c4c', lang: 'HTML · CSS · JS' },
  node: { icon: 'JS', color: '#6cc24a', lang: 'JavaScript' },
  python: { icon: 'Py', color: '#4b8bbe', lang: 'Python' },
  go: { icon: 'Go', color: '#00add8', lang: 'Go' },
}

/** A project name from a prompt: its first words, at most 40 characters. */
export function nameFromPrompt(prompt: string): string {
  const words = prompt.replace(/[^\p{L}\p{N}\s-]/gu, ' ').split(/\s+/).filter(Boolean)
  const skip = new Set(['a', 'an', 'the', 'build', 'make', 'create', 'me', 'please', 'i', 'want', 'to', 'write'])
  let name = ''
  for (const w of words) {
    if (!name && skip.has(w.toLowerCase())) continue
    if ((name + ' ' + w).trim().length > 40) break
    name = (name + ' ' + w).trim()
  }
  return name ? name[0].toUpperCase() + name.slice(1) : 'New app'
}

/** Opens a new project's workspace with the Agent pane showing. */
function openOnAgent(projectId: string) {
  const pane = JSON.stringify({ pane: 'agent', mobilePane: 'agent', toolsShown: true })
  localStorage.setItem(`ecode.layout.${projectId}`, pane)
  navigate(`/p/${encodeURIComponent(projectId)}`)
}

const MODE_LABELS = { thinking: 'Extended Thinking', high_power: 'High Power', web_search: 'Web Search' } as const

export function BuildPrompt({ templates }: { templates: Template[] }) {
  const [prompt, setPrompt] = useState('')
  const [mode, setMode] = useState<StartMode>({ thinking: false, high_power: false, web_search: false })
  const [suggested, setSuggested] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

  // The template the prompt points to, shown before the user commits.
  useEffect(() => {
    if (!prompt.trim()) return setSuggested(null)
    let live = true
    const t = setTimeout(() => {
      api.suggestTemplate(prompt).then((id) => live && setSuggested(id), () => live && setSuggested(null))
    }, 250)
    return () => { live = false; clearTimeout(t) }
  }, [prompt])

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const text = prompt.trim()
    if (!text) return setError('Describe what you want to build')
    setBusy(true)
    setError(null)
    try {
      const template = await api.suggestTemplate(text)
      const p = await api.createProject(nameFromPrompt(text), template)
      sessionStorage.setItem(startPromptKey(p.id), JSON.stringify({ prompt: text, mode }))
      openOnAgent(p.id)
    } catch (err) {
      setError(errorMessage(err))
      setBusy(false)
    }
  }
  const toggle = (k: keyof StartMode) => setMode((m) => ({ ...m, [k]: !m[k] }))
  const tname = templates.find((t) => t.id === suggested)?.name
  return (
    <form className="build-prompt" onSubmit={submit} aria-labelledby="build-prompt-title" noValidate>
      <h1 id="build-prompt-title">What do you want to build?</h1>
      <textarea aria-labelledby="build-prompt-title" value={prompt} maxLength={8000}
        placeholder="A landing page for my bakery with opening hours and a contact form…"
        onChange={(e) => { setPrompt(e.target.value); setError(null) }}
        onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); e.currentTarget.form?.requestSubmit() } }} />
      <div className="build-prompt-row">
        {(Object.keys(MODE_LABELS) as (keyof StartMode)[]).map((k) => (
          <button key={k} type="button" className={`agent-toggle small${mode[k] ? ' on' : ''}`} aria-pressed={mode[k]} onClick={() => toggle(k)}>
            {MODE_LABELS[k]}
          </button>
        ))}
        <div className="spacer" />
        {tname && <span className="small muted" data-testid="suggested-template" data-template={suggested}>Starts from: {tname}</span>}
        <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Creating…' : 'Start building'}</button>
      </div>
      <FormError message={error} />
    </form>
  )
}

/** The template cards, and a name for a project made by hand. */
export function TemplateGallery({ templates }: { templates: Template[] }) {
  const [chosen, setChosen] = useState('')
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const pick = chosen || (templates.some((t) => t.id === 'blank') ? 'blank' : (templates[0]?.id ?? ''))

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (!name.trim()) return setError('Give the project a name')
    setBusy(true)
    setError(null)
    try {
      const p = await api.createProject(name.trim(), pick || undefined)
      navigate(`/p/${encodeURIComponent(p.id)}`)
    } catch (err) {
      setError(err instanceof ApiError && err.fields.name ? err.fields.name : errorMessage(err))
      setBusy(false)
    }
  }
  return (
    <form className="new-project" onSubmit={submit} aria-label="New project" noValidate>
      <h2>Or start from a template</h2>
      <div className="template-gallery" role="radiogroup" aria-label="Template">
        {templates.map((t) => (
          <button key={t.id} type="button" role="radio" aria-checked={t.id === pick} className="template-card" data-template={t.id}
            onClick={() => setChosen(t.id)}>
            <span className="tc-head"><span className="tc-icon" aria-hidden="true" style={{ borderColor: ICONS[t.id]?.color, color: ICONS[t.id]?.color }}>{ICONS[t.id]?.icon ?? '•'}</span>{t.name}</span>
            <span className="tc-lang">{ICONS[t.id]?.lang ?? ''}</span>
            <span className="tc-desc">{t.description}</span>
          </button>
        ))}
      </div>
      <div className="new-project-row">
        <div className="field grow">
          <label htmlFor="np-name">Name</label>
          <input id="np-name" value={name} maxLength={100} placeholder="my-app"
            onChange={(e) => { setName(e.target.value); setError(null) }} aria-invalid={error ? true : undefined} />
        </div>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create project'}
        </button>
      </div>
      {error && <div className="field-error">{error}</div>}
    </form>
  )
}
