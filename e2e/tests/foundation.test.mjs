// The foundation journey: sign up, create a project, edit and save a file, see it
// persist across a reload, and check that another account cannot see the project.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { editorTab, signUp, treeItem, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('first user signs up, edits a file, and a stranger cannot see the project', async (t) => {
  const owner = await browser.newContext({ baseURL: server.url })
  t.after(() => owner.close())
  const page = await owner.newPage()

  // An empty server sends visitors to the login page, which points at sign-up.
  await page.goto('/')
  await page.waitForURL((u) => u.pathname === '/login')
  await page.getByRole('link', { name: 'Create the first account' }).waitFor()

  await signUp(page, { name: 'Ada Lovelace', email: 'ada@example.com', password: 'analytical-engine' })

  // A project from the "static" template; creating it opens the workspace.
  await page.getByLabel('Name', { exact: true }).fill('Foundation site')
  await page.locator('[data-template="static"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectPath = new URL(page.url()).pathname
  await page.getByRole('heading', { name: 'Foundation site' }).waitFor()

  // Open index.html and type at its end.
  await treeItem(page, 'index.html').click()
  await editorTab(page, 'index.html').waitFor()
  const editor = page.locator('.cm-content')
  await editor.waitFor()
  const original = await editor.innerText()
  assert.ok(original.length > 0, 'the template index.html should not be empty')
  const marker = `e2e-marker-${process.pid}`
  await editor.click()
  await page.keyboard.press('Control+End')
  await page.keyboard.press('Enter')
  await page.keyboard.type(marker)
  await page.locator('[role="tab"][data-path="index.html"][data-dirty="true"]').waitFor()

  // Ctrl-S has the live document written to the file now (the server keeps every keystroke anyway).
  await page.locator('.editor-live[data-live="online"]').waitFor()
  await page.keyboard.press('Control+s')
  await page.locator('[role="tab"][data-path="index.html"]:not([data-dirty])').waitFor()

  // After a reload the file, opened again, still has the edit.
  await page.reload()
  await treeItem(page, 'index.html').click()
  await page.locator('.cm-content', { hasText: marker }).waitFor()
  const onDisk = await page.evaluate(async (p) => (await fetch(`/api/projects/${p}/files/index.html`)).text(),
    projectPath.slice('/p/'.length))
  assert.ok(onDisk.includes(marker), 'the server has the edited file')

  // A second account in its own browser context sees nothing of it.
  const stranger = await browser.newContext({ baseURL: server.url })
  t.after(() => stranger.close())
  const other = await stranger.newPage()
  await signUp(other, { name: 'Bob Stranger', email: 'bob@example.com', password: 'not-adas-password' })
  await other.getByText('No projects yet').waitFor()
  assert.equal(await other.getByText('Foundation site').count(), 0, 'the stranger must not see the project')

  await other.goto(projectPath)
  await other.getByRole('heading', { name: 'Project not found' }).waitFor()
})
