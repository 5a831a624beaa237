// Live deployment settings from the Deployments pane: a server published with one
// small instance (the size chosen in the publish dialog) is scaled to two from Settings
// (the pane lists 2 instances, and visitors are still served), then resized to medium
// (the pane says it is resizing, then shows the new size; large, bigger than the server's
// sandboxes, cannot be chosen); a production secret change restarts it and the pane says when;
// published again as a scheduled job, a bad schedule is refused with the parser's reason,
// and the job's URL shows a page with its schedule. The admin's plan form then refuses a
// negative project disk with the reason and saves a plan capping deployments at 0.5 vCPU;
// on it, medium (1 vCPU) is listed disabled with the plan's reason in Settings and in the
// Publish dialog.
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
  // the server answers at once and replaces the instances after: the pane says so meanwhile
  await settings.getByRole('status').filter({ hasText: 'Saved: the new size applies once its instances answer.' }).waitFor({ timeout: 60_000 })
  await settings.getByRole('status').filter({ hasText: 'Resizing: new instances of the new size are starting' }).waitFor()
  await settings.getByLabel('Current size').filter({ hasText: 'now medium: 1 vCPU, 1024 MiB' }).waitFor({ timeout: 120_000 })
  await settings.locator('.deploy-resizing').waitFor({ state: 'detached', timeout: 120_000 })
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

  // The admin's plan form: a refused field shows why; a plan capping deployments' CPU.
  const projectPath = new URL(page.url()).pathname
  await page.goto('/usage')
  const plans = page.getByRole('form', { name: 'Plan editor' })
  await plans.getByLabel('Plan to edit').selectOption('')
  await plans.getByLabel('Plan id').fill('halfcpu')
  await plans.getByLabel('Plan name').fill('Half CPU')
  await plans.getByLabel('Included credits ($ a month)').fill('10')
  await plans.getByLabel('Deployment CPU (cores)').fill('0.5')
  await plans.getByLabel('Project disk (MiB)').fill('-5')
  await plans.getByRole('button', { name: 'Save plan' }).click()
  await plans.getByRole('alert', { name: 'Error of project_disk_mib' }).filter({ hasText: 'must not be negative' }).waitFor()
  await plans.getByLabel('Project disk (MiB)').fill('2048')
  await plans.getByRole('button', { name: 'Save plan' }).click()
  await plans.getByRole('status').filter({ hasText: 'Plan halfcpu saved.' }).waitFor()
  const row = page.locator('tr[data-plan="halfcpu"]')
  await row.filter({ hasText: '0.5 vCPU' }).filter({ hasText: '2048 MiB' }).waitFor()
  await page.getByLabel('Plan of sol@example.com').selectOption('halfcpu')
  await page.getByRole('status').filter({ hasText: 'Plan assigned.' }).waitFor()

  // On it, medium (1 vCPU) cannot be chosen: disabled, with the plan's reason.
  await page.goto(projectPath)
  await page.locator('[role="tab"][data-pane="deployments"]').click()
  const medium = settings.locator('select[aria-label="Live size"] option[value="medium"]')
  await medium.waitFor({ state: 'attached' })
  assert.equal(await medium.isDisabled(), true)
  assert.match(await medium.textContent(), /plan allows 0\.5 vCPU/)
  assert.equal(await settings.locator('select[aria-label="Live size"] option[value="small"]').isDisabled(), false)
  await pane.getByRole('button', { name: 'Publish', exact: true }).click()
  const inDialog = pane.locator('select[aria-label="Deployment size"] option[value="medium"]')
  assert.equal(await inDialog.isDisabled(), true)
  assert.match(await inDialog.textContent(), /plan allows 0\.5 vCPU/)
})
