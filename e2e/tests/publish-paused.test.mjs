// Paused deployment: the owner's credits run out (the admin puts the account on a plan with
// none; the live instance's next usage charge leaves nothing), the Deployments pane shows the
// paused notice by itself and a visitor gets the paused page; after a top-up (the admin's
// credits route) the owner presses Resume and the app answers at its public URL again.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { publishNodeServer, signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
// Usage is charged each second (--usage-interval), not each minute: the pause comes within seconds.
useServerAndBrowser((s, b) => { server = s; browser = b }, { extraArgs: ['--usage-interval', '1s'] })

test('credits run out: paused notice, top up, resume', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  // The first account is the admin, and the owner here.
  await signUp(page, { name: 'Penny Paused', email: 'penny@example.com', password: 'paused-publish-1' })
  const pane = await publishNodeServer(page, 'Metered app')
  const url = await pane.locator('a.deployment-url').getAttribute('href')
  // The build log closed: the pane no longer follows it, only reads the deployment now and then.
  await pane.getByRole('button', { name: 'Hide log' }).click()
  await pane.getByLabel('Build log').waitFor({ state: 'detached' })

  const visitor = await browser.newContext()
  t.after(() => visitor.close())
  const v = await visitor.newPage()
  await v.goto(url)
  await v.getByRole('heading', { name: 'Hello from Node.js' }).waitFor()

  // Credits gone: a plan with none included; the running instance's usage (charged each
  // second here) then leaves the account below zero and its deployment is suspended.
  const me = await (await page.request.get('/api/me')).json()
  assert.equal((await page.request.put('/api/admin/billing/plans/none', { data: { name: 'None', included_micros: 0 } })).status(), 200)
  assert.equal((await page.request.put(`/api/admin/billing/accounts/${me.id}/plan`, { data: { plan: 'none' } })).status(), 200)

  const notice = pane.locator('.deploy-suspended-note')
  await notice.waitFor({ timeout: 150_000 })
  assert.match(await notice.innerText(), /Paused: quota: its owner's credits are used up/)
  await pane.locator('tbody tr:nth-child(1)[data-status="suspended"]').waitFor()
  const paused = await v.goto(url)
  assert.equal(paused.status(), 503)
  await v.getByRole('heading', { name: 'This app is paused' }).waitFor()

  // Resuming before the top-up is refused with the reason.
  const refused = page.waitForResponse((r) => r.url().endsWith('/activate'))
  await pane.getByRole('button', { name: 'Resume' }).click()
  assert.equal((await refused).status(), 402)
  await pane.locator('.panel-error').filter({ hasText: 'credits' }).waitFor()

  // The admin tops the account up; the owner resumes the release from the pane.
  const topUp = await page.request.post(`/api/admin/billing/accounts/${me.id}/credits`,
    { data: { amount_micros: 10_000_000, reason: 'top up', idempotency_key: 'paused-journey-topup' } })
  assert.equal(topUp.status(), 200, `top up: ${topUp.status()} ${await topUp.text()}`)
  const resumed = page.waitForResponse((r) => r.url().endsWith('/activate'))
  await pane.getByRole('button', { name: 'Resume' }).click()
  assert.equal((await resumed).status(), 200)
  await pane.locator('tbody tr:nth-child(1)[data-status="live"]').waitFor({ timeout: 120_000 })
  assert.equal(await notice.count(), 0, 'the paused notice is gone')

  const back = await v.goto(url)
  assert.equal(back.status(), 200)
  await v.getByRole('heading', { name: 'Hello from Node.js' }).waitFor()
})
