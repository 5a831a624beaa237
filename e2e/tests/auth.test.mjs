// Sign-up and log-in errors, the redirect back after logging in, sign-out, sessions and tokens.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('auth errors, redirects, sessions and tokens', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Grace Hopper', email: 'grace@example.com', password: 'cobol-forever' })

  // Settings: the profile shows the admin badge (first account); create and revoke a token.
  await page.getByRole('link', { name: 'Settings' }).click()
  await page.waitForURL((u) => u.pathname === '/settings')
  await page.locator('.badge-admin').first().waitFor()
  await page.locator('[aria-label="Sessions"] .item[data-current="true"]').waitFor()
  await page.getByLabel('Token name').fill('ci')
  await page.getByRole('button', { name: 'Create token' }).click()
  const token = await page.getByLabel('New token').inputValue()
  assert.ok(token.length >= 16, 'a token is shown once')
  const me = await page.evaluate(async (tok) => {
    const r = await fetch('/api/me', { credentials: 'omit', headers: { Authorization: `Bearer ${tok}` } })
    return r.json()
  }, token)
  assert.equal(me.email, 'grace@example.com', 'the token authenticates')
  await page.getByRole('button', { name: 'Revoke ci' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click()
  await page.getByRole('button', { name: 'Revoke ci' }).waitFor({ state: 'detached' })

  // Sign out: protected pages send us to the login page, which returns us afterwards.
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.waitForURL((u) => u.pathname === '/login')
  await page.goto('/settings')
  await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === '/settings')
  await page.getByLabel('Email', { exact: true }).fill('grace@example.com')
  await page.getByLabel('Password', { exact: true }).fill('wrong-password')
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByRole('alert').filter({ hasText: 'Wrong email or password' }).waitFor()
  await page.getByLabel('Password', { exact: true }).fill('cobol-forever')
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL((u) => u.pathname === '/settings')

  // Sign-up errors from the server land on their fields (an email that is taken).
  const other = await (await browser.newContext({ baseURL: server.url })).newPage()
  t.after(() => other.context().close())
  await other.goto('/signup')
  await other.getByLabel('Name', { exact: true }).fill('Someone')
  await other.getByLabel('Email', { exact: true }).fill('grace@example.com')
  await other.getByLabel('Password', { exact: true }).fill('short')
  await other.getByRole('button', { name: 'Sign up' }).click()
  await other.getByText('At least 10 characters', { exact: true }).waitFor() // checked in the browser
  await other.getByLabel('Password', { exact: true }).fill('long-enough-password')
  const answered = other.waitForResponse((r) => r.url().endsWith('/api/auth/signup'))
  await other.getByRole('button', { name: 'Sign up' }).click()
  const res = await answered
  assert.equal(res.status(), 400)
  const body = await res.json()
  assert.ok(body.error.fields.email, 'the server names the email field')
  await other.locator('.field-invalid .field-error').filter({ hasText: /./ }).first().waitFor()
  assert.equal(await other.getByLabel('Email', { exact: true }).getAttribute('aria-invalid'), 'true')
})
