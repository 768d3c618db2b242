import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { _electron as electron, chromium, type Browser, type ElectronApplication, type Page } from 'playwright-core'
import { requireBrowser } from '../support/find-browser'
import { createTestDatabase, makeDataDir } from '../support/test-env'

/** Shared by the e2e tests and the UI benchmark: the browser, the build, and API helpers. */

export const repoRoot = join(import.meta.dirname, '..', '..')
export const screenshotsDir = join(repoRoot, 'test-results')

export function assertRendererBuilt(): void {
  if (!existsSync(join(repoRoot, 'out', 'renderer', 'index.html'))) {
    throw new Error('out/renderer is missing: run `npx electron-vite build` first (npm test builds before testing)')
  }
}

/** Chromium (or Chrome, or Edge) headless, found as test/support/find-browser.ts describes. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = requireBrowser()
  mkdirSync(screenshotsDir, { recursive: true })
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
}

/** The /v1 tracking API as a training script uses it. */
export function apiClient(baseUrl: string, token: string) {
  return async function request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`)
    return JSON.parse(text) as T
  }
}

/**
 * Where the Electron binary is, or why the Electron window tests skip themselves. Reads
 * node_modules/electron/path.txt instead of `require('electron')`, because that require
 * downloads a missing binary (installs here use ELECTRON_SKIP_BINARY_DOWNLOAD=1).
 */
export function electronBinary(): { path?: string; reason?: string } {
  const pathFile = join(repoRoot, 'node_modules', 'electron', 'path.txt')
  if (!existsSync(pathFile)) return { reason: 'the Electron binary is not installed (node_modules/electron/path.txt missing; installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1)' }
  const binary = join(repoRoot, 'node_modules', 'electron', 'dist', readFileSync(pathFile, 'utf8').trim())
  if (!existsSync(binary)) return { reason: `the Electron binary is missing at ${binary}` }
  if (!existsSync(join(repoRoot, 'out', 'main', 'index.js'))) return { reason: 'out/main/index.js is missing: run `npx electron-vite build`' }
  return { path: binary }
}

/**
 * The built app in an Electron window on a fresh data folder and database; `close` quits it
 * and removes both.
 */
export async function launchElectronApp(executablePath: string): Promise<{ app: ElectronApplication; window: Page; dataDir: string; close: () => Promise<void> }> {
  const data = makeDataDir()
  const database = await createTestDatabase()
  const app = await electron.launch({
    executablePath,
    args: [join(repoRoot, 'out', 'main', 'index.js'), '--no-sandbox'],
    env: { ...process.env, HYPERCUBE_DATA_DIR: data.dir, HYPERCUBE_DATABASE_URL: database.url }
  })
  const window = await app.firstWindow()
  await window.setViewportSize({ width: 1280, height: 800 })
  return {
    app,
    window,
    dataDir: data.dir,
    close: async () => {
      await app.close()
      await database.drop()
      data.remove()
    }
  }
}

/** One axe-core finding: the rule, its impact, and the CSS selectors of the elements it names. */
export interface AxeViolation {
  id: string
  impact: string | null
  targets: string[]
}

/** axe-core's findings on the page as it is now. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated, not added as a <script>: the page's CSP (script-src 'self') refuses inline scripts.
  if (!(await page.evaluate(`'axe' in window`))) await page.evaluate(readFileSync(join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8'))
  return page.evaluate(`axe.run(document).then((result) => result.violations.map((violation) =>
    ({ id: violation.id, impact: violation.impact, targets: violation.nodes.map((node) => node.target.join(' ')) })))`)
}

export const isSeriousOrCritical = (violation: AxeViolation): boolean => violation.impact === 'serious' || violation.impact === 'critical'
