// Phones: at 390×844 the dashboard reflows and the workspace shows one pane at a time, picked in a
// bottom tab bar whose every entry (Files, Editor, Console, Preview, Agent, Checkpoints…) is
// reachable and at least 44 px tall; no serious accessibility violations.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { devices } from 'playwright-core'
import { editorTab, signUp, treeItem, useServerAndBrowser } from '../lib/journey.mjs'
import { assertAccessible, createProject, screenshot } from '../lib/ux.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('phone: dashboard and every workspace pane', async (t) => {
  const phone = devices['iPhone 13'] ?? {}
  const ctx = await browser.newContext({ ...phone, viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Mo Bile', email: 'mo@example.com', password: 'mobile-password' })
  await createProject(page, 'Pocket app', 'static')
  await page.goto('/')
  await page.getByRole('link', { name: 'Pocket app' }).waitFor()
  // Nothing wider than the screen.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'the dashboard scrolls sideways')
  for (const b of await page.locator('tr[data-project-id] .row-actions .btn').all()) {
    const r = await b.boundingBox()
    assert.ok(r.height >= 44 && r.x + r.width <= 390, `row button ${JSON.stringify(r)}`)
  }
  await screenshot(page, 'mobile-dashboard')
  await assertAccessible(page, 'phone dashboard')

  await page.getByRole('link', { name: 'Pocket app' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const bar = page.getByRole('navigation', { name: 'Workspace panes' })
  await bar.waitFor()
  const tabs = bar.getByRole('button')
  const names = await tabs.allInnerTexts()
  for (const want of ['Files', 'Editor', 'Console', 'Preview', 'Agent', 'Checkpoints']) assert.ok(names.includes(want), `${want} in ${names}`)

  // Files: pick a file, which opens the Editor.
  await bar.getByRole('button', { name: 'Files' }).click()
  await treeItem(page, 'index.html').click()
  await page.locator('.ws-editor .cm-content').waitFor()
  assert.equal(await bar.getByRole('button', { name: 'Editor' }).getAttribute('aria-current'), 'page')
  await editorTab(page, 'index.html').waitFor()
  await screenshot(page, 'mobile-editor')

  const shown = { Console: '#pane-console', Terminal: '#pane-terminal', Preview: '#pane-preview', Agent: '#pane-agent', Checkpoints: '#pane-checkpoints' }
  for (const [name, sel] of Object.entries(shown)) {
    await bar.getByRole('button', { name, exact: true }).click()
    await page.locator(sel).waitFor()
    // one pane at a time: the editor and the files are hidden
    assert.equal(await page.locator('.ws-editor').isVisible(), false)
    assert.equal(await page.locator('.ws-files').isVisible(), false)
    const box = await bar.getByRole('button', { name, exact: true }).boundingBox()
    assert.ok(box.height >= 44 && box.width >= 44, `${name} tab is ${box.width}×${box.height}`)
    if (name === 'Console') await screenshot(page, 'mobile-console')
  }
  await bar.getByRole('button', { name: 'Files' }).click()
  await page.locator('.files-panel').waitFor()
  await screenshot(page, 'mobile-files')
  await assertAccessible(page, 'phone workspace')
})
