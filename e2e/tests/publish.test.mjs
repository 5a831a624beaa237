// Publish: the Node template published from the Deployments pane answers at its own
// origin (<slug>.apps.localhost) in a fresh browser context without signing in; an edit
// published again shows the new text; rolling back shows the old text.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('publish, open the URL signed out, publish an edit, roll back', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Pat Publisher', email: 'pat@example.com', password: 'publish-publish-1' })
  await page.getByLabel('Name', { exact: true }).fill('Shipped app')
  await page.locator('[data-template="node"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectId = new URL(page.url()).pathname.split('/')[2]

  const pane = page.locator('#pane-deployments')
  const publish = async () => {
    const before = await pane.locator('tr[data-release]').count()
    await pane.getByRole('button', { name: 'Publish', exact: true }).click()
    await pane.getByLabel('Deployment kind').selectOption('server')
    await pane.getByRole('button', { name: 'Publish now' }).click()
    await pane.locator('tr[data-release]').nth(before).waitFor()
    await pane.locator('tbody tr:nth-child(1)[data-status="live"]').waitFor({ timeout: 120_000 })
  }
  await page.locator('[role="tab"][data-pane="deployments"]').click()
  await publish()
  const url = await pane.locator('a.deployment-url').getAttribute('href')
  assert.match(url, /^http:\/\/shipped-app-[a-z0-9]+\.apps\.localhost:\d+$/)

  // A fresh context: no session, no cookies.
  const visitor = await browser.newContext()
  t.after(() => visitor.close())
  const v = await visitor.newPage()
  await v.goto(url)
  await v.getByRole('heading', { name: 'Hello from Node.js' }).waitFor()
  assert.equal((await visitor.cookies()).length, 0)

  // The visit shows in the Requests summary (2xx answers, bytes out).
  const requests = pane.getByRole('region', { name: 'Requests' })
  let ok = 0
  for (let i = 0; i < 20 && ok === 0; i++) {
    const res = page.waitForResponse((r) => r.url().endsWith('/deployment/metrics'))
    await requests.getByRole('button', { name: 'Refresh' }).click()
    await res
    ok = Number(await requests.locator('[data-stat="2xx"]').textContent())
  }
  assert.ok(ok > 0, 'the Requests summary counts the visit')
  assert.doesNotMatch(await requests.locator('[data-stat="bytes"]').textContent(), /^0 B$/)

  // The app's own output in the Logs section, searched.
  const appLog = pane.getByLabel('App log', { exact: true })
  await pane.getByRole('heading', { name: 'Logs' }).waitFor()
  await appLog.filter({ hasText: 'listening on http://127.0.0.1:' }).waitFor()
  await pane.getByLabel('Search logs').fill('no-such-line-here')
  await appLog.filter({ hasText: 'No lines match.' }).waitFor()
  await pane.getByLabel('Search logs').fill('LISTENING')
  await appLog.filter({ hasText: 'listening on' }).waitFor()
  assert.doesNotMatch(await appLog.textContent(), /> shipped-app/)
  await pane.getByLabel('Search logs').fill('')

  // Edit and publish again: the new text.
  const src = await (await ctx.request.get(`/api/projects/${projectId}/files/index.js`)).text()
  const put = await ctx.request.put(`/api/projects/${projectId}/files/index.js`, { data: src.replace('Hello from Node.js', 'Hello, second release') })
  assert.ok(put.ok(), `write index.js: ${put.status()}`)
  await publish()
  await v.goto(url)
  await v.getByRole('heading', { name: 'Hello, second release' }).waitFor()

  // Roll back to the first release (code only, the confirmation's default): the old text.
  await pane.locator('tr[data-release]').nth(1).getByRole('button', { name: 'Roll back' }).click()
  const confirm = pane.getByRole('dialog', { name: 'Roll back' })
  assert.equal(await confirm.getByRole('checkbox').isChecked(), false)
  await confirm.getByRole('button', { name: 'Confirm roll back' }).click()
  await pane.locator('tbody tr:nth-child(2)[data-status="live"]').waitFor({ timeout: 60_000 })
  await v.goto(url)
  await v.getByRole('heading', { name: 'Hello from Node.js' }).waitFor()
})
