import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { rawRequest, startApiTestCore } from '../support/api-env'
import type { TestCore } from '../support/test-env'

// Issue 11 items 11 and 12: text is never silently rewritten (invalid UTF-8, a latin1 body and a
// lone surrogate used to become U+FFFD, so two different names could collide), and JSON nested
// thousands deep is a 400, not a stack overflow — at every request parser: /v1, the MLflow door,
// the serve UI's calls and WebSocket, and URL paths and queries.

let env: TestCore & { url: string; token: string }
let runId = 0
let experimentId = 0
let mlflowRunId = ''

const nested = (depth: number): string => '['.repeat(depth) + '1' + ']'.repeat(depth)
/** A JSON body with raw bytes spliced in where `\u0000` stands in the text. */
const withBytes = (text: string, bytes: number[]): Buffer => {
  const [before, after] = text.split('\u0000') as [string, string]
  return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)])
}

const v1 = (path: string, body?: string | Buffer, headers: Record<string, string> = {}) =>
  rawRequest(`${env.url}${path}`, { token: env.token, body, headers, method: body === undefined ? 'GET' : 'POST' })
const mlflow = (path: string, body?: string | Buffer, headers: Record<string, string> = {}) =>
  rawRequest(`${env.url}/api/2.0/${path}`, { token: env.token, body, headers, method: body === undefined ? 'GET' : 'POST' })

async function experimentNames(): Promise<string[]> {
  const response = await v1('/v1/ml/experiments')
  expect(response.status).toBe(200)
  return (response.body.experiments as Array<{ name: string }>).map((experiment) => experiment.name)
}

beforeAll(async () => {
  env = await startApiTestCore()
  const experiment = await v1('/v1/ml/experiments', JSON.stringify({ name: 'text-base' }))
  expect(experiment.status).toBe(201)
  experimentId = experiment.body.experiment_id as number
  const run = await v1('/v1/ml/runs', JSON.stringify({ experiment_id: experimentId }))
  expect(run.status).toBe(201)
  runId = run.body.run_id as number
  const mlflowExperiment = await mlflow('mlflow/experiments/create', JSON.stringify({ name: 'text-mlflow' }))
  const mlflowRun = await mlflow('mlflow/runs/create', JSON.stringify({ experiment_id: mlflowExperiment.body.experiment_id }))
  mlflowRunId = mlflowRun.body.run.info.run_id as string
})

afterAll(async () => {
  await env?.close()
})

