import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { errorMessage } from '../api'
import { FormError } from '../components/Field'
import { Link } from '../router'
import { timeAgo } from '../util'
import { statusApi, type Incident } from './opsApi'

/** Admin: post an incident on the status page, resolve open ones. */
export function IncidentsPanel() {
  const [incidents, setIncidents] = useState<Incident[] | null>(null)
  const [title, setTitle] = useState('')
  const [body, setBody] = useState('')
  const [error, setError] = useState<string | null>(null)
  const load = useCallback(() => {
    statusApi.status().then((r) => setIncidents(r.incidents), (e) => setError(errorMessage(e)))
  }, [])
  useEffect(load, [load])
  const post = (e: FormEvent) => {
    e.preventDefault()
    statusApi.postIncident(title, body).then(() => {
      setTitle('')
      setBody('')
      load()
    }, (err) => setError(errorMessage(err)))
  }
  const resolve = (id: string) => statusApi.resolveIncident(id).then(load, (err) => setError(errorMessage(err)))
  return (
    <section className="card" aria-labelledby="incidents-admin-h">
      <h2 id="incidents-admin-h">Incidents</h2>
      <p className="muted">What you post here shows on the public <Link href="/status">status page</Link>.</p>
      <form onSubmit={post} className="incident-form">
        <label className="field">
          <span>Incident title</span>
          <input value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
        </label>
        <label className="field">
          <span>What is happening</span>
          <textarea value={body} onChange={(e) => setBody(e.target.value)} maxLength={4000} rows={3} />
        </label>
        <button type="submit" className="btn btn-primary">Post incident</button>
      </form>
      <FormError message={error} />
      {incidents && incidents.length > 0 && (
        <ul className="item-list" aria-label="Posted incidents">
          {incidents.map((i) => (
            <li key={i.id} className="item">
              <div className="item-main">
                <div className="item-title">{i.title}</div>
                <div className="item-sub muted">{timeAgo(i.at)}{i.resolved_at ? ' · resolved' : ' · ongoing'}</div>
              </div>
              {!i.resolved_at && <button type="button" className="btn" onClick={() => resolve(i.id)}>Resolve {i.title}</button>}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
