import fastifyStatic from '@fastify/static'
import fastifyWebsocket from '@fastify/websocket'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CallOutcome, PushedEvent } from '../../../shared/contract'
import type { Disposable } from '../../../shared/event'
import { isDomainError } from '../../../shared/errors'
import { decodeWire, encodeWire } from '../../../shared/wire-format'
import type { Logger } from '../../logging'
import { parseJsonBody, readJsonBody } from '../request-text'
import type { HttpContext } from '../server'
import type { UiSessions } from './ui-sessions'
import { registerArtifactDownloads, type ArtifactDownloads } from './serve-ui-downloads'
import { registerBundleDownloads, type BundleExportDownloads } from './serve-ui-bundles'

/**
 * The serve-mode UI: the renderer build at `/`, and the renderer↔main contract over
 * `POST /ui/api/call` and the WebSocket `/ui/ws` (calls and pushed events), in the wire format
 * of src/shared/wire-format.ts. The browser authenticates with a session cookie obtained
 * from a one-time login URL (see UiSessions); the server's Host and Origin rules apply as
 * to every other route.
 */

export interface ServeUiOptions {
  /** The renderer build (out/renderer). */
  rendererDir: string
  sessions: UiSessions
  dispatch: (name: unknown, input: unknown) => Promise<CallOutcome<unknown>>
  subscribe: (send: (event: PushedEvent) => void) => Disposable
  logger: Logger
  /** Artifact downloads for the signed-in browser (serve-ui-downloads.ts); without it, none. */
  artifacts?: ArtifactDownloads
  /** Review bundles the window exported, downloaded once (serve-ui-bundles.ts); without it, none. */
  bundleExports?: BundleExportDownloads
}

/** A call as it travels over the WebSocket; `id` pairs the answer with it. */
interface WireCall {
  id: number
  name: unknown
  input: unknown
}

const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
const MAX_MESSAGE_BYTES = 1024 * 1024

export function sessionCookieName(port: number): string {
  // Cookies ignore ports: two servers on one host (two data folders) must not overwrite each other's.
  return `hypercube_session_${port}`
}

/** One cookie's value from a Cookie header (our values are base64url: no quoting or decoding). */
export function readCookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const separator = part.indexOf('=')
    if (separator !== -1 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim()
  }
  return undefined
}

function isUiPath(path: string): boolean {
  return path === '/' || path.startsWith('/assets/') || path.startsWith('/ui/')
}

function pathOf(request: FastifyRequest): string {
  const query = request.url.indexOf('?')
  return query === -1 ? request.url : request.url.slice(0, query)
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('X-Frame-Options', 'DENY')
}

