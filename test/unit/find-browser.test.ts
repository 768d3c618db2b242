import { describe, expect, it } from 'vitest'
import { browserCandidates, findBrowser, playwrightCacheDir, requireBrowser, type BrowserLookupHost } from '../support/find-browser'

/** A host with the given files; folders are whatever the files imply. */
function host(platform: NodeJS.Platform, files: string[], env: Record<string, string> = {}, homeDir = platform === 'win32' ? 'C:\\Users\\ada' : platform === 'darwin' ? '/Users/ada' : '/home/ada'): BrowserLookupHost {
  const sep = platform === 'win32' ? '\\' : '/'
  return {
    platform,
    env,
    homeDir,
    exists: (file) => files.includes(file),
    readdir: (dir) => {
      const prefix = dir.endsWith(sep) ? dir : dir + sep
      return [...new Set(files.filter((file) => file.startsWith(prefix)).map((file) => file.slice(prefix.length).split(sep)[0]))]
    }
  }
}

function found(h: BrowserLookupHost): string | undefined {
  const lookup = findBrowser(h)
  return lookup.found ? lookup.browser.path : undefined
}

describe('findBrowser on Linux', () => {
  const cache = '/home/ada/.cache/ms-playwright'

  it('takes HYPERCUBE_CHROMIUM over everything else', () => {
    const h = host('linux', ['/opt/my/chrome', '/usr/bin/chromium', `${cache}/chromium-1200/chrome-linux64/chrome`], { HYPERCUBE_CHROMIUM: '/opt/my/chrome' })
    expect(findBrowser(h)).toEqual({ found: true, browser: { path: '/opt/my/chrome', source: 'HYPERCUBE_CHROMIUM' } })
  })

  it('does not fall back when HYPERCUBE_CHROMIUM names nothing', () => {
    const lookup = findBrowser(host('linux', ['/usr/bin/chromium'], { HYPERCUBE_CHROMIUM: '/nope/chrome' }))
    expect(lookup.found).toBe(false)
    if (!lookup.found) expect(lookup.reason).toContain('HYPERCUBE_CHROMIUM=/nope/chrome')
  })

  it('prefers the Playwright cache, newest revision first, over installed browsers', () => {
    const h = host('linux', [
      '/usr/bin/chromium',
      `${cache}/chromium-1148/chrome-linux/chrome`,
      `${cache}/chromium-1200/chrome-linux64/chrome`,
      `${cache}/chromium-999/chrome-linux/chrome`
    ])
    expect(findBrowser(h)).toEqual({ found: true, browser: { path: `${cache}/chromium-1200/chrome-linux64/chrome`, source: 'playwright cache' } })
  })

  it('reads the old chrome-linux layout and compares revisions as numbers', () => {
    expect(found(host('linux', [`${cache}/chromium-999/chrome-linux/chrome`, `${cache}/chromium-1148/chrome-linux/chrome`]))).toBe(`${cache}/chromium-1148/chrome-linux/chrome`)
  })

  it('takes a full Chromium over a headless shell, and a headless shell over installed browsers', () => {
    const shell = `${cache}/chromium_headless_shell-1200/chrome-headless-shell-linux64/chrome-headless-shell`
    const oldShell = `${cache}/chromium_headless_shell-1148/chrome-linux/headless_shell`
    expect(found(host('linux', [shell, `${cache}/chromium-1100/chrome-linux/chrome`]))).toBe(`${cache}/chromium-1100/chrome-linux/chrome`)
    expect(found(host('linux', ['/usr/bin/chromium', oldShell]))).toBe(oldShell)
  })

  it('honours PLAYWRIGHT_BROWSERS_PATH and XDG_CACHE_HOME', () => {
    expect(found(host('linux', ['/pw/chromium-1200/chrome-linux64/chrome', `${cache}/chromium-1300/chrome-linux64/chrome`], { PLAYWRIGHT_BROWSERS_PATH: '/pw' }))).toBe(
      '/pw/chromium-1200/chrome-linux64/chrome'
    )
    expect(playwrightCacheDir(host('linux', [], { XDG_CACHE_HOME: '/xdg' }))).toBe('/xdg/ms-playwright')
    expect(playwrightCacheDir({ ...host('linux', [], { PLAYWRIGHT_BROWSERS_PATH: '0' }), playwrightLocalBrowsersDir: '/repo/node_modules/playwright-core/.local-browsers' })).toBe(
      '/repo/node_modules/playwright-core/.local-browsers'
    )
  })

  it('then looks in the usual install locations, in order', () => {
    expect(browserCandidates(host('linux', [])).filter((c) => c.source === 'installed').map((c) => c.path)).toEqual([
      '/usr/bin/chromium',
      '/usr/bin/chromium-browser',
      '/usr/bin/google-chrome',
      '/usr/bin/google-chrome-stable',
      '/snap/bin/chromium',
      '/usr/bin/microsoft-edge',
      '/usr/bin/microsoft-edge-stable'
    ])
    expect(found(host('linux', ['/snap/bin/chromium', '/usr/bin/google-chrome-stable']))).toBe('/usr/bin/google-chrome-stable')
  })

  it('explains in one line how to get a browser when there is none', () => {
    const lookup = findBrowser(host('linux', []))
    expect(lookup.found).toBe(false)
    if (!lookup.found) {
      expect(lookup.reason).not.toContain('\n')
      expect(lookup.reason).toContain(cache)
      expect(lookup.reason).toContain('HYPERCUBE_CHROMIUM')
      expect(lookup.reason).toContain('npx playwright install chromium')
    }
    expect(() => requireBrowser(host('linux', []))).toThrow(/npx playwright install chromium/)
  })
})

