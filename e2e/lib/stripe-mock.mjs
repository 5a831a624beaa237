// stripe-mock (github.com/stripe/stripe-mock, installed by .ci/run with go install) on a
// free loopback port, and Stripe-style webhook signatures.
import { execFileSync, spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { existsSync } from 'node:fs'
import path from 'node:path'

/** The stripe-mock binary on PATH or in $(go env GOPATH)/bin, or '' when it is not installed. */
export function stripeMockBin() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'stripe-mock'))) return path.join(dir, 'stripe-mock')
  }
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim()
    if (existsSync(path.join(gopath, 'bin', 'stripe-mock'))) return path.join(gopath, 'bin', 'stripe-mock')
  } catch {}
  return ''
}

/** Starts stripe-mock; resolves {url, stop} once it says where it listens. */
export async function startStripeMock(bin) {
  const child = spawn(bin, ['-http-addr', '127.0.0.1:', '-https-addr', '127.0.0.1:'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stripe-mock did not start:\n${output}`)), 30_000)
    child.on('exit', (code) => reject(new Error(`stripe-mock exited (${code}):\n${output}`)))
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      output += chunk
      const m = /Listening for HTTP at address: (127\.0\.0\.1:\d+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(`http://${m[1]}`)
      }
    })
  })
  return { url, stop: () => child.kill('SIGTERM') }
}

/** The Stripe-Signature header of payload signed with secret now (Stripe's v1 scheme). */
export function signWebhook(payload, secret) {
  const t = Math.floor(Date.now() / 1000)
  const sig = createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex')
  return `t=${t},v1=${sig}`
}
