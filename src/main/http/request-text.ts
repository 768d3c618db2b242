import { DomainError } from '../../shared/errors'

/**
 * Text as a client sent it, or a 400 naming what is wrong: every JSON body parser (the /v1
 * API, the MLflow door, the serve-mode UI's calls and WebSocket messages) and the query-string
 * parser go through here. Nothing is rewritten: Node's own decoding turns invalid UTF-8, a
 * latin1 body or a lone surrogate into U+FFFD, so two different names could be stored as the
 * same one (and collide as "already exists"). Nothing recurses either: JSON nested thousands
 * deep used to reach the recursive schemas (zod's json value, the MLflow door's id coercion)
 * and overflow the stack.
 */

/**
 * Arrays and objects nested deeper than this are refused before parsing. protobuf's JSON
 * parser (what MLflow's own server reads these bodies with) stops at 100 too, so no body the
 * MLflow client sends is refused here; a /v1 config object 100 levels deep is far past any real
 * one (Hydra configs are ~10), and far below the ~3,000 where a recursive validator overflows.
 */
export const MAX_JSON_DEPTH = 100

/** The request body is not JSON (or is empty): the MLflow door answers these as BAD_REQUEST. */
export class MalformedJsonError extends DomainError {
  constructor(message: string) {
    super('invalid_argument', message, 'body')
    this.name = 'MalformedJsonError'
  }
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true })

/** The bytes as UTF-8 text, or a 400 at the first invalid byte (a BOM is dropped, as JSON.parse would not take it). */
export function decodeUtf8(bytes: Uint8Array, what = 'request body', field = 'body'): string {
  try {
    return fatalUtf8.decode(bytes)
  } catch {
    const offset = firstInvalidUtf8Offset(bytes)
    const byte = bytes[offset] ?? 0
    throw new DomainError('invalid_argument', `${what} is not valid UTF-8 (byte 0x${byte.toString(16).padStart(2, '0')} at offset ${offset})`, field)
  }
}

/** Only reached on the error path: where the fatal decoder gave up (RFC 3629's table of well-formed sequences). */
function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0
  while (i < bytes.length) {
    const lead = bytes[i]!
    if (lead < 0x80) {
      i++
      continue
    }
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0
    if (length === 0 || i + length > bytes.length) return i
    // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and past U+10FFFF (F4).
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf
    if (bytes[i + 1]! < low || bytes[i + 1]! > high) return i
    for (let k = 2; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i
    i += length
  }
  return bytes.length
}

