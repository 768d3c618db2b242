import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Logger } from '../logging'
import { readOrCreateApiToken, rotateApiToken, tokensMatch } from './api-token'
import { HttpRefusal, logRequestFailure, malformedRequestAnswer, notFoundRoute, toErrorResponse } from './errors'
import { createHostPolicy, isLoopbackName } from './host-policy'
import { buildOpenApiDocument } from './openapi'
import { invalidPathParameter, invalidQueryParameter, parseJsonBody, parseQueryString } from './request-text'
import { registerRoutes, sendJson, type AnyRoute } from './route-table'
import { stringifyJson } from './json'

export const DEFAULT_API_PORT = 8377
const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024
/** How long a connection may stay silent while we wait for the client (headers, body, next request). */
const DEFAULT_IDLE_TIMEOUT_MS = 30_000
/** Bounds the whole header block, however slowly it trickles in. */
const HEADERS_TIMEOUT_MS = 30_000
/** At close, how long a WebSocket client has to answer the close frame before its socket is cut. */
const WEBSOCKET_CLOSE_GRACE_MS = 1_000

export interface HttpServerOptions {
  dataDir: string
  logger: Logger
  routes: readonly AnyRoute[]
  /**
   * The port, given explicitly (command line, settings.json): if it is taken, starting fails
   * naming it. 0: any free port. Not given: 8377, or a free one if 8377 is taken (see movedFrom).
   */
  port?: number
  /** Interface to listen on; loopback unless given explicitly (then a warning is logged). */
  host?: string
  version: string
  /** Extra route plugins (MLflow compatibility, the serve-mode UI) registered on the same server. */
  plugins?: Array<(app: FastifyInstance, context: HttpContext) => Promise<void> | void>
  /**
   * A connection on which the client owes us bytes (headers, the rest of a body, a WebSocket
   * upgrade being decided) or that sits idle between requests is closed after this long without
   * a byte. An upload that keeps making progress is never cut, nor is a request whose answer we
   * are still computing. Default 30 s.
   */
  idleTimeoutMs?: number
}

export interface HttpContext {
  /** The data folder, named in errors about its disk. */
  dataDir: string
  token: () => string
  origins: () => string[]
  /**
   * Lets a plugin accept requests without the bearer token by its own means (the serve-mode
   * UI's session cookie, for its own routes only). Host and Origin rules still apply first.
   */
  addAuthenticator: (authenticator: (request: FastifyRequest) => boolean) => void
  /**
   * How a plugin answers errors under its URL prefix when they happen before any route is found
   * (a path that is not valid percent-encoded UTF-8): the MLflow door in MLflow's shape.
   */
  addErrorFormat: (prefix: string, format: (error: unknown) => { status: number; body: unknown }) => void
}

export interface HttpServer {
  readonly url: string
  readonly port: number
  readonly host: string
  readonly token: string
  /** Set when no port was given and the default one was taken: the port we wanted. */
  readonly movedFrom?: number
  readonly app: FastifyInstance
  /** Every route registered on the server (by us and by plugins), for tests that walk them all. */
  readonly routes: ReadonlyArray<{ method: string; url: string }>
  /** Writes a new token to <dataDir>/api-token and accepts only it from now on (the old one stops at once). */
  rotateToken(): string
  /** Accepts the token now in <dataDir>/api-token (another process rotated it). */
  reloadToken(): void
  close(): Promise<void>
}

