// Differential oracle for internal/yjs: runs the real yjs (pinned in
// package.json) and answers one JSON request per stdin line with one JSON
// line on stdout. Used by the Go test TestDifferentialYjs (oracle_test.go).
//
// Requests:
//   {"op":"gen","seed":N,"gc":bool,"mixed":bool}
//       random concurrent Y.Text edits among 2-4 clients (uint32 ids,
//       emoji/multi-unit text, deletes that may cut surrogate pairs, partial
//       syncs), a shuffled delivery order with duplicates, and what yjs
//       makes of them: {updates, order, text, utf16Len, sv, state (all
//       updates in production order), shuffledState (in delivery order),
//       emitted (the update yjs emits at each delivery step, "" if none),
//       midState (encoded state after delivery step len(order)/2)}.
//       With mixed, clients also edit maps, arrays, nested types, formats
//       and embeds.
//   {"op":"check","updates":["hex",...],"gc":bool,"root":"t"}
//       applies the updates to a fresh doc: {error, text, utf16Len, sv,
//       state, pending}
//
// Usage: node oracle.mjs < requests.jsonl
import * as Y from 'yjs'
import readline from 'node:readline'

const hex = u => Buffer.from(u).toString('hex')
const fromHex = h => new Uint8Array(Buffer.from(h, 'hex'))

// mulberry32: small seeded PRNG
const rng = seed => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const alphabet = ['a', 'b', 'c', 'ä', '😀', '\n', 'xyz', ' ', '中文', '👍🏽', 'é', 'hello world ']

// random edits of the text root 't' (plain typing, deletes that may cut
// surrogate pairs)
const editText = (d, rnd, ri) => {
  const t = d.getText('t')
  const ops = ri(5)
  for (let k = 0; k < ops; k++) {
    if (t.length > 0 && rnd() < 0.35) {
      const i = ri(t.length)
      t.delete(i, 1 + ri(Math.min(4, t.length - i)))
    } else if (rnd() < 0.3) {
      let i = ri(t.length + 1)
      for (let j = 0, n = 1 + ri(6); j < n; j++) {
        const s = alphabet[ri(alphabet.length)]
        t.insert(i, s)
        i += s.length
      }
    } else {
      t.insert(ri(t.length + 1), alphabet[ri(alphabet.length)])
    }
  }
}

const anyValues = [1, -70000, 1.5, 0.1, 'str', true, null, { a: [1, 'x'] }, [2, 3], new Uint8Array([1, 2])]

// random edits of every kind of shared type: map 'm' (values, nested types,
// deletes), array 'a' (any values, nested arrays), rich text 't' (formats,
// embeds) and nested texts
const editMixed = (d, rnd, ri) => {
  const ops = 1 + ri(4)
  for (let k = 0; k < ops; k++) {
    const m = d.getMap('m')
    const a = d.getArray('a')
    const t = d.getText('t')
    switch (ri(9)) {
      case 0: m.set('k' + ri(3), anyValues[ri(anyValues.length)]); break
      case 1: { const y = new Y.Text(); y.insert(0, alphabet[ri(alphabet.length)]); m.set('k' + ri(3), y); break }
      case 2: { const key = 'k' + ri(3); if (m.has(key)) m.delete(key); break }
      case 3: a.insert(ri(a.length + 1), [anyValues[ri(anyValues.length)], anyValues[ri(anyValues.length)]]); break
      case 4: if (a.length > 0) { const i = ri(a.length); a.delete(i, 1 + ri(Math.min(3, a.length - i))) } break
      case 5: { const n = new Y.Array(); n.insert(0, [1, 2]); a.insert(ri(a.length + 1), [n]); break }
      case 6: t.insert(ri(t.length + 1), alphabet[ri(alphabet.length)], rnd() < 0.5 ? { bold: true } : { italic: ri(3) }); break
      case 7: if (t.length > 0) { const i = ri(t.length); t.format(i, 1 + ri(Math.min(3, t.length - i)), { bold: rnd() < 0.5 ? null : true }) } else t.insertEmbed(0, { img: 'x' }); break
      default: {
        // edit a nested text or array if there is one
        for (const v of [...m.values(), ...a.toArray()]) {
          if (v instanceof Y.Text) { v.insert(ri(v.length + 1), alphabet[ri(alphabet.length)]); break }
          if (v instanceof Y.Array) { v.insert(ri(v.length + 1), [ri(100)]); break }
        }
        editText(d, rnd, ri)
      }
    }
  }
}