/** `charset=` of a Content-Type, when there is one: JSON is UTF-8 (RFC 8259), and only UTF-8 is decoded. */
export function refuseNonUtf8Charset(contentType: string | undefined): void {
  if (contentType === undefined) return
  for (const parameter of contentType.split(';').slice(1)) {
    const separator = parameter.indexOf('=')
    if (separator === -1 || parameter.slice(0, separator).trim().toLowerCase() !== 'charset') continue
    const charset = parameter
      .slice(separator + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
    if (/^utf-?8$/i.test(charset)) continue
    throw new DomainError('invalid_argument', `request bodies must be UTF-8 JSON; charset=${charset.slice(0, 40)} is not accepted`, 'content-type')
  }
}

/**
 * Refuses nesting past `maxDepth` with one pass over the bytes, counting [ and { outside
 * strings, so JSON.parse never builds (and nothing later walks) a deeper tree. Bytes, not text:
 * no byte of a multi-byte UTF-8 sequence is ASCII, and a byte loop is about twice as fast as
 * charCodeAt (a 60 MB metric batch costs ~0.15 s here against ~0.7 s for JSON.parse).
 * Well-formedness is JSON.parse's business: this only has to be right for text that parses.
 */
export function checkJsonNesting(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0
  let inString = false
  const length = bytes.length
  for (let i = 0; i < length; i++) {
    const c = bytes[i]!
    if (inString) {
      if (c === 0x5c /* \ */) i++
      else if (c === 0x22 /* " */) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) {
        throw new DomainError('invalid_argument', `request body is nested more than ${maxDepth} levels deep (arrays and objects, at byte ${i}); at most ${maxDepth} are accepted`, 'body')
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--
    }
  }
}

// With the u flag a surrogate pair is one code point, so this matches lone surrogates only.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

interface Frame {
  value: unknown
  parent: Frame | undefined
  key: string | number
}

function pathOf(frame: Frame): string {
  const parts: string[] = []
  for (let at: Frame | undefined = frame; at?.parent; at = at.parent) {
    parts.push(typeof at.key === 'number' ? `[${at.key}]` : at.parent.parent ? `.${escapeSurrogates(at.key)}` : escapeSurrogates(at.key))
  }
  return parts.reverse().join('') || 'body'
}

/** A key named in an error keeps its lone surrogates as visible escapes (the answer must be well-formed text too). */
function escapeSurrogates(text: string): string {
  return text.replace(/[\uD800-\uDFFF]/gu, (c) => `\\u${c.charCodeAt(0).toString(16)}`)
}

export interface TextProblem {
  /** JSON path: `tags.note`, `metrics[3].key`, `body` for the whole value. */
  field: string
  message: string
}

/**
 * The first key or string (in document order) that is not well-formed Unicode — or, with
 * `refusePrototypeKeys`, a `__proto__` key or a `constructor` holding a `prototype` (what
 * Fastify's parser refused, so a later merge can never reach Object.prototype). Iterative: a
 * value of any depth is walked without growing the stack.
 */
export function findTextProblem(value: unknown, options: { refusePrototypeKeys?: boolean } = {}): TextProblem | undefined {
  const stack: Frame[] = [{ value, parent: undefined, key: '' }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    const current = frame.value
    if (typeof current === 'string') {
      const match = LONE_SURROGATE.exec(current)
      if (match) return loneSurrogate(pathOf(frame), match[0], match.index)
      continue
    }
    if (typeof current !== 'object' || current === null) continue
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], parent: frame, key: i })
      continue
    }
    const keys = Object.keys(current)
    for (let i = keys.length - 1; i >= 0; i--) stack.push({ value: (current as Record<string, unknown>)[keys[i]!], parent: frame, key: keys[i]! })
    // Keys before values: a bad key is named before anything under it.
    for (const key of keys) {
      const match = LONE_SURROGATE.exec(key)
      if (match) return loneSurrogate(pathOf({ value: undefined, parent: frame, key }), match[0], match.index)
      if (options.refusePrototypeKeys && isPrototypeKey(key, (current as Record<string, unknown>)[key])) {
        const field = pathOf({ value: undefined, parent: frame, key })
        return { field, message: `${field}: a key named ${key} that reaches an object's prototype is not accepted` }
      }
    }
  }
  return undefined
}

function isPrototypeKey(key: string, value: unknown): boolean {
  return key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, 'prototype'))
}

function loneSurrogate(field: string, surrogate: string, index: number): TextProblem {
  const escape = `\\u${surrogate.charCodeAt(0).toString(16)}`
  return { field, message: `${field}: is not well-formed Unicode (a lone surrogate ${escape} at character ${index}); send text as UTF-8, or a surrogate pair as two escapes` }
}

/** findTextProblem for callers that only want the path (tests, logs). */
export function findIllFormedText(value: unknown): string | undefined {
  return findTextProblem(value)?.field
}

// A lone surrogate can only come from a \u escape (the text itself is well-formed UTF-8), and
// a prototype key from those words or an escape: text without them needs no walk (a metric
// batch of a million points never pays for one).
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/
const needsWalk = (text: string, refusePrototypeKeys: boolean): boolean => {
  const escapes = text.includes('\\u')
  return (escapes && SURROGATE_ESCAPE.test(text)) || (refusePrototypeKeys && (escapes || text.includes('__proto__') || text.includes('constructor')))
}

export interface JsonBodyOptions {
  /** The request's Content-Type header: a charset other than UTF-8 is refused. */
  contentType?: string
  /** The JSON reader (int64 quoting for the MLflow door, the UI's wire format); JSON.parse by default. */
  parse?: (text: string) => unknown
  /** What an empty (or all-whitespace) body means; refused when not given. */
  emptyBody?: unknown
  refusePrototypeKeys?: boolean
  maxDepth?: number
}

/**
 * A JSON request body (or WebSocket message) from its bytes: UTF-8 strictly, nesting bounded
 * before parsing, well-formed strings and keys after. Every refusal is a 400 naming the field.
 */
export function parseJsonBody(bytes: Uint8Array, options: JsonBodyOptions = {}): unknown {
  const { value, problem } = readJsonBody(bytes, options)
  if (problem) throw new DomainError('invalid_argument', problem.message, problem.field)
  return value
}

/**
 * parseJsonBody, but a string or key that is not well-formed comes back as `problem` beside
 * the parsed value instead of being thrown: the UI WebSocket answers it to the call's `id`.
 * Everything else (bytes, charset, nesting, syntax) throws.
 */
