// Importing a Figma file: the dashboard's Import dialog takes the file's URL and a personal
// access token (served by a fake Figma API on loopback), the import fetches the document and
// its renders and lands in a Vite + React + TypeScript project. Run installs it (npm through
// the egress proxy) and starts Vite in the sandbox; the Preview is measured in Chromium against
// the document: boxes within 2 px, colours exact. The generated project is also type-checked
// and built here with the UI's own toolchain, and the built page and the static HTML export
// are measured the same way.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { launchBrowser } from '../lib/browser.mjs'
import { colours, expected, startFakeFigma, testDocument } from '../lib/figma.mjs'
import { signUp } from '../lib/journey.mjs'
import { startServer } from '../lib/server.mjs'

const run = promisify(execFile)
const uiModules = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui', 'node_modules')
const KEY = 'E2eFigmaKey0123456'
const TOKEN = 'figd_e2e-secret-token'

let fake
let server
let browser
before(async () => {
  fake = await startFakeFigma({ token: TOKEN, files: { [KEY]: testDocument() } })
  server = await startServer({ extraArgs: ['--figma-api-url', fake.url, '--import-allow-hosts', '127.0.0.1', '--egress', 'proxy'] })
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
  await fake?.close()
})

/** Serves a folder on loopback (for the built page and the static export). */
async function serveDir(root) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' }
  const srv = createServer(async (req, res) => {
    const p = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname))
    if (!p.startsWith(root) || !(await stat(p).catch(() => null))?.isFile()) { res.writeHead(404); res.end(); return }
    res.writeHead(200, { 'Content-Type': types[path.extname(p)] ?? 'application/octet-stream' })
    createReadStream(p).pipe(res)
  })
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) }
}

/** Downloads the project's own files (not what npm installed) through the API into dir. */
async function downloadProject(request, projectId, dir) {
  const res = await request.get(`/api/projects/${projectId}/files`)
  assert.equal(res.status(), 200)
  const files = []
  const walk = (e) => {
    if (e.path === 'node_modules' || e.path === 'dist') return
    if (e.type === 'file') files.push(e.path)
    for (const c of e.children ?? []) walk(c)
  }
  walk(await res.json())
  for (const f of files) {
    const r = await request.get(`/api/projects/${projectId}/files/${f.split('/').map(encodeURIComponent).join('/')}`)
    assert.equal(r.status(), 200, f)
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true })
    await writeFile(path.join(dir, f), await r.body())
  }
  return files
}

/** Measures the key layers against the document: boxes relative to the frame, colours. page is a Page or a Frame. */
async function checkFidelity(page, label) {
  const got = await page.evaluate((ids) => {
    const frame = document.querySelector('[data-figma-id="1:2"]').getBoundingClientRect()
    const out = {}
    for (const id of ids) {
      const el = document.querySelector(`[data-figma-id="${id}"]`)
      if (!el) continue
      const r = el.getBoundingClientRect()
      const cs = getComputedStyle(el)
      out[id] = { x: r.x - frame.x, y: r.y - frame.y, width: r.width, height: r.height, bg: cs.backgroundColor, image: cs.backgroundImage, radius: cs.borderRadius, shadow: cs.boxShadow, opacity: cs.opacity }
    }
    const label = document.querySelector('[data-figma-id="1:12"] p')
    out.label = { text: label?.textContent, color: label && getComputedStyle(label).color, size: label && getComputedStyle(label).fontSize }
    return out
  }, Object.keys(expected))
  for (const [id, want] of Object.entries(expected)) {
    const g = got[id]
    assert.ok(g, `${label}: no element for ${id}`)
    for (const k of ['x', 'y', 'width', 'height']) {
      assert.ok(Math.abs(g[k] - want[k]) <= 2, `${label}: ${id} ${k} is ${g[k]}, the design has ${want[k]}`)
    }
  }
  for (const [id, want] of Object.entries(colours)) assert.equal(got[id].bg, want, `${label}: ${id} background`)
  assert.equal(got['1:7'].image, 'linear-gradient(90deg, rgb(255, 230, 204) 0%, rgb(204, 230, 255) 100%)', `${label}: card gradient`)
  assert.equal(got['1:7'].radius, '12px')
  assert.equal(got['1:7'].shadow, 'rgba(0, 0, 0, 0.25) 0px 4px 8px 0px')
  assert.equal(got['1:8'].opacity, '0.9')
  assert.deepEqual(got.label, { text: 'Cancel', color: 'rgb(255, 255, 255)', size: '14px' }, `${label}: the instance's overridden label`)
}

/** The colour of one pixel of a screenshot of the frame, read back through a canvas. */
async function pixel(page, x, y) {
  const shot = await page.locator('[data-figma-id="1:2"]').screenshot()
  return page.evaluate(async ({ b64, x, y }) => {
    const img = new Image()
    img.src = 'data:image/png;base64,' + b64
    await img.decode()
    const c = document.createElement('canvas')
    c.width = img.width
    c.height = img.height
    const ctx = c.getContext('2d')
    ctx.drawImage(img, 0, 0)
    return Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3))
  }, { b64: shot.toString('base64'), x, y })
}

