import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import { parseInput } from '../../shared/schemas'
import { stringifyJson } from './json'

/**
 * One HTTP route, described once: its schemas validate requests AND generate the OpenAPI
 * document (see openapi.ts), so the docs cannot drift from what the server accepts.
 */
export interface RouteDefinition<Params = unknown, Query = unknown, Body = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Fastify path syntax: /v1/ml/experiments/:experimentId */
  path: string
  summary: string
  tag: string
  params?: z.ZodType<Params>
  query?: z.ZodType<Query>
  body?: z.ZodType<Body>
  /**
   * For the OpenAPI document only: the request body, when the handler validates it itself
   * (the metric batch route checks a million points in a hand-written loop, not a schema).
   */
  openApiBody?: z.ZodType
  /** For the OpenAPI document only: the shape of a successful response. */
  response?: z.ZodType
  /** Status of a success; 200 unless given. */
  status?: number
  /** Overrides the server's default body size limit (bytes). */
  bodyLimit?: number
  /**
   * The body is a file's bytes of any content type, streamed to the handler as `request.body`
   * (a Readable; undefined when empty) instead of parsed: an artifact upload can be gigabytes.
   */
  rawBody?: { description: string }
  /** For the OpenAPI document: a success is a file's bytes, not JSON. */
  fileResponse?: true
  /**
   * The handler answers itself (a file download) and returns `reply`; otherwise its result is
   * sent as JSON.
   */
  handler: (input: { params: Params; query: Query; body: Body; request: FastifyRequest; reply: FastifyReply }) => Promise<unknown>
}

// Route definitions are heterogeneous; the table stores them with their types erased.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- `unknown` would not do: a handler taking typed params is not assignable to one taking unknown
export type AnyRoute = RouteDefinition<any, any, any>

export function defineRoute<Params, Query, Body>(route: RouteDefinition<Params, Query, Body>): AnyRoute {
  return route
}

/** Sends a JSON value in one write (no Nagle/delayed-ACK stall) with NaN/±Inf/-0/int64 kept. */
export function sendJson(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(value === undefined ? '{}' : stringifyJson(value))
}

export function registerRoutes(app: FastifyInstance, routes: readonly AnyRoute[]): void {
  const define = (on: FastifyInstance, route: AnyRoute): void => {
    on.route({
      method: route.method,
      url: route.path,
      bodyLimit: route.bodyLimit,
      handler: async (request, reply) => {
        const params = route.params ? parseInput(route.params, request.params) : request.params
        const query = route.query ? parseInput(route.query, request.query ?? {}) : request.query
        const body = route.body ? parseInput(route.body, request.body) : request.body
        const result = await route.handler({ params, query, body, request, reply })
        // A handler that answered itself returned the reply, which is a thenable: awaiting it
        // waited for the answer to be sent — or for the client to go away mid-stream, when
        // reply.sent can still be false though the headers went out (a second answer would
        // then fail with ERR_HTTP_HEADERS_SENT).
        if (result === reply || reply.sent || reply.raw.headersSent) return reply
        return sendJson(reply, route.status ?? 200, result)
      }
    })
  }
  for (const route of routes.filter((route) => !route.rawBody)) define(app, route)
  const raw = routes.filter((route) => route.rawBody)
  if (raw.length === 0) return
  // In a context of their own, so only these routes take bodies of every content type, unparsed.
  void app.register(async (files) => {
    files.removeAllContentTypeParsers()
    files.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
    for (const route of raw) define(files, route)
  })
}