export function readJsonBody(bytes: Uint8Array, options: JsonBodyOptions = {}): { value: unknown; problem?: TextProblem } {
  refuseNonUtf8Charset(options.contentType)
  const text = decodeUtf8(bytes)
  if (text.trim() === '') {
    if (options.emptyBody !== undefined) return { value: options.emptyBody }
    throw new MalformedJsonError('request body is empty; send a JSON object')
  }
  checkJsonNesting(bytes, options.maxDepth)
  let value: unknown
  try {
    value = (options.parse ?? JSON.parse)(text)
  } catch (error) {
    if (error instanceof DomainError) throw error
    throw new MalformedJsonError(`request body is not valid JSON: ${(error as Error).message}`)
  }
  const problem = needsWalk(text, options.refusePrototypeKeys === true) ? findTextProblem(value, { refusePrototypeKeys: options.refusePrototypeKeys }) : undefined
  return problem ? { value, problem } : { value }
}

const invalidQueries = new WeakMap<object, DomainError>()

/**
 * The query string as Fastify's default parser (fast-querystring) reads it — `+` is a space, a
 * repeated key makes an array, no prototype — except that invalid percent-encoding is not kept
 * as raw text: the parameter is remembered (invalidQueryParameter) and the request refused
 * naming it. A router's query parser must not throw (it runs inside route lookup), hence the mark.
 */
export function parseQueryString(query: string): Record<string, string | string[]> {
  const result = Object.create(null) as Record<string, string | string[]>
  let problem: DomainError | undefined
  for (const pair of query.split('&')) {
    if (pair === '') continue
    const separator = pair.indexOf('=')
    const rawKey = (separator === -1 ? pair : pair.slice(0, separator)).replace(/\+/g, ' ')
    const rawValue = separator === -1 ? '' : pair.slice(separator + 1).replace(/\+/g, ' ')
    const key = strictDecode(rawKey)
    const value = strictDecode(rawValue)
    if (key === undefined || value === undefined) {
      const field = key ?? rawKey
      problem ??= new DomainError(
        'invalid_argument',
        `${field}: is not valid percent-encoded UTF-8 (${JSON.stringify((key === undefined ? rawKey : rawValue).slice(0, 60))}); encode text as UTF-8 and a literal % as %25`,
        field
      )
      continue
    }
    const existing = result[key]
    if (existing === undefined) result[key] = value
    else if (Array.isArray(existing)) existing.push(value)
    else result[key] = [existing, value]
  }
  if (problem) invalidQueries.set(result, problem)
  return result
}

function strictDecode(text: string): string | undefined {
  if (!text.includes('%')) return text
  try {
    // Throws URIError for a stray %, a byte that is not UTF-8 and an encoded surrogate (%ED%A0%80).
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** The refusal for a query parsed by parseQueryString with invalid percent-encoding, if any. */
export function invalidQueryParameter(query: unknown): DomainError | undefined {
  return typeof query === 'object' && query !== null ? invalidQueries.get(query) : undefined
}

/**
 * The refusal for a URL whose path has invalid percent-encoding (the router cannot match it),
 * naming the route parameter it falls in: `findParams` looks the URL up with each bad segment
 * replaced by a marker, and the parameter holding a marker is the one named (a wildcard is `path`).
 */
export function invalidPathParameter(url: string, findParams: (url: string) => Record<string, string | undefined> | undefined): DomainError {
  const queryStart = url.indexOf('?')
  const path = queryStart === -1 ? url : url.slice(0, queryStart)
  const segments = path.split('/')
  const bad = segments.findIndex((segment) => strictDecode(segment) === undefined)
  const badSegment = bad === -1 ? path : segments[bad]!
  const marker = 'hypercube-invalid-segment'
  let field = 'path'
  if (bad !== -1) {
    const probe = segments.map((segment, i) => (i === bad ? marker : strictDecode(segment) === undefined ? 'x' : segment)).join('/')
    const params = findParams(probe + (queryStart === -1 ? '' : url.slice(queryStart)))
    const name = params && Object.keys(params).find((key) => params[key]?.includes(marker))
    if (name !== undefined) field = name === '*' ? 'path' : name
  }
  return new DomainError(
    'invalid_argument',
    `${field}: is not valid percent-encoded UTF-8 (${JSON.stringify(badSegment.slice(0, 60))}); encode text as UTF-8 and a literal % as %25`,
    field
  )
}
