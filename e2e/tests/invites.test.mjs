// Sign-up policy and invite links: the admin makes sign-up invite only in Settings, creates an
// invite link; a new browser signs up with it; another, without a link, is refused with a
// clear message; the used link shows as used.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => {
  server = s
  browser = b
})

test('invite-only sign-up with an invite link', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const admin = await ctx.newPage()
  await signUp(admin, { name: 'Ada Admin', email: 'ada@example.com', password: 'admin-password' })
  await admin.goto('/settings')
  const section = admin.locator('section', { has: admin.getByRole('heading', { name: /Sign-up/ }) })
  await section.getByLabel(/^Invite only/).check()
  await section.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
  await section.getByRole('button', { name: 'Create invite link' }).click()
  const link = await section.getByRole('textbox', { name: 'Invite link' }).inputValue()
  assert.match(link, /\/signup\?invite=eci_/)

  // Without the link: a clear refusal, no form.
  const strangerCtx = await browser.newContext({ baseURL: server.url })
  t.after(() => strangerCtx.close())
  const stranger = await strangerCtx.newPage()
  await stranger.goto('/signup')
  await stranger.getByRole('alert').filter({ hasText: 'needs an invite link' }).waitFor()
  assert.equal(await stranger.getByRole('button', { name: 'Sign up' }).count(), 0)

  // With the link: the invited person signs up.
  const guestCtx = await browser.newContext({ baseURL: server.url })
  t.after(() => guestCtx.close())
  const guest = await guestCtx.newPage()
  await guest.goto(link)
  await guest.getByText('You were invited').waitFor()
  await guest.getByLabel('Name', { exact: true }).fill('Gus Guest')
  await guest.getByLabel('Email', { exact: true }).fill('gus@example.com')
  await guest.getByLabel('Password', { exact: true }).fill('password123')
  await guest.getByRole('button', { name: 'Sign up' }).click()
  await guest.getByText('one of the most common passwords').waitFor() // the server's rule, on the field
  await guest.getByLabel('Password', { exact: true }).fill('guest-of-honour')
  const answered = guest.waitForResponse((r) => r.url().endsWith('/api/auth/signup'))
  await guest.getByRole('button', { name: 'Sign up' }).click()
  assert.equal((await answered).status(), 201)
  await guest.waitForURL((u) => u.pathname === '/')

  // The same link does not work twice.
  const againCtx = await browser.newContext({ baseURL: server.url })
  t.after(() => againCtx.close())
  const again = await againCtx.newPage()
  await again.goto(link)
  await again.getByLabel('Name', { exact: true }).fill('Second Try')
  await again.getByLabel('Email', { exact: true }).fill('second@example.com')
  await again.getByLabel('Password', { exact: true }).fill('another-good-one')
  await again.getByRole('button', { name: 'Sign up' }).click()
  await again.getByRole('alert').filter({ hasText: 'invite link is not valid' }).waitFor()

  await admin.reload()
  await section.getByText('Invite used').waitFor()
})
