// Writes a brotli (.br) and a gzip (.gz) copy beside every compressible file
// of the build (dist/), for the server to send to browsers that accept them
// (internal/api/static_encoding.go). Node's own zlib does both; a copy is
// kept only when it is smaller than the original.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

const dir = new URL('../dist/', import.meta.url).pathname
const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|map|wasm)$/i
const MIN_BYTES = 1024

function* walk(d) {
  for (const name of readdirSync(d)) {
    const p = join(d, name)
    if (statSync(p).isDirectory()) yield* walk(p)
    else yield p
  }
}

let plain = 0
let br = 0
let gz = 0
for (const file of walk(dir)) {
  if (!COMPRESSIBLE.test(file)) continue
  const data = readFileSync(file)
  if (data.length < MIN_BYTES) continue
  const b = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  })
  const g = gzipSync(data, { level: 9 })
  plain += data.length
  if (b.length < data.length) {
    writeFileSync(file + '.br', b)
    br += b.length
  }
  if (g.length < data.length) {
    writeFileSync(file + '.gz', g)
    gz += g.length
  }
}
const kib = (n) => (n / 1024).toFixed(0) + ' KiB'
console.log(`precompressed ${kib(plain)}: brotli ${kib(br)}, gzip ${kib(gz)}`)
