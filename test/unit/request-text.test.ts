import { describe, expect, it } from 'vitest'
import {
  MAX_JSON_DEPTH,
  MalformedJsonError,
  decodeUtf8,
  findIllFormedText,
  invalidPathParameter,
  invalidQueryParameter,
  parseJsonBody,
  parseQueryString,
  refuseNonUtf8Charset
} from '../../src/main/http/request-text'
import { errorOf } from '../support/domain-error'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const nested = (depth: number, inner = '1'): string => '['.repeat(depth) + inner + ']'.repeat(depth)

describe('request text: bytes to JSON without rewriting anything', () => {
  it('decodes UTF-8 as is and refuses invalid bytes with their offset', () => {
    expect(decodeUtf8(utf8('{"name":"Grüße 🙂"}'))).toBe('{"name":"Grüße 🙂"}')
    const bytes = Buffer.concat([Buffer.from('{"name":"ab'), Buffer.from([0xff]), Buffer.from('"}')])
    const error = errorOf(() => decodeUtf8(bytes))
    expect(error).toMatchObject({ code: 'invalid_argument', field: 'body' })
    expect(error.message).toContain('not valid UTF-8')
    expect(error.message).toContain('offset 11')
    // An encoded surrogate (CESU-8 / WTF-8) and a truncated sequence at the end are invalid too.
    expect(errorOf(() => decodeUtf8(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).message).toContain('offset 1')
    expect(errorOf(() => decodeUtf8(Buffer.from([0x22, 0x61, 0xe2, 0x82]))).message).toContain('offset 2')
    // Overlong encodings are refused (0xC0 0xAF would be "/").
    expect(errorOf(() => decodeUtf8(Buffer.from([0xc0, 0xaf]))).message).toContain('offset 0')
  })

  it('accepts only a UTF-8 charset (or none), naming any other', () => {
    for (const type of [undefined, 'application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'application/json; Charset=UTF8']) {
      expect(() => refuseNonUtf8Charset(type)).not.toThrow()
    }
    const error = errorOf(() => refuseNonUtf8Charset('application/json; charset=latin1'))
    expect(error).toMatchObject({ code: 'invalid_argument', field: 'content-type' })
    expect(error.message).toBe('request bodies must be UTF-8 JSON; charset=latin1 is not accepted')
    expect(errorOf(() => refuseNonUtf8Charset('application/json; charset="utf-16"')).message).toContain('charset=utf-16')
  })

  it('parses JSON up to the depth limit and refuses deeper nesting without recursion', () => {
    expect(parseJsonBody(utf8(`{"a":${nested(MAX_JSON_DEPTH - 1)}}`))).toEqual({ a: JSON.parse(nested(MAX_JSON_DEPTH - 1)) })
    for (const depth of [MAX_JSON_DEPTH + 1, 3_000, 1_000_000]) {
      const error = errorOf(() => parseJsonBody(utf8(`{"a":${nested(depth)}}`)))
      expect(error).toMatchObject({ code: 'invalid_argument', field: 'body' })
      expect(error.message).toContain(`${MAX_JSON_DEPTH}`)
    }
    // Brackets inside strings (escaped quotes included) are text, not nesting.
    const text = `{"a":"${'['.repeat(5_000)}\\"${'{'.repeat(5_000)}","b":[1]}`
    expect(parseJsonBody(utf8(text))).toEqual(JSON.parse(text))
  })

  it('refuses lone surrogates in values and keys, naming the field by its JSON path', () => {
    const valueError = errorOf(() => parseJsonBody(utf8('{"name":"ok","tags":{"note":"a\\ud800b"}}')))
    expect(valueError).toMatchObject({ code: 'invalid_argument', field: 'tags.note' })
    expect(valueError.message).toContain('lone surrogate')
    expect(errorOf(() => parseJsonBody(utf8('{"metrics":[{"key":"a"},{"key":"b"},{"key":"c"},{"key":"\\udc00"}]}')))).toMatchObject({
      field: 'metrics[3].key'
    })
    // A key: the path ends at the key itself, with the surrogate written as an escape.
    expect(errorOf(() => parseJsonBody(utf8('{"tags":{"k\\ud83d":"v"}}')))).toMatchObject({ field: 'tags.k\\ud83d' })
    expect(errorOf(() => parseJsonBody(utf8('"\\udfff"')))).toMatchObject({ field: 'body' })
    // A pair written as escapes (Python's json.dumps default) is one character, and fine.
    expect(parseJsonBody(utf8('{"name":"\\ud83d\\ude42"}'))).toEqual({ name: '🙂' })
  })

  it('walks values iteratively, so a deep tree built in memory is no problem', () => {
    let deep: unknown = 'a\ud800'
    for (let i = 0; i < 200_000; i++) deep = i % 2 === 0 ? [deep] : { x: deep }
    expect(findIllFormedText(deep)?.slice(0, 6)).toBe('x[0].x')
    expect(findIllFormedText({ a: [1, 'b', { c: null }] })).toBeUndefined()
  })

  it('refuses __proto__ and constructor.prototype keys where asked, as Fastify did', () => {
    expect(errorOf(() => parseJsonBody(utf8('{"a":{"__proto__":{"x":1}}}'), { refusePrototypeKeys: true }))).toMatchObject({ field: 'a.__proto__' })
    expect(errorOf(() => parseJsonBody(utf8('{"constructor":{"prototype":{}}}'), { refusePrototypeKeys: true }))).toMatchObject({ field: 'constructor' })
    expect(errorOf(() => parseJsonBody(utf8('{"\\u005f_proto__":1}'), { refusePrototypeKeys: true }))).toMatchObject({ field: '__proto__' })
    expect(parseJsonBody(utf8('{"constructor":"fine"}'), { refusePrototypeKeys: true })).toEqual({ constructor: 'fine' })
  })

  it('tells malformed and empty JSON apart from the text checks', () => {
    expect(() => parseJsonBody(utf8('{"a":'))).toThrow(MalformedJsonError)
    expect(errorOf(() => parseJsonBody(utf8('  ')))).toMatchObject({ field: 'body', message: 'request body is empty; send a JSON object' })
    expect(parseJsonBody(utf8(' '), { emptyBody: {} })).toEqual({})
    // The caller's parser (int64 quoting, the UI's wire format) is used, after the checks.
    expect(parseJsonBody(utf8('{"a":1}'), { parse: (text) => ({ parsed: text }) })).toEqual({ parsed: '{"a":1}' })
  })
})

describe('query strings', () => {
  it('parses as before: + is a space, repeated keys make an array, no prototype', () => {
    const query = parseQueryString('a=1&b=x+y&a=2&c&d=%E2%82%AC%20z&e=1%3D2=3')
    expect({ ...query }).toEqual({ a: ['1', '2'], b: 'x y', c: '', d: '€ z', e: '1=2=3' })
    expect(Object.getPrototypeOf(query)).toBeNull()
    expect(invalidQueryParameter(query)).toBeUndefined()
  })

  it('marks invalid percent-encoding (bad UTF-8, an encoded surrogate, a stray %) naming the parameter', () => {
    for (const [text, field] of [
      ['name=%FF', 'name'],
      ['ok=1&name=%ED%A0%80', 'name'],
      ['filter=50%', 'filter'],
      ['na%FFme=1', 'na%FFme']
    ] as const) {
      const error = invalidQueryParameter(parseQueryString(text))
      expect(error, text).toMatchObject({ code: 'invalid_argument', field })
      expect(error!.message).toContain('percent-encoded UTF-8')
    }
  })
})

describe('URL paths', () => {
  // A stand-in for the router: /v1/ml/runs/:runId/metrics/history and a wildcard route.
  const findParams = (url: string): Record<string, string> | undefined => {
    const path = url.split('?')[0]!
    const run = /^\/v1\/ml\/runs\/([^/]+)\/metrics\/history$/.exec(path)
    if (run) return { runId: decodeURIComponent(run[1]!) }
    if (path.startsWith('/files/')) return { '*': decodeURIComponent(path.slice('/files/'.length)) }
    return undefined
  }

  it('names the route parameter holding the invalid segment, a wildcard as path, else the path', () => {
    expect(invalidPathParameter('/v1/ml/runs/%ED%A0%80/metrics/history?key=a', findParams)).toMatchObject({ code: 'invalid_argument', field: 'runId' })
    expect(invalidPathParameter('/files/a/%FF/b', findParams)).toMatchObject({ field: 'path' })
    const unknown = invalidPathParameter('/nowhere/%C0%AF', findParams)
    expect(unknown).toMatchObject({ field: 'path' })
    expect(unknown.message).toBe('path: is not valid percent-encoded UTF-8 ("%C0%AF"); encode text as UTF-8 and a literal % as %25')
  })
})
