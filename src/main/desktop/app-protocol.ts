/**
 * app://hypercube/<path> → a file of the built renderer (STYLE 14). The window loads the app
 * from this origin instead of file://, so the page has an origin of its own (file:// pages
 * share one with every file on disk) and a request can only reach the renderer folder:
 * no `..`, no encoded separators, no escape by any other spelling, known file types only, each
 * with its MIME type (a script served as text/plain would not run under the page's CSP).
 */
import { extname, isAbsolute, join, relative, resolve } from 'node:path'
import { APP_HOST, APP_SCHEME } from './navigation-policy'

export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8'
}

export type AppRequestResolution =
  | { ok: true; file: string; mimeType: string }
  | { ok: false; status: 400 | 403 | 404; reason: string }

/** Maps a request URL to a file under `rendererDir`, or says why not. Whether the file exists is the caller's read. */
export function resolveAppRequest(requestUrl: string, rendererDir: string): AppRequestResolution {
  let url: URL
  try {
    url = new URL(requestUrl)
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' }
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return { ok: false, status: 403, reason: `not ${APP_SCHEME}://${APP_HOST}` }
  if (url.username !== '' || url.password !== '' || url.port !== '') return { ok: false, status: 403, reason: 'credentials or port in the URL' }
  // The raw path, before decoding: an encoded separator or dot segment is refused, not decoded into one.
  const rawSegments = url.pathname.split('/').slice(1)
  const segments: string[] = []
  for (const raw of rawSegments) {
    let segment: string
    try {
      segment = decodeURIComponent(raw)
    } catch {
      return { ok: false, status: 400, reason: 'bad percent-encoding' }
    }
    if (segment === '..' || segment === '.' || /[\\/:\0]/.test(segment)) return { ok: false, status: 403, reason: `path segment '${segment}' is not allowed` }
    segments.push(segment)
  }
  if (segments.length === 0 || segments[segments.length - 1] === '') {
    if (segments.length > 1) return { ok: false, status: 404, reason: 'no folder listings' }
    segments.splice(0, segments.length, 'index.html')
  }
  if (segments.some((segment) => segment === '')) return { ok: false, status: 403, reason: 'empty path segment' }
  const root = resolve(rendererDir)
  const file = join(root, ...segments)
  const inside = relative(root, file)
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return { ok: false, status: 403, reason: 'outside the renderer folder' }
  const mimeType = MIME_TYPES[extname(file).toLowerCase()]
  if (!mimeType) return { ok: false, status: 403, reason: `files of type '${extname(file) || '(none)'}' are not served` }
  return { ok: true, file, mimeType }
}
