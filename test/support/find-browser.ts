import { existsSync, readdirSync } from 'node:fs'
import { homedir } from 'node:os'
import path from 'node:path'

/**
 * Which Chromium-family browser the browser tests (and the UI benchmark) drive, looked up the
 * way a developer expects on Linux, macOS and Windows:
 *
 *   1. HYPERCUBE_CHROMIUM, when set (and then only it: a wrong path is an error, not a fallback);
 *   2. Playwright's own browser cache (`npx playwright install chromium`): PLAYWRIGHT_BROWSERS_PATH,
 *      else ~/.cache/ms-playwright, ~/Library/Caches/ms-playwright or %LOCALAPPDATA%\ms-playwright;
 *      full Chromium builds newest revision first, then headless shells newest first;
 *   3. the usual Chrome, Chromium and Edge install locations of the platform.
 *
 * The lookup is pure (platform, environment, home folder and file system are passed in) so one
 * unit test covers every platform from any platform.
 */

export interface BrowserLookupHost {
  platform: NodeJS.Platform
  env: Readonly<Record<string, string | undefined>>
  homeDir: string
  exists(file: string): boolean
  /** The entries of a folder; [] when it is missing or unreadable. */
  readdir(dir: string): string[]
  /** Where PLAYWRIGHT_BROWSERS_PATH=0 puts browsers (playwright-core's .local-browsers). */
  playwrightLocalBrowsersDir?: string
}

export interface BrowserCandidate {
  path: string
  /** Where the candidate comes from, for messages: 'HYPERCUBE_CHROMIUM', 'playwright cache', 'installed'. */
  source: 'HYPERCUBE_CHROMIUM' | 'playwright cache' | 'installed'
}

export type BrowserLookup = { found: true; browser: BrowserCandidate } | { found: false; reason: string }

export const NO_BROWSER_HELP =
  'install Chrome or Chromium, or set HYPERCUBE_CHROMIUM=/path/to/chrome, or run `npx playwright install chromium`'

function pathApi(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix
}

/** Playwright's registry folder, as playwright-core computes it. */
export function playwrightCacheDir(host: BrowserLookupHost): string | undefined {
  const p = pathApi(host.platform)
  const override = host.env.PLAYWRIGHT_BROWSERS_PATH
  if (override === '0') return host.playwrightLocalBrowsersDir
  if (override) return override // a relative one is relative to the working folder, as for Playwright
  if (host.platform === 'darwin') return p.join(host.homeDir, 'Library', 'Caches', 'ms-playwright')
  if (host.platform === 'win32') return p.join(host.env.LOCALAPPDATA || p.join(host.homeDir, 'AppData', 'Local'), 'ms-playwright')
  return p.join(host.env.XDG_CACHE_HOME || p.join(host.homeDir, '.cache'), 'ms-playwright')
}

/**
 * Executables inside one revision folder of the Playwright cache, for both layouts Playwright has
 * used: Chrome for Testing builds (chrome-linux64, chrome-mac-arm64, chrome-win64; since 1.57) and
 * the older Chromium snapshots (chrome-linux, chrome-mac, chrome-win).
 */
function playwrightExecutables(platform: NodeJS.Platform, kind: 'chromium' | 'headless-shell'): string[][] {
  if (kind === 'chromium') {
    if (platform === 'darwin') {
      const testing = ['Google Chrome for Testing.app', 'Contents', 'MacOS', 'Google Chrome for Testing']
      return [['chrome-mac-arm64', ...testing], ['chrome-mac-x64', ...testing], ['chrome-mac', 'Chromium.app', 'Contents', 'MacOS', 'Chromium']]
    }
    if (platform === 'win32') return [['chrome-win64', 'chrome.exe'], ['chrome-win', 'chrome.exe']]
    return [['chrome-linux64', 'chrome'], ['chrome-linux-arm64', 'chrome'], ['chrome-linux', 'chrome']]
  }
  if (platform === 'darwin') {
    return [['chrome-headless-shell-mac-arm64', 'chrome-headless-shell'], ['chrome-headless-shell-mac-x64', 'chrome-headless-shell'], ['chrome-mac', 'headless_shell']]
  }
  if (platform === 'win32') return [['chrome-headless-shell-win64', 'chrome-headless-shell.exe'], ['chrome-win', 'headless_shell.exe']]
  return [['chrome-headless-shell-linux64', 'chrome-headless-shell'], ['chrome-headless-shell-linux-arm64', 'chrome-headless-shell'], ['chrome-linux', 'headless_shell']]
}

