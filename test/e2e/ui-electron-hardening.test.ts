import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { ElectronApplication, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { electronBinary, launchElectronApp, repoRoot } from './ui-harness'

/**
 * The hardening's Electron glue in a real window (its decisions are unit-tested under Node in
 * test/unit/desktop-*.test.ts). Needs Electron's binary: here it is not downloaded, so these
 * report themselves skipped with the reason; the release workflow runs them under xvfb-run.
 */
const binary = electronBinary()
const electronBinaryExists = binary.path !== undefined
const SKIP = electronBinaryExists ? '' : ` — skipped: ${binary.reason}`
if (!electronBinaryExists) console.warn(`Electron hardening tests skipped: ${binary.reason}`)

describe(`the Electron window's hardening${SKIP}`, () => {
  let app: ElectronApplication
  let appWindow: Page
  let dataDir: string
  let cleanup: Array<() => Promise<void> | void> = []

  beforeAll(async () => {
    if (!electronBinaryExists) return
    const launched = await launchElectronApp(binary.path!)
    app = launched.app
    appWindow = launched.window
    dataDir = launched.dataDir
    cleanup = [launched.close]
  })

  afterAll(async () => {
    for (const step of cleanup.reverse()) await step()
  })

  it.skipIf(!electronBinaryExists)('loads the app from app://hypercube, which serves the renderer and refuses a way out of it', async () => {
    expect(appWindow.url()).toMatch(/^app:\/\/hypercube\/index\.html/)
    const answers = await appWindow.evaluate(async () => {
      const index = await fetch('app://hypercube/index.html')
      const escape = await fetch('app://hypercube/..%2fmain%2findex.js')
      return { index: index.headers.get('content-type'), escape: escape.status }
    })
    expect(answers).toEqual({ index: 'text/html; charset=utf-8', escape: 403 })
  })

  it.skipIf(!electronBinaryExists)('stays on the app when the page tries to navigate away or open a window', async () => {
    const before = appWindow.url()
    // Page code as strings: this file is type-checked without the DOM library.
    await appWindow.evaluate(`window.location.href = 'http://example.invalid/'`)
    await appWindow.waitForTimeout(500)
    expect(appWindow.url()).toBe(before)
    expect(await appWindow.evaluate(`window.open('http://example.invalid/') === null`)).toBe(true)
    expect(app.windows().length).toBe(1)
  })

  it.skipIf(!electronBinaryExists)('denies the permissions the app does not use', async () => {
    const states = await appWindow.evaluate(`(async () => ({
      geolocation: (await navigator.permissions.query({ name: 'geolocation' })).state,
      notifications: Notification.permission
    }))()`)
    expect(states).toEqual({ geolocation: 'denied', notifications: 'denied' })
  })

  it.skipIf(!electronBinaryExists)('has the application menu with the data folder, the logs and Start at Login (off)', async () => {
    const items = await app.evaluate(({ Menu }) => {
      const menu = Menu.getApplicationMenu()
      return ['open-data-folder', 'open-logs-folder', 'open-at-login'].map((id) => {
        const item = menu?.getMenuItemById(id)
        return item ? { label: item.label, checked: item.checked } : null
      })
    })
    expect(items).toEqual([
      { label: 'Open Data Folder', checked: false },
      { label: 'Open Logs Folder', checked: false },
      { label: 'Start at Login', checked: false }
    ])
  })

  it.skipIf(!electronBinaryExists)('hands a second launch on the same data folder over to the first, which keeps its window', async () => {
    const second = spawn(binary.path!, [join(repoRoot, 'out', 'main', 'index.js'), '--no-sandbox'], { env: { ...process.env, HYPERCUBE_DATA_DIR: dataDir }, stdio: 'ignore' })
    const code = await new Promise<number | null>((resolve) => second.on('exit', resolve))
    expect(code).toBe(0)
    expect(app.windows().length).toBe(1)
    expect(await appWindow.evaluate('document.title')).toBe('Hypercube')
  })
})
