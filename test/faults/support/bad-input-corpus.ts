/**
 * A generated corpus of bad requests for every route of both APIs: /v1 from its OpenAPI
 * document, the MLflow door from the MLflow endpoint list (test/fixtures/mlflow/endpoints.txt,
 * the calls the real mlflow client makes). Each request starts from a plausible one (known ids
 * in paths and id fields) and breaks one thing: a path or query parameter, one body field, or the
 * body as a whole (not JSON, wrong type, invalid UTF-8, another charset, nesting far past any
 * payload's, …). A client's mistake must never be answered with a 5xx.
 */

export interface BadRequest {
  method: string
  /** Path and query, already percent-encoded. */
  url: string
  body?: string | Buffer
  contentType?: string
  /** What was broken, for the failure report. */
  what: string
}

/** Ids of objects that exist, so that a request reaches the code behind its validation. */
export interface KnownIds {
  experimentId: number
  runId: number
  versionId: number
  artifactId: number
  modelName: string
  alias: string
  mlflowExperimentId: string
  mlflowRunId: string
  mlflowModelName: string
  loggedModelId: string
}

// ---- values ----

const DEEP = 100_000
/** Stands for a JSON value nested DEEP levels down; spliced in after stringify. */
const DEEP_MARKER = '\u0001deep\u0001'

/** Values a JSON field must survive being given (as long as the answer is a 4xx). */
export const BAD_JSON_VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  2 ** 53 + 2,
  '9223372036854775808',
  '-9223372036854775809',
  '99999999999999999999999999',
  '',
  ' ',
  'NaN',
  '-Infinity',
  '0x10',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'ok\udfffok',
  '%00',
  '../../etc/passwd',
  'x'.repeat(70_000),
  [],
  [null, 1, 'a'],
  {},
  { nested: { deeper: ['x'] } },
  DEEP_MARKER
]

/** Path segments and query values (raw, percent-encoded where they must be). */
export const BAD_URL_VALUES: readonly string[] = [
  '0',
  '-1',
  '1.5',
  '1e3',
  '0x10',
  '%201',
  '99999999999999999999',
  '9223372036854775808',
  'abc',
  '%00',
  'a%00b',
  '%ED%A0%80',
  '%FF',
  '%C3%28',
  '%',
  '..%2F..%2Fetc%2Fpasswd',
  'x'.repeat(4_000),
  'NaN',
  'null'
]

/** Whole bodies that are not what any route takes. */
const BAD_BODIES: readonly { body: string | Buffer; contentType?: string; what: string }[] = [
  { body: 'not json', what: 'body not JSON' },
  { body: '{', what: 'body cut short' },
  { body: '[]', what: 'body an array' },
  { body: 'null', what: 'body null' },
  { body: '"text"', what: 'body a string' },
  { body: '1e999', what: 'body a number' },
  { body: '{"a":1,"a":2}', what: 'duplicate keys' },
  { body: '[' .repeat(DEEP) + ']'.repeat(DEEP), what: 'body nested 100,000 deep' },
  { body: '{"a":' .repeat(5_000) + '1' + '}'.repeat(5_000), what: 'object nested 5,000 deep' },
  { body: Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), what: 'invalid UTF-8 in a value' },
  { body: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), what: 'invalid UTF-8 in a key' },
  { body: '{"name":"caf\u00e9"}', contentType: 'application/json; charset=latin1', what: 'charset=latin1' },
  { body: '{"name":"x"}', contentType: 'text/plain', what: 'text/plain body' },
  { body: '', what: 'empty body' }
]

// ---- JSON schema (OpenAPI 3.0, as /v1/openapi.json serves it) ----

type Schema = Record<string, unknown>

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: { name: string; in: 'path' | 'query'; schema: Schema }[]; requestBody?: { content: Record<string, { schema: Schema }> } }>>
  components: { schemas: Record<string, Schema> }
}

function resolve(schema: Schema, document: OpenApiDocument): Schema {
  let current = schema
  for (let hops = 0; typeof current.$ref === 'string' && hops < 20; hops++) {
    current = document.components.schemas[(current.$ref as string).replace('#/components/schemas/', '')] ?? {}
  }
  return current
}

/** A value the schema takes, with known ids where a field's name says it is one. */
function plausibleValue(name: string, schema: Schema, document: OpenApiDocument, ids: KnownIds, unique: () => string, depth = 0): unknown {
  const resolved = resolve(schema, document)
  const known = knownIdFor(name, ids)
  if (known !== undefined) return known
  const alternatives = (resolved.anyOf ?? resolved.oneOf) as Schema[] | undefined
  if (alternatives?.length) return plausibleValue(name, alternatives[0]!, document, ids, unique, depth)
  if (Array.isArray(resolved.enum)) return resolved.enum[0]
  switch (resolved.type) {
    case 'object': {
      if (depth > 4) return {}
      const properties = (resolved.properties ?? {}) as Record<string, Schema>
      const value: Record<string, unknown> = {}
      for (const [key, property] of Object.entries(properties)) value[key] = plausibleValue(key, property, document, ids, unique, depth + 1)
      return value
    }
    case 'array':
      return depth > 4 ? [] : [plausibleValue(name, (resolved.items ?? {}) as Schema, document, ids, unique, depth + 1)]
    case 'integer':
      return typeof resolved.minimum === 'number' && resolved.minimum > 1 ? resolved.minimum : 1
    case 'number':
      return 0.5
    case 'boolean':
      return false
    case 'string':
      return unique()
    default:
      return unique()
  }
}

