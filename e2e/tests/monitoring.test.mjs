// Admin Monitoring and Jobs: the server samples itself every second (--monitor-interval=1s), so the
// Monitoring tab's charts fill with points from the requests the test makes; a deleted project's
// clean-up job waits in the queue, where the admin cancels it, retries it, and sees it complete; a job
// of a kind this server has no handler for (as a newer or older version would leave) fails, and the
// admin reads its errors and retries it.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'
import { assertAccessible } from '../lib/ux.mjs'

let server
let browser
useServerAndBrowser((s, b) => {
  server = s
  browser = b
}, { extraArgs: ['--monitor-interval', '1s'] })

test('monitoring charts show the server’s own samples', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const admin = await ctx.newPage()
  await signUp(admin, { name: 'Ada Admin', email: 'ada@example.com', password: 'admin-password' })
  for (let i = 0; i < 5; i++) assert.equal((await ctx.request.get('/api/projects')).status(), 200)

  await admin.goto('/admin/monitoring')
  await admin.getByRole('heading', { name: 'Monitoring', level: 2 }).waitFor()
  // The page reads the series again every 10 s; wait for a sample taken after the sign-up, with
  // requests in it and the admin among the active users.
  const requests = admin.locator('figure.chart').filter({ has: admin.locator('.chart-title', { hasText: /^Requests/ }) })
  await admin.waitForFunction(() => {
    const chart = (title) => [...document.querySelectorAll('figure.chart')].find((f) => f.getAttribute('aria-label')?.startsWith(title))
    const points = (title) => [...(chart(title)?.querySelectorAll('circle[data-point] title') ?? [])].map((el) => el.textContent ?? '')
    return points('Requests').some((x) => /Requests [1-9]/.test(x)) && points('Active users').some((x) => /Users [1-9]/.test(x))
  }, null, { timeout: 45_000 })
  assert.ok(await requests.locator('circle[data-point]').count() >= 1)
  const titles = await admin.locator('figure.chart .chart-title').allInnerTexts()
  for (const want of [/^Requests/, /^Server errors/, /^Latency/, /^Active sandboxes/, /^Active users/, /^Agent spend/, /^Job queue/, /^Data disk used/]) {
    assert.ok(titles.some((x) => want.test(x)), `a chart titled ${want} among ${titles.join(', ')}`)
  }
  // The disk has a size.
  const disk = admin.locator('figure.chart').filter({ has: admin.locator('.chart-title', { hasText: /^Data disk used/ }) })
  assert.match(await disk.locator('svg').getAttribute('aria-label'), /Size \d+(\.\d)? (GB|TB|MB)/)

  await assertAccessible(admin, 'Monitoring')
  await admin.getByRole('button', { name: 'Last 24 hours' }).click()
  assert.equal(await admin.getByRole('button', { name: 'Last 24 hours' }).getAttribute('aria-pressed'), 'true')
  await requests.locator('circle[data-point]').first().waitFor()
})

