// Backups: with scheduled backups on, an admin sees the schedule and the backups kept on the
// Admin page; a backup made by `ecode backup` beside the running server is listed there.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { signUp, useServerAndBrowser } from '../lib/journey.mjs'
import { ecodeBin } from '../lib/server.mjs'

let server
let browser
useServerAndBrowser((s, b) => {
  server = s
  browser = b
}, { extraArgs: ['--backup-every', '24h', '--backup-keep', '3'] })

test('the admin page lists the backups', async (t) => {
  const ctx = await browser.newContext({ baseURL: server.url })
  t.after(() => ctx.close())
  const admin = await ctx.newPage()
  await signUp(admin, { name: 'Ada Admin', email: 'ada@example.com', password: 'admin-password' })

  // A backup of the running service, named as the schedule names them, into its folder.
  const name = 'ecode-backup-20260102T030405.000000Z.tar.gz'
  await mkdir(path.join(server.dataDir, 'backups'), { recursive: true })
  const { stdout } = await promisify(execFile)(ecodeBin(), ['backup', '--out', path.join(server.dataDir, 'backups', name), '--data-dir', server.dataDir])
  assert.match(stdout, /^backup .*: \d+ bytes, 0 projects/)

  await admin.goto('/admin/incidents')
  const section = admin.locator('section', { has: admin.getByRole('heading', { name: 'Backups' }) })
  await section.getByText('A backup of the whole service every 24h0m0s, the newest 3 kept').waitFor()
  await section.getByRole('list', { name: 'Backups' }).getByText(name, { exact: true }).waitFor()
})
