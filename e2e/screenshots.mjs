// Takes screenshots of the main screens for a visual check:
//   node screenshots.mjs [outdir]   (default ./screenshots; uses $ECODE_BIN like the tests)
import { mkdir } from 'node:fs/promises'
import { launchBrowser } from './lib/browser.mjs'
import { signUp, treeItem } from './lib/journey.mjs'
import { startServer } from './lib/server.mjs'

const out = process.argv[2] || 'screenshots'
await mkdir(out, { recursive: true })
// --dev-login shows a server banner, so the screenshots include one
const server = await startServer({ extraArgs: ['--dev-login'] })
const browser = await launchBrowser()
try {
  const ctx = await browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 860 } })
  const page = await ctx.newPage()
  await page.goto('/login')
  await page.getByRole('link', { name: 'Create the first account' }).waitFor()
  await page.screenshot({ path: `${out}/login.png` })
  await signUp(page, { name: 'Ada Lovelace', email: 'ada@example.com', password: 'analytical-engine' })
  for (const [name, tpl] of [['Hello Python', 'python'], ['Landing page', 'static']]) {
    await page.getByLabel('Name', { exact: true }).fill(name)
    await page.getByLabel('Template').selectOption(tpl)
    await page.getByRole('button', { name: 'Create project' }).click()
    await page.waitForURL((u) => u.pathname.startsWith('/p/'))
    await page.goto('/')
    await page.getByRole('link', { name }).first().waitFor()
  }
  await page.screenshot({ path: `${out}/dashboard.png` })
  await page.getByRole('link', { name: 'Landing page' }).first().click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const rows = page.locator('[role="treeitem"]')
  await rows.first().waitFor()
  const paths = await rows.evaluateAll((els) => els.map((e) => e.dataset.path))
  for (const p of paths.filter((p) => /\.(css|js)$/.test(p)).slice(0, 2)) await treeItem(page, p).click()
  await treeItem(page, 'index.html').click()
  await page.locator('.cm-content').click()
  await page.keyboard.press('Control+End')
  await page.keyboard.type('\n<p>Hello</p>')
  await page.screenshot({ path: `${out}/workspace.png` })
  await page.getByRole('button', { name: 'New folder' }).click()
  await page.getByRole('dialog').getByRole('textbox').fill('src/components')
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click()
  await treeItem(page, 'src/components').waitFor()
  await page.getByRole('button', { name: 'New file' }).click()
  await page.getByRole('dialog').getByRole('textbox').fill('App.jsx')
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click()
  await page.locator('.cm-content').click()
  await page.keyboard.type('export function App() {\n// a comment\nreturn <div className="app">Hi {1 + 2}</div>')
  await page.getByRole('tab', { name: 'Terminal' }).click()
  await page.screenshot({ path: `${out}/workspace2.png` })
  await page.getByRole('button', { name: 'Members' }).click()
  await page.getByRole('dialog').waitFor()
  await page.screenshot({ path: `${out}/members.png` })
  await page.keyboard.press('Escape')
  await page.getByRole('button', { name: 'New file' }).click()
  await page.getByRole('dialog').waitFor()
  await page.screenshot({ path: `${out}/newfile.png` })
  await page.keyboard.press('Escape')
  await page.goto('/settings')
  await page.getByRole('heading', { name: 'Sessions' }).waitFor()
  await page.getByLabel('Token name').fill('laptop CLI')
  await page.getByRole('button', { name: 'Create token' }).click()
  await page.getByLabel('New token').waitFor()
  await page.screenshot({ path: `${out}/settings.png`, fullPage: true })
  console.log('screenshots in', out)
} finally {
  await browser.close()
  await server.stop()
}
