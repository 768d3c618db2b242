import { z } from 'zod'
import type { AnyRoute } from './route-table'

type JsonSchema = Record<string, unknown>

/**
 * Recursive schemas (free-form JSON values) come out of zod with their own `definitions`,
 * which OpenAPI 3.0 does not allow inside an operation: they move to components.schemas,
 * under a name prefixed by the operation so two operations' definitions never collide.
 */
function schemaOf(type: z.ZodType, io: 'input' | 'output', sharedDefinitions: Record<string, JsonSchema> = {}, definitionPrefix = ''): JsonSchema {
  // unrepresentable: 'any' turns bigint (int64 fields) into an unconstrained schema instead of
  // throwing; their descriptions say they take a number or a decimal string.
  const schema = z.toJSONSchema(type, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as JsonSchema
  delete schema.$schema
  const definitions = (schema.definitions ?? schema.$defs) as Record<string, JsonSchema> | undefined
  if (!definitions) return schema
  delete schema.definitions
  delete schema.$defs
  const rewritten = JSON.parse(
    JSON.stringify({ schema, definitions }).replace(/"#\/(?:definitions|\$defs)\/([^"]+)"/g, (_, name: string) => `"#/components/schemas/${definitionPrefix}${name}"`)
  ) as { schema: JsonSchema; definitions: Record<string, JsonSchema> }
  for (const [name, definition] of Object.entries(rewritten.definitions)) sharedDefinitions[`${definitionPrefix}${name}`] = definition
  return rewritten.schema
}

function parametersOf(type: z.ZodType | undefined, location: 'path' | 'query'): JsonSchema[] {
  if (!type) return []
  const schema = schemaOf(type, 'input')
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>
  const required = new Set((schema.required as string[] | undefined) ?? [])
  return Object.entries(properties).map(([name, property]) => ({
    name: name === '*' ? 'path' : name,
    in: location,
    required: location === 'path' || required.has(name),
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {})
  }))
}

const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          example: 'invalid_argument',
          description:
            'invalid_argument (400), not_found (404), conflict (409), unavailable (503: the database or a plugin host is away; retry), insufficient_storage (507: the disk holding the data folder is full; nothing was stored), read_only (403: a review of a bundle, `hypercube review`; nothing can be changed), internal (500: a bug); HTTP-level refusals use their own codes (unauthenticated, forbidden_origin, invalid_host, payload_too_large, unsupported_media_type)'
        },
        message: { type: 'string' },
        field: { type: 'string', description: 'the input field at fault, e.g. points[3].step' }
      }
    }
  }
}

/** The OpenAPI 3 document of the given routes, generated from the schemas that validate them. */
export function buildOpenApiDocument(routes: readonly AnyRoute[], info: { version: string; serverUrl?: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {}
  const sharedDefinitions: Record<string, JsonSchema> = {}
  for (const route of routes) {
    // A trailing wildcard (a file's path inside a run) is documented as the parameter {path}.
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\/\*$/, '/{path}')
    const operation: JsonSchema = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
      responses: {
        [String(route.status ?? 200)]: {
          description: 'success',
          content: route.fileResponse
            ? { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } }
            : { 'application/json': { schema: route.response ? schemaOf(route.response, 'output') : { type: 'object' } } }
        },
        '4XX': { description: 'a client error, with the field at fault', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        '503': { description: 'unavailable: the database is away (Hypercube reconnects); retry shortly', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        '507': {
          description: 'insufficient_storage: no space left on the device holding the data folder (or the database); nothing was stored, free some space and retry',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }
        }
      }
    }
    const documentedBody = route.body ?? route.openApiBody
    if (route.rawBody) {
      operation.requestBody = { required: true, description: route.rawBody.description, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } }
    }
    if (documentedBody) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(documentedBody, 'input', sharedDefinitions, `${operation.operationId}_`) } } }
    }
    ;(paths[path] ??= {})[route.method.toLowerCase()] = operation
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Hypercube tracking API',
      version: info.version,
      description:
        'Log experiments, runs, metrics, checkpoints, artifacts and model versions into Hypercube. Every route needs `Authorization: Bearer <token>` (the token is in `<dataDir>/api-token`). NaN and ±Infinity travel as the strings "NaN", "Infinity", "-Infinity"; int64 values past 2^53 as decimal strings.'
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: errorSchema, ...sharedDefinitions }
    },
    security: [{ bearer: [] }],
    paths
  }
}