describe('/v1 request bodies', () => {
  it('refuses invalid UTF-8 bytes naming the body and the offset, and stores nothing', async () => {
    for (const bytes of [[0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe2, 0x82]]) {
      const response = await v1('/v1/ml/experiments', withBytes('{"name":"bytes-\u0000"}', bytes))
      expect(response.status, JSON.stringify(bytes)).toBe(400)
      expect(response.body.error).toMatchObject({ code: 'invalid_argument', field: 'body' })
      expect(response.body.error.message).toContain('not valid UTF-8')
      expect(response.body.error.message).toContain('offset 15')
    }
    expect((await experimentNames()).filter((name) => name.startsWith('bytes-'))).toEqual([])
  })

  it('two names differing only in invalid bytes no longer collide (nor with a real U+FFFD)', async () => {
    expect((await v1('/v1/ml/experiments', JSON.stringify({ name: 'collide-\ufffd' }))).status).toBe(201)
    for (const byte of [0xff, 0xfe]) {
      const response = await v1('/v1/ml/experiments', withBytes('{"name":"collide-\u0000"}', [byte]))
      expect(response.status).toBe(400)
      expect(response.body.error.field).toBe('body')
    }
    expect((await experimentNames()).filter((name) => name.startsWith('collide-'))).toEqual(['collide-\ufffd'])
  })

  it('refuses a charset other than UTF-8, naming it', async () => {
    const response = await v1('/v1/ml/experiments', Buffer.from('{"name":"latin-Grüße"}', 'latin1'), { 'content-type': 'application/json; charset=latin1' })
    expect(response.status).toBe(400)
    expect(response.body.error).toMatchObject({
      code: 'invalid_argument',
      field: 'content-type',
      message: 'request bodies must be UTF-8 JSON; charset=latin1 is not accepted'
    })
    // UTF-8 said out loud is fine.
    const utf8 = await v1('/v1/ml/experiments', JSON.stringify({ name: 'latin-Grüße' }), { 'content-type': 'application/json; charset=UTF-8' })
    expect(utf8.status).toBe(201)
    expect(utf8.body.name).toBe('latin-Grüße')
    expect((await experimentNames()).filter((name) => name.startsWith('latin-'))).toEqual(['latin-Grüße'])
  })

  it('refuses a lone surrogate in a value or a key, naming the field by its path', async () => {
    const value = await v1('/v1/ml/experiments', '{"name":"lone-value","tags":{"note":"a\\ud800b"}}')
    expect(value.status).toBe(400)
    expect(value.body.error).toMatchObject({ code: 'invalid_argument', field: 'tags.note' })
    expect(value.body.error.message).toContain('lone surrogate \\ud800')
    const key = await v1('/v1/ml/experiments', '{"name":"lone-key","hyperparameters":{"lr\\udc00":0.1}}')
    expect(key.body.error).toMatchObject({ code: 'invalid_argument', field: 'hyperparameters.lr\\udc00' })
    const name = await v1('/v1/ml/experiments', '{"name":"lone-name\\udbff"}')
    expect(name.body.error.field).toBe('name')
    expect((await experimentNames()).filter((entry) => entry.startsWith('lone-'))).toEqual([])

    const runTags = await v1(`/v1/ml/runs/${runId}/tags`, '{"tags":{"stage":"\\ude00"}}')
    expect(runTags.status).toBe(400)
    expect(runTags.body.error.field).toBe('tags.stage')
    expect((await v1(`/v1/ml/runs/${runId}`)).body.tags).toEqual({})
    // A pair sent as two escapes is one character.
    const pair = await v1(`/v1/ml/runs/${runId}/tags`, '{"tags":{"mood":"\\ud83d\\ude42"}}')
    expect(pair.status).toBe(200)
    expect(pair.body.tags).toEqual({ mood: '🙂' })
  })

  it('refuses JSON nested 3,000 and 100,000 deep in an object field with a 400 naming the limit', async () => {
    for (const depth of [3_000, 100_000]) {
      for (const [path, body] of [
        ['/v1/ml/experiments', `{"name":"deep-${depth}","hyperparameters":{"a":${nested(depth)}}}`],
        ['/v1/ml/runs', `{"experiment_id":${experimentId},"hyperparameters":{"a":${nested(depth)}}}`],
        [`/v1/ml/runs/${runId}/params`, `{"hyperparameters":{"a":${nested(depth)}}}`]
      ] as const) {
        const response = await v1(path, body)
        expect(response.status, `${path} at ${depth}`).toBe(400)
        expect(response.body.error).toMatchObject({ code: 'invalid_argument', field: 'body' })
        expect(response.body.error.message).toContain('at most 100')
      }
    }
    // Nesting a real config has (a few levels) is fine.
    const config = await v1('/v1/ml/experiments', JSON.stringify({ name: 'deep-ok', model_config: { a: { b: { c: { d: [[[{ e: 1 }]]] } } } } }))
    expect(config.status).toBe(201)
    expect((await experimentNames()).filter((name) => name.startsWith('deep-'))).toEqual(['deep-ok'])
    expect((await v1(`/v1/ml/runs/${runId}`)).body.hyperparameters).toEqual({})
  })

  it('metrics POST: a lone surrogate in a key, invalid bytes and deep values store no point', async () => {
    const points = (extra: string) => `{"run_id":${runId},"points":[{"key":"ok","value":1,"step":0},${extra}]}`
    const surrogate = await v1('/v1/ml/metrics', points('{"key":"bad\\ud800","value":2,"step":1}'))
    expect(surrogate.status).toBe(400)
    expect(surrogate.body.error.field).toBe('points[1].key')
    const bytes = await v1('/v1/ml/metrics', withBytes(points('{"key":"bad\u0000","value":2,"step":1}'), [0xff]))
    expect(bytes.body.error).toMatchObject({ code: 'invalid_argument', field: 'body' })
    const seed = await v1('/v1/ml/metrics', `{"run_id":${runId},"metrics":{"loss\\udfff":1},"step":0}`)
    expect(seed.body.error.field).toBe('metrics.loss\\udfff')
    for (const depth of [3_000, 100_000]) {
      const deep = await v1('/v1/ml/metrics', points(`{"key":"deep","value":${nested(depth)}}`))
      expect(deep.status).toBe(400)
      expect(deep.body.error.field).toBe('body')
    }
    const latin1 = await v1('/v1/ml/metrics', Buffer.from(points('{"key":"é","value":2}'), 'latin1'), { 'content-type': 'application/json;charset=ISO-8859-1' })
    expect(latin1.body.error.field).toBe('content-type')
    const history = await v1(`/v1/ml/runs/${runId}/metrics/history?key=ok`)
    expect(history.status).toBe(200)
    expect(history.body.total_points).toBe(0)
  })

  it('keeps what the parser did before: malformed and empty bodies, __proto__ keys, large integers', async () => {
    const malformed = await v1('/v1/ml/experiments', '{"name": ')
    expect(malformed.status).toBe(400)
    expect(malformed.body.error).toMatchObject({ code: 'invalid_argument', field: 'body' })
    expect(malformed.body.error.message).toContain('not valid JSON')
    const empty = await v1('/v1/ml/experiments', '')
    expect(empty.body.error).toMatchObject({ field: 'body', message: 'request body is empty; send a JSON object' })
    const proto = await v1('/v1/ml/experiments', '{"name":"proto","tags":{"__proto__":{"x":"y"}}}')
    expect(proto.status).toBe(400)
    expect(proto.body.error.field).toBe('tags.__proto__')
    // A number past 2^53 is still refused by the schema (it has lost digits), a string still taken.
    const seed = await v1('/v1/ml/runs', `{"experiment_id":${experimentId},"random_seed":9007199254740993}`)
    expect(seed.body.error.field).toBe('random_seed')
    const exact = await v1('/v1/ml/runs', `{"experiment_id":${experimentId},"random_seed":"9007199254740993"}`)
    expect(exact.status).toBe(201)
    expect(exact.body.random_seed).toBe('9007199254740993')
  })
})

