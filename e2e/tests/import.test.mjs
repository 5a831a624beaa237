// Importing a project: a zip built here goes through the dashboard's Import dialog, the
// progress view follows it to its report, and the imported app runs in the Preview.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'
import { makeZip } from '../lib/zip.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

/** A dependency-free Node app, in a single top folder as GitHub and Bolt zips have it. */
function appZip() {
  return makeZip({
    'imported-app/package.json': JSON.stringify({ name: 'imported-app', private: true, scripts: { start: 'node server.js' } }, null, 2),
    'imported-app/server.js': [
      "const http = require('node:http')",
      'const port = Number(process.env.PORT || 3000)',
      "http.createServer((req, res) => {",
      "  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })",
      "  res.end('<!doctype html><title>Imported</title><h1>imported app works</h1>')",
      "}).listen(port, '127.0.0.1', () => console.log('listening on ' + port))",
      '',
    ].join('\n'),
    'imported-app/.env': 'API_KEY=from-the-env-file\n',
    'imported-app/README.md': '# Imported app\n',
  })
}

test('import a zip from the dashboard, watch it, open the project and run it', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ecode-import-e2e-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const zipPath = path.join(dir, 'imported-app.zip')
  await writeFile(zipPath, appZip())

  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Ivy Importer', email: 'ivy@example.com', password: 'bring-it-in' })

  // The dialog: every source is offered; a zip is the default.
  await page.getByRole('button', { name: 'Import', exact: true }).click()
  const dialog = page.getByRole('dialog', { name: 'Import a project' })
  await dialog.waitFor()
  for (const name of ['Zip file', 'Git repository', 'Bolt', 'Lovable']) await dialog.getByRole('tab', { name, exact: true }).waitFor()
  await dialog.getByRole('tab', { name: 'Git repository' }).click()
  await dialog.getByLabel('Repository URL').waitFor()
  await dialog.getByLabel('Branch, tag or commit (optional)').waitFor()
  await dialog.getByRole('tab', { name: 'Zip file' }).click()

  // Submitting without a file says what is missing, without a request.
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  await dialog.getByText('Choose a zip file to import').waitFor()

  await dialog.getByLabel('Zip file').setInputFiles(zipPath)
  await dialog.getByLabel('Project name (optional)').fill('Imported app')
  const started = page.waitForResponse((r) => r.url().endsWith('/api/imports') && r.request().method() === 'POST')
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  const res = await started
  assert.equal(res.status(), 202, `import answered ${res.status()}: ${await res.text()}`)

  // The progress view follows the import to its end and shows the report.
  const progress = page.locator('.import-progress[data-status="succeeded"]')
  await progress.waitFor({ timeout: 60_000 })
  assert.equal(await page.getByTestId('import-status').innerText(), 'Imported')
  const report = page.getByTestId('import-report')
  await report.getByText('npm start').waitFor()
  await report.getByText('API_KEY').waitFor() // .env moved into the project's secrets
  await page.locator('.project-table .project-name').getByText('Imported app', { exact: true }).waitFor() // the list behind reloaded

  await page.getByRole('button', { name: 'Open project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))

  // The project runs as detected: Run, and the Preview shows the app.
  const run = page.waitForResponse((r) => r.url().endsWith('/run') && r.request().method() === 'POST')
  await page.locator('header').getByRole('button', { name: 'Run', exact: true }).click()
  const ran = await run
  assert.equal(ran.status(), 202, `run answered ${ran.status()}: ${await ran.text()}`)
  await page.locator('[role="tab"][data-pane="preview"][aria-selected="true"]').waitFor({ timeout: 60_000 })
  await page.frameLocator('iframe[title="Preview"]').getByRole('heading', { name: 'imported app works' }).waitFor({ timeout: 30_000 })

  // The imported project is on the dashboard under its name.
  await page.goto('/')
  await page.locator('.project-name').getByText('Imported app', { exact: true }).waitFor()
})

test('a zip that tries to escape its folder fails with the reason, and the dialog offers another try', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ecode-import-e2e-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const zipPath = path.join(dir, 'slip.zip')
  await writeFile(zipPath, makeZip({ 'package.json': '{}', '../escaped.txt': 'out of bounds' }))

  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Sam Slip', email: 'sam@example.com', password: 'slip-slip-slip' })
  await page.getByRole('button', { name: 'Import', exact: true }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByLabel('Zip file').setInputFiles(zipPath)
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()

  // Refused at once (the form says why) or while it runs (the progress view says why).
  const failed = dialog.locator('.import-progress[data-status="failed"] [role="alert"], form [role="alert"]')
  await failed.waitFor({ timeout: 60_000 })
  assert.match(await failed.innerText(), /\.\.|outside|escape|path/i)
  if (await dialog.locator('.import-progress').count()) {
    await dialog.getByRole('button', { name: 'Try again' }).click()
    await dialog.getByLabel('Zip file').waitFor()
  }
  await dialog.getByRole('button', { name: 'Close' }).click()
  await page.getByText('No projects yet').waitFor() // nothing was left behind
})

test('a Git URL on loopback is refused with the reason (the JSON path of the dialog)', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Gil Git', email: 'gil@example.com', password: 'git-git-git' })
  await page.getByRole('button', { name: 'Import', exact: true }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByRole('tab', { name: 'Git repository' }).click()
  await dialog.getByLabel('Repository URL').fill('http://127.0.0.1:9/owner/repo.git')
  await dialog.getByLabel('Branch, tag or commit (optional)').fill('main')
  const sent = page.waitForRequest((r) => r.url().endsWith('/api/imports') && r.method() === 'POST')
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  const body = (await sent).postDataJSON()
  assert.deepEqual(body, { source: 'git', url: 'http://127.0.0.1:9/owner/repo.git', ref: 'main' })
  const failed = dialog.locator('.import-progress[data-status="failed"] [role="alert"], form [role="alert"]')
  await failed.waitFor({ timeout: 60_000 })
  assert.match(await failed.innerText(), /loopback|private|allow|refused/i)
})
