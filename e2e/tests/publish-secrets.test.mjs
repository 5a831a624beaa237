// Production secrets and autoscale from the Deployments pane: a development secret set
// through the API, its production value set in the pane; the app published as autoscale
// with two instances and a copy of the development database shows the production value
// to a visitor without a session, and the pane shows its instances; the next publish
// does not offer to replace the production database.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('production secret wins in an autoscale deployment', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Sam Secret', email: 'sam@example.com', password: 'publish-secret-1' })
  await page.getByLabel('Name', { exact: true }).fill('Secret app')
  await page.locator('[data-template="node"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectId = new URL(page.url()).pathname.split('/')[2]

  const src = await (await ctx.request.get(`/api/projects/${projectId}/files/index.js`)).text()
  const edited = src.replace('"<!doctype html><title>Hello</title><h1>Hello from Node.js</h1>"',
    '"<!doctype html><title>Hello</title><h1>Greeting: " + process.env.GREETING + "</h1>"')
  assert.notEqual(edited, src)
  assert.ok((await ctx.request.put(`/api/projects/${projectId}/files/index.js`, { data: edited })).ok())
  const dev = await ctx.request.put(`/api/projects/${projectId}/secrets/GREETING`, { data: { value: 'development-greeting' } })
  assert.ok(dev.ok(), `development secret: ${dev.status()}`)

  await page.locator('[role="tab"][data-pane="deployments"]').click()
  const pane = page.locator('#pane-deployments')
  const secrets = pane.getByRole('region', { name: 'Production secrets' })
  await secrets.getByLabel('Production secret name').fill('GREETING')
  await secrets.getByLabel('Production secret value').fill('production-greeting')
  await secrets.getByRole('button', { name: 'Save' }).click()
  await secrets.locator('li[data-secret="GREETING"]').waitFor()
  assert.doesNotMatch(await secrets.textContent(), /production-greeting/)

  await pane.getByRole('button', { name: 'Publish', exact: true }).click()
  await pane.getByLabel('Deployment kind').selectOption('autoscale')
  await pane.getByLabel('Instance count').fill('2')
  await pane.getByLabel('Production database').selectOption('copy')
  await pane.getByRole('button', { name: 'Publish now' }).click()
  await pane.locator('tbody tr:nth-child(1)[data-status="live"]').waitFor({ timeout: 120_000 })
  const url = await pane.locator('a.deployment-url').getAttribute('href')

  const visitor = await browser.newContext()
  t.after(() => visitor.close())
  const v = await visitor.newPage()
  await v.goto(url)
  await v.getByRole('heading', { name: 'Greeting: production-greeting' }).waitFor()
  await pane.getByLabel('Instances').filter({ hasText: '2 instances' }).waitFor()
  // Publishing again keeps the production database: the dialog says so instead of asking.
  await pane.getByRole('button', { name: 'Publish', exact: true }).click()
  await pane.getByText('The production database is kept as it is').waitFor()
  assert.equal(await pane.getByLabel('Production database').count(), 0)
})
