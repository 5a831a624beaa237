// Starts a real `ecode serve` on a free port with a fresh data directory.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const e2eDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The binary under test: $ECODE_BIN, or ../bin/ecode next to this folder. */
export function ecodeBin() {
  return process.env.ECODE_BIN ? path.resolve(e2eDir, process.env.ECODE_BIN) : path.resolve(e2eDir, '..', 'bin', 'ecode')
}

/**
 * Runs `ecode serve --addr 127.0.0.1:0 --data-dir <tmp or dataDir> ...extraArgs` and resolves once the
 * server prints `listening on http://127.0.0.1:PORT`. Call stop() when done.
 */
export async function startServer({ extraArgs = [], env = {}, startupLimitMs = 60_000, dataDir: sharedDir } = {}) {
  // A data directory given by the caller (nodes sharing one) is the caller's to remove.
  const dataDir = sharedDir ?? (await mkdtemp(path.join(tmpdir(), 'ecode-e2e-')))
  const child = spawn(ecodeBin(), ['serve', '--addr', '127.0.0.1:0', '--data-dir', dataDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let output = ''
  const collect = (chunk) => {
    output += chunk
  }
  child.stdout.setEncoding('utf8').on('data', collect)
  child.stderr.setEncoding('utf8').on('data', collect)

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      try {
        await Promise.race([exited, once(AbortSignal.timeout(10_000), 'abort').then(() => Promise.reject(new Error('slow')))])
      } catch {
        child.kill('SIGKILL')
        await exited
      }
    }
    if (!sharedDir) await rm(dataDir, { recursive: true, force: true })
  }

  try {
    const url = await new Promise((resolve, reject) => {
      const deadline = AbortSignal.timeout(startupLimitMs)
      const check = () => {
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
        if (m) done(null, m[1])
      }
      const onExit = (code, signal) => done(new Error(`ecode exited (${code ?? signal}) before listening:\n${output}`))
      const onError = (err) => done(new Error(`cannot start ${ecodeBin()}: ${err.message}`))
      const onAbort = () => done(new Error(`ecode did not print "listening on" within ${startupLimitMs} ms:\n${output}`))
      function done(err, value) {
        child.stderr.off('data', check)
        child.stdout.off('data', check)
        child.off('exit', onExit)
        child.off('error', onError)
        deadline.removeEventListener('abort', onAbort)
        err ? reject(err) : resolve(value)
      }
      child.stderr.on('data', check)
      child.stdout.on('data', check)
      child.once('exit', onExit)
      child.once('error', onError)
      deadline.addEventListener('abort', onAbort)
    })
    // kill9 ends the process at once, as a crash would (stop still cleans up).
    const kill9 = async () => {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
    return { url, dataDir, output: () => output, stop, kill9 }
  } catch (err) {
    await stop()
    throw err
  }
}
