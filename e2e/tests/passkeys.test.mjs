// Passkeys with Chromium's virtual authenticator: register one in Settings,
// sign out, sign in with it password-less; then use it as the second factor
// instead of a TOTP code.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'
import { stepNow, totpAt } from '../lib/totp.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('register a passkey and sign in with it', async (t) => {
  // WebAuthn needs a secure context and a host name (not an IP) as RP ID.
  const ctx = await browser.newContext({ baseURL: server.url.replace('127.0.0.1', 'localhost') })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  const cdp = await ctx.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  })
  await signUp(page, { name: 'Lin Key', email: 'lin@example.com', password: 'open-sesame-1' })

  await page.getByRole('link', { name: 'Settings' }).click()
  await page.getByLabel('Passkey name').fill('laptop')
  await page.getByRole('button', { name: 'Add a passkey' }).click()
  await page.getByRole('list', { name: 'Passkeys' }).getByText('laptop').waitFor()
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
  assert.equal(credentials.length, 1)
  assert.ok(credentials[0].isResidentCredential, 'a discoverable credential')

  // Password-less sign-in.
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.waitForURL((u) => u.pathname === '/login')
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
  await page.waitForURL((u) => u.pathname === '/')
  await page.goto('/settings')
  await page.getByRole('list', { name: 'Security events', exact: true }).locator('[data-kind="sign_in"]').getByText('passkey').first().waitFor()

  // With two-factor on, the passkey replaces the code after the password.
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click()
  const secret = await page.getByLabel('Setup key').inputValue()
  await page.getByLabel('Code from the app').fill(totpAt(secret, stepNow()))
  await page.getByRole('button', { name: 'Turn on' }).click()
  await page.getByRole('status', { name: 'Recovery codes' }).waitFor()
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.waitForURL((u) => u.pathname === '/login')
  await page.getByLabel('Email', { exact: true }).fill('lin@example.com')
  await page.getByLabel('Password', { exact: true }).fill('open-sesame-1')
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByRole('button', { name: 'Use a passkey instead' }).click()
  await page.waitForURL((u) => u.pathname === '/')
  await page.goto('/settings')
  await page.getByRole('list', { name: 'Security events', exact: true }).getByText('password+passkey').first().waitFor()

  // Deleting the passkey removes it from the list.
  await page.getByRole('button', { name: 'Delete laptop' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click()
  await page.getByText('No passkeys yet.').waitFor()
})
