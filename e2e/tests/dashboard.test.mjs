// The project list: create from templates, rename, delete with confirmation.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('create, rename and delete projects', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Linus', email: 'linus@example.com', password: 'penguins-rule' })

  // The template list comes from the server (wait for it to arrive).
  await page.locator('[data-template="go"]').waitFor()
  const templates = await page.getByRole('radiogroup', { name: 'Template' }).getByRole('radio').evaluateAll((os) => os.map((o) => o.dataset.template))
  for (const id of ['blank', 'static', 'node', 'python', 'go']) assert.ok(templates.includes(id), `template ${id} offered`)

  // An empty name is refused before asking the server.
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.getByText('Give the project a name').waitFor()

  for (const [name, tpl] of [['Alpha', 'go'], ['Beta', 'node']]) {
    await page.getByLabel('Name', { exact: true }).fill(name)
    await page.locator(`[data-template="${tpl}"]`).click()
    await page.getByRole('button', { name: 'Create project' }).click()
    await page.waitForURL((u) => u.pathname.startsWith('/p/'))
    await page.getByRole('link', { name: 'Back to projects' }).click()
    await page.waitForURL((u) => u.pathname === '/')
  }
  const rows = page.locator('tr[data-project-id]')
  await rows.nth(1).waitFor()
  assert.deepEqual(await rows.locator('.project-name').allInnerTexts(), ['Beta', 'Alpha'], 'newest first')

  // Rename.
  await page.getByRole('button', { name: 'Rename Alpha' }).click()
  await page.getByRole('dialog').getByRole('textbox').fill('Alpha Prime')
  await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click()
  await page.getByRole('link', { name: 'Alpha Prime' }).waitFor()

  // Delete asks first; cancelling keeps the project.
  await page.getByRole('button', { name: 'Delete Beta' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
  await page.getByRole('link', { name: 'Beta' }).waitFor()
  await page.getByRole('button', { name: 'Delete Beta' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Delete project' }).click()
  await page.getByRole('link', { name: 'Beta' }).waitFor({ state: 'detached' })
  await page.reload()
  await page.getByRole('link', { name: 'Alpha Prime' }).waitFor()
  assert.equal(await rows.count(), 1)
})
