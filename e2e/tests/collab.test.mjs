// Live collaboration: two people edit one file at once and see each other's
// text, cursors and presence; the text survives a reload.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { editorTab, signUp, treeItem, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('two editors edit one file together', async (t) => {
  const annCtx = await browser.newContext({ baseURL: server.url })
  const bobCtx = await browser.newContext({ baseURL: server.url })
  t.after(() => Promise.all([annCtx.close(), bobCtx.close()]))
  const ann = await annCtx.newPage()
  const bob = await bobCtx.newPage()

  await signUp(ann, { name: 'Ann Author', email: 'ann@example.com', password: 'ann-password' })
  await signUp(bob, { name: 'Bob Builder', email: 'bob@example.com', password: 'bob-password' })

  // Ann creates a project from the static template and invites Bob as an editor.
  await ann.getByLabel('Name', { exact: true }).fill('Pair app')
  await ann.locator('[data-template="static"]').click()
  await ann.getByRole('button', { name: 'Create project' }).click()
  await ann.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectPath = new URL(ann.url()).pathname
  await ann.getByRole('button', { name: 'Members' }).click()
  const members = ann.getByRole('dialog')
  await members.getByLabel('Invite by email').fill('bob@example.com')
  await members.getByLabel('Role', { exact: true }).selectOption('editor')
  await members.getByRole('button', { name: 'Invite' }).click()
  await members.locator('[data-email="bob@example.com"]').waitFor()
  await members.getByRole('button', { name: 'Close' }).click()

  // Both open index.html.
  await treeItem(ann, 'index.html').click()
  await editorTab(ann, 'index.html').waitFor()
  await ann.locator('.editor-live[data-live="online"]').waitFor()
  await bob.goto(projectPath)
  await treeItem(bob, 'index.html').click()
  await bob.locator('.editor-live[data-live="online"]').waitFor()

  // Each sees the other in the presence list, with the file they have open.
  await ann.locator('.presence-item[data-user="Bob Builder"][data-file="index.html"]').waitFor()
  await bob.locator('.presence-item[data-user="Ann Author"][data-file="index.html"]').waitFor()

  // Ann types at the start, Bob at the end: each sees the other's text.
  await ann.locator('.cm-content').click()
  await ann.keyboard.press('Control+Home')
  await ann.keyboard.type('<!-- from ann -->')
  await bob.locator('.cm-content', { hasText: '<!-- from ann -->' }).waitFor()
  await bob.locator('.cm-content').click()
  await bob.keyboard.press('Control+End')
  await bob.keyboard.type('<!-- from bob 😀 -->')
  await ann.locator('.cm-content', { hasText: '<!-- from bob 😀 -->' }).waitFor()

  // ... and the other's cursor, labelled with their name.
  await ann.locator('.cm-ySelectionInfo', { hasText: 'Bob Builder' }).waitFor({ state: 'attached' })
  await bob.locator('.cm-ySelectionInfo', { hasText: 'Ann Author' }).waitFor({ state: 'attached' })
  await ann.locator('.cm-ySelectionCaret').first().waitFor()

  // Ctrl-S writes the file now; the text is in it and survives a reload.
  await ann.keyboard.press('Control+s')
  await editorTab(ann, 'index.html').and(ann.locator(':not([data-dirty])')).waitFor()
  const res = await ann.request.get(`/api/projects/${projectPath.split('/')[2]}/files/index.html`)
  const onDisk = await res.text()
  assert.ok(onDisk.startsWith('<!-- from ann -->'), onDisk.slice(0, 80))
  assert.ok(onDisk.includes('<!-- from bob 😀 -->'))
  await bob.reload()
  await treeItem(bob, 'index.html').click()
  await bob.locator('.cm-content', { hasText: '<!-- from ann -->' }).waitFor()
  await bob.locator('.cm-content', { hasText: '<!-- from bob 😀 -->' }).waitFor()
})
