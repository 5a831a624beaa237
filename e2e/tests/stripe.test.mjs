// Stripe: the Usage page shows the plan; Upgrade asks the server for a Checkout session
// (created on stripe-mock) and goes to its URL; the plan changes when Stripe's signed
// webhook confirms the subscription, and the page shows it. stripe-mock's Checkout URLs
// point at checkout.stripe.com, which the test answers with a stand-in page.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { launchBrowser } from '../lib/browser.mjs'
import { signUp } from '../lib/journey.mjs'
import { startServer } from '../lib/server.mjs'
import { signWebhook, startStripeMock, stripeMockBin } from '../lib/stripe-mock.mjs'

const secret = 'whsec_e2e_secret'
const bin = stripeMockBin()
const missing = 'stripe-mock is not installed: go install github.com/stripe/stripe-mock@v0.203.0'
if (!bin && process.env.CI) throw new Error(missing)

let mock
let server
let browser

before(async () => {
  if (!bin) return
  mock = await startStripeMock(bin)
  server = await startServer({
    extraArgs: ['--stripe-api-key', 'sk_test_e2e', '--stripe-webhook-secret', secret, '--stripe-api-url', mock.url,
      '--stripe-credit-packs', 'ten=price_ten:10000000'],
  })
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.stop()
  mock?.stop()
})

test('upgrade through Stripe Checkout; the plan follows the signed webhook', { skip: bin ? false : missing }, async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Pay Ing', email: 'pay@example.com', password: 'paying-password' })
  // the admin (the first account) sells Pro at a Stripe price
  const put = await page.request.put('/api/admin/billing/plans/pro', {
    data: { name: 'Pro', price_micros: 25000000, included_micros: 25000000, max_projects: 1000, stripe_price: 'price_pro' },
  })
  assert.equal(put.status(), 200, await put.text())

  await page.goto('/usage')
  assert.equal(await page.getByTestId('usage-plan').innerText(), 'Free')
  await page.getByRole('button', { name: 'Buy $10.00 of credits' }).waitFor()

  await ctx.route('https://checkout.stripe.com/**', (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Stripe Checkout</title><h1>Stripe Checkout (stand-in)</h1>' }))
  const created = page.waitForResponse((r) => r.url().endsWith('/api/usage/checkout'))
  await page.getByRole('button', { name: 'Upgrade to Pro ($25.00 a month)' }).click()
  assert.equal((await created).status(), 200)
  // the page went to the session's URL (the body is gone with the navigation)
  await page.waitForURL(/^https:\/\/checkout\.stripe\.com\/.*cs_test_/)
  await page.getByRole('heading', { name: 'Stripe Checkout (stand-in)' }).waitFor()

  // Stripe confirms: a forged signature is refused, the signed event changes the plan
  const me = await (await page.request.get('/api/me')).json()
  const event = JSON.stringify({
    id: 'evt_e2e_1', object: 'event', type: 'customer.subscription.created', created: Math.floor(Date.now() / 1000),
    api_version: '2025-08-27.basil',
    data: { object: { id: 'sub_e2e', object: 'subscription', customer: 'cus_e2e', status: 'active',
      metadata: { account_id: me.id }, items: { object: 'list', data: [{ id: 'si_1', price: { id: 'price_pro' } }] } } },
  })
  const post = (sig) => fetch(`${server.url}/api/stripe/webhook`, { method: 'POST', body: event, headers: { 'Stripe-Signature': sig } })
  assert.equal((await post(signWebhook(event, 'whsec_forged'))).status, 400)
  assert.equal((await post(signWebhook(event, secret))).status, 200)

  await page.goto('/usage?checkout=success')
  await page.getByTestId('checkout-returned').waitFor()
  assert.equal(await page.getByTestId('usage-plan').innerText(), 'Pro')
  assert.equal(await page.getByRole('button', { name: /Upgrade to Pro/ }).count(), 0, 'no upgrade to the plan already held')
})
