// The dashboard: "What do you want to build?" makes a project from the fitting template and starts
// the agent on it (fake model); the template gallery; a 100-character project name keeps every
// row's buttons on screen; search and sort; no serious accessibility violations.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { script } from '../lib/fake-anthropic.mjs'
import { signUp, treeItem, useAgentServer } from '../lib/journey.mjs'
import { assertAccessible, createProject, screenshot } from '../lib/ux.mjs'

let server
let browser
useAgentServer((s, b) => {
  server = s
  browser = b
})

test('a prompt makes a project and the agent starts building it', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 900 } })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Pia Prompt', email: 'pia@example.com', password: 'prompt-password' })

  // The first thing on the dashboard is the prompt.
  const first = page.locator('main.dashboard > *').first()
  assert.equal(await first.getByRole('heading', { level: 1 }).innerText(), 'What do you want to build?')
  const box = page.getByRole('textbox', { name: 'What do you want to build?' })
  await box.fill('An Express server: create hello.txt with a greeting')
  // The suggested template is shown before creating anything (the server's heuristic: Express -> Node.js).
  await page.locator('[data-testid="suggested-template"][data-template="node"]').waitFor()
  await page.getByRole('button', { name: 'Web Search' }).click()
  assert.equal(await page.getByRole('button', { name: 'Web Search' }).getAttribute('aria-pressed'), 'true')

  const turn = page.waitForResponse((r) => r.url().endsWith('/agent/turns') && r.request().method() === 'POST')
  await page.getByRole('button', { name: 'Start building' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectId = decodeURIComponent(new URL(page.url()).pathname.slice(3))
  assert.equal((await turn).status(), 200)
  const sent = JSON.parse((await turn).request().postData())
  assert.equal(sent.prompt, 'An Express server: create hello.txt with a greeting')
  assert.equal(sent.web_search, true, JSON.stringify(sent))

  // The Agent pane is showing and streams the turn; its file lands in the tree.
  const pane = page.locator('#pane-agent')
  await pane.locator('.agent-text', { hasText: script.intro }).waitFor()
  await pane.locator('.agent-text', { hasText: script.outro }).waitFor()
  await treeItem(page, 'hello.txt').waitFor()
  // The checkpoint of the turn is a link that opens it in the Checkpoints pane.
  await pane.getByRole('button', { name: 'Open checkpoint' }).click()
  await page.locator('[role="tab"][data-pane="checkpoints"][aria-selected="true"]').waitFor()

  // The project is named after the prompt, from the Node.js template, whose package.json carries the name.
  const project = await (await page.request.get(`/api/projects/${projectId}`)).json()
  assert.equal(project.template, 'node')
  assert.equal(project.name, 'Express server create hello txt with a')
  const pkg = await (await page.request.get(`/api/projects/${projectId}/files/package.json`)).json()
  assert.equal(pkg.name, 'express-server-create-hello-txt-with-a')
  await screenshot(page, 'workspace-agent')
})

test('long names, search and sort, gallery, accessibility', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 900 } })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Lou Long', email: 'lou@example.com', password: 'long-password' })
  const long = 'A project with a very long name that goes on and on to test the layout of the dashboard rows ok'.padEnd(100, 'x')
  assert.equal(long.length, 100)
  await createProject(page, long, 'python')
  await createProject(page, 'Zeta', 'static')
  await createProject(page, 'alpha', 'go')
  await page.goto('/')
  const rows = page.locator('tr[data-project-id]')
  await rows.nth(2).waitFor()

  for (const [w, h] of [[1440, 900], [1280, 720]]) {
    await page.setViewportSize({ width: w, height: h })
    for (let i = 0; i < 3; i++) {
      for (const b of await rows.nth(i).locator('.row-actions .btn').all()) {
        const r = await b.boundingBox()
        assert.ok(r && r.x >= 0 && r.x + r.width <= w, `at ${w}×${h} a button of row ${i} is off screen: ${JSON.stringify(r)}`)
      }
    }
  }
  // The long name is cut with an ellipsis and shown whole in its tooltip.
  const link = page.getByRole('link', { name: long })
  assert.equal(await link.getAttribute('title'), long)
  assert.ok(await link.evaluate((el) => el.scrollWidth > el.clientWidth), 'the long name is truncated')
  await screenshot(page, 'dashboard')

  // Search filters by name; sort by name orders case-insensitively.
  await page.getByLabel('Search', { exact: true }).fill('ZET')
  assert.deepEqual(await rows.locator('.project-name').allInnerTexts(), ['Zeta'])
  await page.getByLabel('Search', { exact: true }).fill('')
  await page.getByLabel('Sort by').selectOption('name')
  const names = await rows.locator('.project-name').allInnerTexts()
  assert.deepEqual(names, [long, 'alpha', 'Zeta'].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' })))

  // The gallery: one card per template, one chosen at a time, reachable by keyboard.
  const cards = page.getByRole('radiogroup', { name: 'Template' }).getByRole('radio')
  assert.equal(await cards.count(), 5)
  await page.locator('[data-template="node"]').focus()
  await page.keyboard.press('Enter')
  assert.equal(await page.locator('[data-template="node"]').getAttribute('aria-checked'), 'true')
  assert.equal(await page.locator('[aria-checked="true"]').count(), 1)

  await assertAccessible(page, 'dashboard')
})