/**
 * The HTTP server of the core: the /v1 tracking API (and, registered by others, MLflow
 * compatibility and the serve-mode UI) behind one set of rules. A server on localhost is
 * reachable by every web page the user opens, so every request must carry the token, name a
 * loopback Host (DNS rebinding) and, from a browser, come from our own origin.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const host = options.host ?? '127.0.0.1'
  if (options.host !== undefined && !isLoopbackName(options.host)) {
    options.logger.warn({ host }, 'the API listens on a non-loopback interface: anyone who can reach it and has the token can use it')
  }
  const hostPolicy = createHostPolicy(options.host)
  let token = readOrCreateApiToken(options.dataDir)
  let port = 0
  const ownOrigins = (): string[] => hostPolicy.ownOrigins(port)
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  const errorFormats: Array<{ prefix: string; format: (error: unknown) => { status: number; body: unknown } }> = []

  const app: FastifyInstance = Fastify({
    // At warn: a log line per request would drown the log under metric batches.
    loggerInstance: options.logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: DEFAULT_BODY_LIMIT,
    // Unknown query keys and such are validated by our schemas; keep Fastify's own ajv out.
    ajv: { customOptions: { removeAdditional: false } },
    forceCloseConnections: true,
    return503OnClosing: true,
    // Slow clients: no deadline for a whole request (a large artifact upload may take minutes),
    // but a bound on silence (see watchIdleConnections) and on the header block.
    requestTimeout: 0,
    connectionTimeout: idleTimeoutMs,
    keepAliveTimeout: idleTimeoutMs,
    http: { headersTimeout: HEADERS_TIMEOUT_MS },
    // What Node's HTTP parser refuses never reaches a route or the error handler above.
    clientErrorHandler: (error, socket) => {
      const answer = malformedRequestAnswer(error)
      if (answer !== null && socket.writable) socket.write(answer)
      socket.destroy()
    },
    // Invalid percent-encoding in a query is refused naming the parameter (see the onRequest
    // hook), not kept as raw text; in a path the router cannot match it, and frameworkErrors
    // answers in the one error shape instead of Fastify's own.
    routerOptions: { querystringParser: parseQueryString },
    frameworkErrors: (error, request, reply) => {
      const refusal =
        error.code === 'FST_ERR_BAD_URL' ? invalidPathParameter(request.raw.url ?? '', (url) => app.findRoute({ method: request.raw.method ?? 'GET', url })?.params) : error
      const url = request.raw.url ?? ''
      const { status, body } = errorFormats.find((entry) => url.startsWith(entry.prefix))?.format(refusal) ?? toErrorResponse(refusal)
      void sendJson(reply as FastifyReply, status, body)
    }
  })
  watchIdleConnections(app)
  const upgrades = trackUpgrades(app, idleTimeoutMs)
  // Only JSON bodies: a text/plain or form POST (what a web page can send without a CORS
  // preflight) is refused with 415 before any handler runs.
  app.removeContentTypeParser(['text/plain'])
  // JSON bodies from their bytes: invalid UTF-8, another charset, a lone surrogate or nesting
  // past 100 levels is a 400 naming the field, never rewritten to U+FFFD or left to overflow the
  // stack in a recursive schema. Numbers stay JSON.parse's (a literal past 2^53 reaches the
  // int64 schemas, which refuse it; int64s come as strings), and __proto__ keys are refused as
  // Fastify's parser did. The route's bodyLimit still applies (no limit is set here).
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer, { contentType: request.headers['content-type'], refusePrototypeKeys: true }))
    } catch (error) {
      done(error as Error, undefined)
    }
  })
  const routes: Array<{ method: string; url: string }> = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url })
  })

  const authenticators: Array<(request: FastifyRequest) => boolean> = []
  const context: HttpContext = {
    dataDir: options.dataDir,
    token: () => token,
    origins: ownOrigins,
    addAuthenticator: (authenticator) => void authenticators.push(authenticator),
    addErrorFormat: (prefix, format) => void errorFormats.push({ prefix, format })
  }

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const hostHeader = request.headers.host ?? ''
    if (!hostPolicy.allowsHost(hostHeader)) {
      throw new HttpRefusal(421, 'invalid_host', `Host ${JSON.stringify(hostHeader)} is not this server; use http://127.0.0.1:${port}`)
    }
    const origin = request.headers.origin
    if (origin !== undefined && !hostPolicy.allowsOrigin(origin, port)) {
      throw new HttpRefusal(403, 'forbidden_origin', `requests from ${origin} are not allowed`)
    }
    const authorization = request.headers.authorization ?? ''
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1]
    if (!(bearer && tokensMatch(bearer, token)) && !authenticators.some((authenticate) => authenticate(request))) {
      throw new HttpRefusal(401, 'unauthenticated', 'missing or wrong API token: send Authorization: Bearer <token> (the token is in <dataDir>/api-token)')
    }
    const invalidQuery = invalidQueryParameter(request.query)
    if (invalidQuery) throw invalidQuery
  })

  app.setErrorHandler(async (error, request, reply) => {
    const { status, body, isBug } = toErrorResponse(error, { dataDir: options.dataDir })
    if (isBug) logRequestFailure(request, error)
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

  await app.ready()
  upgrades.install()
  const preferred = options.port ?? DEFAULT_API_PORT
  let movedFrom: number | undefined
  try {
    await app.listen({ port: preferred, host })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || preferred === 0) throw error
    if (options.port !== undefined) {
      // A port the user chose: moving would leave their scripts (and tokens) going to whatever holds it.
      throw new Error(
        `port ${preferred} on ${host} is already in use by another program: stop it, or choose another port (--port, or apiPort in ${options.dataDir}/settings.json; 0 picks a free one)`,
        { cause: error }
      )
    }
    options.logger.warn({ port: preferred }, 'the default API port is in use; listening on a free port instead')
    await app.listen({ port: 0, host })
    movedFrom = preferred
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
    movedFrom,
    app,
    routes,
    rotateToken: () => {
      token = rotateApiToken(options.dataDir)
      return token
    },
    reloadToken: () => {
      token = readOrCreateApiToken(options.dataDir)
    },
    close: async () => {
      // Fastify's preClose sends WebSocket clients a close frame and the server waits for their
      // sockets; one that never answers is cut after a short grace instead of ws's 30 s.
      const cut = setTimeout(() => upgrades.destroyAll(), WEBSOCKET_CLOSE_GRACE_MS)
      try {
        await app.close()
      } finally {
        clearTimeout(cut)
      }
    }
  }
}

/**
 * Node cuts a connection after `connectionTimeout` of silence, even while the silence is ours
 * (a slow query behind the answer). Cut only when the client is the one we are waiting for:
 * headers or body incomplete, idle between requests, or not reading what we write.
 */
