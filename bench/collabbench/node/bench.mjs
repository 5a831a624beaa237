// N y-websocket clients type into one document; prints one JSON line with
// the edit-to-peer latency (every edit, every other client) and throughput.
//
//   node bench.mjs --url ws://HOST/api/projects/ID/collab --room index.html --token ecp_... [--clients 8] [--edits 200] [--rate 20]
//   (--url may list several servers, comma-separated: client i connects to the (i mod n)th)
//   node bench.mjs --reference [--clients 8] ...   (starts @y/websocket-server, server.mjs, in a process of its own and measures it)
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
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
    wait: { type: 'string', default: '60' }, // seconds to wait for the last edits once typing ends
  },
})
process.setMaxListeners(0) // each provider adds an exit listener
const nClients = Number(opt.clients)
const nEdits = Number(opt.edits)
const rate = Number(opt.rate)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// startReference runs the reference server in a child process: like
// E-Code's, it must not share this process's event loop with the clients.
async function startReference () {
  const child = spawn(process.execPath, [new URL('server.mjs', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] })
  const [line] = await Promise.race([
    createInterface({ input: child.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value]),
    new Promise((resolve, reject) => child.once('exit', (code) => reject(new Error(`reference server exited (${code})`)))),
  ])
  return { url: line.trim(), close: () => child.kill() }
}

async function main () {
  let url = opt.url
  let ref = null
  if (opt.reference) {
    ref = await startReference()
    url = ref.url
  }
  const urls = url.split(',')
  const clients = []
  for (let i = 0; i < nClients; i++) {
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(urls[i % urls.length], opt.room, doc, {
      WebSocketPolyfill: WebSocket, disableBc: true, params: opt.token ? { access_token: opt.token } : {},
    })
    clients.push({ doc, provider, text: doc.getText('content') })
  }
  const syncTimer = setTimeout(() => {
    const late = clients.map((c, i) => c.provider.synced ? -1 : i).filter((i) => i >= 0)
    console.error(`bench: clients ${late.join(', ')} did not sync within ${opt.wait} s`)
    process.exit(2)
  }, Number(opt.wait) * 1000)
  await Promise.all(clients.map((c) => new Promise((resolve) => c.provider.once('sync', resolve))))
  clearTimeout(syncTimer)

  // sent[sender clientID] = [{clock, t0}] in the order typed; each receiver
  // keeps, per sender, the index of the first edit it has not seen yet, so
  // an update costs the harness O(clients), not O(every edit so far): the
  // clients share one process, and its CPU must go to them, not to
  // bookkeeping
  const sent = new Map()
  const latencies = []
  let outstanding = 0
  let allArrived = null
  const seens = []
  clients.forEach((c) => {
    const seen = new Map()
    seens.push(seen)
    c.doc.on('update', () => {
      const now = performance.now()
      for (const [sender, edits] of sent) {
        if (sender === c.doc.clientID) continue
        const have = Y.getState(c.doc.store, sender)
        let k = seen.get(sender) ?? 0
        for (; k < edits.length && edits[k].clock < have; k++) {
          latencies.push(now - edits[k].t0)
          outstanding--
        }
        seen.set(sender, k)
      }
      if (outstanding === 0 && allArrived) allArrived()
    })
  })

  const started = performance.now()
  await Promise.all(clients.map(async (c) => {
    const mine = []
    sent.set(c.doc.clientID, mine)
    for (let k = 0; k < nEdits; k++) {
      outstanding += nClients - 1
      mine.push({ clock: Y.getState(c.doc.store, c.doc.clientID), t0: performance.now() })
      c.text.insert(Math.floor(Math.random() * (c.text.length + 1)), 'x')
      await sleep(1000 / rate)
    }
  }))
  if (outstanding > 0) {
    const waitMs = Number(opt.wait) * 1000
    let timer
    const arrived = await Promise.race([
      new Promise((resolve) => { allArrived = () => resolve(true) }),
      new Promise((resolve) => { timer = setTimeout(() => resolve(false), waitMs) }),
    ])
    clearTimeout(timer)
    if (!arrived) {
      reportMissing(clients, seens, sent, waitMs)
      process.exit(2)
    }
  }
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

// reportMissing names, for every client still missing edits, the first
// edit of each sender it has not integrated (and how many it lacks), so a
// lost edit is told apart from a slow one.
function reportMissing (clients, seens, sent, waitMs) {
  const index = new Map(clients.map((c, i) => [c.doc.clientID, i]))
  const lines = []
  clients.forEach((c, i) => {
    for (const [sender, edits] of sent) {
      if (sender === c.doc.clientID) continue
      const k = seens[i].get(sender) ?? 0
      if (k < edits.length) {
        const pending = c.doc.store.pendingStructs ? ' (it holds updates waiting for missing ones)' : ''
        lines.push(`client ${i} (${urlOf(i)}) lacks edit ${k} of ${edits.length} by client ${index.get(sender)} (${urlOf(index.get(sender))}; Yjs client ${sender}, clock ${edits[k].clock}; has clock ${Y.getState(c.doc.store, sender)}), ${edits.length - k} missing${pending}; connected: ${c.provider.wsconnected}`)
      }
    }
  })
  console.error(`bench: ${lines.length} client-sender pairs still missing edits ${waitMs / 1000} s after typing ended:\n` + lines.slice(0, 40).join('\n'))
}

function urlOf (i) {
  const urls = opt.url ? opt.url.split(',') : ['reference']
  return urls[i % urls.length]
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
