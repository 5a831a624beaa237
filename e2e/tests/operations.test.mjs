// Status page and notifications: an admin posts an incident, which a signed-out visitor sees on
// /status; a security event (a new token) lights the header's bell, whose list opens it; the
// email choices are saved in Settings.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => {
  server = s
  browser = b
})

test('status page incidents and the notification bell', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const admin = await ctx.newPage()
  await signUp(admin, { name: 'Ada Admin', email: 'ada@example.com', password: 'admin-password' })

  await admin.goto('/admin/incidents')
  await admin.getByLabel('Incident title').fill('Previews are slow')
  await admin.getByLabel('What is happening').fill('We are looking into it.')
  await admin.getByRole('button', { name: 'Post incident' }).click()
  await admin.getByRole('list', { name: 'Posted incidents' }).getByText('Previews are slow', { exact: true }).waitFor()

  const anonCtx = await browser.newContext({ baseURL: server.url })
  t.after(() => anonCtx.close())
  const anon = await anonCtx.newPage()
  await anon.goto('/status')
  await anon.getByRole('heading', { name: 'System status' }).waitFor()
  await anon.getByRole('list', { name: 'Components' }).getByText('Database').waitFor()
  const incident = anon.getByRole('list', { name: 'Incidents' }).getByRole('listitem').filter({ hasText: 'Previews are slow' })
  await incident.getByText('Ongoing', { exact: true }).waitFor()
  assert.equal(new URL(anon.url()).pathname, '/status', 'signed out, the status page stays')

  await admin.getByRole('button', { name: 'Resolve Previews are slow' }).click()
  await anon.reload()
  await incident.getByText('Resolved', { exact: true }).waitFor()

  // A security event: a new token. The bell counts it; opening it shows it.
  await admin.goto('/settings')
  await admin.getByLabel('Token name').fill('deploy-bot')
  await admin.getByRole('button', { name: 'Create token' }).click()
  await admin.getByLabel('New token').waitFor()
  await admin.goto('/')
  const bell = admin.getByRole('button', { name: /^Notifications, [1-9]\d* unread$/ })
  await bell.click()
  const item = admin.getByRole('dialog', { name: 'Notifications' }).getByRole('button', { name: /Access token created/ })
  await item.waitFor()
  assert.match(await item.innerText(), /deploy-bot/)

  await admin.goto('/settings')
  const section = admin.locator('section', { has: admin.getByRole('heading', { name: 'Email notifications' }) })
  await section.getByText('no mail server configured').waitFor()
  const box = section.getByLabel('Security events on my account')
  assert.equal(await box.isChecked(), true)
  await box.uncheck()
  await section.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
  await admin.reload()
  assert.equal(await section.getByLabel('Security events on my account').isChecked(), false)
})
