// Several nodes: three `ecode serve` processes share PostgreSQL, Redis and a data directory. The
// admin's Servers page on node A lists them with their state; draining node C there marks it
// draining, and a terminal open (through A) on a project C ran goes on in a new shell where the
// project moved. A project whose sandbox runs on node B is used through node A; B is killed with
// SIGKILL: once its lease (--node-ttl 3s) has run out, the next exec through A starts the project
// on a live node with its files, and the terminal open on it reconnects to a new shell there. A
// static app published through node B answers through each node (the others forward to B). Needs
// ECODE_TEST_POSTGRES_URL (and Redis on 127.0.0.1:6379): skipped without it,
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
import { signUp, waitForRow } from '../lib/journey.mjs'
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

// openTerminal opens the project's workspace in page, opens a terminal and runs a command in it.
async function openTerminal(page, projectId) {
  await page.goto(`/p/${projectId}`)
  await page.locator('[role="tab"][data-pane="terminal"]').click()
  await page.getByRole('button', { name: 'New terminal' }).click()
  await page.locator('#pane-terminal .terminal-view[data-status="connected"]').waitFor()
  await typeInTerminal(page, 'echo before-$((1+1))')
  await waitForRow(page, TERM, 'before-2', { exact: true })
}
const TERM = '#pane-terminal .terminal-view:not([hidden])'
async function typeInTerminal(page, line) {
  await page.locator(`${TERM} .xterm`).click()
  await page.keyboard.type(line)
  await page.keyboard.press('Enter')
}
// The project moved: the terminal says it goes on in a new shell, and a command typed there runs.
async function expectNewShell(page) {
  await waitForRow(page, TERM, 'reconnected \u2014 new shell', { timeout: 60_000 })
  await page.locator('#pane-terminal .terminal-view[data-status="connected"]').waitFor()
  await typeInTerminal(page, 'echo after-$((2+2))')
  await waitForRow(page, TERM, 'after-4', { exact: true })
}

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
  for (const id of ['e2e-a', 'e2e-b', 'e2e-c']) {
    const port = await freePort()
    nodes.push(
      await startServer({
        dataDir,
        extraArgs: ['--database-url', db, '--redis-url', redis, '--internal-addr', `127.0.0.1:${port}`, '--node-id', id, '--node-ttl', '3s'],
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
  const nodeC = list.getByRole('listitem').filter({ hasText: 'e2e-c' })
  await nodeA.getByText('(this server)').waitFor()
  await nodeC.getByText(/· active ·/).waitFor()
  assert.equal(await list.getByRole('listitem').count(), 3)

  // A project C runs, with a terminal open on it through A.
  const api = page.request
  const project = await (await api.post('/api/projects', { data: { name: 'on-c', template: 'blank' } })).json()
  const res = await api.post(`${nodes[2].url}/api/projects/${project.id}/exec`, { data: { command: 'true' } })
  assert.equal(res.status(), 200, await res.text())
  const termPage = await ctx.newPage()
  await openTerminal(termPage, project.id)

  page.once('dialog', (d) => d.accept())
  await nodeC.getByRole('button', { name: 'Drain e2e-c' }).click()
  await nodeC.getByText(/· draining ·/).waitFor()
  assert.equal(await nodeC.getByRole('button', { name: 'Drain e2e-c' }).count(), 0, 'a draining server offers no drain')

  // C gives the project up and closes its sockets (4012); the terminal opens a new shell where it runs now.
  await expectNewShell(termPage)
})

test('a published app answers through each of the three nodes', { skip: !pg && 'set ECODE_TEST_POSTGRES_URL to run several nodes' }, async (t) => {
  const [a, b, c] = nodes
  const ctx = await browser.newContext({ baseURL: a.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Pat', email: 'pat@example.com', password: 'pat-password-1' })
  const api = page.request
  const project = await (await api.post('/api/projects', { data: { name: 'site', template: 'blank' } })).json()
  assert.ok((await api.put(`/api/projects/${project.id}/files/index.html`, { data: '<h1>Served by the cluster</h1>' })).ok())

  // Published through B: B runs the app (it holds the deployment's lease).
  const pub = await api.post(`${b.url}/api/projects/${project.id}/deployment/publish`, { data: { kind: 'static' } })
  assert.ok(pub.ok(), await pub.text())
  const { release, url } = await pub.json()
  // The Deployments pane (opened through A) shows the release live.
  await page.goto(`/p/${project.id}`)
  await page.locator('[role="tab"][data-pane="deployments"]').click()
  const pane = page.locator('#pane-deployments')
  await pane.locator(`tr[data-release="${release.id}"][data-status="live"]`).waitFor({ timeout: 60_000 })
  // A visitor (no session) reaches it through every node: A and C forward to B (C drains, and still forwards).
  const visitor = await browser.newContext()
  t.after(() => visitor.close())
  const v = await visitor.newPage()
  for (const n of [a, b, c]) {
    const u = new URL(url)
    u.port = new URL(n.url).port
    const res = await v.goto(u.toString())
    assert.equal(res.status(), 200, `through ${n.url}`)
    await v.getByRole('heading', { name: 'Served by the cluster' }).waitFor()
  }
})

test('a project outlives the kill -9 of the node running it', { skip: !pg && 'set ECODE_TEST_POSTGRES_URL to run several nodes' }, async (t) => {
  const [a, b] = nodes
  const ctx = await browser.newContext({ baseURL: a.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Bob', email: 'bob@example.com', password: 'bob-password-1' })
  const api = page.request // the browser context's session cookie (host-wide: every node's port)
  const project = await (await api.post('/api/projects', { data: { name: 'kept', template: 'blank' } })).json()
  assert.ok((await api.put(`/api/projects/${project.id}/files/hello.txt`, { data: 'still here' })).ok())
  const exec = (node, command) => api.post(`${node.url}/api/projects/${project.id}/exec`, { data: { command } })

  // The first sandbox request lands on B: B runs the project; A forwards to it.
  let res = await exec(b, 'echo on-b')
  assert.equal(res.status(), 200, await res.text())
  res = await exec(a, 'cat hello.txt')
  assert.equal((await res.json()).stdout, 'still here')
  await openTerminal(page, project.id) // through A: a shell on B

  await b.kill9()
  // Until B's lease runs out the project answers 503 with Retry-After; the client retries as told.
  res = await exec(a, 'cat hello.txt')
  assert.equal(res.status(), 503, 'right after the kill the dead node still holds the lease')
  const deadline = Date.now() + 30_000
  while (res.status() === 503 && Date.now() < deadline) {
    const wait = Number(res.headers()['retry-after'] ?? '1') * 1000
    await new Promise((r) => setTimeout(r, wait))
    res = await exec(a, 'cat hello.txt')
  }
  assert.equal(res.status(), 200, await res.text())
  assert.equal((await res.json()).stdout, 'still here', 'the files survive the node')
  // The terminal lost its shell with B: it reconnects to a new one where the project runs now.
  await expectNewShell(page)
})
