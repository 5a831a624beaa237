// Small helpers shared by the browser journeys.
import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import { launchBrowser } from './browser.mjs'
import { startFakeAnthropic } from './fake-anthropic.mjs'
import { startServer } from './server.mjs'

/** Signs up through the UI and waits for the dashboard. */
export async function signUp(page, { name, email, password }) {
  await page.goto('/signup')
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByLabel('Email', { exact: true }).fill(email)
  await page.getByLabel('Password', { exact: true }).fill(password)
  const answered = page.waitForResponse((r) => r.url().endsWith('/api/auth/signup'))
  await page.getByRole('button', { name: 'Sign up' }).click()
  const res = await answered
  assert.equal(res.status(), 201, `signup answered ${res.status()}: ${await res.text()}`)
  await page.waitForURL((u) => u.pathname === '/')
  await page.getByRole('heading', { level: 1 }).waitFor()
}

/**
 * From the dashboard: creates a project from the Node template, publishes it as a server from
 * the Deployments pane (at `size`, when given) and waits until its release is live; returns the pane.
 */
export async function publishNodeServer(page, projectName, { size } = {}) {
  await page.getByLabel('Name', { exact: true }).fill(projectName)
  await page.locator('[data-template="node"]').click()
  await page.getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  await page.locator('[role="tab"][data-pane="deployments"]').click()
  const pane = page.locator('#pane-deployments')
  await pane.getByRole('button', { name: 'Publish', exact: true }).click()
  await pane.getByLabel('Deployment kind').selectOption('server')
  if (size) await pane.getByLabel('Deployment size').selectOption(size)
  await pane.getByRole('button', { name: 'Publish now' }).click()
  await pane.locator('tbody tr:nth-child(1)[data-status="live"]').waitFor({ timeout: 120_000 })
  return pane
}

/** The tree row of a path in the workspace's file tree. */
export const treeItem = (page, path) => page.locator(`[role="treeitem"][data-path="${path}"]`)

/** The editor tab of an open file. */
export const editorTab = (page, path) => page.locator(`[role="tab"][data-path="${path}"]`)

// useServerAndBrowser starts the built server and Chromium before the file's
// tests and stops them after; set receives both once they are up.
export function useServerAndBrowser(set, serverOptions) {
  let server
  let browser
  before(async () => {
    server = await startServer(serverOptions)
    browser = await launchBrowser()
    set(server, browser)
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })
}

// useAgentServer is useServerAndBrowser with the scripted fake Anthropic
// server as the agent's model; set receives the server, the browser and the
// fake. The fake's held turns are released before it closes.
export function useAgentServer(set) {
  let fake
  let server
  let browser
  before(async () => {
    fake = await startFakeAnthropic({ apiKey: 'test-key' })
    server = await startServer({ env: { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url } })
    browser = await launchBrowser()
    set(server, browser, fake)
  })
  after(async () => {
    fake?.release?.()
    await browser?.close()
    await server?.stop()
    await fake?.close()
  })
}

/**
 * Waits until a row of the xterm inside `selector` contains `text` (or, with exact, is `text`:
 * a line of output of its own, not the echoed command line).
 */
export function waitForRow(page, selector, text, { exact = false, timeout = 60_000 } = {}) {
  return page.waitForFunction(
    ({ selector, text, exact }) =>
      [...document.querySelectorAll(`${selector} .xterm-rows > div`)].some((r) => {
        const row = r.textContent.replace(/\u00a0/g, ' ').trim()
        return exact ? row === text : row.includes(text)
      }),
    { selector, text, exact },
    { timeout, polling: 100 },
  )
}
