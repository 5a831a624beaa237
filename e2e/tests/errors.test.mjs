// Error tracking: a page signed out throws an uncaught error and rejects a promise; both reach the
// server, and the admin's Errors page lists them with their stacks; the page's load timings
// (web vitals) show in its table; resolving an error removes it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => {
  server = s
  browser = b
})

/** Clicks Refresh until `locator` shows (the reports are sent in the background). */
async function refreshUntil(page, locator) {
  for (let i = 0; i < 40; i++) {
    if (await locator.count()) return
    await page.getByRole('button', { name: 'Refresh' }).click()
    await locator.first().waitFor({ timeout: 500 }).catch(() => {})
  }
  await locator.first().waitFor({ timeout: 1000 })
}

test('browser errors reach the admin Errors page', async (t) => {
  const adminCtx = await browser.newContext({ baseURL: server.url })
  t.after(() => adminCtx.close())
  const admin = await adminCtx.newPage()
  await signUp(admin, { name: 'Ada Admin', email: 'ada@example.com', password: 'admin-password' })

  // Someone signed out, on the login page, hits a bug.
  const anonCtx = await browser.newContext({ baseURL: server.url })
  t.after(() => anonCtx.close())
  const anon = await anonCtx.newPage()
  await anon.goto('/login')
  await anon.getByRole('button', { name: 'Log in' }).waitFor()
  const reported = anon.waitForRequest((r) => r.url().endsWith('/api/errors/report'))
  await anon.evaluate(() => {
    function e2eBoom() {
      throw new TypeError('e2e boom: cannot read properties of undefined')
    }
    setTimeout(e2eBoom, 0)
    Promise.reject(new Error('e2e rejected promise'))
  })
  await reported
  await anon.goto('about:blank') // the page is hidden: its timings are sent

  await admin.getByRole('link', { name: 'Admin' }).click()
  await admin.waitForURL((u) => u.pathname === '/admin/errors')
  const list = admin.getByRole('list', { name: 'Errors' })
  const boom = list.getByRole('listitem').filter({ hasText: 'e2e boom: cannot read properties of undefined' })
  await refreshUntil(admin, boom)
  await refreshUntil(admin, list.getByRole('listitem').filter({ hasText: 'e2e rejected promise' }))
  assert.match(await boom.innerText(), /browser/i)
  assert.match(await boom.innerText(), /uncaught error/i)
  await boom.getByRole('button', { name: 'Details' }).click()
  assert.match(await boom.getByLabel('Stack').innerText(), /e2eBoom/)
  await boom.getByRole('table', { name: 'Occurrences' }).getByText('signed out').waitFor()

  await admin.reload()
  await admin.getByRole('table', { name: 'Page-load timings' }).getByRole('cell', { name: 'TTFB' }).first().waitFor()

  await boom.getByRole('button', { name: 'Resolve' }).click()
  await boom.waitFor({ state: 'detached' })
})
