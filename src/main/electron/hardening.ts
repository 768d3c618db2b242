// The Electron side of the window's security rules: every decision is made by the plain
// functions in src/main/desktop/ (unit-tested under Node); this only hooks them up.
import { app, protocol, session, shell, type Session, type WebContents } from 'electron'
import { readFile } from 'node:fs/promises'
import { resolveAppRequest } from '../desktop/app-protocol'
import { APP_SCHEME, decideNavigation, decideReviewNavigation, decideWebviewAttach, decideWindowOpen } from '../desktop/navigation-policy'
import { decideDevicePermission, decidePermissionCheck, decidePermissionRequest } from '../desktop/permission-policy'

/** Before app ready: app:// is a standard, secure origin (so CSP 'self', fetch and ES modules work on it). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }])
}

/** After ready: app://hypercube/<path> serves the built renderer, and nothing else. */
export function serveAppScheme(rendererDir: string, target: Session = session.defaultSession): void {
  target.protocol.handle(APP_SCHEME, async (request) => {
    const resolved = resolveAppRequest(request.url, rendererDir)
    if (!resolved.ok) return new Response(resolved.reason, { status: resolved.status, headers: { 'content-type': 'text/plain; charset=utf-8' } })
    try {
      const body = await readFile(resolved.file)
      return new Response(body, { status: 200, headers: { 'content-type': resolved.mimeType, 'x-content-type-options': 'nosniff' } })
    } catch {
      return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } })
    }
  })
}

function openExternally(url: string | null): void {
  if (url) void shell.openExternal(url)
}

/** Permission handlers on the session: deny what the app does not use (Electron's default grants all). */
export function installPermissionHandlers(devServerUrl: string | undefined, target: Session = session.defaultSession): void {
  target.setPermissionRequestHandler((contents, permission, callback, details) => {
    callback(decidePermissionRequest(permission, details.requestingUrl ?? contents.getURL(), devServerUrl))
  })
  target.setPermissionCheckHandler((_contents, permission, requestingOrigin) => decidePermissionCheck(permission, requestingOrigin, devServerUrl))
  target.setDevicePermissionHandler(() => decideDevicePermission())
}

/** The review windows (File → Open Review Bundle…): each may stay on its review's loopback origin only. */
const reviewOrigins = new WeakMap<WebContents, string>()

/** Marks a window's contents as a review's, before it loads anything. */
export function allowReviewOrigin(contents: WebContents, origin: string): void {
  reviewOrigins.set(contents, origin)
}

/** Navigation, new windows and webviews, for every web contents the app creates. */
export function installNavigationRules(devServerUrl: string | undefined): void {
  app.on('web-contents-created', (_event, contents: WebContents) => {
    const guard = (event: { preventDefault(): void }, url: string) => {
      const review = reviewOrigins.get(contents)
      const decision = review === undefined ? decideNavigation(url, devServerUrl) : decideReviewNavigation(url, review)
      if (decision.allow) return
      event.preventDefault()
      openExternally(decision.openExternally)
    }
    contents.on('will-navigate', guard)
    contents.on('will-redirect', guard)
    contents.on('will-attach-webview', (event) => {
      if (!decideWebviewAttach().allow) event.preventDefault()
    })
    contents.setWindowOpenHandler(({ url }) => {
      openExternally(decideWindowOpen(url).openExternally)
      return { action: 'deny' }
    })
  })
}