describe('URL paths and queries', () => {
  it('refuses invalid percent-encoding in a path naming the parameter, never 500 or U+FFFD', async () => {
    for (const [path, field] of [
      ['/v1/ml/experiments/%FF', 'experimentId'],
      ['/v1/ml/runs/%ED%A0%80', 'runId'],
      ['/v1/ml/runs/%ED%A0%80/metrics/history?key=a', 'runId'],
      ['/v1/ml/no-such/%C0%AF', 'path']
    ] as const) {
      const response = await v1(path)
      expect(response.status, path).toBe(400)
      expect(response.body.error, path).toMatchObject({ code: 'invalid_argument', field })
      expect(response.body.error.message).toContain('percent-encoded UTF-8')
    }
  })

  it('refuses invalid percent-encoding in a query naming the parameter', async () => {
    for (const [query, field] of [
      ['key=%FF', 'key'],
      ['key=%ED%A0%80', 'key'],
      ['key=a&max_points=%E2%82', 'max_points'],
      ['key=50%', 'key']
    ] as const) {
      const response = await v1(`/v1/ml/runs/${runId}/metrics/history?${query}`)
      expect(response.status, query).toBe(400)
      expect(response.body.error, query).toMatchObject({ code: 'invalid_argument', field })
    }
    // Valid encodings decode as before.
    const ok = await v1(`/v1/ml/runs/${runId}/metrics/history?key=l%C3%B6ss+x`)
    expect(ok.status).toBe(200)
    expect(ok.body.key).toBe('löss x')
  })

  it('does so in the MLflow shape on the MLflow door', async () => {
    for (const path of ['mlflow/logged-models/%FF', 'mlflow/experiments/get-by-name?experiment_name=%ED%A0%80', 'mlflow-artifacts/artifacts/1/%FF/artifacts/x']) {
      const response = await mlflow(path)
      expect(response.status, path).toBe(400)
      expect(response.body.error_code, path).toBe('INVALID_PARAMETER_VALUE')
      expect(response.body.message, path).toContain('percent-encoded UTF-8')
    }
    expect((await mlflow('mlflow/logged-models/%FF')).body.message).toMatch(/^modelId: /)
    expect((await mlflow('mlflow/experiments/get-by-name?experiment_name=%FF')).body.message).toMatch(/^experiment_name: /)
    expect((await mlflow('mlflow-artifacts/artifacts/1/%FF/artifacts/x')).body.message).toMatch(/^path: /)
  })
})