describe('findBrowser on macOS', () => {
  const cache = '/Users/ada/Library/Caches/ms-playwright'

  it('reads both Playwright layouts in ~/Library/Caches', () => {
    const testing = `${cache}/chromium-1200/chrome-mac-arm64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing`
    const old = `${cache}/chromium-1148/chrome-mac/Chromium.app/Contents/MacOS/Chromium`
    expect(found(host('darwin', [old, testing, '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome']))).toBe(testing)
    expect(found(host('darwin', [old, '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome']))).toBe(old)
  })

  it('then Chrome, Chromium and Edge in /Applications, then in ~/Applications', () => {
    expect(browserCandidates(host('darwin', [])).filter((c) => c.source === 'installed').map((c) => c.path)).toEqual([
      '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
      '/Applications/Chromium.app/Contents/MacOS/Chromium',
      '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
      '/Users/ada/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
      '/Users/ada/Applications/Chromium.app/Contents/MacOS/Chromium',
      '/Users/ada/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge'
    ])
    expect(found(host('darwin', ['/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge', '/Applications/Chromium.app/Contents/MacOS/Chromium']))).toBe(
      '/Applications/Chromium.app/Contents/MacOS/Chromium'
    )
  })
})

describe('findBrowser on Windows', () => {
  const env = { LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local', ProgramFiles: 'C:\\Program Files', 'ProgramFiles(x86)': 'C:\\Program Files (x86)' }
  const cache = 'C:\\Users\\ada\\AppData\\Local\\ms-playwright'

  it('reads the Playwright cache in %LOCALAPPDATA%, both layouts, newest first', () => {
    const h = host('win32', [`${cache}\\chromium-1148\\chrome-win\\chrome.exe`, `${cache}\\chromium-1200\\chrome-win64\\chrome.exe`, 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe'], env)
    expect(found(h)).toBe(`${cache}\\chromium-1200\\chrome-win64\\chrome.exe`)
    expect(found(host('win32', [`${cache}\\chromium-1148\\chrome-win\\chrome.exe`], env))).toBe(`${cache}\\chromium-1148\\chrome-win\\chrome.exe`)
  })

  it('defaults %LOCALAPPDATA% to the home folder when it is not set', () => {
    expect(playwrightCacheDir(host('win32', []))).toBe(cache)
  })

  it('then Chrome and Edge under Program Files, Program Files (x86) and %LOCALAPPDATA%', () => {
    expect(browserCandidates(host('win32', [], env)).filter((c) => c.source === 'installed').map((c) => c.path)).toEqual([
      'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
      'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
      'C:\\Users\\ada\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe',
      'C:\\Users\\ada\\AppData\\Local\\Chromium\\Application\\chrome.exe',
      'C:\\Program Files\\Microsoft\\Edge\\Application\\msedge.exe',
      'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe',
      'C:\\Users\\ada\\AppData\\Local\\Microsoft\\Edge\\Application\\msedge.exe'
    ])
    // Edge ships with Windows: found when nothing else is.
    expect(found(host('win32', ['C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe'], env))).toBe(
      'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe'
    )
  })
})
