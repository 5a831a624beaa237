import { useEffect, useId, useState, type FormEvent } from 'react'
import { ApiError, errorMessage, providerApi, type ProviderKind, type ProviderSettings } from '../../api'
import { FormError, sentence } from '../Field'

const sourceText: Record<ProviderSettings['source'], string> = {
  settings: 'Configured here.',
  environment: "From the server's environment; saving here takes precedence.",
  none: 'No provider yet: the AI agent is off until you add one.',
}

/** Admin only: the AI agent's model provider, stored on the server (the API key encrypted). */
export function ProviderSection() {
  const id = useId()
  const [cur, setCur] = useState<ProviderSettings | null>(null)
  const [provider, setProvider] = useState<ProviderKind>('anthropic')
  const [baseURL, setBaseURL] = useState('')
  const [apiKey, setApiKey] = useState('')
  const [clearKey, setClearKey] = useState(false)
  const [model, setModel] = useState('')
  const [highPower, setHighPower] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [fields, setFields] = useState<Record<string, string>>({})
  const [saved, setSaved] = useState(false)
  const [test, setTest] = useState<{ ok: boolean; error?: string } | null>(null)

  const load = (s: ProviderSettings) => {
    setCur(s)
    setProvider(s.provider || 'anthropic')
    setBaseURL(s.base_url)
    setModel(s.model)
    setHighPower(s.high_power_model)
    setApiKey('')
    setClearKey(false)
  }
  useEffect(() => {
    providerApi.get().then(load, (e) => setError(errorMessage(e)))
  }, [])

  const save = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setSaved(false)
    setTest(null)
    try {
      const key = clearKey ? '' : apiKey.trim() || undefined
      load(await providerApi.put({ provider, base_url: baseURL.trim(), api_key: key, model: model.trim(), high_power_model: highPower.trim() }))
      setError(null)
      setFields({})
      setSaved(true)
    } catch (err) {
      setFields(err instanceof ApiError ? err.fields : {})
      setError(err instanceof ApiError && Object.keys(err.fields).length ? null : errorMessage(err))
    } finally {
      setBusy(false)
    }
  }

  const runTest = async () => {
    setBusy(true)
    setTest(null)
    try {
      setTest(await providerApi.test())
    } catch (err) {
      setTest({ ok: false, error: errorMessage(err) })
    } finally {
      setBusy(false)
    }
  }

  const keyHint = clearKey ? 'The key will be removed when you save.'
    : cur?.api_key_set ? `A key is set (${cur.api_key_hint || 'hidden'}). Leave empty to keep it.`
    : provider === 'anthropic' ? 'Required for Anthropic.' : 'Optional for local servers such as Ollama.'
  const models = cur?.anthropic_models ?? []
  const err = (f: string) => fields[f] && <div className="field-error">{sentence(fields[f])}</div>

  return (
    <section className="card" aria-labelledby={id + '-h'} id="ai-provider" data-testid="provider-section">
      <h2 id={id + '-h'}>AI provider</h2>
      <p className="muted" data-testid="provider-source">{cur ? sourceText[cur.source] : 'Loading…'}</p>
      <form onSubmit={save} noValidate>
        <div className="field">
          <label htmlFor={id + '-kind'}>Provider</label>
          <select id={id + '-kind'} value={provider} onChange={(e) => setProvider(e.target.value as ProviderKind)}>
            <option value="anthropic">Anthropic</option>
            <option value="openai">OpenAI-compatible (Ollama, vLLM, llama.cpp, OpenAI)</option>
          </select>
          {err('provider')}
        </div>
        <div className="field">
          <label htmlFor={id + '-url'}>Base URL</label>
          <input id={id + '-url'} value={baseURL} onChange={(e) => setBaseURL(e.target.value)}
            placeholder={provider === 'anthropic' ? 'https://api.anthropic.com (default)' : 'http://localhost:11434/v1'} />
          {err('base_url')}
        </div>
        <div className="field">
          <label htmlFor={id + '-key'}>API key</label>
          <div className="row">
            <input id={id + '-key'} type="password" autoComplete="off" value={apiKey} disabled={clearKey}
              placeholder={cur?.api_key_set ? `set ${cur.api_key_hint}` : ''}
              onChange={(e) => setApiKey(e.target.value)} />
            {cur?.api_key_set && (
              <button type="button" className="btn btn-small" aria-pressed={clearKey} onClick={() => { setClearKey(!clearKey); setApiKey('') }}>
                {clearKey ? 'Keep' : 'Clear'}
              </button>
            )}
          </div>
          {err('api_key') || <div className="field-hint" data-testid="provider-key-hint">{keyHint}</div>}
        </div>
        {provider === 'anthropic' ? (
          <>
            <div className="field">
              <label htmlFor={id + '-model'}>Default model</label>
              <select id={id + '-model'} value={model} onChange={(e) => setModel(e.target.value)}>
                <option value="">Default (claude-sonnet-5-5)</option>
                {models.map((m) => <option key={m} value={m}>{m}</option>)}
              </select>
              {err('model')}
            </div>
            <div className="field">
              <label htmlFor={id + '-hp'}>High Power model</label>
              <select id={id + '-hp'} value={highPower} onChange={(e) => setHighPower(e.target.value)}>
                <option value="">Default (claude-opus-5-5)</option>
                {models.map((m) => <option key={m} value={m}>{m}</option>)}
              </select>
              {err('high_power_model')}
            </div>
          </>
        ) : (
          <>
            <div className="field">
              <label htmlFor={id + '-model'}>Default model</label>
              <input id={id + '-model'} value={model} placeholder="qwen3-coder" onChange={(e) => setModel(e.target.value)} />
              {err('model')}
            </div>
            <div className="field">
              <label htmlFor={id + '-hp'}>High Power model (optional)</label>
              <input id={id + '-hp'} value={highPower} placeholder="the default model" onChange={(e) => setHighPower(e.target.value)} />
              {err('high_power_model')}
            </div>
          </>
        )}
        <FormError message={error} />
        <div className="row">
          <button type="submit" className="btn btn-primary" disabled={busy}>Save</button>
          <button type="button" className="btn" disabled={busy || cur?.source === 'none'} onClick={runTest}>Test connection</button>
          {saved && <span className="small muted" role="status">Saved.</span>}
        </div>
        {test && (
          <div className={`callout${test.ok ? ' callout-accent' : ''}`} role="status" data-testid="provider-test">
            {test.ok ? 'Connection works: the model answered.' : `Connection failed: ${test.error ?? 'unknown error'}`}
          </div>
        )}
      </form>
    </section>
  )
}
