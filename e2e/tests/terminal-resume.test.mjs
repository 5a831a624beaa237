// A terminal whose socket drops while its shell lives (here the page's socket is closed under it)
// comes back to the same shell: the scrollback is replayed, then a "[reconnected]" line shows on
// the screen only (the shell never sees it), and the shell's state is still there.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { launchBrowser } from '../lib/browser.mjs'
import { signUp, waitForRow } from '../lib/journey.mjs'
import { startServer } from '../lib/server.mjs'
import { createProject } from '../lib/ux.mjs'

const TERM = '#pane-terminal .terminal-view:not([hidden])'
const status = (s) => `${TERM}[data-status="${s}"]`

async function typeInTerminal(page, line) {
  await page.locator(`${TERM} .xterm`).click()
  await page.keyboard.type(line)
  await page.keyboard.press('Enter')
}

let server
let browser
before(async () => {
  server = await startServer()
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
})

test('a terminal whose socket drops comes back to the same shell and says so', async () => {
  const ctx = await browser.newContext({ baseURL: server.url })
  // Keep the page's WebSockets reachable, so the test can drop the terminal's.
  await ctx.addInitScript(() => {
    const Native = window.WebSocket
    window.__sockets = []
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args)
        window.__sockets.push(this)
      }
    }
  })
  const page = await ctx.newPage()
  await signUp(page, { name: 'Sol', email: 'sol@example.com', password: 'sol-password-1' })
  await createProject(page, 'survives', 'python')
  await page.locator('[role="tab"][data-pane="terminal"]').click()
  await page.getByRole('button', { name: 'New terminal' }).click()
  await page.locator(status('connected')).waitFor()
  await typeInTerminal(page, 'export KEPT=$((20+22)); echo set-$KEPT')
  await waitForRow(page, TERM, 'set-42', { exact: true })

  const dropped = await page.evaluate(() => {
    const s = window.__sockets.filter((x) => x.url.endsWith('/ws') && x.url.includes('/terminals/') && x.readyState === 1)
    s.forEach((x) => x.close())
    return s.length
  })
  assert.equal(dropped, 1)
  await waitForRow(page, TERM, '[reconnected]', { exact: true })
  await page.locator(status('connected')).waitFor()
  await waitForRow(page, TERM, 'set-42', { exact: true }) // the scrollback came back
  assert.equal(await page.locator(TERM).getByText('new shell').count(), 0)
  // The same shell (its variable is still set), and the notice was never typed into it.
  await typeInTerminal(page, 'echo kept-$KEPT')
  await waitForRow(page, TERM, 'kept-42', { exact: true })
  assert.equal(await page.locator(TERM).getByText('command not found').count(), 0)
  await ctx.close()
})
