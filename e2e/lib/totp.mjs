// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) with node:crypto, so journeys
// can compute the codes an authenticator app would show.
import { createHmac } from 'node:crypto'

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = 0
  let value = 0
  const out = []
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch)
    if (i < 0) throw new Error(`not base32: ${ch}`)
    value = (value << 5) | i
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

/** The code for time-step `step` (Unix seconds / 30) of a base32 secret. */
export function totpAt(secret, step) {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(step))
  const mac = createHmac('sha1', base32Decode(secret)).update(msg).digest()
  const off = mac[mac.length - 1] & 0x0f
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000
  return String(n).padStart(6, '0')
}

/** The current time-step. */
export const stepNow = () => Math.floor(Date.now() / 1000 / 30)
