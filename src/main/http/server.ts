import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import { isIP } from 'node:net'
import type { Logger } from '../logging'
import { readOrCreateApiToken, rotateApiToken, tokensMatch } from './api-token'
import { HttpRefusal, notFoundRoute, toErrorResponse } from './errors'
import { buildOpenApiDocument } from './openapi'
import { registerRoutes, sendJson, type AnyRoute } from './route-table'
import { stringifyJson } from './json'

export const DEFAULT_API_PORT = 8377
const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024

export interface HttpServerOptions {
  dataDir: string
  logger: Logger
  routes: readonly AnyRoute[]
  /** Preferred port; if it is taken, a free one is used instead. 0: any free port. */
  port?: number
  /** Interface to listen on; loopback unless given explicitly (then a warning is logged). */
  host?: string
  version: string
  /** Extra route plugins (MLflow compatibility, the serve-mode UI) registered on the same server. */
  plugins?: Array<(app: FastifyInstance, context: HttpContext) => Promise<void> | void>
}

export interface HttpContext {
  token: () => string
  origins: () => string[]
  /**
   * Lets a plugin accept requests without the bearer token by its own means (the serve-mode
   * UI's session cookie, for its own routes only). Host and Origin rules still apply first.
   */
  addAuthenticator: (authenticator: (request: FastifyRequest) => boolean) => void
}

export interface HttpServer {
  readonly url: string
  readonly port: number
  readonly host: string
  readonly token: string
  readonly app: FastifyInstance
  /** Every route registered on the server (by us and by plugins), for tests that walk them all. */
  readonly routes: ReadonlyArray<{ method: string; url: string }>
  /** Writes a new token to <dataDir>/api-token and accepts only it from now on (the old one stops at once). */
  rotateToken(): string
  /** Accepts the token now in <dataDir>/api-token (another process rotated it). */
  reloadToken(): void
  close(): Promise<void>
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '::1' || host.startsWith('127.')
}

/** "127.0.0.1:8377" → host part; "[::1]:8377" → "::1". */
function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(1, hostHeader.indexOf(']'))
  const colon = hostHeader.lastIndexOf(':')
  return colon > 0 && isIP(hostHeader) !== 6 ? hostHeader.slice(0, colon) : hostHeader
}

/**
 * The HTTP server of the core: the /v1 tracking API (and, registered by others, MLflow
 * compatibility and the serve-mode UI) behind one set of rules. A server on localhost is
 * reachable by every web page the user opens, so every request must carry the token, name a
 * loopback Host (DNS rebinding) and, from a browser, come from our own origin.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const host = options.host ?? '127.0.0.1'
  const explicitHost = options.host !== undefined && !isLoopback(options.host)
  if (explicitHost) {
    options.logger.warn({ host }, 'the API listens on a non-loopback interface: anyone who can reach it and has the token can use it')
  }
  let token = readOrCreateApiToken(options.dataDir)
  let port = 0
  const ownOrigins = (): string[] => [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`, ...(explicitHost ? [`http://${host}:${port}`] : [])]

  const app: FastifyInstance = Fastify({
    // At warn: a log line per request would drown the log under metric batches.
    loggerInstance: options.logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: DEFAULT_BODY_LIMIT,
    // Unknown query keys and such are validated by our schemas; keep Fastify's own ajv out.
    ajv: { customOptions: { removeAdditional: false } },
    forceCloseConnections: true,
    return503OnClosing: true
  })
  // Only JSON bodies: a text/plain or form POST (what a web page can send without a CORS
  // preflight) is refused with 415 before any handler runs.
  app.removeContentTypeParser(['text/plain'])
  const routes: Array<{ method: string; url: string }> = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url })
  })

  const authenticators: Array<(request: FastifyRequest) => boolean> = []
  const context: HttpContext = {
    token: () => token,
    origins: ownOrigins,
    addAuthenticator: (authenticator) => void authenticators.push(authenticator)
  }

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const hostHeader = request.headers.host ?? ''
    const hostname = hostnameOf(hostHeader)
    if (!(isLoopback(hostname) || (explicitHost && hostname === host))) {
      throw new HttpRefusal(421, 'invalid_host', `Host ${JSON.stringify(hostHeader)} is not this server; use http://127.0.0.1:${port}`)
    }
    const origin = request.headers.origin
    if (origin !== undefined && !ownOrigins().includes(origin)) {
      throw new HttpRefusal(403, 'forbidden_origin', `requests from ${origin} are not allowed`)
    }
    const authorization = request.headers.authorization ?? ''
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1]
    if (!(bearer && tokensMatch(bearer, token)) && !authenticators.some((authenticate) => authenticate(request))) {
      throw new HttpRefusal(401, 'unauthenticated', 'missing or wrong API token: send Authorization: Bearer <token> (the token is in <dataDir>/api-token)')
    }
  })

  app.setErrorHandler(async (error, request, reply) => {
    const { status, body, isBug } = toErrorResponse(error)
    if (isBug) request.log.error({ err: error, url: request.url, method: request.method }, 'request failed')
    return sendJson(reply, status, body)
  })
  app.setNotFoundHandler(async (request, reply) => {
    const { status, body } = toErrorResponse(notFoundRoute(request.method, request.url))
    return sendJson(reply, status, body)
  })

  // No `servers` entry: the document is built before the port is known, and a client (or the
  // docs page) resolves paths against the URL it reached the server by.
  const openApi = () => buildOpenApiDocument(options.routes, { version: options.version })
  await app.register(fastifySwagger, { mode: 'static', specification: { document: openApi() as never } })
  await app.register(fastifySwaggerUi, { routePrefix: '/v1/docs', staticCSP: true })
  app.get('/v1/openapi.json', async (_request, reply) => reply.type('application/json').send(stringifyJson(openApi())))

  registerRoutes(app, options.routes)
  for (const plugin of options.plugins ?? []) await plugin(app, context)

  const preferred = options.port ?? DEFAULT_API_PORT
  try {
    await app.listen({ port: preferred, host })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || preferred === 0) throw error
    options.logger.warn({ port: preferred }, 'API port is in use; listening on a free port instead')
    await app.listen({ port: 0, host })
  }
  const address = app.server.address()
  port = typeof address === 'object' && address ? address.port : preferred
  const displayHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${displayHost}:${port}`,
    port,
    host,
    get token() {
      return token
    },
    app,
    routes,
    rotateToken: () => {
      token = rotateApiToken(options.dataDir)
      return token
    },
    reloadToken: () => {
      token = readOrCreateApiToken(options.dataDir)
    },
    close: () => app.close()
  }
}
