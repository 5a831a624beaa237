// Two-factor authentication: turn TOTP on in Settings (codes computed from
// the shown key), sign out, sign in with a code in the second step, use a
// recovery code once (the second use is refused), see it in the security log.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'
import { stepNow, totpAt } from '../lib/totp.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

const email = 'ada@example.com'
const password = 'analytical-engine'

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.waitForURL((u) => u.pathname === '/login')
}

async function passwordStep(page) {
  await page.getByLabel('Email', { exact: true }).fill(email)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByLabel('Authentication code').waitFor()
}

async function codeStep(page, code) {
  await page.getByLabel('Authentication code').fill(code)
  await page.getByRole('button', { name: 'Verify' }).click()
}

test('TOTP enrolment, sign-in with a code, recovery code once', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Ada Lovelace', email, password })

  await page.getByRole('link', { name: 'Settings' }).click()
  await page.waitForURL((u) => u.pathname === '/settings')
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click()
  await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor()
  const secret = await page.getByLabel('Setup key').inputValue()
  assert.match(secret, /^[A-Z2-7]{16,}$/)
  const enrolStep = stepNow()
  await page.getByLabel('Code from the app').fill(totpAt(secret, enrolStep))
  await page.getByRole('button', { name: 'Turn on' }).click()
  const codes = await page.getByRole('status', { name: 'Recovery codes' }).locator('li').allTextContents()
  assert.equal(codes.length, 10)
  await page.getByText('10 recovery codes left').waitFor()

  // Sign out, then sign in: password first, then a code. The enrolment used
  // its time-step, so the next step's code (within the accepted skew) is used.
  await signOut(page)
  await passwordStep(page)
  await codeStep(page, totpAt(secret, enrolStep + 1))
  await page.waitForURL((u) => u.pathname === '/')
  await page.getByRole('heading', { level: 1 }).waitFor()

  // A recovery code signs in once.
  await signOut(page)
  await passwordStep(page)
  await codeStep(page, codes[0])
  await page.waitForURL((u) => u.pathname === '/')
  await signOut(page)
  await passwordStep(page)
  await codeStep(page, codes[0])
  await page.getByRole('alert').filter({ hasText: 'wrong or was already used' }).waitFor()
  assert.equal(new URL(page.url()).pathname, '/login')

  // Another recovery code works; the security log shows what happened.
  await codeStep(page, codes[1])
  await page.waitForURL((u) => u.pathname === '/')
  await page.goto('/settings')
  const log = page.getByRole('list', { name: 'Security events', exact: true })
  await log.locator('[data-kind="recovery_code_used"]').first().waitFor()
  await log.locator('[data-kind="totp_enabled"]').waitFor()
  await log.locator('[data-kind="second_factor_failed"]').waitFor()
  await page.getByText('8 recovery codes left').waitFor()
})