function watchIdleConnections(app: FastifyInstance): void {
  const exchanges = new WeakMap<Socket, { request: IncomingMessage; response: ServerResponse }>()
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => exchanges.set(request.socket, { request, response }))
  // With a listener here Node no longer destroys timed-out sockets itself: we decide.
  app.server.on('timeout', (socket: Socket) => {
    const exchange = exchanges.get(socket)
    const computingAnswer = exchange !== undefined && exchange.request.complete && !exchange.response.writableEnded && socket.writableLength === 0
    if (!computingAnswer) socket.destroy()
  })
}

/**
 * Sockets that asked for a protocol upgrade (the serve UI's WebSocket) leave Node's HTTP
 * connection handling, so nobody closes them unless we do: a refused upgrade is destroyed once
 * its answer is written (else a client that reads the 401 and closes leaves it in CLOSE-WAIT, a
 * descriptor per attempt), a pending one times out, and close() ends the upgraded ones.
 */
function trackUpgrades(app: FastifyInstance, idleTimeoutMs: number): { install: () => void; destroyAll: () => void } {
  const sockets = new Set<Socket>()
  // Upgraded sockets are hijacked (no onResponse); anything else that answered an upgrade request is done.
  app.addHook('onResponse', async (request) => {
    const socket = request.raw.socket
    if (sockets.has(socket)) socket.destroy()
  })
  return {
    install: () => {
      // Only where a plugin handles upgrades: with no 'upgrade' listener Node answers them as plain requests.
      if (app.server.listenerCount('upgrade') === 0) return
      app.server.prependListener('upgrade', (_request: IncomingMessage, socket: Socket) => {
        sockets.add(socket)
        socket.once('close', () => sockets.delete(socket))
        // ws clears the timeout (setTimeout(0)) when the upgrade completes.
        socket.setTimeout(idleTimeoutMs, () => socket.destroy())
      })
    },
    destroyAll: () => {
      for (const socket of sockets) socket.destroy()
    }
  }
}
