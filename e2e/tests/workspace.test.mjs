// Workspace file actions, unsaved-change guards, members and the read-only viewer.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { editorTab, signUp, treeItem, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

/** Answers the open dialog's text field and presses its confirm button. */
async function answerPrompt(page, value, button) {
  const dialog = page.getByRole('dialog')
  await dialog.getByRole('textbox').fill(value)
  await dialog.getByRole('button', { name: button, exact: true }).click()
  await dialog.waitFor({ state: 'detached' })
}

test('files, tabs, members and a read-only viewer', async (t) => {
  const ownerCtx = await browser.newContext({ baseURL: server.url })
  const viewerCtx = await browser.newContext({ baseURL: server.url })
  t.after(() => Promise.all([ownerCtx.close(), viewerCtx.close()]))
  const page = await ownerCtx.newPage()
  const viewer = await viewerCtx.newPage()

  await signUp(page, { name: 'Olive Owner', email: 'olive@example.com', password: 'owner-password' })
  await signUp(viewer, { name: 'Vic Viewer', email: 'vic@example.com', password: 'viewer-password' })

  await page.getByLabel('Name', { exact: true }).fill('Team app')
  await page.locator('[data-template="blank"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectPath = new URL(page.url()).pathname
  await page.locator('[role="treeitem"]').first().waitFor()

  // New file in a new folder (parents are created), opened in a tab, saved with the button.
  await page.getByRole('button', { name: 'New file' }).click()
  await answerPrompt(page, 'src/app.js', 'Create')
  await treeItem(page, 'src/app.js').waitFor()
  await editorTab(page, 'src/app.js').waitFor()
  await page.locator('.cm-content').click()
  await page.keyboard.type('console.log(42)')
  await page.locator('[role="tab"][data-path="src/app.js"][data-dirty="true"]').waitFor()
  await page.getByRole('button', { name: 'Save', exact: true }).click()
  await page.locator('[role="tab"][data-path="src/app.js"]:not([data-dirty])').waitFor()

  // Rename (move) the file: the open tab follows.
  await treeItem(page, 'src/app.js').click()
  await page.getByRole('button', { name: 'Rename', exact: true }).click()
  await answerPrompt(page, 'src/main.js', 'Rename')
  await treeItem(page, 'src/main.js').waitFor()
  await editorTab(page, 'src/main.js').waitFor()
  assert.equal(await treeItem(page, 'src/app.js').count(), 0)

  // Closing a tab with unsaved changes asks first.
  await page.locator('.cm-content').click()
  await page.keyboard.type('// unsaved')
  const dirtyTab = page.locator('[role="tab"][data-path="src/main.js"][data-dirty="true"]')
  await dirtyTab.hover()
  await page.locator('.editor-tab-close[aria-label="Close main.js"]').click() // a mouse affordance (Delete closes from the keyboard)
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
  await dirtyTab.waitFor()
  await dirtyTab.hover()
  await page.locator('.editor-tab-close[aria-label="Close main.js"]').click() // a mouse affordance (Delete closes from the keyboard)
  await page.getByRole('dialog').getByRole('button', { name: 'Close without saving' }).click()
  await editorTab(page, 'src/main.js').waitFor({ state: 'detached' })

  // New folder, then upload into it (the selected folder).
  await treeItem(page, 'src').click() // collapse src; selects it
  await page.locator('.files-scroll').click({ position: { x: 5, y: 200 } }) // clear the selection
  await page.getByRole('button', { name: 'New folder' }).click()
  await answerPrompt(page, 'assets', 'Create')
  await treeItem(page, 'assets').waitFor()
  await treeItem(page, 'assets').click()
  const uploaded = page.waitForResponse((r) => r.url().endsWith('/upload'))
  await page.getByLabel('Upload files').setInputFiles([
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('uploaded notes\n') },
    { name: 'data.json', mimeType: 'application/json', buffer: Buffer.from('{"ok": true}\n') },
  ])
  assert.equal((await uploaded).status(), 200)
  await treeItem(page, 'assets/notes.txt').waitFor()
  await treeItem(page, 'assets/data.json').click()
  await page.locator('.cm-content', { hasText: '"ok": true' }).waitFor()

  // Delete the folder with its contents: its open tab closes.
  await treeItem(page, 'assets').click()
  await page.getByRole('button', { name: 'Delete', exact: true }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click()
  await treeItem(page, 'assets').waitFor({ state: 'detached' })
  await editorTab(page, 'assets/data.json').waitFor({ state: 'detached' })

  // Invite the second account as a viewer.
  await page.getByRole('button', { name: 'Members' }).click()
  const members = page.getByRole('dialog')
  await members.getByLabel('Invite by email').fill('vic@example.com')
  await members.getByLabel('Role', { exact: true }).selectOption('viewer')
  await members.getByRole('button', { name: 'Invite' }).click()
  await members.locator('[data-email="vic@example.com"]').waitFor()
  await members.getByRole('button', { name: 'Close' }).click()

  // Leaving the workspace in-app with unsaved changes asks first.
  await treeItem(page, 'src').click() // expand it again
  await treeItem(page, 'src/main.js').click()
  await page.locator('.cm-content').click()
  await page.keyboard.type('// not saved yet')
  await page.locator('[role="tab"][data-dirty="true"]').waitFor()
  await page.getByRole('link', { name: 'Back to projects' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
  assert.equal(new URL(page.url()).pathname, projectPath)
  await page.getByRole('link', { name: 'Back to projects' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Leave without saving' }).click()
  await page.waitForURL((u) => u.pathname === '/')

  // The viewer sees the project read-only.
  await viewer.reload()
  await viewer.getByRole('link', { name: 'Team app' }).click()
  await viewer.waitForURL((u) => u.pathname === projectPath)
  await treeItem(viewer, 'src').click()
  await treeItem(viewer, 'src/main.js').click()
  const content = viewer.locator('.cm-content', { hasText: 'console.log(42)' })
  await content.waitFor()
  assert.equal(await viewer.getByRole('button', { name: 'New file' }).count(), 0)
  assert.equal(await viewer.getByRole('button', { name: 'Save', exact: true }).count(), 0)
  await content.click()
  await viewer.keyboard.type('hacked')
  assert.ok(!(await content.innerText()).includes('hacked'), 'a viewer cannot type into the editor')
  assert.equal(await viewer.locator('[role="tab"][data-dirty="true"]').count(), 0)

  // The owner promotes the viewer to editor: after a reload the write actions appear.
  await page.getByRole('link', { name: 'Team app' }).click()
  await page.getByRole('button', { name: 'Members' }).click()
  const roleChanged = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/members/'))
  await page.getByRole('dialog').getByLabel('Role of vic@example.com').selectOption('editor')
  assert.equal((await roleChanged).status(), 200)
  await viewer.reload()
  await viewer.getByRole('button', { name: 'New file' }).waitFor()

  // ... and then removes them: the project is gone for them.
  await page.getByRole('dialog').getByRole('button', { name: 'Remove vic@example.com' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Remove', exact: true }).click()
  await page.locator('[data-email="vic@example.com"]').waitFor({ state: 'detached' })
  await viewer.reload()
  await viewer.getByRole('heading', { name: 'Project not found' }).waitFor()
})