describe('MLflow request bodies', () => {
  const refused = async (path: string, body: string | Buffer, contains: string, headers: Record<string, string> = {}) => {
    const response = await mlflow(`mlflow/${path}`, body, headers)
    expect(response.status, path).toBe(400)
    expect(response.body.error_code, path).toBe('INVALID_PARAMETER_VALUE')
    expect(response.body.message, path).toContain(contains)
  }

  it('experiments/create: invalid bytes, latin1, lone surrogates in a value and a key', async () => {
    await refused('experiments/create', withBytes('{"name":"m-bytes-\u0000"}', [0xff]), 'not valid UTF-8')
    await refused('experiments/create', Buffer.from('{"name":"m-latin-é"}', 'latin1'), 'charset=latin1 is not accepted', { 'content-type': 'application/json; charset=latin1' })
    await refused('experiments/create', '{"name":"m-lone\\ud800"}', 'name: is not well-formed Unicode')
    await refused('experiments/create', '{"name":"m-tag","tags":[{"key":"k","value":"\\udc00"}]}', 'tags[0].value:')
    await refused('experiments/create', '{"name":"m-key","\\ud800":"x"}', '\\ud800: is not well-formed Unicode')
    const search = await mlflow('mlflow/experiments/search', JSON.stringify({ max_results: 1000 }))
    const names = (search.body.experiments as Array<{ name: string }>).map((experiment) => experiment.name)
    expect(names.filter((name) => name.startsWith('m-'))).toEqual([])
  })

  it('runs/log-batch and registered-models/create store nothing on a lone surrogate', async () => {
    await refused('runs/log-batch', JSON.stringify({ run_id: mlflowRunId, metrics: [{ key: 'ok', value: 1, timestamp: 1 }] }).replace('"ok"', '"ok\\ud800"'), 'metrics[0].key:')
    await refused('runs/log-batch', `{"run_id":"${mlflowRunId}","params":[{"key":"p","value":"\\udfff"}]}`, 'params[0].value:')
    const run = await mlflow(`mlflow/runs/get?run_id=${mlflowRunId}`)
    expect(run.body.run.data.metrics ?? []).toEqual([])
    expect(run.body.run.data.params ?? []).toEqual([])
    await refused('registered-models/create', '{"name":"model\\ud800"}', 'name:')
    await refused('registered-models/create', withBytes('{"name":"model\u0000"}', [0xc3]), 'not valid UTF-8')
    const models = await mlflow('mlflow/registered-models/search')
    expect(models.body.registered_models ?? []).toEqual([])
  })

  it('nesting 3,000 and 100,000 deep in an id field is a 400, not a stack overflow', async () => {
    for (const depth of [3_000, 100_000]) {
      await refused('runs/create', `{"experiment_id":${nested(depth)}}`, 'at most 100')
      await refused('runs/log-batch', `{"run_id":${nested(depth)},"metrics":[]}`, 'at most 100')
      await refused('experiments/delete', `{"experiment_id":${nested(depth)}}`, 'at most 100')
    }
  })

  it('keeps malformed JSON a BAD_REQUEST and an empty body an empty request', async () => {
    const malformed = await mlflow('mlflow/runs/log-metric', '{"run_id": ')
    expect(malformed).toMatchObject({ status: 400, body: { error_code: 'BAD_REQUEST' } })
    const empty = await mlflow('mlflow/experiments/create', '')
    expect(empty).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } })
    expect(empty.body.message).toContain("'name'")
  })
})

