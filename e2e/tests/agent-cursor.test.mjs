// The agent edits a file someone has open: the edit arrives live in the editor with a cursor
// labelled "Agent", the person keeps typing while the turn runs, and the cursor goes away when
// the turn ends. The model is the scripted fake (lib/fake-anthropic.mjs, the "live" scenario).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { live } from '../lib/fake-anthropic.mjs'
import { editorTab, signUp, treeItem, useAgentServer } from '../lib/journey.mjs'
import { createProject } from '../lib/ux.mjs'

let fake
let server
let browser
useAgentServer((s, b, f) => {
  server = s
  browser = b
  fake = f
})

test('an agent edit of an open file shows live with an "Agent" cursor', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Cora Cursor', email: 'cora@example.com', password: 'cursor-password' })
  await createProject(page, 'Live agent', 'blank')
  const projectId = new URL(page.url()).pathname.split('/')[2]

  // the file is open (and live) before the prompt is sent
  await treeItem(page, live.file).click()
  const editor = page.locator('.cm-content')
  await editor.filter({ hasText: live.oldString }).waitFor()
  await page.locator('.editor-live[data-live="online"]').waitFor()

  await page.locator('[role="tab"][data-pane="agent"]').click()
  const pane = page.locator('#pane-agent')
  await pane.getByLabel('Message the agent').fill(`Reword the README, ${live.word}`)
  const sent = page.waitForResponse((r) => r.url().endsWith('/agent/turns') && r.request().method() === 'POST')
  await pane.getByRole('button', { name: 'Send' }).click()
  assert.equal((await sent).status(), 200)

  // mid-turn (the fake holds its last answer): the edit is in the editor, with the agent's cursor
  // right after the words it inserted (its widget sits inside the text, so match around it)
  const inserted = live.newString.slice(0, -1) // "… edited live", the cursor comes before the "."
  await editor.filter({ hasText: inserted }).waitFor()
  const agentCursor = page.locator('.cm-ySelectionInfo', { hasText: 'Agent' })
  await agentCursor.waitFor({ state: 'attached' })
  assert.equal(await agentCursor.count(), 1)
  const caretLine = page.locator('.cm-line', { has: page.locator('.cm-ySelectionCaret') })
  assert.match(await caretLine.textContent(), /edited live[\u2060\s]*Agent[\u2060\s]*\. Create files/)
  assert.equal(await pane.locator('.agent-text', { hasText: live.outro }).count(), 0, 'the turn is still running')

  // the person keeps typing while the agent works
  await editor.click()
  await page.keyboard.press('Control+End')
  await page.keyboard.type('\nTyped while the agent works.')
  await editor.filter({ hasText: 'Typed while the agent works.' }).waitFor()
  assert.equal(await agentCursor.count(), 1)

  // the turn ends: the cursor goes away; both edits stay
  fake.release()
  await pane.locator('.agent-text', { hasText: live.outro }).waitFor()
  await agentCursor.waitFor({ state: 'detached' })
  await editor.filter({ hasText: live.newString }).waitFor()
  assert.match(await editor.textContent(), /Typed while the agent works\./)

  // Ctrl-S writes the file now: both edits are on disk
  await editor.click()
  await page.keyboard.press('Control+s')
  await editorTab(page, live.file).and(page.locator(':not([data-dirty])')).waitFor()
  const onDisk = await (await page.request.get(`/api/projects/${projectId}/files/${live.file}`)).text()
  assert.ok(onDisk.includes(live.newString), onDisk)
  assert.ok(onDisk.includes('Typed while the agent works.'), onDisk)
})