function knownIdFor(name: string, ids: KnownIds): string | number | undefined {
  switch (name) {
    case 'experimentId':
    case 'experiment_id':
      return ids.experimentId
    case 'runId':
    case 'run_id':
      return ids.runId
    case 'versionId':
    case 'version_id':
      return ids.versionId
    case 'artifactId':
      return ids.artifactId
    case 'modelName':
    case 'model_name':
      return ids.modelName
    case 'alias':
      return ids.alias
    default:
      return undefined
  }
}

/** Splices the deep-nesting marker, wherever it landed, into a real 100,000-deep array. */
function encodeBody(value: unknown): string {
  const text = JSON.stringify(value)
  const marker = JSON.stringify(DEEP_MARKER)
  return text.includes(marker) ? text.split(marker).join('['.repeat(DEEP) + ']'.repeat(DEEP)) : text
}

function withQuery(path: string, query: Record<string, string>): string {
  const pairs = Object.entries(query).map(([name, value]) => `${encodeURIComponent(name)}=${value}`)
  return pairs.length ? `${path}?${pairs.join('&')}` : path
}

function describeValue(value: unknown): string {
  if (value === DEEP_MARKER) return 'nested 100,000 deep'
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 37)}…(${text.length} chars)` : text
}

/** Bad requests for every operation of the /v1 OpenAPI document. */
export function v1Corpus(document: OpenApiDocument, ids: KnownIds): BadRequest[] {
  let counter = 0
  const unique = (): string => `corpus-${++counter}`
  const requests: BadRequest[] = []
  for (const [template, operations] of Object.entries(document.paths)) {
    for (const [lowerMethod, operation] of Object.entries(operations)) {
      const method = lowerMethod.toUpperCase()
      const parameters = operation.parameters ?? []
      const pathValues: Record<string, string> = {}
      const queryValues: Record<string, string> = {}
      for (const parameter of parameters) {
        const value = String(plausibleValue(parameter.name, parameter.schema, document, ids, unique))
        if (parameter.in === 'path') pathValues[parameter.name] = encodeURIComponent(value)
        else queryValues[parameter.name] = encodeURIComponent(value)
      }
      const fill = (values: Record<string, string>): string => template.replace(/\{([^}]+)\}/g, (_, name: string) => values[name] ?? 'x')
      const bodySchema = operation.requestBody?.content['application/json']?.schema
      const baseBody = bodySchema ? (plausibleValue('body', bodySchema, document, ids, unique) as Record<string, unknown>) : undefined
      const baseUrl = withQuery(fill(pathValues), queryValues)
      const label = `${method} ${template}`

      for (const parameter of parameters) {
        for (const bad of BAD_URL_VALUES) {
          if (parameter.in === 'path') {
            requests.push({ method, url: withQuery(fill({ ...pathValues, [parameter.name]: bad }), queryValues), body: baseBody && encodeBody(baseBody), what: `${label}: path ${parameter.name}=${bad.slice(0, 30)}` })
          } else {
            requests.push({ method, url: withQuery(fill(pathValues), { ...queryValues, [parameter.name]: bad }), body: baseBody && encodeBody(baseBody), what: `${label}: query ${parameter.name}=${bad.slice(0, 30)}` })
          }
        }
        if (parameter.in === 'query') {
          requests.push({ method, url: `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}${parameter.name}=1&${parameter.name}=2`, body: baseBody && encodeBody(baseBody), what: `${label}: query ${parameter.name} given twice` })
        }
      }
      if (baseBody && typeof baseBody === 'object' && !Array.isArray(baseBody)) {
        for (const field of Object.keys(baseBody)) {
          for (const bad of BAD_JSON_VALUES) {
            requests.push({ method, url: baseUrl, body: encodeBody({ ...baseBody, [field]: bad }), what: `${label}: body ${field}=${describeValue(bad)}` })
          }
          // One level down: a bad value inside an object field (tags, hyperparameters, …).
          const inner = baseBody[field]
          if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
            for (const bad of BAD_JSON_VALUES) {
              requests.push({ method, url: baseUrl, body: encodeBody({ ...baseBody, [field]: { ...inner, key: bad } }), what: `${label}: body ${field}.key=${describeValue(bad)}` })
            }
            requests.push({ method, url: baseUrl, body: encodeBody({ ...baseBody, [field]: { '\ud800': 'x' } }), what: `${label}: body ${field} with a lone surrogate key` })
          }
        }
      }
      if (method !== 'GET' && method !== 'DELETE') {
        for (const bad of BAD_BODIES) requests.push({ method, url: baseUrl, body: bad.body, contentType: bad.contentType, what: `${label}: ${bad.what}` })
      }
    }
  }
  return requests
}

// ---- the MLflow endpoint list ----

interface MlflowEndpoint {
  method: string
  path: string
  fields: { name: string; type: string }[]
}

/**
 * Parses endpoints.txt: a line `Service.call<TAB>METHOD /api/2.0/...` followed by
 * `req Name: field*:type, field:type[]`.
 */
export function parseMlflowEndpoints(text: string): MlflowEndpoint[] {
  const endpoints: MlflowEndpoint[] = []
  const pending: MlflowEndpoint[] = []
  for (const line of text.split('\n')) {
    const call = /^\w+\.\w+\t(GET|POST|PATCH|DELETE|PUT) (\S+)$/.exec(line)
    if (call) {
      const endpoint = { method: call[1]!, path: call[2]!, fields: [] }
      pending.push(endpoint)
      endpoints.push(endpoint)
      continue
    }
    const request = /^\s+req\s+\w+: (.*)$/.exec(line)
    if (request) {
      const fields = request[1]!
        .split(', ')
        .map((field) => /^(\w+)\*?:(.+)$/.exec(field.trim()))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => ({ name: match[1]!, type: match[2]! }))
      for (const endpoint of pending) endpoint.fields = fields
      pending.length = 0
      continue
    }
    if (/^\s+resp/.test(line)) pending.length = 0
  }
  return endpoints
}

function mlflowPlausible(name: string, type: string, ids: KnownIds, unique: () => string): unknown {
  switch (name) {
    case 'experiment_id':
      return ids.mlflowExperimentId
    case 'experiment_ids':
      return [ids.mlflowExperimentId]
    case 'run_id':
    case 'run_uuid':
      return ids.mlflowRunId
    case 'name':
      return ids.mlflowModelName
    case 'version':
      return '1'
    case 'model_id':
      return ids.loggedModelId
    default:
      break
  }
  if (type.endsWith('[]')) return []
  switch (type) {
    case 'string':
      return unique()
    case 'int64':
    case 'int32':
      return 1
    case 'double':
    case 'float':
      return 0.5
    case 'bool':
      return false
    case 'ViewType':
      return 'ALL'
    case 'RunStatus':
      return 'FINISHED'
    default:
      return {}
  }
}

export interface EndpointCorpus {
  /** The plausible request: whether the door serves this call at all is asked with it first. */
  baseline: BadRequest
  requests: BadRequest[]
}

/** Bad requests for every call of the MLflow endpoint list (the /api/… prefix is in each path). */
export function mlflowCorpus(endpoints: readonly MlflowEndpoint[], ids: KnownIds): EndpointCorpus[] {
  let counter = 0
  const unique = (): string => `corpus-${++counter}`
  const corpus: EndpointCorpus[] = []
  for (const endpoint of endpoints) {
    const requests: BadRequest[] = []
    const fill = (segment: string): string =>
      endpoint.path.replace(/\{[^}]+\}/g, (match) => (match === '{model_id}' ? segment || ids.loggedModelId : 'x')).replace(/<path:[^>]+>/g, segment || `${ids.mlflowExperimentId}/${ids.mlflowRunId}/artifacts/a.txt`)
    const base: Record<string, unknown> = {}
    for (const field of endpoint.fields) base[field.name] = mlflowPlausible(field.name, field.type, ids, unique)
    const label = `${endpoint.method} ${endpoint.path}`
    const usesQuery = endpoint.method === 'GET'
    const send = (input: Record<string, unknown>, what: string, segment = ''): void => {
      if (usesQuery) {
        const query: Record<string, string> = {}
        for (const [name, value] of Object.entries(input)) query[name] = encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value) ?? '')
        requests.push({ method: endpoint.method, url: withQuery(fill(segment), query), what })
      } else {
        requests.push({ method: endpoint.method, url: fill(segment), body: encodeBody(input), what })
      }
    }
    for (const field of endpoint.fields) {
      if (usesQuery) {
        for (const bad of BAD_URL_VALUES) {
          const query: Record<string, string> = {}
          for (const [name, value] of Object.entries(base)) query[name] = encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value) ?? '')
          query[field.name] = bad
          requests.push({ method: endpoint.method, url: withQuery(fill(''), query), what: `${label}: query ${field.name}=${bad.slice(0, 30)}` })
        }
      } else {
        for (const bad of BAD_JSON_VALUES) send({ ...base, [field.name]: bad }, `${label}: body ${field.name}=${describeValue(bad)}`)
      }
    }
    if (/\{model_id\}|<path:/.test(endpoint.path)) {
      for (const bad of BAD_URL_VALUES) send(base, `${label}: path segment ${bad.slice(0, 30)}`, bad)
    }
    if (!usesQuery) {
      for (const bad of BAD_BODIES) requests.push({ method: endpoint.method, url: fill(''), body: bad.body, contentType: bad.contentType, what: `${label}: ${bad.what}` })
    }
    const baseline: BadRequest[] = []
    const collect = requests.splice(0)
    send(base, `${label}: plausible request`)
    baseline.push(...requests.splice(0))
    corpus.push({ baseline: baseline[0]!, requests: collect })
  }
  return corpus
}
