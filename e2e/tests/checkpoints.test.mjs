// Checkpoints: save one, change a file, restore the checkpoint; the editor shows the
// restored text and the timeline holds the backup made by the restore.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { editorTab, signUp, treeItem, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

/** Types `text` at the start of the open file and saves it (Ctrl-S), waiting until the tab is clean. */
async function typeAndSave(page, path, text) {
  await page.locator('.cm-content').click()
  await page.keyboard.press('Control+Home')
  await page.keyboard.type(text)
  await page.locator('.cm-content', { hasText: text }).waitFor()
  await page.keyboard.press('Control+s')
  await editorTab(page, path).and(page.locator(':not([data-dirty])')).waitFor()
}

test('save a checkpoint, change a file, restore the checkpoint', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 900 } })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Cora Checkpoint', email: 'cora@example.com', password: 'cora-password' })

  await page.getByLabel('Name', { exact: true }).fill('Time travel')
  await page.locator('[data-template="static"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectId = new URL(page.url()).pathname.split('/')[2]

  // Edit index.html and save it.
  await treeItem(page, 'index.html').click()
  await editorTab(page, 'index.html').waitFor()
  await page.locator('.editor-live[data-live="online"]').waitFor()
  const first = '<!-- marker one -->'
  await typeAndSave(page, 'index.html', first)

  // Save a checkpoint "first" from the Checkpoints pane.
  await page.locator('[role="tab"][data-pane="checkpoints"]').click()
  const pane = page.locator('#pane-checkpoints')
  await pane.getByLabel('Checkpoint message').fill('first')
  const created = page.waitForResponse((r) => r.url().endsWith(`/api/projects/${projectId}/checkpoints`) && r.request().method() === 'POST')
  await pane.getByRole('button', { name: 'Save checkpoint' }).click()
  const res = await created
  assert.equal(res.status(), 201, `create checkpoint answered ${res.status()}: ${await res.text()}`)
  const firstId = (await res.json()).id
  const firstItem = pane.locator(`[role="listitem"][data-checkpoint-id="${firstId}"]`)
  await firstItem.getByText('first', { exact: true }).waitFor()

  // Change the file again and save.
  const second = '<!-- marker two -->'
  await typeAndSave(page, 'index.html', second)

  // Select "first": its diff vs now lists index.html.
  await firstItem.getByRole('button', { name: /first/ }).click()
  await firstItem.getByRole('button', { name: 'vs now' }).click()
  await firstItem.locator('[data-path="index.html"][data-status="modified"]').waitFor()

  // Restore it through the confirm dialog, database included.
  await firstItem.getByRole('button', { name: 'Restore', exact: true }).click()
  const dialog = page.getByRole('dialog')
  await dialog.locator('[data-path="index.html"]').waitFor()
  const dbBox = dialog.getByLabel('Also restore the database')
  assert.equal(await dbBox.isChecked(), true)
  // The dialog asks for the restore as an event stream and shows its progress. A restore of a small
  // project can be over between two frames, so the phases the dialog shows are only recorded
  // (window.__cpPhases), and the test asserts that the progress bar appeared.
  await page.evaluate(() => {
    window.__cpPhases = []
    const seen = () => {
      const el = document.querySelector('.cp-restore-dialog .cp-progress')
      if (el) window.__cpPhases.push(el.getAttribute('data-phase') || 'starting')
    }
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true })
  })
  const restoredRes = page.waitForResponse((r) => r.url().endsWith(`/checkpoints/${firstId}/restore`))
  await dialog.getByRole('button', { name: 'Restore checkpoint' }).click()
  const rr = await restoredRes
  assert.equal(rr.status(), 200, `restore answered ${rr.status()}`)
  assert.equal(rr.request().headers()['accept'], 'text/event-stream')
  assert.match(rr.headers()['content-type'], /^text\/event-stream/)
  // (Chromium keeps no body of an event stream, so the result is read from the timeline; the events
  // themselves are checked by internal/api's TestCheckpointRestoreStreamsProgress.)
  await dialog.waitFor({ state: 'detached' })
  const list = await (await page.request.get(`/api/projects/${projectId}/checkpoints`)).json()
  const backup = list.find((c) => c.trigger === 'restore')
  assert.ok(backup, JSON.stringify(list))
  const phases = await page.evaluate(() => window.__cpPhases)
  assert.ok(phases.length > 0, 'the restore dialog never showed its progress bar')
  t.diagnostic(`restore phases the dialog showed: ${[...new Set(phases)].join(', ')}`)

  // The editor shows the first marker, not the second.
  await page.locator('.cm-content', { hasText: first }).waitFor()
  await page.locator('.cm-content', { hasText: second }).waitFor({ state: 'detached' })
  const onDisk = await (await page.request.get(`/api/projects/${projectId}/files/index.html`)).text()
  assert.ok(onDisk.includes(first) && !onDisk.includes(second), onDisk.slice(0, 120))

  // The timeline now has the restore's backup, and the pane offers to undo.
  await pane.locator(`[role="listitem"][data-checkpoint-id="${backup.id}"][data-trigger="restore"]`).waitFor()
  await pane.getByRole('status').getByRole('button', { name: 'Undo' }).waitFor()

  // Undo brings the second marker back.
  const undone = page.waitForResponse((r) => r.url().endsWith(`/checkpoints/${backup.id}/restore`))
  await pane.getByRole('status').getByRole('button', { name: 'Undo' }).click()
  assert.equal((await undone).status(), 200)
  await page.locator('.cm-content', { hasText: second }).waitFor()

  // Fork "first" into a new project and follow the link to it.
  await firstItem.getByRole('button', { name: 'Fork', exact: true }).click()
  await page.getByRole('dialog').getByLabel('Project name').fill('Time travel fork')
  const forked = page.waitForResponse((r) => r.url().endsWith(`/checkpoints/${firstId}/fork`))
  await page.getByRole('dialog').getByRole('button', { name: 'Fork' }).click()
  const fr = await forked
  assert.equal(fr.status(), 201, `fork answered ${fr.status()}: ${await fr.text()}`)
  const fork = await fr.json()
  await pane.getByRole('link', { name: 'Time travel fork' }).click()
  await page.waitForURL((u) => u.pathname === `/p/${fork.id}`)
  await treeItem(page, 'index.html').click()
  await page.locator('.cm-content', { hasText: first }).waitFor()
  assert.equal(await page.locator('.cm-content', { hasText: second }).count(), 0)

  // A viewer sees the timeline and diffs, but cannot save, restore or fork.
  await page.goto(`/p/${projectId}`)
  await page.getByRole('button', { name: 'Members' }).click()
  const members = page.getByRole('dialog')
  const vctx = await browser.newContext({ baseURL: server.url })
  t.after(() => vctx.close())
  const viewer = await vctx.newPage()
  await signUp(viewer, { name: 'Vic Viewer', email: 'vic@example.com', password: 'vic-password' })
  await members.getByLabel('Invite by email').fill('vic@example.com')
  await members.getByLabel('Role', { exact: true }).selectOption('viewer')
  await members.getByRole('button', { name: 'Invite' }).click()
  await members.locator('[data-email="vic@example.com"]').waitFor()
  await viewer.goto(`/p/${projectId}`)
  await viewer.locator('[role="tab"][data-pane="checkpoints"]').click()
  const vpane = viewer.locator('#pane-checkpoints')
  const vfirst = vpane.locator(`[role="listitem"][data-checkpoint-id="${firstId}"]`)
  await vfirst.getByRole('button', { name: /first/ }).click()
  await vfirst.locator('[data-path="index.html"]').waitFor()
  await vfirst.getByRole('button', { name: 'View files' }).waitFor()
  assert.equal(await vpane.getByRole('button', { name: 'Save checkpoint' }).count(), 0)
  assert.equal(await vpane.getByRole('button', { name: 'Restore', exact: true }).count(), 0)
  assert.equal(await vpane.getByRole('button', { name: 'Fork', exact: true }).count(), 0)
})
