// Measures the first load of a project's workspace in Chromium: the JavaScript transferred
// (compressed bytes on the wire, and decoded) and the time from navigation until the editor is
// editable, with an empty cache. Usage: [MBPS=5] ECODE_BIN=... node measure-firstload.mjs [runs]
import { launchBrowser } from './lib/browser.mjs'
import { signUp } from './lib/journey.mjs'
import { startServer } from './lib/server.mjs'

const runs = Number(process.argv[2] || 5)
const server = await startServer()
const browser = await launchBrowser()
try {
  const ctx = await browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 900 } })
  const page = await ctx.newPage()
  await signUp(page, { name: 'Fay First', email: 'fay@example.com', password: 'first-load-pw' })
  const p = await (await page.request.post('/api/projects', { data: { name: 'First load', template: 'node' } })).json()
  const url = `/p/${p.id}`
  const results = []
  for (let i = 0; i < runs; i++) {
    const fresh = await browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 900 }, storageState: await ctx.storageState() })
    const pg = await fresh.newPage()
    const cdp = await fresh.newCDPSession(pg)
    await cdp.send('Network.enable')
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true })
    // MBPS=5 emulates a 5 Mbit/s link with 40 ms latency (both ways).
    const mbps = Number(process.env.MBPS || 0)
    if (mbps) {
      const bytes = (mbps * 1e6) / 8
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 40, downloadThroughput: bytes, uploadThroughput: bytes })
    }
    const sizes = new Map()
    cdp.on('Network.responseReceived', (e) => { if (e.response.url.endsWith('.js')) sizes.set(e.requestId, { url: e.response.url, enc: e.response.headers['content-encoding'] || e.response.headers['Content-Encoding'] || '' }) })
    cdp.on('Network.loadingFinished', (e) => { const s = sizes.get(e.requestId); if (s) s.wire = e.encodedDataLength })
    const t0 = Date.now()
    await pg.goto(url)
    // The editor is editable: the file's text is in a contenteditable CodeMirror. (Builds that
    // open no file by themselves get a click on index.js as soon as the tree shows it.)
    const editor = pg.locator('.cm-content[contenteditable="true"]', { hasText: 'createServer' })
    const item = pg.locator('[role="treeitem"][data-path="index.js"]')
    let clicked = false
    while (!(await editor.isVisible())) {
      if (!clicked && (await pg.locator('.cm-content').count()) === 0 && (await item.isVisible())) {
        await item.click()
        clicked = true
      }
      await pg.waitForTimeout(20)
      if (Date.now() - t0 > 60_000) throw new Error('the editor never became editable')
    }
    const ms = Date.now() - t0
    const js = [...sizes.values()]
    results.push({ ms, files: js.length, wire: js.reduce((n, s) => n + (s.wire || 0), 0), enc: [...new Set(js.map((s) => s.enc || 'identity'))].join(',') })
    await fresh.close()
  }
  const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  console.log(JSON.stringify(results))
  console.log(`median time to editable editor: ${med(results.map((r) => r.ms))} ms; JavaScript on the wire until then: ${(med(results.map((r) => r.wire)) / 1024).toFixed(0)} KiB in ${results[0].files} files (${results[0].enc})`)
} finally {
  await browser.close()
  await server.stop()
}
