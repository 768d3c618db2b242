/**
 * Where the window may go, decided here and only here (STYLE 14); the Electron glue in
 * src/main/electron/ calls these and does what they say. The renderer is served as
 * app://hypercube/ (see app-protocol.ts), or by electron-vite's dev server in development.
 * Everything else is denied by default: a page that could navigate the window to a remote
 * site would run that site with the preload's bridge to the core.
 */

export const APP_SCHEME = 'app'
export const APP_HOST = 'hypercube'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`

function parse(url: string): URL | null {
  try {
    return new URL(url)
  } catch {
    return null
  }
}

/**
 * The origin of the page that may use the bridge: the app protocol, or the dev server named
 * by electron-vite (ELECTRON_RENDERER_URL, only set in `npm run dev`), on loopback only.
 */
export function trustedOrigins(devServerUrl?: string): string[] {
  const origins = [APP_ORIGIN]
  const dev = devServerUrl ? parse(devServerUrl) : null
  if (dev && dev.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(dev.hostname)) origins.push(dev.origin)
  return origins
}

/** Is `url` a page of the app itself (a trusted frame, or a navigation that stays in the app)? */
export function isAppUrl(url: string, devServerUrl?: string): boolean {
  const parsed = parse(url)
  if (!parsed) return false
  // new URL('app://hypercube/x').origin is "null" for a non-special scheme; compare by parts.
  const origin = parsed.protocol === `${APP_SCHEME}:` ? `${APP_SCHEME}://${parsed.host}` : parsed.origin
  return trustedOrigins(devServerUrl).includes(origin)
}

/** A link the user may follow out of the app: https only, to a named host, without credentials in the URL. */
export function externalLinkTarget(url: string): string | null {
  const parsed = parse(url)
  if (!parsed || parsed.protocol !== 'https:' || parsed.hostname === '') return null
  if (parsed.username !== '' || parsed.password !== '') return null
  return parsed.href
}

export interface NavigationDecision {
  /** Let the window itself go there (only pages of the app). */
  allow: boolean
  /** Open this URL in the system browser instead (an https link), or null. */
  openExternally: string | null
}

/** will-navigate / will-redirect: stay inside the app; an https link goes to the browser instead. */
export function decideNavigation(url: string, devServerUrl?: string): NavigationDecision {
  if (isAppUrl(url, devServerUrl)) return { allow: true, openExternally: null }
  return { allow: false, openExternally: externalLinkTarget(url) }
}

/** setWindowOpenHandler: the app never opens windows of its own; https links go to the browser. */
export function decideWindowOpen(url: string): NavigationDecision {
  return { allow: false, openExternally: externalLinkTarget(url) }
}

/**
 * The origin of a review's window (File → Open Review Bundle…): the review core's own server,
 * http on a loopback address with a port — anything else is refused (null), so a review
 * window can never be pointed at a remote page.
 */
export function reviewOrigin(url: string): string | null {
  const parsed = parse(url)
  if (!parsed || parsed.protocol !== 'http:' || parsed.port === '') return null
  if (parsed.username !== '' || parsed.password !== '') return null
  if (!['127.0.0.1', '[::1]', 'localhost'].includes(parsed.hostname)) return null
  return parsed.origin
}

/**
 * will-navigate / will-redirect in a review's window: it stays on its review's origin (the
 * login URL redirects there, the views navigate within it); an https link goes to the browser,
 * and neither the app's own pages (whose bridge a review page must never get) nor another
 * loopback server are allowed.
 */
export function decideReviewNavigation(url: string, origin: string): NavigationDecision {
  const parsed = parse(url)
  if (parsed && parsed.protocol === 'http:' && parsed.origin === origin && reviewOrigin(url) === origin) return { allow: true, openExternally: null }
  return { allow: false, openExternally: externalLinkTarget(url) }
}

/** will-attach-webview: the app uses no <webview>; one attached would be a page with its own rules. */
export function decideWebviewAttach(): { allow: false } {
  return { allow: false }
}
