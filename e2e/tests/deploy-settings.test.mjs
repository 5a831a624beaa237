// Live deployment settings from the Deployments pane: a server published with one
// small instance (the size chosen in the publish dialog) is scaled to two from Settings
// (the pane lists 2 instances, and visitors are still served), then resized to medium
// (the pane shows the new size; large, bigger than the server's sandboxes, cannot be chosen); a production secret change restarts it and the pane says when;
// published again as a scheduled job, a bad schedule is refused with the parser's reason,
// and the job's URL shows a page with its schedule.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { publishNodeServer, signUp, useServerAndBrowser } from '../lib/journey.mjs'

let server
let browser
useServerAndBrowser((s, b) => { server = s; browser = b })

test('deployment settings change the live deployment', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Sol Settings', email: 'sol@example.com', password: 'deploy-settings-1' })
  const pane = await publishNodeServer(page, 'Scaled app', { size: 'small' })
  await pane.getByLabel('Instances').filter({ hasText: '1 instance' }).waitFor()

  const settings = pane.getByRole('region', { name: 'Deployment settings' })
  await settings.getByLabel('Live instance count').fill('2')
  await settings.getByRole('button', { name: 'Save settings' }).click()
  await settings.getByRole('status').filter({ hasText: 'Saved' }).waitFor({ timeout: 60_000 })
  await pane.getByLabel('Instances').filter({ hasText: '2 instances' }).waitFor()
  await settings.getByLabel('Current size').filter({ hasText: 'now small: 0.5 vCPU, 512 MiB' }).waitFor()

  // A bigger size: new instances of it replace the serving ones.
  assert.equal(await settings.locator('select[aria-label="Live size"] option[value="large"]').isDisabled(), true)
  await settings.getByLabel('Live size').selectOption('medium')
  await settings.getByRole('button', { name: 'Save settings' }).click()
  await settings.getByLabel('Current size').filter({ hasText: 'now medium: 1 vCPU, 1024 MiB' }).waitFor({ timeout: 120_000 })
  await pane.getByLabel('Instances').filter({ hasText: '2 instances' }).waitFor()

  const url = await pane.locator('a.deployment-url').getAttribute('href')
  const visitor = await browser.newContext()
  t.after(() => visitor.close())
  const v = await visitor.newPage()
  await v.goto(url)
  await v.getByRole('heading', { name: 'Hello from Node.js' }).waitFor()

  // A production secret change restarts the live instances; the pane says when.
  const secrets = pane.getByRole('region', { name: 'Production secrets' })
  await secrets.getByLabel('Production secret name').fill('GREETING')
  await secrets.getByLabel('Production secret value').fill('hello')
  await secrets.getByRole('button', { name: 'Save' }).click()
  await secrets.getByText('the live instances restart with it now').first().waitFor()
  await secrets.getByLabel('Secrets restart').filter({ hasText: 'Restarted with new secrets at' }).waitFor({ timeout: 120_000 })
  await pane.getByLabel('Instances').filter({ hasText: '2 instances' }).waitFor()

  // As a scheduled job: a bad schedule is refused with the reason.
  await pane.getByRole('button', { name: 'Publish', exact: true }).click()
  await pane.getByLabel('Deployment kind').selectOption('scheduled')
  await pane.getByLabel('Schedule', { exact: true }).fill('0 3 * * *')
  await pane.getByRole('button', { name: 'Publish now' }).click()
  await pane.locator('tbody tr:nth-child(1)[data-status="live"]').waitFor({ timeout: 120_000 })
  await settings.getByLabel('Live schedule').fill('every tuesday')
  await settings.getByRole('button', { name: 'Save settings' }).click()
  const err = settings.getByRole('alert')
  await err.waitFor()
  assert.match(await err.textContent(), /expected exactly 5 fields/)
  assert.equal(await settings.getByLabel('Live instance count').count(), 0)

  await v.goto(url)
  await v.getByRole('heading', { name: 'Scheduled job' }).waitFor()
  assert.match(await v.textContent('body'), /0 3 \* \* \*/)
})
