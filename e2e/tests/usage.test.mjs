// Usage and billing: the quote (level, range, cap) shown before an agent turn, changing the
// level, the Usage page with its per-day chart after the turn, and the refusal when the
// account's credits are gone (with the 80% warning on the Usage page).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { launchBrowser } from '../lib/browser.mjs'
import { script, startFakeAnthropic } from '../lib/fake-anthropic.mjs'
import { signUp } from '../lib/journey.mjs'
import { startServer } from '../lib/server.mjs'

let fake
let server
let browser

before(async () => {
  fake = await startFakeAnthropic({ apiKey: 'test-key' })
  server = await startServer({ env: { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url } })
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.stop()
  await fake?.close()
})

test('quote before a turn, usage with charts, refusal when credits are gone', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Bill Ing', email: 'bill@example.com', password: 'billing-password' })
  await page.getByLabel('Name', { exact: true }).fill('Billed app')
  await page.locator('[data-template="blank"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const workspace = page.url()
  await page.locator('[role="treeitem"]').first().waitFor()

  await page.locator('[role="tab"][data-pane="agent"]').click()
  const pane = page.locator('#pane-agent')
  await pane.getByLabel('Message the agent').fill('Create hello.txt with a greeting')
  // the quote: level, multiplier, range and cap, before anything runs
  await pane.getByTestId('agent-price-level').filter({ hasText: 'moderate ×2.5' }).waitFor()
  assert.equal(await pane.getByTestId('agent-price-cap').innerText(), '$2.50')
  await pane.getByLabel('Complexity level').selectOption('expert')
  await pane.getByTestId('agent-price-level').filter({ hasText: 'expert ×20' }).waitFor()
  assert.equal(await pane.getByTestId('agent-price-cap').innerText(), '$20.00')
  await pane.getByLabel('Complexity level').selectOption('simple')
  await pane.getByTestId('agent-price-level').filter({ hasText: 'simple ×1' }).waitFor()

  const sent = page.waitForResponse((r) => r.url().endsWith('/agent/turns') && r.request().method() === 'POST')
  await pane.getByRole('button', { name: 'Send' }).click()
  assert.equal((await sent).status(), 200)
  assert.deepEqual(JSON.parse((await sent).request().postData()).level, 'simple')
  await pane.locator('.agent-text', { hasText: script.outro }).waitFor()
  await pane.getByTestId('agent-metrics').waitFor()

  // the Usage page: the turn's charge (a simple turn's minimum, $0.25), a bar per day
  await page.goto('/usage')
  await page.getByRole('heading', { name: 'Usage' }).waitFor()
  await page.locator('svg.usage-chart').waitFor()
  assert.equal(await page.locator('svg.usage-chart rect').count() >= 28, true, 'a bar per day of the month')
  assert.equal(await page.locator('svg.usage-chart rect:not([height="0"])').count(), 1, "one day with charges: today's bar")
  assert.equal(await page.getByTestId('usage-total').innerText(), '$0.25')
  assert.equal(await page.getByTestId('usage-used').innerText(), '$0.25')
  assert.match(await page.locator('table').first().innerText(), /Agent work/)
  assert.match(await page.locator('table').nth(1).innerText(), /Billed app/)
  const csv = await page.request.get('/api/usage/statement.csv')
  assert.match(await csv.text(), /total,,,250000,\$0\.25/)

  // credits gone: the admin (this user) puts the account on a plan with none included
  const me = await (await page.request.get('/api/me')).json()
  assert.equal((await page.request.put('/api/admin/billing/plans/none', { data: { name: 'None', included_micros: 0 } })).status(), 200)
  assert.equal((await page.request.put(`/api/admin/billing/accounts/${me.id}/plan`, { data: { plan: 'none' } })).status(), 200)
  await page.reload()
  await page.getByTestId('usage-warning').waitFor()
  assert.equal(await page.getByTestId('usage-left').innerText(), '-$0.25')

  await page.goto(workspace)
  await page.locator('[role="tab"][data-pane="agent"]').click()
  await pane.getByLabel('Message the agent').fill('Create another file')
  await pane.getByTestId('agent-refusal').filter({ hasText: 'credits' }).waitFor()
  const refused = page.waitForResponse((r) => r.url().endsWith('/agent/turns') && r.request().method() === 'POST')
  await pane.getByRole('button', { name: 'Send' }).click()
  const res = await refused
  assert.equal(res.status(), 402)
  assert.equal((await res.json()).error.code, 'quota')
  assert.equal(fake.requests.length, 2, 'the refused turn never reached the model')
})
