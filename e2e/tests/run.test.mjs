// Running a project: Run, the Console's output, the Preview on its own origin, and a terminal.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, treeItem, useServerAndBrowser, waitForRow } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('run the node template, see its output and preview, use a terminal', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Rita Runner', email: 'rita@example.com', password: 'run-run-run' })

  await page.getByLabel('Name', { exact: true }).fill('Server app')
  await page.locator('[data-template="node"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))

  // The Console shows the detected run configuration before anything runs.
  const consolePane = page.locator('#pane-console')
  await consolePane.locator('.run-config code').waitFor()
  assert.match(await consolePane.locator('.run-config code').innerText(), /node|npm/)

  // Press the top bar's Run: the app starts, the panel switches to the Preview once it listens.
  const started = page.waitForResponse((r) => r.url().endsWith('/run') && r.request().method() === 'POST')
  await page.locator('header').getByRole('button', { name: 'Run', exact: true }).click()
  const res = await started
  assert.equal(res.status(), 202, `run answered ${res.status()}: ${await res.text()}`)
  await page.locator('header').getByRole('button', { name: 'Stop', exact: true }).waitFor()

  await page.locator('[role="tab"][data-pane="preview"][aria-selected="true"]').waitFor({ timeout: 60_000 })
  const preview = page.frameLocator('iframe[title="Preview"]')
  await preview.getByRole('heading', { name: 'Hello from Node.js' }).waitFor({ timeout: 30_000 })
  assert.equal(await page.getByLabel('Preview address').inputValue(), '/')

  // The address bar loads another path of the app; "Open in new tab" opens a fresh session.
  await page.getByLabel('Preview address').fill('/api/time')
  await page.getByLabel('Preview address').press('Enter')
  await preview.getByText('"now"').waitFor()
  const popup = ctx.waitForEvent('page')
  await page.getByRole('button', { name: 'Open in new tab' }).click()
  const tab = await popup
  await tab.getByRole('heading', { name: 'Hello from Node.js' }).waitFor()
  assert.match(new URL(tab.url()).hostname, /^p-.+\.localhost$/)
  await tab.close()

  // The Console kept the app's output.
  await page.locator('[role="tab"][data-pane="console"]').click()
  await waitForRow(page, '[data-testid="console-output"]', 'listening on http://127.0.0.1:3000')
  await consolePane.locator('.run-status[data-state="running"]').waitFor()
  assert.equal(await consolePane.getByRole('button', { name: 'Run', exact: true }).count(), 0, 'Restart replaces Run while running')
  await consolePane.getByRole('button', { name: 'Restart', exact: true }).waitFor()

  // A terminal: type a command, see its output on a line of its own.
  await page.locator('[role="tab"][data-pane="terminal"]').click()
  const created = page.waitForResponse((r) => r.url().endsWith('/terminals') && r.request().method() === 'POST')
  await page.getByRole('button', { name: 'New terminal' }).click()
  assert.equal((await created).status(), 201)
  const term = page.locator('#pane-terminal .terminal-view[data-status="connected"]')
  await term.waitFor()
  await term.locator('.xterm').click()
  await page.keyboard.type('echo hi')
  await page.keyboard.press('Enter')
  await waitForRow(page, '#pane-terminal .terminal-view:not([hidden])', 'hi', { exact: true })

  // A file the terminal makes shows up in the file tree by itself.
  await page.keyboard.type('touch from-terminal.txt')
  await page.keyboard.press('Enter')
  await treeItem(page, 'from-terminal.txt').waitFor({ timeout: 15_000 })

  // After a reload the terminal is still there, and reattaching replays its screen.
  await page.reload()
  await page.locator('[role="tab"][data-pane="terminal"]').click()
  await page.locator('#pane-terminal .terminal-view[data-status="connected"]').waitFor()
  await waitForRow(page, '#pane-terminal .terminal-view:not([hidden])', 'hi', { exact: true })
  await page.locator('#pane-terminal .terminal-view:not([hidden]) .xterm').click()
  await page.keyboard.type('echo $((6 * 7))')
  await page.keyboard.press('Enter')
  await waitForRow(page, '#pane-terminal .terminal-view:not([hidden])', '42', { exact: true })

  // A viewer watches the same output but gets no Run or Stop buttons and no terminals.
  const viewerCtx = await browser.newContext({ baseURL: server.url })
  t.after(() => viewerCtx.close())
  const viewer = await viewerCtx.newPage()
  await signUp(viewer, { name: 'Val Viewer', email: 'val@example.com', password: 'just-looking' })
  const projectPath = new URL(page.url()).pathname
  const added = await page.evaluate(async (id) => {
    const res = await fetch(`/api/projects/${id}/members`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'val@example.com', role: 'viewer' }),
    })
    return res.status
  }, projectPath.split('/')[2])
  assert.equal(added, 201)
  await viewer.goto(projectPath)
  await waitForRow(viewer, '[data-testid="console-output"]', 'listening on http://127.0.0.1:3000')
  await viewer.locator('#pane-console .run-status[data-state="running"]').waitFor()
  for (const name of ['Run', 'Stop', 'Restart']) {
    assert.equal(await viewer.getByRole('button', { name, exact: true }).count(), 0, `viewer has no ${name} button`)
  }
  await viewer.locator('[role="tab"][data-pane="terminal"]').click()
  await viewer.getByText('Terminals need editor access').waitFor()

  // Closing the tab ends the shell.
  const closed = page.waitForResponse((r) => r.url().includes('/terminals/') && r.request().method() === 'DELETE')
  await page.locator('[role="tab"][data-pane="terminal"]').click()
  await page.getByRole('button', { name: 'Close Shell 1' }).click()
  assert.equal((await closed).status(), 204)
  await page.locator('#pane-terminal').getByRole('button', { name: 'New terminal' }).waitFor()
  assert.equal(await page.locator('#pane-terminal .terminal-view').count(), 0)

  // Stop from the Console: the state says so in plain words.
  await page.locator('[role="tab"][data-pane="console"]').click()
  await consolePane.getByRole('button', { name: 'Stop', exact: true }).click()
  await consolePane.locator('.run-status[data-state="stopped"]').waitFor()
  await page.locator('header').getByRole('button', { name: 'Run', exact: true }).waitFor()
  await page.locator('[role="tab"][data-pane="preview"]').click()
  await page.getByText('Press Run to see your app here').waitFor()
})