/** `prefix<revision>` folders of a cache, newest (highest) revision first. */
function revisionsNewestFirst(entries: string[], prefix: string): string[] {
  return entries
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .sort((a, b) => Number(b.slice(prefix.length)) - Number(a.slice(prefix.length)))
}

function playwrightCandidates(host: BrowserLookupHost): string[] {
  const cache = playwrightCacheDir(host)
  if (!cache) return []
  const p = pathApi(host.platform)
  const entries = host.readdir(cache)
  const found: string[] = []
  for (const [prefix, kind] of [['chromium-', 'chromium'], ['chromium_headless_shell-', 'headless-shell']] as const) {
    for (const revision of revisionsNewestFirst(entries, prefix)) {
      for (const parts of playwrightExecutables(host.platform, kind)) found.push(p.join(cache, revision, ...parts))
    }
  }
  return found
}

function installedCandidates(host: BrowserLookupHost): string[] {
  const p = pathApi(host.platform)
  if (host.platform === 'darwin') {
    const apps = [
      ['Google Chrome.app', 'Contents', 'MacOS', 'Google Chrome'],
      ['Chromium.app', 'Contents', 'MacOS', 'Chromium'],
      ['Microsoft Edge.app', 'Contents', 'MacOS', 'Microsoft Edge']
    ]
    return [...apps.map((app) => p.join('/Applications', ...app)), ...apps.map((app) => p.join(host.homeDir, 'Applications', ...app))]
  }
  if (host.platform === 'win32') {
    const roots = [
      host.env.ProgramFiles || 'C:\\Program Files',
      host.env['ProgramFiles(x86)'] || 'C:\\Program Files (x86)',
      host.env.LOCALAPPDATA || p.join(host.homeDir, 'AppData', 'Local')
    ]
    return [
      ...roots.map((root) => p.join(root, 'Google', 'Chrome', 'Application', 'chrome.exe')),
      p.join(roots[2], 'Chromium', 'Application', 'chrome.exe'),
      ...roots.map((root) => p.join(root, 'Microsoft', 'Edge', 'Application', 'msedge.exe'))
    ]
  }
  return [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/snap/bin/chromium',
    '/usr/bin/microsoft-edge',
    '/usr/bin/microsoft-edge-stable'
  ]
}

/** Every place looked at, in order (HYPERCUBE_CHROMIUM, when set, is the only one). */
export function browserCandidates(host: BrowserLookupHost): BrowserCandidate[] {
  const chosen = host.env.HYPERCUBE_CHROMIUM
  if (chosen) return [{ path: chosen, source: 'HYPERCUBE_CHROMIUM' }]
  return [
    ...playwrightCandidates(host).map((file) => ({ path: file, source: 'playwright cache' as const })),
    ...installedCandidates(host).map((file) => ({ path: file, source: 'installed' as const }))
  ]
}

export function findBrowser(host: BrowserLookupHost): BrowserLookup {
  const candidates = browserCandidates(host)
  const browser = candidates.find((candidate) => host.exists(candidate.path))
  if (browser) return { found: true, browser }
  if (host.env.HYPERCUBE_CHROMIUM) {
    return { found: false, reason: `no browser at HYPERCUBE_CHROMIUM=${host.env.HYPERCUBE_CHROMIUM}: point it at a Chrome/Chromium executable, or unset it to search the usual places` }
  }
  const cache = playwrightCacheDir(host)
  return {
    found: false,
    reason: `no Chrome/Chromium found for the browser tests (looked in the Playwright cache ${cache ?? '(none)'} and the usual install locations): ${NO_BROWSER_HELP}`
  }
}

/** The host this process runs on. */
export function nodeBrowserLookupHost(): BrowserLookupHost {
  return {
    platform: process.platform,
    env: process.env,
    homeDir: homedir(),
    exists: existsSync,
    readdir: (dir) => {
      try {
        return readdirSync(dir)
      } catch {
        return []
      }
    },
    playwrightLocalBrowsersDir: path.join(import.meta.dirname, '..', '..', 'node_modules', 'playwright-core', '.local-browsers')
  }
}

/** The browser to launch here; throws one line saying how to get one when there is none. */
export function requireBrowser(host: BrowserLookupHost = nodeBrowserLookupHost()): string {
  const lookup = findBrowser(host)
  if (lookup.found) return lookup.browser.path
  const error = new Error(lookup.reason)
  error.stack = `Error: ${lookup.reason}` // the reason is the whole story: no stack trace under it
  throw error
}
