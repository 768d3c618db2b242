import { join, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveAppRequest } from '../../src/main/desktop/app-protocol'
import { APP_INDEX_URL, decideNavigation, decideWebviewAttach, decideWindowOpen, externalLinkTarget, isAppUrl, trustedOrigins } from '../../src/main/desktop/navigation-policy'
import { decideDevicePermission, decidePermissionCheck, decidePermissionRequest, GRANTED_PERMISSIONS } from '../../src/main/desktop/permission-policy'

const DEV = 'http://localhost:5173/'

describe('navigation policy: the window stays on the app, https links go to the browser', () => {
  it('trusts the app origin, and the dev server only when it is on loopback over http', () => {
    expect(isAppUrl(APP_INDEX_URL)).toBe(true)
    expect(isAppUrl('app://hypercube/assets/index-abc.js')).toBe(true)
    expect(isAppUrl('http://localhost:5173/#/runs', DEV)).toBe(true)
    expect(trustedOrigins('http://192.168.1.5:5173/')).toEqual(['app://hypercube'])
    expect(trustedOrigins('https://localhost:5173/')).toEqual(['app://hypercube'])
  })

  it('does not trust look-alikes', () => {
    for (const url of [
      'app://hypercube.evil.example/index.html',
      'app://evil/index.html',
      'app:hypercube/index.html',
      'file:///opt/Hypercube/resources/app.asar/out/renderer/index.html',
      'http://localhost:5173/',
      'https://hypercube.example/',
      'not a url',
      ''
    ]) {
      expect(isAppUrl(url), url).toBe(false)
    }
  })

  it('allows navigation inside the app only', () => {
    expect(decideNavigation('app://hypercube/index.html#/experiments/3')).toEqual({ allow: true, openExternally: null })
    expect(decideNavigation('http://localhost:5173/#/runs', DEV)).toEqual({ allow: true, openExternally: null })
  })

  it('denies navigation anywhere else; an https link opens in the system browser instead', () => {
    expect(decideNavigation('https://mlflow.org/docs/latest/')).toEqual({ allow: false, openExternally: 'https://mlflow.org/docs/latest/' })
    for (const url of ['http://example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'data:text/html,<b>x</b>', 'smb://host/share', 'ms-msdt:/id', 'vscode://open', 'https://user:pw@example.com/']) {
      expect(decideNavigation(url), url).toEqual({ allow: false, openExternally: null })
    }
  })

  it('never opens a window of its own: https links go to the browser, everything else nowhere', () => {
    expect(decideWindowOpen('https://github.com/')).toEqual({ allow: false, openExternally: 'https://github.com/' })
    expect(decideWindowOpen('app://hypercube/index.html')).toEqual({ allow: false, openExternally: null })
    expect(decideWindowOpen('http://github.com/')).toEqual({ allow: false, openExternally: null })
    expect(decideWindowOpen('file:///C:/Windows/System32/calc.exe')).toEqual({ allow: false, openExternally: null })
    expect(externalLinkTarget('https://')).toBeNull()
  })

  it('denies every <webview>', () => {
    expect(decideWebviewAttach()).toEqual({ allow: false })
  })
})

describe('permission policy: only what the app uses, only for the app', () => {
  it('grants clipboard writing to the app page (the copy-token button), and to the dev server in development', () => {
    expect([...GRANTED_PERMISSIONS.keys()]).toEqual(['clipboard-sanitized-write'])
    expect(decidePermissionRequest('clipboard-sanitized-write', APP_INDEX_URL)).toBe(true)
    expect(decidePermissionCheck('clipboard-sanitized-write', 'app://hypercube')).toBe(true)
    expect(decidePermissionRequest('clipboard-sanitized-write', 'http://localhost:5173/', DEV)).toBe(true)
  })

  it('denies everything else, even to the app page', () => {
    for (const permission of [
      'media',
      'geolocation',
      'notifications',
      'midi',
      'midiSysex',
      'pointerLock',
      'keyboardLock',
      'fullscreen',
      'openExternal',
      'clipboard-read',
      'display-capture',
      'idle-detection',
      'window-management',
      'hid',
      'serial',
      'usb',
      'fileSystem',
      'storage-access',
      'unknown'
    ]) {
      expect(decidePermissionRequest(permission, APP_INDEX_URL), permission).toBe(false)
      expect(decidePermissionCheck(permission, 'app://hypercube'), permission).toBe(false)
    }
    expect(decideDevicePermission()).toBe(false)
  })

  it('denies even a used permission to any other origin', () => {
    expect(decidePermissionRequest('clipboard-sanitized-write', 'https://example.com/')).toBe(false)
    expect(decidePermissionRequest('clipboard-sanitized-write', 'http://localhost:5173/')).toBe(false)
    expect(decidePermissionCheck('clipboard-sanitized-write', 'file://')).toBe(false)
  })
})

describe('app:// protocol: a request reaches only a file of the renderer folder', () => {
  const renderer = resolve(sep, 'opt', 'Hypercube', 'resources', 'app.asar', 'out', 'renderer')

  it('maps the root to index.html and files to themselves, with their MIME types', () => {
    expect(resolveAppRequest('app://hypercube/', renderer)).toEqual({ ok: true, file: join(renderer, 'index.html'), mimeType: 'text/html; charset=utf-8' })
    expect(resolveAppRequest('app://hypercube', renderer)).toMatchObject({ ok: true, file: join(renderer, 'index.html') })
    expect(resolveAppRequest('app://hypercube/index.html#/runs', renderer)).toMatchObject({ ok: true, file: join(renderer, 'index.html') })
    expect(resolveAppRequest('app://hypercube/assets/index-Bx1.js?v=2', renderer)).toEqual({ ok: true, file: join(renderer, 'assets', 'index-Bx1.js'), mimeType: 'text/javascript; charset=utf-8' })
    expect(resolveAppRequest('app://hypercube/assets/index.css', renderer)).toMatchObject({ ok: true, mimeType: 'text/css; charset=utf-8' })
    expect(resolveAppRequest('app://hypercube/assets/logo.svg', renderer)).toMatchObject({ ok: true, mimeType: 'image/svg+xml' })
    expect(resolveAppRequest('app://hypercube/assets/font.woff2', renderer)).toMatchObject({ ok: true, mimeType: 'font/woff2' })
    expect(resolveAppRequest('app://hypercube/assets/a%20b.PNG', renderer)).toEqual({ ok: true, file: join(renderer, 'assets', 'a b.PNG'), mimeType: 'image/png' })
  })

  it('refuses every way out of the folder', () => {
    for (const url of [
      'app://hypercube/assets/..%2f..%2fmain%2findex.js',
      'app://hypercube/..%5c..%5cmain%5cindex.js',
      'app://hypercube/assets%2f..%2f..%2fmain.js',
      'app://hypercube/%00.html',
      'app://hypercube/C:%5cWindows%5cwin.ini',
      'app://hypercube/c%3a/secret.txt',
      'app://hypercube//etc/passwd.txt'
    ]) {
      const result = resolveAppRequest(url, renderer)
      expect(result.ok, url).toBe(false)
      if (!result.ok) expect(result.status, url).toBe(403)
    }
    // Dot segments the URL parser removes itself never get above the root either.
    const dotted = resolveAppRequest('app://hypercube/../../../etc/passwd.txt', renderer)
    expect(dotted.ok && dotted.file).toBe(join(renderer, 'etc', 'passwd.txt'))
    const encoded = resolveAppRequest('app://hypercube/%2e%2e/%2e%2e/package.json', renderer)
    expect(encoded.ok && encoded.file).toBe(join(renderer, 'package.json'))
  })

  it('refuses other hosts, schemes, credentials, ports and unknown file types', () => {
    expect(resolveAppRequest('app://other/index.html', renderer)).toMatchObject({ ok: false, status: 403 })
    expect(resolveAppRequest('file:///index.html', renderer)).toMatchObject({ ok: false, status: 403 })
    expect(resolveAppRequest('app://user:pw@hypercube/index.html', renderer)).toMatchObject({ ok: false, status: 403 })
    expect(resolveAppRequest('app://hypercube:8080/index.html', renderer)).toMatchObject({ ok: false, status: 403 })
    expect(resolveAppRequest('app://hypercube/assets/', renderer)).toMatchObject({ ok: false, status: 404 })
    expect(resolveAppRequest('app://hypercube/plugin.node', renderer)).toMatchObject({ ok: false, status: 403 })
    expect(resolveAppRequest('app://hypercube/LICENSE', renderer)).toMatchObject({ ok: false, status: 403 })
    expect(resolveAppRequest('app://hypercube/%E0%A4%A.js', renderer)).toMatchObject({ ok: false, status: 400 })
    expect(resolveAppRequest('::', renderer)).toMatchObject({ ok: false, status: 400 })
  })
})
