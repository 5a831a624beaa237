// N y-websocket clients type into one document; prints one JSON line with
// the edit-to-peer latency (every edit, every other client) and throughput.
//
//   node bench.mjs --url ws://HOST/api/projects/ID/collab --room index.html --token ecp_... [--clients 8] [--edits 200] [--rate 20]
//   node bench.mjs --reference [--clients 8] ...   (starts @y/websocket-server in this process and measures it)
import http from 'node:http'
import { parseArgs } from 'node:util'
import WebSocket, { WebSocketServer } from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    room: { type: 'string', default: 'bench.txt' },
    token: { type: 'string', default: '' },
    reference: { type: 'boolean', default: false },
    clients: { type: 'string', default: '8' },
    edits: { type: 'string', default: '200' },
    rate: { type: 'string', default: '20' },
  },
})
process.setMaxListeners(0) // each provider adds an exit listener
const nClients = Number(opt.clients)
const nEdits = Number(opt.edits)
const rate = Number(opt.rate)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function startReference () {
  const { setupWSConnection } = await import('@y/websocket-server/utils')
  const server = http.createServer()
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws, req) => setupWSConnection(ws, req))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `ws://127.0.0.1:${server.address().port}`, close: () => { wss.close(); server.close() } }
}

async function main () {
  let url = opt.url
  let ref = null
  if (opt.reference) {
    ref = await startReference()
    url = ref.url
  }
  const clients = []
  for (let i = 0; i < nClients; i++) {
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(url, opt.room, doc, {
      WebSocketPolyfill: WebSocket, disableBc: true, params: opt.token ? { access_token: opt.token } : {},
    })
    clients.push({ doc, provider, text: doc.getText('content') })
  }
  await Promise.all(clients.map((c) => new Promise((resolve) => c.provider.once('sync', resolve))))

  // pending[sender clientID] = [{clock, t0, waiting: Set(receiver index)}]
  const pending = new Map()
  const latencies = []
  let outstanding = 0
  let allArrived = null
  clients.forEach((c, ri) => {
    c.doc.on('update', () => {
      const sv = Y.decodeStateVector(Y.encodeStateVector(c.doc))
      const now = performance.now()
      for (const [sender, edits] of pending) {
        const have = sv.get(sender) ?? 0
        for (const e of edits) {
          if (e.clock < have && e.waiting.delete(ri)) {
            latencies.push(now - e.t0)
            if (--outstanding === 0 && allArrived) allArrived()
          }
        }
      }
    })
  })

  const started = performance.now()
  await Promise.all(clients.map(async (c, i) => {
    const mine = []
    pending.set(c.doc.clientID, mine)
    for (let k = 0; k < nEdits; k++) {
      const clock = Y.getState(c.doc.store, c.doc.clientID)
      const waiting = new Set(clients.map((_, j) => j).filter((j) => j !== i))
      outstanding += waiting.size
      mine.push({ clock, t0: performance.now(), waiting })
      c.text.insert(Math.floor(Math.random() * (c.text.length + 1)), 'x')
      await sleep(1000 / rate)
    }
  }))
  if (outstanding > 0) await new Promise((resolve) => { allArrived = resolve })
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]
  const texts = new Set(clients.map((c) => c.text.toString()))
  for (const c of clients) c.provider.destroy()
  ref?.close()
  process.stdout.write(JSON.stringify({
    clients: nClients, edits: nClients * nEdits, deliveries: latencies.length, seconds: elapsed,
    p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99), max_ms: latencies[latencies.length - 1],
    converged: texts.size === 1, length: clients[0].text.length,
  }) + '\n')
  process.exit(0)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