test('import a Figma file by URL and token, build the generated app, and match the design in Chromium', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url, viewport: { width: 1000, height: 900 } })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Fay Figma', email: 'fay@example.com', password: 'frames-and-fills' })

  await page.getByRole('button', { name: 'Import', exact: true }).click()
  const dialog = page.getByRole('dialog', { name: 'Import a project' })
  await dialog.getByRole('tab', { name: 'Figma', exact: true }).click()
  await dialog.getByLabel('Figma file URL').fill(`https://www.figma.com/design/${KEY}/E2E-design?node-id=1-2`)
  // No token: said before any request.
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  await dialog.getByText('Enter a Figma personal access token').waitFor()
  await dialog.getByLabel('Personal access token').fill(TOKEN)
  const sent = page.waitForRequest((r) => r.url().endsWith('/api/imports') && r.method() === 'POST')
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  assert.equal((await sent).postDataJSON().source, 'figma')

  await page.locator('.import-progress[data-status="succeeded"]').waitFor({ timeout: 60_000 })
  const report = page.getByTestId('import-report')
  await report.getByText('vite', { exact: false }).first().waitFor()
  assert.equal(await page.getByTestId('import-not-carried').count(), 0, 'the renders were all fetched')
  assert.ok(fake.requests.some((r) => r.path === `/v1/images/${KEY}` && r.token === TOKEN), 'the renders were asked for with the token')

  await page.getByRole('button', { name: 'Open project' }).click()
  await page.waitForURL((u) => u.pathname.startsWith('/p/'))
  const projectId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2])

  // Run: npm install and Vite in the sandbox; the Preview shows the design as designed.
  const ran = page.waitForResponse((r) => r.url().endsWith('/run') && r.request().method() === 'POST')
  await page.locator('header').getByRole('button', { name: 'Run', exact: true }).click()
  assert.equal((await ran).status(), 202)
  await page.frameLocator('iframe[title="Preview"]').locator('[data-figma-id="1:12"]').getByText('Cancel').waitFor({ timeout: 240_000 })
  const preview = await (await page.locator('iframe[title="Preview"]').elementHandle()).contentFrame()
  await checkFidelity(preview, 'Preview in the sandbox')

  // The generated project: type-checked and built with the real toolchain.
  const dir = await mkdtemp(path.join(tmpdir(), 'ecode-figma-e2e-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const files = await downloadProject(ctx.request, projectId, dir)
  for (const f of ['src/frames/Landing.tsx', 'src/components/Button.tsx', 'src/assets/logo-1-4.png', 'src/assets/icon-1-5.svg', 'figma-static.html']) {
    assert.ok(files.includes(f), `${f} generated (have ${files.join(', ')})`)
  }
  await symlink(uiModules, path.join(dir, 'node_modules'), 'dir')
  await run(process.execPath, [path.join(uiModules, 'typescript', 'bin', 'tsc'), '--noEmit', '-p', dir], { cwd: dir }).catch((e) => assert.fail(`tsc: ${e.stdout}${e.stderr}`))
  await run(process.execPath, [path.join(uiModules, 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: dir }).catch((e) => assert.fail(`vite build: ${e.stdout}${e.stderr}`))

  const built = await serveDir(path.join(dir, 'dist'))
  t.after(() => built.close())
  const view = await ctx.newPage()
  await view.goto(built.url + '/index.html')
  await view.locator('[data-figma-id="1:12"]').waitFor()
  await checkFidelity(view, 'built React page')
  if (process.env.FIGMA_SCREENSHOT) await view.locator('[data-figma-id="1:2"]').screenshot({ path: process.env.FIGMA_SCREENSHOT }) // for a person to look at
  // Screenshot pixels: the Buy button's blue beside its label, the frame's white corner.
  assert.deepEqual(await pixel(view, 30, 220), [37, 99, 235])
  assert.deepEqual(await pixel(view, 396, 326), [255, 255, 255])
  assert.ok(await view.locator('[data-figma-id="1:4"]').evaluate((img) => img.complete && img.naturalWidth > 0), 'the logo render loads')

  const raw = await serveDir(dir)
  t.after(() => raw.close())
  const stat_ = await ctx.newPage()
  await stat_.goto(raw.url + '/figma-static.html')
  await checkFidelity(stat_, 'static export')
})

test('a wrong Figma token fails with what to fix; an uploaded JSON imports without the API', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const page = await ctx.newPage()
  await signUp(page, { name: 'Wes Wrong', email: 'wes@example.com', password: 'tokens-tokens' })
  await page.getByRole('button', { name: 'Import', exact: true }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByRole('tab', { name: 'Figma', exact: true }).click()
  await dialog.getByLabel('Figma file URL').fill(`https://www.figma.com/file/${KEY}/x`)
  await dialog.getByLabel('Personal access token').fill('not-the-token')
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  const failed = dialog.locator('.import-progress[data-status="failed"] [role="alert"]')
  await failed.waitFor({ timeout: 60_000 })
  assert.match(await failed.innerText(), /Figma refused the access token \(HTTP 403\).*personal access token/)
  assert.ok(!(await failed.innerText()).includes('not-the-token'))

  await dialog.getByRole('button', { name: 'Try again' }).click()
  await dialog.getByRole('tab', { name: 'Figma', exact: true }).click()
  await dialog.getByLabel('Figma file from').selectOption('zip')
  const dir = await mkdtemp(path.join(tmpdir(), 'ecode-figma-json-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await writeFile(path.join(dir, 'design.json'), JSON.stringify(testDocument()))
  await dialog.getByLabel('Figma file JSON').setInputFiles(path.join(dir, 'design.json'))
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  await dialog.locator('.import-progress[data-status="succeeded"]').waitFor({ timeout: 60_000 })
  await page.getByTestId('import-not-carried').getByText(/placeholders/).waitFor()
})
