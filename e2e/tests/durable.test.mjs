// A project whose database is corrupt can still be rolled back: the restore puts the files back and
// the Checkpoints pane says the database could not be restored, and why.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('restore with a corrupt project database restores the files and reports the database', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 900 } })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Dora Durable', email: 'dora@example.com', password: 'dora-password' })
  await page.getByLabel('Name', { exact: true }).fill('Broken database')
  await page.locator('[data-template="static"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectId = new URL(page.url()).pathname.split('/')[2]
  const put = (name, body) => page.request.put(`/api/projects/${projectId}/files/${name}`, { data: body })
  assert.equal((await put('state.txt', 'good')).status(), 200)

  await page.locator('[role="tab"][data-pane="checkpoints"]').click()
  const pane = page.locator('#pane-checkpoints')
  await pane.getByLabel('Checkpoint message').fill('good')
  const created = page.waitForResponse((r) => r.url().endsWith(`/api/projects/${projectId}/checkpoints`) && r.request().method() === 'POST')
  await pane.getByRole('button', { name: 'Save checkpoint' }).click()
  const goodId = (await (await created).json()).id
  const goodItem = pane.locator(`[role="listitem"][data-checkpoint-id="${goodId}"]`)
  await goodItem.getByText('good', { exact: true }).waitFor()

  // The database file is overwritten with garbage, and a file changes.
  await writeFile(path.join(server.dataDir, 'projects', projectId, 'files', '.ecode', 'data.db'), 'not a database '.repeat(400))
  assert.equal((await put('state.txt', 'bad')).status(), 200)

  await goodItem.getByRole('button', { name: /good/ }).click()
  await goodItem.getByRole('button', { name: 'Restore', exact: true }).click()
  const dialog = page.getByRole('dialog')
  const restored = page.waitForResponse((r) => r.url().endsWith(`/checkpoints/${goodId}/restore`))
  await dialog.getByRole('button', { name: 'Restore checkpoint' }).click()
  assert.equal((await restored).status(), 200)
  await dialog.waitFor({ state: 'detached' })
  const note = pane.locator('.cp-db-error')
  await note.waitFor()
  assert.match(await note.innerText(), /files were restored, but not the database/)
  assert.equal(await (await page.request.get(`/api/projects/${projectId}/files/state.txt`)).text(), 'good')
})
