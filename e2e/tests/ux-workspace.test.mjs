// The workspace explains itself: endless output keeps the console responsive and the status says
// what happened (with the limit hit, in full); a checkpoint restore keeps its notice in view; the
// layout, tabs and cursor come back after a reload; quick open and project search; uploads show
// progress and state their limit; the search panel is dark; no serious accessibility violations.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { editorTab, signUp, treeItem, useServerAndBrowser } from '../lib/journey.mjs'
import { assertAccessible, createProject, screenshot } from '../lib/ux.mjs'

let server
let browser
// A small memory limit, so that a program printing without end is stopped quickly; a 2 MiB file
// limit, so that the upload over it is quick to send.
useServerAndBrowser((s, b) => { server = s; browser = b }, {
  extraArgs: ['--sandbox-memory', String(256 << 20), '--max-file-bytes', String(2 << 20)],
})

async function newPage(t, email) {
  const ctx = await browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 900 } })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Wes Work', email, password: 'workspace-password' })
  return page
}

/** How long the page takes to answer (its main thread's latency), in ms. */
const latency = (page) => page.evaluate(() => new Promise((resolve) => {
  const t0 = performance.now()
  setTimeout(() => resolve(performance.now() - t0), 0)
}))

test('endless output: the console keeps up, the status says what happened', async (t) => {
  const page = await newPage(t, 'wes@example.com')
  const projectId = await createProject(page, 'Endless', 'node')
  // The entry file opens by itself.
  await editorTab(page, 'index.js').and(page.locator('[aria-selected="true"]')).waitFor()
  // Endless output that keeps pace with its reader (blocking writes of 500 long lines), while the
  // program takes 1 MiB more memory every 100 ms, so it runs out of memory about 25 s in whatever
  // the machine's load; the page falls behind long before. (With console.log, a busy machine's
  // slow reader made the program buffer its output and run out of memory before the page fell
  // behind.)
  const program = [
    "const fs = require('fs')",
    'const keep = []',
    "const pad = 'x'.repeat(120)",
    'let i = 0',
    'let last = Date.now()',
    'for (;;) {',
    "  fs.writeSync(1, Array.from({ length: 500 }, () => 'line ' + i++ + ' ' + pad).join('\\n') + '\\n')",
    '  if (Date.now() - last >= 100) {',
    '    keep.push(Buffer.alloc(1 << 20, 1))',
    '    last = Date.now()',
    '  }',
    '}',
  ].join('\n')
  const wrote = await page.request.put(`/api/projects/${projectId}/files/endless.cjs`, {
    data: program + '\n',
    headers: { 'Content-Type': 'application/octet-stream' },
  })
  assert.ok(wrote.ok(), await wrote.text())
  const res = await page.request.put(`/api/projects/${projectId}/files/.ecode.toml`, {
    data: 'run = "node endless.cjs"\n',
    headers: { 'Content-Type': 'application/octet-stream' },
  })
  assert.ok(res.ok(), await res.text())

  // Ctrl+Enter runs (from the editor, where it used to insert a newline).
  await page.locator('.cm-content').click()
  const before = await page.locator('.cm-content').innerText()
  const started = page.waitForResponse((r) => r.url().endsWith('/run') && r.request().method() === 'POST')
  await page.keyboard.press('Control+Enter')
  assert.equal((await started).status(), 202)
  assert.equal(await page.locator('.cm-content').innerText(), before, 'Ctrl+Enter did not type into the file')

  const status = page.locator('#pane-console .run-status')
  await status.filter({ hasText: 'running — no port opened yet' }).waitFor({ timeout: 60_000 })
  // The output is more than the page can draw: lines are skipped, and the page stays responsive.
  await page.locator('.console-dropped').waitFor({ timeout: 60_000 })
  let worst = 0
  for (let i = 0; i < 10; i++) worst = Math.max(worst, await latency(page))
  t.diagnostic(`worst main-thread latency under endless output: ${worst.toFixed(0)} ms`)
  assert.ok(worst < 1000, `the page froze for ${worst} ms`)
  await page.locator('[role="tab"][data-pane="terminal"]').click()
  await page.locator('[role="tab"][data-pane="console"]').click()

  // The program runs out of memory: the status says so, with the limit, and nothing is cut off.
  await status.filter({ hasText: 'stopped: out of memory (limit 256 MiB)' }).waitFor({ timeout: 120_000 })
  const fits = await status.evaluate((el) => {
    const s = el.querySelector('.run-summary')
    const a = s.getBoundingClientRect()
    const pane = el.closest('.pane-panel').getBoundingClientRect()
    return s.scrollWidth <= s.clientWidth + 1 && a.right <= pane.right + 1 && a.bottom <= pane.bottom
  })
  assert.ok(fits, 'the reason is fully visible')
  await screenshot(page, 'workspace-out-of-memory')
})

