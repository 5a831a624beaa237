// Secrets: add one in the Secrets pane, Run an app that prints it: the Console shows
// [secret NAME], the app's own page (the Preview) shows the value.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

const app = `import http from 'node:http'
console.log('the key is ' + process.env.MY_API_KEY)
http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/html')
  res.end('<h1>key ' + process.env.MY_API_KEY + '</h1>')
}).listen(process.env.PORT || 3000, '127.0.0.1')
`

test('a secret reaches the app, and the console shows its name only', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Sam Secret', email: 'sam@example.com', password: 'secret-secret-1' })
  await page.getByLabel('Name', { exact: true }).fill('Keyed app')
  await page.locator('[data-template="node"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectId = new URL(page.url()).pathname.split('/')[2]
  const put = await ctx.request.put(`/api/projects/${projectId}/files/index.js`, { data: app })
  assert.ok(put.ok(), `write index.js: ${put.status()}`)

  // Add the secret in the pane; the value is masked in the list, Reveal shows it.
  const value = 'sk-e2e-' + Math.random().toString(36).slice(2, 12)
  await page.locator('[role="tab"][data-pane="secrets"]').click()
  const pane = page.locator('#pane-secrets')
  await pane.getByLabel('Secret name').fill('MY_API_KEY')
  await pane.getByLabel('Secret value').fill(value)
  await pane.getByRole('button', { name: 'Save' }).click()
  const row = pane.locator('tr[data-secret="MY_API_KEY"]')
  await row.waitFor()
  assert.equal(await row.locator('.secret-value').innerText(), '••••••••')
  await row.getByRole('button', { name: 'Reveal' }).click()
  await row.locator('.secret-value code').getByText(value).waitFor()
  await row.getByRole('button', { name: 'Hide' }).click()

  // A reserved name is refused with a clear message.
  await pane.getByLabel('Secret name').fill('PORT')
  await pane.getByLabel('Secret value').fill('123456')
  await pane.getByRole('button', { name: 'Save' }).click()
  await pane.getByRole('alert').getByText(/PORT is set by E-Code/).waitFor()

  // Run: the preview (the app's own page) has the value; the console only its name.
  await page.locator('header').getByRole('button', { name: 'Run', exact: true }).click()
  await page.locator('header').getByRole('button', { name: 'Stop', exact: true }).waitFor({ timeout: 60_000 })
  await page.locator('[role="tab"][data-pane="preview"]').click()
  await page.frameLocator('iframe[title="Preview"]').getByRole('heading', { name: 'key ' + value }).waitFor({ timeout: 30_000 })
  await page.locator('[role="tab"][data-pane="console"]').click()
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-testid="console-output"] .xterm-rows > div')]
      .some((r) => r.textContent.replace(/\u00a0/g, ' ').includes('the key is [secret MY_API_KEY]')),
    null, { timeout: 30_000, polling: 100 })
  const consoleText = await page.locator('[data-testid="console-output"] .xterm-rows').innerText()
  assert.ok(!consoleText.includes(value), 'the console must not show the value')

  // An account secret, set in Settings, linked into the project from its Secrets pane.
  const projectUrl = page.url()
  await page.goto('/settings')
  await page.getByLabel('Account secret name').fill('SHARED_TOKEN')
  await page.getByLabel('Account secret value').fill('shared-' + value)
  await page.locator('section[aria-labelledby="acct-secrets-h"]').getByRole('button', { name: 'Save', exact: true }).click()
  await page.locator('li[data-secret="SHARED_TOKEN"]').waitFor()
  await page.goto(projectUrl)
  await page.locator('[role="tab"][data-pane="secrets"]').click()
  await pane.getByRole('button', { name: 'SHARED_TOKEN' }).click()
  await pane.locator('tr[data-secret="SHARED_TOKEN"]').getByText('(account').waitFor()
})