test('jobs: a deleted project’s clean-up job is cancelled, retried and completes', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const admin = await ctx.newPage()
  // The admin of the first journey (same server), signed in again.
  const login = await ctx.request.post('/api/auth/login', { data: { email: 'ada@example.com', password: 'admin-password' } })
  assert.equal(login.status(), 200, await login.text())

  const created = await ctx.request.post('/api/projects', { data: { name: 'doomed' } })
  assert.equal(created.status(), 201, await created.text())
  const project = await created.json()
  assert.equal((await ctx.request.delete(`/api/projects/${project.id}`)).status(), 204)

  await admin.goto('/admin/jobs')
  const tabs = admin.getByRole('tablist', { name: 'Job states' })
  // The session sweep runs when the server starts.
  await tabs.getByRole('tab', { name: /^Completed/ }).click()
  await admin.getByRole('list', { name: 'Completed jobs' }).locator('[data-kind="session_sweep"]').first().waitFor()

  // The deletion queued a clean-up job that waits a minute.
  await tabs.getByRole('tab', { name: /^Scheduled 1$/ }).click()
  const job = admin.getByRole('list', { name: 'Scheduled jobs' }).locator('[data-kind="project_delete"]')
  await job.waitFor()
  const id = (await job.innerText()).match(/#(\d+)/)[1]
  await job.getByRole('button', { name: 'Details' }).click()
  assert.match(await job.getByLabel('Arguments').innerText(), new RegExp(project.id))

  await job.getByRole('button', { name: `Cancel job ${id}` }).click()
  await admin.getByRole('dialog', { name: `Cancel job ${id}?` }).getByRole('button', { name: 'Cancel job', exact: true }).click()
  await admin.getByRole('status').filter({ hasText: `Cancelled job ${id} (project_delete): it is now cancelled.` }).waitFor()
  await tabs.getByRole('tab', { name: /^Scheduled 0$/ }).waitFor()

  await tabs.getByRole('tab', { name: /^Cancelled 1$/ }).click()
  const cancelled = admin.getByRole('list', { name: 'Cancelled jobs' }).locator('[data-kind="project_delete"]')
  await cancelled.getByRole('button', { name: `Retry job ${id}` }).click()
  await admin.getByRole('dialog', { name: `Retry job ${id}?` }).getByRole('button', { name: 'Retry job' }).click()
  await admin.getByRole('status').filter({ hasText: `Retried job ${id} (project_delete): it is now waiting.` }).waitFor()

  await tabs.getByRole('tab', { name: /^Completed/ }).click()
  // The queue picks it up within its poll interval (1 s); the project is gone, so it completes.
  // The page reads the list again every 5 s.
  const done = admin.getByRole('list', { name: 'Completed jobs' }).locator(`li:has-text("#${id}")`)
  await done.waitFor({ timeout: 30_000 })
  assert.match(await done.innerText(), /attempt 1 of/)
})

test('jobs: a failed job shows its errors and fails again when retried', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const admin = await ctx.newPage()
  const login = await ctx.request.post('/api/auth/login', { data: { email: 'ada@example.com', password: 'admin-password' } })
  assert.equal(login.status(), 200, await login.text())
  // A job of a kind no handler of this version knows, with one attempt: River fails it ("not
  // registered") and, its attempts spent, discards it. Written into the server's own queue table.
  execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(server.dataDir, 'ecode.db'),
    "INSERT INTO river_job (kind, args, metadata, tags, max_attempts) VALUES ('retired_kind', '{\"n\":1}', '{}', '[]', 1)"])

  await admin.goto('/admin/jobs')
  const tabs = admin.getByRole('tablist', { name: 'Job states' })
  await tabs.getByRole('tab', { name: /^Failed 1$/ }).click() // the tab's count follows the 5 s refresh
  const job = admin.getByRole('list', { name: 'Failed jobs' }).locator('[data-kind="retired_kind"]')
  await job.waitFor()
  assert.match(await job.innerText(), /attempt 1 of 1/)
  await job.getByRole('button', { name: 'Errors (1)' }).click()
  const attempts = job.getByRole('table', { name: 'Failed attempts' })
  assert.match(await attempts.innerText(), /retired_kind/)
  await assertAccessible(admin, 'Jobs')
  const id = (await job.innerText()).match(/#(\d+)/)[1]

  await job.getByRole('button', { name: `Retry job ${id}` }).click()
  await admin.getByRole('dialog', { name: `Retry job ${id}?` }).getByRole('button', { name: 'Retry job' }).click()
  await admin.getByRole('status').filter({ hasText: `Retried job ${id} (retired_kind): it is now waiting.` }).waitFor()
  // It runs again at once and fails again: two errors, still failed.
  await job.getByRole('button', { name: 'Errors (2)' }).waitFor({ timeout: 30_000 })
  assert.equal(await job.getAttribute('data-state'), 'discarded')
})