test('a restore keeps its notice in view while the app comes back', async (t) => {
  const page = await newPage(t, 'rae@example.com')
  const projectId = await createProject(page, 'Restore me', 'node')
  // Run the app: with the Console showing, the Preview takes over once the app listens.
  await page.locator('header').getByRole('button', { name: 'Run', exact: true }).click()
  await page.locator('[role="tab"][data-pane="preview"][aria-selected="true"]').waitFor({ timeout: 90_000 })

  await page.locator('[role="tab"][data-pane="checkpoints"]').click()
  const pane = page.locator('#pane-checkpoints')
  await pane.getByLabel('Checkpoint message').fill('first')
  await pane.getByRole('button', { name: 'Save checkpoint' }).click()
  const item = pane.locator('[role="listitem"]', { hasText: 'first' })
  await item.getByRole('button', { name: /first/ }).click()
  await item.getByRole('button', { name: 'Restore', exact: true }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Restore checkpoint' }).click()
  await page.getByRole('dialog').waitFor({ state: 'detached' })
  const notice = pane.getByRole('status').filter({ hasText: 'Restored' })
  await notice.getByRole('button', { name: 'Undo' }).waitFor()
  // Wait until the app listens again after the restore, then look again.
  for (let i = 0; i < 300; i++) {
    const st = await (await page.request.get(`/api/projects/${projectId}/run`)).json()
    if (st.listening) break
    await page.waitForTimeout(200)
  }
  await page.waitForTimeout(1000) // the state reaches the page over its event stream
  assert.equal(await page.locator('[role="tab"][data-pane="checkpoints"]').getAttribute('aria-selected'), 'true')
  assert.ok(await notice.isVisible(), 'the restore notice is still visible')
})

test('layout and tabs come back; quick open, project search, uploads, search panel', async (t) => {
  const page = await newPage(t, 'lay@example.com')
  const projectId = await createProject(page, 'Layout', 'node')
  await editorTab(page, 'index.js').waitFor()

  // Quick open (Ctrl+P) by a fuzzy name.
  await page.keyboard.press('Control+p')
  const picker = page.getByRole('dialog', { name: 'Open file' })
  await picker.getByRole('combobox').fill('pkgjsn')
  await picker.getByRole('option').first().filter({ hasText: 'package.json' }).waitFor()
  await page.keyboard.press('Enter')
  await editorTab(page, 'package.json').and(page.locator('[aria-selected="true"]')).waitFor()

  // Project search (Ctrl+Shift+F) opens the file at the line.
  await page.keyboard.press('Control+Shift+F')
  const search = page.getByRole('dialog', { name: 'Search in project' })
  await search.getByRole('combobox').fill('createServer')
  const hit = search.getByRole('option').filter({ hasText: 'index.js' }).first()
  await hit.waitFor()
  const [, line] = (await hit.innerText()).match(/index\.js:(\d+)/)
  await hit.click()
  await editorTab(page, 'index.js').and(page.locator('[aria-selected="true"]')).waitFor()
  await page.getByLabel('Cursor position').filter({ hasText: `Ln ${line},` }).waitFor()

  // Command palette (Ctrl+K) shows a pane by name.
  await page.keyboard.press('Control+k')
  const commands = page.getByRole('dialog', { name: 'Commands' })
  await commands.getByRole('combobox').fill('show agent')
  await commands.getByRole('option').first().filter({ hasText: 'Show Agent' }).waitFor()
  await page.keyboard.press('Enter')
  await page.locator('[role="tab"][data-pane="agent"][aria-selected="true"]').waitFor()

  // Widen the tool panel (keyboard on its splitter), then maximise it; reload: all comes back.
  const splitter = page.getByRole('separator', { name: 'Resize tool panel' })
  const width0 = Number(await splitter.getAttribute('aria-valuenow'))
  await splitter.focus()
  for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+ArrowLeft')
  const width1 = Number(await splitter.getAttribute('aria-valuenow'))
  assert.equal(width1, width0 + 200)
  await page.waitForTimeout(400) // the layout is saved shortly after a change
  await page.reload()
  await editorTab(page, 'package.json').waitFor()
  await editorTab(page, 'index.js').and(page.locator('[aria-selected="true"]')).waitFor()
  await page.getByLabel('Cursor position').filter({ hasText: `Ln ${line},` }).waitFor()
  await page.locator('[role="tab"][data-pane="agent"][aria-selected="true"]').waitFor()
  assert.equal(Number(await splitter.getAttribute('aria-valuenow')), width1)
  await page.getByRole('button', { name: 'Maximise the tool panel' }).click()
  await page.locator('.files-panel').waitFor({ state: 'hidden' })
  await page.waitForTimeout(400)
  await page.reload()
  await page.getByRole('button', { name: 'Restore the tool panel size' }).click()
  await page.locator('.files-panel').waitFor()

  // Ctrl+F: the search panel matches the dark theme.
  await page.locator('.cm-content').click()
  await page.keyboard.press('Control+f')
  const field = page.locator('.cm-search .cm-textfield').first()
  await field.waitFor()
  const bg = await field.evaluate((el) => getComputedStyle(el).backgroundColor)
  const [r, g, b] = bg.match(/\d+/g).map(Number)
  assert.ok(r + g + b < 150, `search field background ${bg} is not dark`)
  await page.keyboard.press('Escape')

  // Uploads: a file over the limit is refused up front and says why, for good; others show progress.
  await page.getByLabel('Upload files').setInputFiles([
    { name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(3 << 20) },
    { name: 'photo.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1 << 20, 7) },
  ])
  const uploads = page.getByRole('list', { name: 'Uploads' })
  await uploads.locator('[data-file="photo.bin"]').filter({ hasText: 'Uploaded · 1 MiB' }).waitFor()
  const refused = uploads.locator('[data-file="too-big.bin"]')
  await refused.filter({ hasText: 'too-big.bin is 3 MiB; files up to 2 MiB can be uploaded' }).waitFor()
  await page.waitForTimeout(6000)
  assert.ok(await refused.isVisible(), 'the refusal stays until dismissed')
  await treeItem(page, 'photo.bin').waitFor()
  assert.equal((await page.request.get(`/api/projects/${projectId}/files/too-big.bin`)).status(), 404)
  await refused.getByRole('button', { name: 'Dismiss too-big.bin' }).click()
  await refused.waitFor({ state: 'detached' })
  await screenshot(page, 'workspace')

  await assertAccessible(page, 'workspace')
})