describe('the serve UI', () => {
  let cookie = ''
  beforeAll(async () => {
    const login = await fetch(env.core.ui!.loginUrl(), { redirect: 'manual' })
    cookie = login.headers.get('set-cookie')!.split(';')[0]!
  })
  const call = (body: string | Buffer, headers: Record<string, string> = {}) =>
    rawRequest(`${env.url}/ui/api/call`, { body, headers: { cookie, ...headers } })

  async function uiExperimentNames(): Promise<string[]> {
    const response = await call('{"name":"experiments.list","input":{}}')
    expect(response.body.ok).toBe(true)
    return (response.body.value as Array<{ name: string }>).map((experiment) => experiment.name)
  }

  it('POST /ui/api/call: invalid bytes, latin1, lone surrogate and deep input are 400s naming the field', async () => {
    const bytes = await call(withBytes('{"name":"experiments.create","input":{"name":"ui-\u0000"}}', [0xff]))
    expect(bytes.status).toBe(400)
    expect(bytes.body).toMatchObject({ ok: false, error: { code: 'invalid_argument', field: 'body' } })
    const latin1 = await call(Buffer.from('{"name":"experiments.create","input":{"name":"ui-é"}}', 'latin1'), { 'content-type': 'application/json; charset=latin1' })
    expect(latin1.body).toMatchObject({ ok: false, error: { field: 'content-type' } })
    const lone = await call('{"name":"experiments.create","input":{"name":"ui-\\ud800"}}')
    expect(lone.status).toBe(400)
    expect(lone.body).toMatchObject({ ok: false, error: { code: 'invalid_argument', field: 'input.name' } })
    for (const depth of [3_000, 100_000]) {
      const deep = await call(`{"name":"experiments.create","input":{"name":"ui-deep","description":${nested(depth)}}}`)
      expect(deep.status).toBe(400)
      expect(deep.body).toMatchObject({ ok: false, error: { field: 'body' } })
    }
    // The wire format's own tags are unwrapped after the checks, and still work.
    const tagged = await call('{"name":"experiments.create","input":{"name":"ui-ok"}}')
    expect(tagged.body.ok).toBe(true)
    expect((await uiExperimentNames()).filter((name) => name.startsWith('ui-'))).toEqual(['ui-ok'])
  })

  it('the WebSocket answers a lone surrogate to its call, and closes on undecodable messages, storing nothing', async () => {
    const port = env.core.http!.port
    const open = async (): Promise<WebSocket> => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ui/ws`, { headers: { cookie } })
      await new Promise((resolve, reject) => {
        socket.once('open', resolve)
        socket.once('error', reject)
      })
      return socket
    }
    const answerTo = (socket: WebSocket, id: number): Promise<{ id: number; outcome: { ok: boolean; error?: { field?: string; code: string } } }> =>
      new Promise((resolve) => {
        const listener = (data: Buffer) => {
          const message = JSON.parse(data.toString('utf8')) as { id?: number }
          if (message.id !== id) return
          socket.off('message', listener)
          resolve(message as never)
        }
        socket.on('message', listener)
      })
    const closeOf = (socket: WebSocket): Promise<number> => new Promise((resolve) => socket.once('close', (code: number) => resolve(code)))

    const socket = await open()
    const answer = answerTo(socket, 7)
    socket.send('{"id":7,"name":"experiments.create","input":{"name":"ws-\\ud800"}}')
    expect(await answer).toMatchObject({ id: 7, outcome: { ok: false, error: { code: 'invalid_argument', field: 'input.name' } } })
    // The socket stays usable after a refused call.
    const next = answerTo(socket, 8)
    socket.send('{"id":8,"name":"experiments.create","input":{"name":"ws-ok"}}')
    expect((await next).outcome.ok).toBe(true)

    const deepClosed = closeOf(socket)
    socket.send(`{"id":9,"name":"experiments.create","input":{"name":"ws-deep","description":${nested(3_000)}}}`)
    expect(await deepClosed).toBe(1008)

    // Invalid UTF-8 in a text frame: the connection ends (1007, invalid payload) before any call.
    const second = await open()
    const bytesClosed = closeOf(second)
    second.send(withBytes('{"id":1,"name":"experiments.create","input":{"name":"ws-\u0000"}}', [0xff]), { binary: false })
    expect(await bytesClosed).toBe(1007)

    expect((await uiExperimentNames()).filter((name) => name.startsWith('ws-'))).toEqual(['ws-ok'])
  })
})
