// Helpers of the UX journeys: accessibility checks with axe-core, screenshots, project creation.
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const axePath = require.resolve('axe-core/axe.min.js')

/** Runs axe-core on the page and fails on serious or critical violations (listing them). */
export async function assertAccessible(page, what) {
  await page.addScriptTag({ path: axePath })
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))
  })
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  assert.deepEqual(bad, [], `${what}: axe found serious violations:\n${JSON.stringify(bad, null, 2)}`)
  return result
}

/** Saves a screenshot when ECODE_SCREENSHOTS names a folder (docs/screenshots when committing them). */
export async function screenshot(page, name) {
  const dir = process.env.ECODE_SCREENSHOTS
  if (!dir) return
  await mkdir(dir, { recursive: true })
  await page.screenshot({ path: `${dir}/${name}.png` })
}

/** Creates a project from a template card on the dashboard and waits for its workspace. */
export async function createProject(page, name, template) {
  await page.goto('/')
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.locator(`[data-template="${template}"]`).click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  await page.locator('[role="treeitem"]').first().waitFor({ state: 'attached' }) // on phones the Files pane is hidden
  return decodeURIComponent(new URL(page.url()).pathname.slice(3))
}