const gen = (seed, gc, mixed) => {
  const rnd = rng(seed)
  const ri = n => Math.floor(rnd() * n)
  const nClients = 2 + ri(3)
  const docs = []
  const updates = []
  for (let i = 0; i < nClients; i++) {
    const d = new Y.Doc({ gc })
    d.clientID = 1 + ri(2 ** 32 - 2)
    d.on('update', u => updates.push(u))
    docs.push(d)
  }
  const rounds = 1 + ri(8)
  for (let r = 0; r < rounds; r++) {
    for (const d of docs) {
      if (mixed) editMixed(d, rnd, ri); else editText(d, rnd, ri)
    }
    // partial sync between random pairs so later edits have cross-client origins
    const a = docs[ri(nClients)]; const b = docs[ri(nClients)]
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  }
  // expected result: every update applied in production order to a fresh
  // doc whose roots stay untyped until the end (like a server's)
  const ref = new Y.Doc({ gc })
  for (const u of updates) Y.applyUpdate(ref, u)
  const order = updates.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) { const j = ri(i + 1); [order[i], order[j]] = [order[j], order[i]] }
  for (let k = 0; k < 3 && order.length; k++) order.splice(ri(order.length), 0, order[ri(order.length)])
  // delivery order: shuffled with duplicates; record what yjs emits per step
  const shuffled = new Y.Doc({ gc })
  const emitted = []
  let last = null
  shuffled.on('update', u => { last = u })
  let midState = ''
  order.forEach((i, step) => {
    last = null
    Y.applyUpdate(shuffled, updates[i])
    emitted.push(last === null ? '' : hex(last))
    // state in the middle of delivery, usually with pending structs/deletes
    if (step === order.length >> 1) midState = hex(Y.encodeStateAsUpdate(shuffled))
  })
  const text = ref.getText('t')
  return {
    updates: updates.map(hex),
    order,
    text: text.toString(),
    utf16Len: text.length,
    sv: hex(Y.encodeStateVector(ref)),
    state: hex(Y.encodeStateAsUpdate(ref)),
    shuffledText: shuffled.getText('t').toString(),
    shuffledState: hex(Y.encodeStateAsUpdate(shuffled)),
    emitted,
    midState
  }
}

const check = c => {
  const doc = new Y.Doc({ gc: c.gc !== false })
  let error = null
  try {
    for (const u of c.updates) Y.applyUpdate(doc, fromHex(u))
  } catch (e) { error = String(e) }
  const text = doc.getText(c.root || 't')
  return {
    error,
    text: text.toString(),
    utf16Len: text.length,
    sv: hex(Y.encodeStateVector(doc)),
    state: hex(Y.encodeStateAsUpdate(doc)),
    pending: doc.store.pendingStructs !== null || doc.store.pendingDs !== null
  }
}

const rl = readline.createInterface({ input: process.stdin })
for await (const line of rl) {
  if (!line.trim()) continue
  const req = JSON.parse(line)
  let res
  try {
    if (req.op === 'gen') res = gen(req.seed, req.gc !== false, !!req.mixed)
    else if (req.op === 'check') res = check(req)
    else res = { error: 'unknown op ' + req.op }
  } catch (e) { res = { error: String(e && e.stack || e) } }
  process.stdout.write(JSON.stringify(res) + '\n')
}
