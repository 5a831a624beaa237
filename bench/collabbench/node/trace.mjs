// Replays an editing trace (a file of updates, each a 4-byte little-endian
// length and the bytes) into a fresh Y.Doc, three times, and prints the best
// time, the number of updates and the SHA-256 of the final text of "t".
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as Y from 'yjs'

const buf = readFileSync(process.argv[2])
const updates = []
for (let off = 0; off < buf.length; ) {
  const n = buf.readUInt32LE(off)
  updates.push(new Uint8Array(buf.buffer, buf.byteOffset + off + 4, n))
  off += 4 + n
}
let best = Infinity
let text = ''
for (let round = 0; round < 3; round++) {
  const t0 = process.hrtime.bigint()
  const doc = new Y.Doc()
  for (const u of updates) Y.applyUpdate(doc, u)
  const ns = Number(process.hrtime.bigint() - t0)
  best = Math.min(best, ns)
  text = doc.getText('t').toString()
}
const textSHA = createHash('sha256').update(text, 'utf8').digest('hex')
console.log(JSON.stringify({ best_ns: best, updates: updates.length, text_sha: textSHA }))
