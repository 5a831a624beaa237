// Several nodes: two `ecode serve` processes share PostgreSQL, Redis and a data directory. The
// admin's Servers page on node A lists both with their state; draining node B there marks it
// draining. Needs ECODE_TEST_POSTGRES_URL (and Redis on 127.0.0.1:6379): skipped without it,
// failed in CI.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, chmod } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { launchBrowser } from '../lib/browser.mjs'
import { signUp } from '../lib/journey.mjs'
import { startServer } from '../lib/server.mjs'

const pg = process.env.ECODE_TEST_POSTGRES_URL
const redis = process.env.ECODE_TEST_REDIS_URL || 'redis://127.0.0.1:6379/0'
if (!pg && process.env.CI) throw new Error('ECODE_TEST_POSTGRES_URL is not set: CI must run the several-nodes journey')

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })

let nodes = []
let browser
let dataDir
let schema
before(async () => {
  if (!pg) return
  schema = 'e2e_nodes_' + randomBytes(6).toString('hex')
  execFileSync('psql', [pg, '-q', '-c', `CREATE SCHEMA ${schema}`])
  dataDir = await mkdtemp(path.join(tmpdir(), 'ecode-e2e-nodes-'))
  await chmod(dataDir, 0o711)
  const db = pg + (pg.includes('?') ? '&' : '?') + 'search_path=' + schema
  for (const id of ['e2e-a', 'e2e-b']) {
    const port = await freePort()
    nodes.push(
      await startServer({
        dataDir,
        extraArgs: ['--database-url', db, '--redis-url', redis, '--internal-addr', `127.0.0.1:${port}`, '--node-id', id],
        env: { ECODE_CLUSTER_SECRET: 'e2e-cluster-secret-0123456789' },
      }),
    )
  }
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  for (const n of nodes) await n.stop()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
  if (schema) execFileSync('psql', [pg, '-q', '-c', `DROP SCHEMA ${schema} CASCADE`], { stdio: 'ignore' })
})

test('the admin lists the servers and drains one', { skip: !pg && 'set ECODE_TEST_POSTGRES_URL to run several nodes' }, async (t) => {
  const [a] = nodes
  const ctx = await browser.newContext({ baseURL: a.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Ada Admin', email: 'ada@example.com', password: 'admin-password' })

  await page.goto('/admin/nodes')
  const list = page.getByRole('list', { name: 'Servers' })
  const nodeA = list.getByRole('listitem').filter({ hasText: 'e2e-a' })
  const nodeB = list.getByRole('listitem').filter({ hasText: 'e2e-b' })
  await nodeA.getByText('(this server)').waitFor()
  await nodeB.getByText(/· active ·/).waitFor()
  assert.equal(await list.getByRole('listitem').count(), 2)

  page.once('dialog', (d) => d.accept())
  await nodeB.getByRole('button', { name: 'Drain e2e-b' }).click()
  await nodeB.getByText(/· draining ·/).waitFor()
  assert.equal(await nodeB.getByRole('button', { name: 'Drain e2e-b' }).count(), 0, 'a draining server offers no drain')
})