function page(title: string, text: string): string {
  const escape = (value: string) => value.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body style="font:15px system-ui;margin:48px"><h1>${escape(title)}</h1><p>${escape(text)}</p></body></html>`
}

export function serveUi(options: ServeUiOptions) {
  return async (app: FastifyInstance, context: HttpContext): Promise<void> => {
    const port = (): number => Number(new URL(context.origins()[0]!).port)
    const sessionOf = (request: FastifyRequest): string | undefined => {
      const header = request.headers.cookie
      return header ? readCookie(header, sessionCookieName(port())) : undefined
    }

    context.addAuthenticator((request) => {
      const path = pathOf(request)
      // A signed-in browser may also read the API's documentation (GET only; the API itself
      // still needs the bearer token).
      if ((path === '/v1/openapi.json' || path === '/v1/docs' || path.startsWith('/v1/docs/')) && request.method === 'GET') {
        return options.sessions.isValid(sessionOf(request))
      }
      if (!isUiPath(path)) return false
      // The page itself answers unauthenticated visitors (login exchange, or how to get in).
      if (path === '/' && (request.method === 'GET' || request.method === 'HEAD')) return true
      return options.sessions.isValid(sessionOf(request))
    })

    await app.register(async (ui) => {
      await ui.register(fastifyWebsocket, { options: { maxPayload: MAX_MESSAGE_BYTES } })
      // The contract's bodies are wire-format JSON: keep the bytes and decode them in the route,
      // which answers refusals in the contract's shape.
      ui.removeContentTypeParser('application/json')
      ui.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_MESSAGE_BYTES }, (_request, body, done) => done(null, body))

      const indexFile = join(options.rendererDir, 'index.html')
      ui.get('/', async (request, reply) => {
        securityHeaders(reply).header('Cache-Control', 'no-store')
        const login = (request.query as Record<string, unknown>).login
        if (typeof login === 'string') {
          const session = options.sessions.exchange(login)
          if (!session) {
            return reply
              .code(401)
              .type('text/html; charset=utf-8')
              .send(page('This login link has expired', 'Each link printed by `hypercube serve` opens the app once. Restart `hypercube serve` (or ask its owner) for a new one.'))
          }
          reply.header(
            'Set-Cookie',
            `${sessionCookieName(port())}=${session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${30 * 24 * 3600}`
          )
          // Off the URL bar (and history) with the used token.
          return reply.redirect('/', 303)
        }
        if (!options.sessions.isValid(sessionOf(request))) {
          return reply
            .code(401)
            .type('text/html; charset=utf-8')
            .send(page('Sign in to Hypercube', 'Open the URL that `hypercube serve` printed (it carries a one-time login token).'))
        }
        if (!existsSync(indexFile)) {
          return reply.code(503).type('text/html; charset=utf-8').send(page('The UI is not built', 'Run `npm run build`, then reload.'))
        }
        return reply.type('text/html; charset=utf-8').send(readFileSync(indexFile))
      })

      if (existsSync(join(options.rendererDir, 'assets'))) {
        await ui.register(fastifyStatic, {
          root: join(options.rendererDir, 'assets'),
          prefix: '/assets/',
          index: false,
          // Vite names assets by content hash: a name never changes content.
          maxAge: '1y',
          immutable: true,
          setHeaders: (reply) => {
            reply.header('X-Content-Type-Options', 'nosniff')
          }
        })
      }

      if (options.artifacts) registerArtifactDownloads(ui, options.artifacts)
      if (options.bundleExports) registerBundleDownloads(ui, options.bundleExports)

      ui.post('/ui/api/call', async (request, reply) => {
        let call: { name?: unknown; input?: unknown }
        try {
          // Strict UTF-8, bounded nesting, no lone surrogates (request-text.ts), then the wire format.
          call = parseJsonBody(request.body as Buffer, { contentType: request.headers['content-type'], parse: decodeWire }) as { name?: unknown; input?: unknown }
        } catch (error) {
          const refusal = isDomainError(error) ? error.toJSON() : { code: 'invalid_argument', message: `body: ${(error as Error).message}`, field: 'body' }
          return reply.code(400).type('application/json').send(encodeWire({ ok: false, error: refusal }))
        }
        if (typeof call !== 'object' || call === null) {
          return reply.code(400).type('application/json').send(encodeWire({ ok: false, error: { code: 'invalid_argument', message: 'body: must be {"name", "input"}', field: 'body' } }))
        }
        const outcome = await options.dispatch(call.name, call.input)
        return reply.type('application/json').header('Cache-Control', 'no-store').send(encodeWire(outcome))
      })

      ui.get('/ui/ws', { websocket: true }, (socket) => {
        const send = (message: unknown): void => {
          if (socket.readyState === socket.OPEN) socket.send(encodeWire(message))
        }
        const subscription = options.subscribe((event) => send({ event }))
        socket.on('message', (data: Buffer, isBinary: boolean) => {
          let call: WireCall
          let problem: { field: string; message: string } | undefined
          try {
            if (isBinary) throw new Error('binary messages are not part of the contract')
            // As a POST body: strict UTF-8 (ws has already refused invalid text frames), nesting
            // bounded before parsing; a lone surrogate is answered to the call below.
            const read = readJsonBody(data, { parse: decodeWire })
            call = read.value as WireCall
            problem = read.problem
            if (typeof call !== 'object' || call === null || typeof call.id !== 'number') throw new Error('a call is {"id", "name", "input"}')
          } catch (error) {
            options.logger.warn({ err: error }, 'malformed message on the UI WebSocket; closing it')
            socket.close(1008, 'malformed message')
            return
          }
          if (problem) {
            send({ id: call.id, outcome: { ok: false, error: { code: 'invalid_argument', message: problem.message, field: problem.field } } })
            return
          }
          void options.dispatch(call.name, call.input).then((outcome) => send({ id: call.id, outcome }))
        })
        socket.on('close', () => subscription.dispose())
        socket.on('error', () => subscription.dispose())
      })
    })
  }
}
