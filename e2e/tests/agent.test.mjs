// The AI agent pane against a scripted fake Anthropic server: a prompt streams text, an action
// card for the file it writes, the turn's metrics, and the file appears in the tree and editor.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { script } from '../lib/fake-anthropic.mjs'
import { signUp, treeItem, useAgentServer } from '../lib/journey.mjs'
import { createProject } from '../lib/ux.mjs'

let fake
let server
let browser
useAgentServer((s, b, f) => {
  server = s
  browser = b
  fake = f
})

test('ask the agent: streamed text, an action card, metrics, and the file in the tree', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Ada Agent', email: 'ada@example.com', password: 'agent-password' })
  await createProject(page, 'Agent app', 'blank')

  await page.locator('[role="tab"][data-pane="agent"]').click()
  const pane = page.locator('#pane-agent')
  const box = pane.getByLabel('Message the agent')
  await box.fill('Create hello.txt with a greeting')
  // One money figure before a turn: the price line's cap (the model's own limit is in the tooltip).
  await pane.getByTestId('agent-quote').filter({ hasText: ' steps · ' }).waitFor()
  await pane.getByTestId('agent-price-cap').waitFor()
  assert.doesNotMatch(await pane.getByTestId('agent-quote').innerText(), /\$/)
  assert.match(await pane.getByTestId('agent-quote').getAttribute('title'), /^model cost at most \$/)
  await pane.getByRole('button', { name: 'Extended Thinking' }).click()
  assert.equal(await pane.getByRole('button', { name: 'Extended Thinking' }).getAttribute('aria-pressed'), 'true')

  const sent = page.waitForResponse((r) => r.url().endsWith('/agent/turns') && r.request().method() === 'POST')
  await pane.getByRole('button', { name: 'Send' }).click()
  assert.equal((await sent).status(), 200)

  await pane.locator('.agent-text', { hasText: script.intro }).waitFor()
  const card = pane.locator('[data-testid="agent-action"][data-tool="write"]')
  await card.waitFor()
  await pane.locator('[data-testid="agent-action"][data-tool="write"][data-state="ok"]').waitFor()
  assert.match(await card.locator('summary').innerText(), /hello\.txt/)
  await pane.locator('.agent-text', { hasText: script.outro }).waitFor()
  const metrics = pane.getByTestId('agent-metrics')
  await metrics.waitFor()
  assert.match(await metrics.innerText(), /1 file modified/)
  assert.match(await metrics.innerText(), /tokens/)
  // the turn changed a file, so it ended with a checkpoint
  await pane.locator('.agent-notice', { hasText: 'Checkpoint' }).waitFor()
  assert.equal(fake.requests.length, 2)
  assert.equal(fake.requests[0].stream, true)

  // the file is in the tree (reloaded when the agent wrote it) and opens in the editor
  await treeItem(page, script.file).click()
  await page.locator('.cm-content', { hasText: 'Hello from the agent' }).waitFor()

  // Stop cancels a turn that takes too long
  await box.fill('Now think slowly about it')
  await pane.getByRole('button', { name: 'Send' }).click()
  await pane.locator('.agent-text', { hasText: script.slowText }).waitFor()
  await pane.getByRole('button', { name: 'Stop the agent' }).click()
  await pane.locator('[data-testid="agent-turn"]').nth(1).getByTestId('agent-metrics').filter({ hasText: 'cancelled' }).waitFor()
  assert.equal(await pane.getByRole('button', { name: 'Send' }).isDisabled(), true, 'Send waits for a prompt')

  // past turns are loaded when the workspace opens again
  await page.reload()
  await page.locator('[role="tab"][data-pane="agent"]').click()
  await page.locator('#pane-agent [data-testid="agent-turn"][data-status="finished"]').first().waitFor()
  assert.equal(await page.locator('#pane-agent [data-testid="agent-turn"]').count(), 2)
  await page.locator('#pane-agent .agent-prompt', { hasText: 'Create hello.txt' }).waitFor()
})
