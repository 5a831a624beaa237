// AI provider settings: on a server with no provider in its environment, the Agent pane sends the
// admin to Settings → AI provider; the admin picks Anthropic (the Node fake), saves a key (shown
// back only as its last four characters), tests the connection, and the Agent pane then works.
import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { launchBrowser } from '../lib/browser.mjs'
import { script, startFakeAnthropic } from '../lib/fake-anthropic.mjs'
import { signUp, treeItem } from '../lib/journey.mjs'
import { startServer } from '../lib/server.mjs'

const apiKey = 'sk-ant-e2e-secret-key-wxyz'
let fake
let server
let browser

before(async () => {
  fake = await startFakeAnthropic({ apiKey })
  const none = {}
  for (const k of ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'ECODE_ANTHROPIC_API_KEY', 'ECODE_ANTHROPIC_BASE_URL',
    'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'ECODE_OPENAI_API_KEY', 'ECODE_OPENAI_BASE_URL', 'ECODE_AGENT_MODEL']) none[k] = ''
  server = await startServer({ env: none })
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.stop()
  await fake?.close()
})

test('the admin adds a provider in Settings and the agent works', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Ada Admin', email: 'ada@example.com', password: 'admin-password' })
  await page.getByLabel('Name', { exact: true }).fill('Provider app')
  await page.locator('[data-template="blank"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectURL = page.url()
  await page.locator('[role="treeitem"]').first().waitFor()

  // no provider: the pane explains, and points the admin to Settings
  await page.locator('[role="tab"][data-pane="agent"]').click()
  const unconfigured = page.locator('#pane-agent [data-testid="agent-unconfigured"]')
  await unconfigured.waitFor()
  assert.match(await unconfigured.innerText(), /Settings → AI provider/)

  // a user who is not an admin is told to ask one, and has no AI provider section
  const other = await browser.newContext({ baseURL: server.url })
  t.after(() => other.close())
  const up = await other.newPage()
  await signUp(up, { name: 'Bo User', email: 'bo@example.com', password: 'user-password' })
  await up.getByLabel('Name', { exact: true }).fill('Bo app')
  await up.locator('[data-template="blank"]').click()
  await up.getByRole('button', { name: 'Create project' }).click()
  await up.waitForURL((u) => u.pathname.startsWith('/p/'))
  await up.locator('[role="tab"][data-pane="agent"]').click()
  const theirs = up.locator('#pane-agent [data-testid="agent-unconfigured"]')
  await theirs.filter({ hasText: 'Ask an administrator' }).waitFor()
  assert.equal(await theirs.getByRole('link', { name: /AI provider/ }).count(), 0)
  await up.goto('/settings')
  await up.getByRole('heading', { name: 'Personal access tokens' }).waitFor()
  assert.equal(await up.getByTestId('provider-section').count(), 0)

  await unconfigured.getByRole('link', { name: 'Open Settings → AI provider' }).click()
  await page.waitForURL((u) => u.pathname === '/settings')

  const section = page.getByTestId('provider-section')
  await section.getByTestId('provider-source').filter({ hasText: 'No provider yet' }).waitFor()
  await section.getByLabel('Provider', { exact: true }).selectOption('anthropic')
  await section.getByLabel('Base URL').fill(fake.url)
  await section.getByLabel('API key').fill(apiKey)
  await section.getByLabel('Default model').selectOption('claude-sonnet-4-5')
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/admin/agent/settings') && r.request().method() === 'PUT')
  await section.getByRole('button', { name: 'Save' }).click()
  const res = await saved
  assert.equal(res.status(), 200)
  assert.ok(!(await res.text()).includes('secret'), 'the key is not sent back')
  await section.getByTestId('provider-key-hint').filter({ hasText: '…wxyz' }).waitFor()
  assert.equal(await section.getByLabel('API key').inputValue(), '', 'the key field is emptied')
  await section.getByTestId('provider-source').filter({ hasText: 'Configured here' }).waitFor()

  await section.getByRole('button', { name: 'Test connection' }).click()
  await section.getByTestId('provider-test').filter({ hasText: 'Connection works' }).waitFor()

  // reloaded, the page shows the stored settings
  await page.reload()
  await section.getByTestId('provider-key-hint').filter({ hasText: '…wxyz' }).waitFor()
  assert.equal(await section.getByLabel('Default model').inputValue(), 'claude-sonnet-4-5')

  // the key is stored encrypted under a 0600 master key, never in the clear
  const key = await stat(path.join(server.dataDir, 'master.key'))
  assert.equal(key.mode & 0o777, 0o600)
  assert.equal(key.size, 32)
  for (const f of ['ecode.db', 'ecode.db-wal']) {
    const b = await readFile(path.join(server.dataDir, f)).catch(() => Buffer.alloc(0))
    assert.ok(!b.includes(apiKey), `${f} holds the key in the clear`)
  }
  assert.ok(!server.output().includes(apiKey), 'the server log holds the key')

  // the Agent pane now works with the stored provider
  const before = fake.requests.length
  await page.goto(projectURL)
  await page.locator('[role="tab"][data-pane="agent"]').click()
  const pane = page.locator('#pane-agent')
  await pane.locator('.pane-toolbar', { hasText: 'anthropic · claude-sonnet-4-5' }).waitFor()
  await pane.getByLabel('Message the agent').fill('Create hello.txt with a greeting')
  await pane.getByRole('button', { name: 'Send' }).click()
  await pane.locator('.agent-text', { hasText: script.outro }).waitFor()
  await pane.locator('[data-testid="agent-action"][data-tool="write"][data-state="ok"]').waitFor()
  assert.equal(fake.requests.length - before, 2)
  assert.equal(fake.requests.at(-1).model, 'claude-sonnet-4-5')
  await treeItem(page, script.file).waitFor()
})
