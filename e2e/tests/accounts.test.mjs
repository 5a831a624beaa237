// Account settings and the admin users page: edit the profile, change the
// password (other browsers are signed out), an admin disables a user (their
// browser is signed out at once, sign-in refused), enables them again and
// deletes them, giving their projects to the admin.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

async function logIn(page, email, password) {
  await page.goto('/login')
  await page.getByLabel('Email', { exact: true }).fill(email)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Log in' }).click()
}

const apiStatus = (page, path) => page.evaluate(async (p) => (await fetch(p)).status, path)

test('profile, password change, admin disables and deletes a user', async (t) => {
  const adminCtx = await browser.newContext({ baseURL: server.url })
  const userCtx = await browser.newContext({ baseURL: server.url })
  const otherCtx = await browser.newContext({ baseURL: server.url })
  t.after(() => Promise.all([adminCtx.close(), userCtx.close(), otherCtx.close()]))
  const admin = await adminCtx.newPage()
  const user = await userCtx.newPage()
  const other = await otherCtx.newPage()
  await signUp(admin, { name: 'Root Admin', email: 'root@example.com', password: 'admin-password-1' })
  await signUp(user, { name: 'Sam', email: 'sam@example.com', password: 'first-password' })
  await user.evaluate(() => fetch('/api/projects', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'sams-app', template: 'static' }) }))
  await logIn(other, 'sam@example.com', 'first-password')
  await other.waitForURL((u) => u.pathname === '/')

  // Profile: a taken email is refused on its field; a new name is saved.
  await user.goto('/settings')
  const profile = user.getByRole('form', { name: 'Edit profile' })
  await profile.getByLabel('Email').fill('root@example.com')
  await profile.getByRole('button', { name: 'Save profile' }).click()
  await profile.getByText('An account with this email already exists').waitFor()
  await profile.getByLabel('Email').fill('sam@example.com')
  await profile.getByLabel('Name').fill('Samantha')
  await profile.getByRole('button', { name: 'Save profile' }).click()
  await profile.getByText('Profile saved.').waitFor()

  // Password: the other browser is signed out, this one stays.
  const pw = user.getByRole('form', { name: 'Change password' })
  await pw.getByLabel('Current password').fill('first-password')
  await pw.getByLabel('New password').fill('second-password')
  await pw.getByRole('button', { name: 'Change password' }).click()
  await pw.getByText('Your other sessions were signed out').waitFor()
  assert.equal(await apiStatus(other, '/api/me'), 401)
  assert.equal(await apiStatus(user, '/api/me'), 200)

  // The admin disables Samantha: her browser is signed out at once.
  await admin.goto('/settings')
  const row = admin.getByRole('list', { name: 'Users' }).locator('[data-email="sam@example.com"]')
  await row.getByText('Samantha').waitFor()
  await row.getByRole('button', { name: 'Disable' }).click()
  await row.getByText('disabled', { exact: true }).waitFor()
  assert.equal(await apiStatus(user, '/api/me'), 401)
  await logIn(other, 'sam@example.com', 'second-password')
  await other.getByRole('alert').filter({ hasText: 'This account is disabled' }).waitFor()

  await row.getByRole('button', { name: 'Enable' }).click()
  await row.getByRole('button', { name: 'Disable' }).waitFor()
  await logIn(other, 'sam@example.com', 'second-password')
  await other.waitForURL((u) => u.pathname === '/')

  // Delete her, giving her project to the admin.
  await row.getByRole('button', { name: 'Delete' }).click()
  const dialog = admin.getByRole('dialog')
  await dialog.getByLabel('New owner').selectOption({ label: 'Root Admin (root@example.com)' })
  await dialog.getByRole('button', { name: 'Delete user' }).click()
  await row.waitFor({ state: 'detached' })
  const log = admin.getByRole('list', { name: 'All security events' })
  await log.locator('[data-kind="user_deleted"]').waitFor()
  await log.locator('[data-kind="user_disabled"]').waitFor()
  await admin.goto('/')
  await admin.getByText('sams-app').first().waitFor()
})
