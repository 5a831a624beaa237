import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { errorMessage, json } from '../api'
import './domains.css'

/** A DNS record the user creates at their DNS provider. */
export interface DomainRecord {
  type: string
  name: string
  value: string
}

/** A deployment's custom domain (GET /api/projects/{id}/deployment/domains). */
export interface CustomDomain {
  domain: string
  status: 'pending' | 'verified'
  reason?: string
  records: DomainRecord[]
  certificate: { status: 'none' | 'pending' | 'issued' | 'failed'; error?: string; not_after?: string }
  created_at: string
  checked_at?: string
  verified_at?: string
}

const base = (projectId: string) => `/api/projects/${encodeURIComponent(projectId)}/deployment/domains`

export const domainsApi = {
  list: (projectId: string) => json<CustomDomain[]>('GET', base(projectId)),
  add: (projectId: string, domain: string) => json<CustomDomain>('POST', base(projectId), { domain }),
  verify: (projectId: string, domain: string) =>
    json<CustomDomain>('POST', `${base(projectId)}/${encodeURIComponent(domain)}/verify`),
  remove: (projectId: string, domain: string) =>
    json<void>('DELETE', `${base(projectId)}/${encodeURIComponent(domain)}`),
}

function certText(d: CustomDomain): string {
  const c = d.certificate
  if (d.status !== 'verified') return ''
  switch (c.status) {
    case 'issued':
      return `HTTPS certificate valid until ${c.not_after ? new Date(c.not_after).toLocaleDateString() : '?'}`
    case 'pending':
      return 'Obtaining an HTTPS certificate…'
    case 'failed':
      return `Certificate failed: ${c.error ?? 'unknown error'} (it will be retried; Verify retries now)`
  }
  return c.error ?? 'No certificate'
}

/** Custom domains of a deployment: add one, see the DNS records to create, verify, remove. */
export function DeployDomains({ projectId, canWrite = true }: { projectId: string; canWrite?: boolean }) {
  const [items, setItems] = useState<CustomDomain[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [name, setName] = useState('')
  const [busy, setBusy] = useState<string | null>(null)

  const load = useCallback(async () => {
    try {
      setItems(await domainsApi.list(projectId))
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [projectId])
  useEffect(() => {
    load()
  }, [load])
  // While a certificate is being obtained, look again every few seconds.
  const waiting = items?.some((d) => d.status === 'verified' && d.certificate.status === 'pending')
  useEffect(() => {
    if (!waiting) return
    const t = setInterval(load, 3000)
    return () => clearInterval(t)
  }, [waiting, load])

  const act = async (key: string, fn: () => Promise<unknown>) => {
    setBusy(key)
    try {
      await fn()
      setError(null)
      await load()
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(null)
    }
  }
  const add = (e: FormEvent) => {
    e.preventDefault()
    act('add', async () => {
      await domainsApi.add(projectId, name.trim())
      setName('')
    })
  }

  return (
    <section className="deploy-domains" aria-label="Custom domains">
      <h3>Custom domains</h3>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {items === null && !error && <p className="muted">Loading…</p>}
      {items?.length === 0 && <p className="muted">No custom domains yet.</p>}
      <ul className="deploy-domains-list">
        {items?.map((d) => (
          <li key={d.domain} data-domain={d.domain}>
            <div className="deploy-domain-head">
              <strong>{d.domain}</strong>
              <span className={`domain-status domain-${d.status}`}>{d.status === 'verified' ? 'Verified' : 'Pending verification'}</span>
              {canWrite && d.status === 'pending' && (
                <button className="btn btn-small" disabled={busy !== null} onClick={() => act('verify:' + d.domain, () => domainsApi.verify(projectId, d.domain))}>
                  {busy === 'verify:' + d.domain ? 'Checking…' : 'Verify'}
                </button>
              )}
              {canWrite && d.status === 'verified' && d.certificate.status === 'failed' && (
                <button className="btn btn-small" disabled={busy !== null} onClick={() => act('verify:' + d.domain, () => domainsApi.verify(projectId, d.domain))}>
                  Retry certificate
                </button>
              )}
              {canWrite && (
                <button
                  className="btn btn-small btn-danger"
                  disabled={busy !== null}
                  onClick={() => confirm(`Remove ${d.domain}?`) && act('remove:' + d.domain, () => domainsApi.remove(projectId, d.domain))}
                >
                  Remove
                </button>
              )}
            </div>
            {d.reason && <p className="domain-reason">{d.reason}</p>}
            {d.status === 'verified' && <p className="domain-cert">{certText(d)}</p>}
            {d.status === 'pending' && (
              <>
                <p className="muted">Create these records at your DNS provider, then press Verify:</p>
                <table className="domain-records">
                  <thead>
                    <tr>
                      <th>Type</th>
                      <th>Name</th>
                      <th>Value</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.records.map((r) => (
                      <tr key={r.type + r.name}>
                        <td>{r.type}</td>
                        <td>
                          <code>{r.name}</code>
                        </td>
                        <td>
                          <code>{r.value}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </li>
        ))}
      </ul>
      {canWrite && (
        <form className="deploy-domains-form" onSubmit={add}>
          <input
            aria-label="Domain"
            placeholder="app.example.com"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoCapitalize="off"
            spellCheck={false}
          />
          <button type="submit" className="btn btn-small btn-primary" disabled={busy !== null || name.trim() === ''}>
            {busy === 'add' ? 'Adding…' : 'Add domain'}
          </button>
        </form>
      )}
    </section>
  )
}
