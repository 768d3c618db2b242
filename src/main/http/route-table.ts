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
  handler: (input: { params: Params; query: Query; body: Body; request: FastifyRequest }) => Promise<unknown>
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
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      bodyLimit: route.bodyLimit,
      handler: async (request, reply) => {
        const params = route.params ? parseInput(route.params, request.params) : request.params
        const query = route.query ? parseInput(route.query, request.query ?? {}) : request.query
        const body = route.body ? parseInput(route.body, request.body) : request.body
        const result = await route.handler({ params, query, body, request })
        return sendJson(reply, route.status ?? 200, result)
      }
    })
  }
}
