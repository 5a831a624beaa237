// Real yjs + y-websocket clients for the collab package's Go tests.
//
// The Go test starts `node clients.mjs` and drives it with one JSON command
// per line on stdin; every command is answered with one JSON line on stdout
// ({"ok":true,...} or {"error":"..."}). Commands:
//
//   {"cmd":"connect","url":"ws://host/api/projects/ID/collab","room":"path","token":"ecp_...","n":3}
//        start n WebsocketProviders (stock, unchanged) and wait until all are synced
//   {"cmd":"edit","ops":100,"seed":1,"reconnects":true}
//        every client makes `ops` random inserts/deletes (emoji included) at random
//        places, concurrently, with small random pauses; with reconnects, clients
//        drop their connection now and then, edit offline and reconnect
//   {"cmd":"converge"}
//        wait until every client is connected, synced and holds the same text; answer it
//   {"cmd":"retarget","client":0,"url":"ws://other/api/projects/ID/collab"}
//        make a client reconnect to another server from now on
//   {"cmd":"state","client":0}
//        answer a client's text, its awareness peers and its connection state
//   {"cmd":"close"}
//        destroy the providers and exit
import readline from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const clients = []
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// mulberry32: a small seeded generator, so a failing run can be replayed
function rng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff

function waitFor (cond, what, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const check = () => {
      if (cond()) return resolve()
      if (Date.now() - started > timeoutMs) return reject(new Error('timed out waiting for ' + what))
      setTimeout(check, 10)
    }
    check()
  })
}

function connect ({ url, room, token, n }) {
  for (let k = 0; k < n; k++) {
    const i = clients.length
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(url, room, doc, {
      WebSocketPolyfill: WebSocket,
      params: token ? { access_token: token } : {},
      disableBc: true,
      maxBackoffTime: 200
    })
    provider.awareness.setLocalStateField('user', { name: 'client' + i, color: '#30bced' })
    clients.push({ doc, provider, text: doc.getText('content') })
  }
  return waitFor(() => clients.every((c) => c.provider.synced), 'clients to sync')
}

async function edit ({ ops, seed, reconnects }) {
  const alphabet = ['a', 'b', 'é', '😀', '\n', 'xyz', '👩‍💻', ' ']
  await Promise.all(clients.map(async (c, i) => {
    const rand = rng(seed * 1000 + i)
    for (let k = 0; k < ops; k++) {
      const len = c.text.length
      if (len > 0 && rand() < 0.3) {
        let pos = Math.floor(rand() * len)
        let end = Math.min(len, pos + 1 + Math.floor(rand() * 3))
        const s = c.text.toString()
        if (isLow(s.charCodeAt(pos))) pos--
        if (end < len && isLow(s.charCodeAt(end))) end++
        c.text.delete(pos, end - pos)
      } else {
        let pos = Math.floor(rand() * (len + 1))
        const s = c.text.toString()
        if (pos > 0 && pos < len && isHigh(s.charCodeAt(pos - 1))) pos--
        c.text.insert(pos, alphabet[Math.floor(rand() * alphabet.length)])
      }
      const cursor = Y.createRelativePositionFromTypeIndex(c.text, Math.floor(rand() * (c.text.length + 1)))
      c.provider.awareness.setLocalStateField('cursor', { anchor: cursor, head: cursor })
      if (reconnects && rand() < 0.03 && c.provider.wsconnected) {
        c.provider.disconnect()
        for (let j = 0; j < 3; j++) c.text.insert(Math.floor(rand() * (c.text.length + 1)), 'off')
        await sleep(rand() * 20)
        c.provider.connect()
      }
      await sleep(rand() * 4)
    }
  }))
}

async function converge () {
  const texts = () => clients.map((c) => c.text.toString())
  await waitFor(() => clients.every((c) => c.provider.wsconnected && c.provider.synced) &&
    new Set(texts()).size === 1, 'clients to converge', 60000)
  return texts()[0]
}

function state ({ client }) {
  const c = clients[client]
  const peers = [...c.provider.awareness.getStates().entries()]
    .filter(([id]) => id !== c.doc.clientID).map(([, s]) => s.user && s.user.name).filter(Boolean)
  return { text: c.text.toString(), peers, connected: c.provider.wsconnected, synced: c.provider.synced }
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  let req
  try {
    req = JSON.parse(line)
    switch (req.cmd) {
      case 'connect': await connect(req); out({ ok: true }); break
      case 'edit': await edit(req); out({ ok: true }); break
      case 'converge': out({ ok: true, text: await converge() }); break
      case 'state': out({ ok: true, ...state(req) }); break
      case 'retarget': clients[req.client].provider.serverUrl = req.url; out({ ok: true }); break
      case 'close':
        for (const c of clients) c.provider.destroy()
        out({ ok: true })
        process.exit(0)
        break
      default: out({ error: 'unknown command ' + req.cmd })
    }
  } catch (err) {
    out({ error: String(err && err.stack || err) })
  }
})
rl.on('close', () => process.exit(0))
