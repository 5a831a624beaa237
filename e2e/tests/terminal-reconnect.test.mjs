// A terminal whose socket drops abnormally reconnects by itself. The server is killed with SIGKILL
// under an open terminal (the browser sees close code 1006) and started again on the same address
// and data: the terminal says it goes on in a new shell because the server restarted, and a command
// typed there runs. A shell that exits is not reopened. A socket that drops while its shell lives
// (the page's socket is closed under it) comes back to the same shell: the scrollback is replayed,
// then a "[reconnected]" line shows on the screen only (the shell never sees it).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
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
let dataDir
before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ecode-e2e-term-'))
  server = await startServer({ dataDir })
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

test('the terminal reconnects to a new shell after the server restarts, and not after its shell exits', async () => {
  const ctx = await browser.newContext({ baseURL: server.url })
  const page = await ctx.newPage()
  await signUp(page, { name: 'Rey', email: 'rey@example.com', password: 'rey-password-1' })
  await createProject(page, 'restarts', 'python')
  await page.locator('[role="tab"][data-pane="terminal"]').click()
  await page.getByRole('button', { name: 'New terminal' }).click()
  await page.locator(status('connected')).waitFor()
  await typeInTerminal(page, 'echo before-$((1+1))')
  await waitForRow(page, TERM, 'before-2', { exact: true })

  // The server dies under the open terminal, then comes back on the same address and data.
  const addr = new URL(server.url).host
  await server.kill9()
  await page.locator(status('reconnecting')).waitFor()
  server = await startServer({ dataDir, extraArgs: ['--addr', addr] })
  assert.equal(server.url, `http://${addr}`)
  await waitForRow(page, TERM, '[reconnected \u2014 new shell: the server restarted]', { timeout: 90_000 })
  await page.locator(status('connected')).waitFor()
  await typeInTerminal(page, 'echo after-$((2+2))')
  await waitForRow(page, TERM, 'after-4', { exact: true })

  // The shell exits: the terminal says so and stays closed.
  await typeInTerminal(page, 'exit 3')
  await waitForRow(page, TERM, '[process exited with code 3]')
  await page.locator(status('exited')).waitFor()
  assert.equal(await page.locator(status('reconnecting')).count(), 0)
  await ctx.close()
})

// After the restart above: a project made before the SIGKILL would keep that server's volume mounted.
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
