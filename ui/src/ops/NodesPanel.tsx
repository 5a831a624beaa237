import { useCallback, useEffect, useState } from 'react'
import { errorMessage, json } from '../api'
import { FormError } from '../components/Field'
import { timeAgo } from '../util'

export interface ClusterNode {
  id: string
  address: string
  state: 'active' | 'draining' | 'stopped'
  alive: boolean
  projects: number
  started_at: string
  heartbeat_at: string
  self: boolean
}

const nodesApi = {
  list: () => json<{ nodes: ClusterNode[] }>('GET', '/api/admin/nodes'),
  drain: (id: string) => json<void>('POST', `/api/admin/nodes/${encodeURIComponent(id)}/drain`),
}

/** Admin: the servers of the service, their load, and draining one. */
export function NodesPanel() {
  const [nodes, setNodes] = useState<ClusterNode[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = useCallback(() => {
    nodesApi.list().then((r) => setNodes(r.nodes), (e) => setError(errorMessage(e)))
  }, [])
  useEffect(() => {
    load()
    const t = setInterval(load, 5000)
    return () => clearInterval(t)
  }, [load])
  const drain = (n: ClusterNode) => {
    if (!window.confirm(`Drain ${n.id}? Its projects move to the other servers and their terminals reconnect.`)) return
    nodesApi.drain(n.id).then(load, (e) => setError(errorMessage(e)))
  }
  return (
    <section className="card" aria-labelledby="nodes-h">
      <h2 id="nodes-h">Servers</h2>
      <p className="muted">Each active project runs on one server; the others forward its terminals, runs and preview there.</p>
      <FormError message={error} />
      {nodes && nodes.length === 0 && (
        <p className="muted">This is a single server. Start servers with --internal-addr to run several (docs/SCALING.md).</p>
      )}
      {nodes && nodes.length > 0 && (
        <ul className="item-list" aria-label="Servers">
          {nodes.map((n) => (
            <li key={n.id} className="item" data-node={n.id}>
              <div className="item-main">
                <div className="item-title">
                  {n.id}
                  {n.self && <span className="muted"> (this server)</span>}
                </div>
                <div className="item-sub muted">
                  {n.address} · {n.alive ? n.state : n.state === 'stopped' ? 'stopped' : 'not answering'} · {n.projects}{' '}
                  {n.projects === 1 ? 'project' : 'projects'} · heartbeat {timeAgo(n.heartbeat_at)}
                </div>
              </div>
              {n.alive && n.state === 'active' && (
                <button type="button" className="btn" onClick={() => drain(n)}>Drain {n.id}</button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
