// A production secret the app will not start with: the restart after the change fails, the
// Production secrets section says why (the old instance keeps serving), and the next change
// that starts restarts it and the failure goes away.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { publishNodeServer, signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('a failed restart with new secrets shows in the Deployments pane', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Rita Restart', email: 'rita@example.com', password: 'restart-secret-1' })
  const pane = await publishNodeServer(page, 'Picky app')
  const projectId = new URL(page.url()).pathname.split('/')[2]
  // the next release exits at once when GREETING is "bad"
  const src = await (await ctx.request.get(`/api/projects/${projectId}/files/index.js`)).text()
  const picky = 'if (process.env.GREETING === "bad") process.exit(3)\n' + src
  assert.ok((await ctx.request.put(`/api/projects/${projectId}/files/index.js`, { data: picky })).ok())
  await pane.getByRole('button', { name: 'Publish', exact: true }).click()
  await pane.getByRole('button', { name: 'Publish now' }).click()
  await pane.locator('tr[data-release]').nth(1).waitFor()
  await pane.locator('tbody tr:nth-child(1)[data-status="live"]').waitFor({ timeout: 120_000 })
  await pane.getByRole('button', { name: 'Hide log' }).click()
  const url = await pane.locator('a.deployment-url').getAttribute('href')

  const secrets = pane.getByRole('region', { name: 'Production secrets' })
  const save = async (value) => {
    await secrets.getByLabel('Production secret name').fill('GREETING')
    await secrets.getByLabel('Production secret value').fill(value)
    await secrets.getByRole('button', { name: 'Save' }).click()
  }
  await save('bad')
  const failed = secrets.getByLabel('Secrets restart failed')
  await failed.waitFor({ timeout: 120_000 })
  assert.match(await failed.innerText(), /The restart with the new secrets failed at .+: the app exited with code 3/)
  const visitor = await browser.newContext()
  t.after(() => visitor.close())
  const v = await visitor.newPage()
  assert.equal((await v.goto(url)).status(), 200, 'the old instance keeps serving')

  await save('good')
  await secrets.getByLabel('Secrets restart', { exact: true }).waitFor({ timeout: 120_000 })
  await failed.waitFor({ state: 'detached' })
})
