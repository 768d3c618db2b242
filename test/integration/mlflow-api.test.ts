import { mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'

/** MLflow's rules beyond the recorded traces: limits, error codes, exact values, search, artifacts. */

let core: TestCore
let experimentId: string
let runId: string

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const server = core.core.http!
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  const text = await response.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    // a download
  }
  return { status: response.status, json, text }
}

const post = (path: string, body: unknown) => call('POST', `/api/2.0/mlflow/${path}`, body)

beforeAll(async () => {
  core = await startTestCore({ http: true })
  experimentId = (await post('experiments/create', { name: 'rules' })).json.experiment_id as string
  const run = (await post('runs/create', { experiment_id: experimentId, start_time: 1700000000000 })).json.run as { info: { run_id: string } }
  runId = run.info.run_id
})

afterAll(async () => {
  await core?.close()
})

describe('MLflow limits and errors', () => {
  const metric = (step: number) => ({ key: 'm', value: 1, timestamp: 1, step })
  const invalid = { error_code: 'INVALID_PARAMETER_VALUE' }

  it.each([
    ['1001 metrics', { metrics: Array.from({ length: 1001 }, (_, i) => metric(i)) }],
    ['101 params', { params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' })) }],
    ['101 tags', { tags: Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: 'v' })) }],
    ['1001 entities', { metrics: Array.from({ length: 950 }, (_, i) => metric(i)), params: Array.from({ length: 51 }, (_, i) => ({ key: `q${i}`, value: 'v' })) }],
    ['a 251-character key', { metrics: [{ ...metric(0), key: 'k'.repeat(251) }] }],
    ['a 6001-character param value', { params: [{ key: 'p', value: 'x'.repeat(6001) }] }],
    ['an 8001-character tag value', { tags: [{ key: 't', value: 'x'.repeat(8001) }] }],
    ['a body over 1 MB', { tags: [{ key: 'pad', value: 'x' }], padding: 'x'.repeat(1_000_001) }]
  ])('log-batch refuses %s with 400 INVALID_PARAMETER_VALUE and writes nothing', async (_, batch) => {
    const response = await post('runs/log-batch', { run_id: runId, ...batch })
    expect(response.status).toBe(400)
    expect(response.json).toMatchObject(invalid)
    const run = (await call('GET', `/api/2.0/mlflow/runs/get?run_id=${runId}`)).json.run as { data: { params?: unknown[]; metrics?: unknown[] } }
    expect(run.data.params).toBeUndefined()
    expect(run.data.metrics).toBeUndefined()
  })

  it('accepts the limits themselves: 1000 metrics, a 6000-character param, an 8000-character tag', async () => {
    expect((await post('runs/log-batch', { run_id: runId, metrics: Array.from({ length: 1000 }, (_, i) => metric(i)) })).status).toBe(200)
    expect((await post('runs/log-parameter', { run_id: runId, key: 'long', value: 'x'.repeat(6000) })).status).toBe(200)
    expect((await post('runs/set-tag', { run_id: runId, key: 'long', value: 'x'.repeat(8000) })).status).toBe(200)
  })

  it('keeps params write-once: the same value is fine, another is INVALID_PARAMETER_VALUE', async () => {
    expect((await post('runs/log-parameter', { run_id: runId, key: 'lr', value: '0.1' })).status).toBe(200)
    expect((await post('runs/log-batch', { run_id: runId, params: [{ key: 'lr', value: '0.1' }] })).status).toBe(200)
    const changed = await post('runs/log-parameter', { run_id: runId, key: 'lr', value: '0.2' })
    expect(changed.status).toBe(400)
    expect(changed.json.error_code).toBe('INVALID_PARAMETER_VALUE')
    expect(changed.json.message).toContain("Param with key='lr' was already logged with value='0.1'")
  })

  it('stores a log-batch whole or not at all: a refused param keeps its metrics and tags out', async () => {
    const fresh = (await post('runs/create', { experiment_id: experimentId })).json.run as { info: { run_id: string } }
    const id = fresh.info.run_id
    expect((await post('runs/log-batch', { run_id: id, params: [{ key: 'opt', value: 'adam' }] })).status).toBe(200)
    const refused = await post('runs/log-batch', {
      run_id: id,
      params: [{ key: 'opt', value: 'sgd' }],
      tags: [{ key: 'stage', value: 'warmup' }],
      metrics: [{ key: 'loss', value: 1, timestamp: 1, step: 1 }]
    })
    expect(refused.status).toBe(400)
    expect(refused.json.error_code).toBe('INVALID_PARAMETER_VALUE')
    const after = (await call('GET', `/api/2.0/mlflow/runs/get?run_id=${id}`)).json.run as { data: { metrics?: unknown[]; tags?: Array<{ key: string }> } }
    expect(after.data.metrics ?? []).toEqual([])
    expect((after.data.tags ?? []).map((tag) => tag.key)).not.toContain('stage')
  })

  it('hides runs deleted through MLflow from Hypercube lists and run counts', async () => {
    const experiment = (await post('experiments/create', { name: 'deletions' })).json.experiment_id as string
    const kept = ((await post('runs/create', { experiment_id: experiment })).json.run as { info: { run_id: string } }).info.run_id
    const gone = ((await post('runs/create', { experiment_id: experiment })).json.run as { info: { run_id: string } }).info.run_id
    expect((await post('runs/delete', { run_id: gone })).status).toBe(200)
    const { experiments, runs } = core.core.services
    const listed = (await experiments.list({})).find((e) => e.id === Number(experiment))!
    expect(listed.runCount).toBe(1)
    expect((await runs.listByExperiment(Number(experiment))).map((run) => run.uuid)).toEqual([kept])
  })

  it('serves the same calls under /ajax-api/2.0, where MLflow\'s web UI sends them', async () => {
    const created = await call('POST', '/ajax-api/2.0/mlflow/experiments/create', { name: 'through-ajax-api' })
    expect(created.status).toBe(200)
    const experiment = created.json.experiment_id as string
    const run = (await call('POST', '/ajax-api/2.0/mlflow/runs/create', { experiment_id: experiment, run_name: 'ajax' })).json.run as { info: { run_id: string } }
    expect((await call('POST', '/ajax-api/2.0/mlflow/runs/log-metric', { run_id: run.info.run_id, key: 'loss', value: 0.5, timestamp: 1, step: 0 })).status).toBe(200)
    const fetched = await call('GET', `/api/2.0/mlflow/runs/get?run_id=${run.info.run_id}`)
    expect(fetched.json).toMatchObject({ run: { info: { run_name: 'ajax', experiment_id: experiment }, data: { metrics: [{ key: 'loss', value: 0.5 }] } } })
    expect((await call('GET', `/ajax-api/2.0/mlflow/experiments/get?experiment_id=${experiment}`)).json).toMatchObject({ experiment: { name: 'through-ajax-api' } })
    expect(await call('GET', '/ajax-api/2.0/mlflow/runs/get?run_id=0123456789abcdef0123456789abcdef')).toMatchObject({ status: 404, json: { error_code: 'RESOURCE_DOES_NOT_EXIST' } })
  })

  it('answers MLflow error codes: unknown run 404, missing field 400, bad JSON 400, unknown endpoint 404, no token 401', async () => {
    const unknown = await call('GET', '/api/2.0/mlflow/runs/get?run_id=0123456789abcdef0123456789abcdef')
    expect(unknown).toMatchObject({ status: 404, json: { error_code: 'RESOURCE_DOES_NOT_EXIST' } })
    expect(await post('runs/log-metric', { run_id: runId, value: 1, timestamp: 1 })).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE' } })
    expect(await post('runs/log-metric', '{"run_id": ')).toMatchObject({ status: 400, json: { error_code: 'BAD_REQUEST' } })
    expect(await post('runs/no-such-thing', {})).toMatchObject({ status: 404, json: { error_code: 'ENDPOINT_NOT_FOUND' } })
    // Calls of other MLflow API versions the door does not serve (GenAI traces, datasets,
    // scorers): MLflow's 404, so the client reports "endpoint not found", not a parse error.
    for (const [method, path] of [
      ['POST', '/api/3.0/mlflow/traces/search'],
      ['GET', '/api/3.0/mlflow/scorers/list?experiment_id=1'],
      ['GET', '/api/2.11/mlflow/runs/get?run_id=x'],
      ['DELETE', '/api/3.0/mlflow/datasets/d-1'],
      ['POST', '/ajax-api/2.0/mlflow/no-such-thing'],
      // Each out-of-scope family of mlflow's own suites (README: "Not supported yet"), by the
      // very call its test makes first: GenAI tracing (2.0 and 3.0), assessments, evaluation
      // datasets, scorers, prompt-lab runs.
      ['POST', '/api/2.0/mlflow/traces'],
      ['POST', '/api/2.0/mlflow/traces/link-to-run'],
      ['POST', '/api/3.0/mlflow/traces'],
      ['GET', '/api/3.0/mlflow/traces/tr-648a387738a7473f5c691935c86a29d4'],
      ['POST', '/api/3.0/mlflow/traces/calculate-filter-correlation'],
      ['POST', '/api/3.0/mlflow/traces/tr-648a387738a7473f5c691935c86a29d4/assessments'],
      ['POST', '/api/3.0/mlflow/datasets/create'],
      ['POST', '/api/3.0/mlflow/scorers/register'],
      ['POST', '/ajax-api/2.0/mlflow/runs/create-promptlab-run'],
      ['GET', '/ajax-api/3.0/mlflow/traces/tr-648a387738a7473f5c691935c86a29d4']
    ] as const) {
      const answer = await call(method, path, method === 'GET' || method === 'DELETE' ? undefined : {})
      expect(answer, `${method} ${path}`).toMatchObject({ status: 404, json: { error_code: 'ENDPOINT_NOT_FOUND' } })
      // MLflow's error shape exactly: the code and a message, nothing else.
      expect(Object.keys(answer.json as object).sort(), `${method} ${path}`).toEqual(['error_code', 'message'])
      expect((answer.json as { message: unknown }).message).toEqual(expect.stringContaining(path.split('?')[0]!))
    }
    const anonymous = await fetch(`${core.core.http!.url}/api/2.0/mlflow/experiments/get?experiment_id=0`)
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toMatchObject({ error_code: 'UNAUTHENTICATED' })
  })

  it('keeps a metric logged with a model_id on the logged model too, with its dataset (test_log_metric_model)', async () => {
    const experiment = (await post('experiments/create', { name: 'metrics of a logged model' })).json.experiment_id as string
    const run = ((await post('runs/create', { experiment_id: experiment })).json.run as { info: { run_id: string } }).info.run_id
    const modelId = ((await post('logged-models', { experiment_id: experiment })).json.model as { info: { model_id: string } }).info.model_id
    const metric = { run_id: run, key: 'metric', value: 0.5, timestamp: 123456789, step: 1, dataset_name: 'name', dataset_digest: 'digest', model_id: modelId }
    expect((await post('runs/log-metric', metric)).status).toBe(200)
    expect((await post('runs/log-metric', { ...metric, key: 'nan', value: 'NaN', timestamp: 123456790, dataset_name: undefined, dataset_digest: undefined })).status).toBe(200)

    const model = (await call('GET', `/api/2.0/mlflow/logged-models/${modelId}`)).json.model as { data: { metrics: unknown[] } }
    expect(model.data.metrics).toEqual([
      { key: 'metric', value: 0.5, timestamp: 123456789, step: 1, model_id: modelId, dataset_name: 'name', dataset_digest: 'digest', run_id: run },
      { key: 'nan', value: 'NaN', timestamp: 123456790, step: 1, model_id: modelId, run_id: run }
    ])
    // The run has the point as well.
    const history = await call('GET', `/api/2.0/mlflow/metrics/get-history?run_id=${run}&metric_key=metric`)
    expect(history.json.metrics).toEqual([{ key: 'metric', value: 0.5, timestamp: 123456789, step: 1 }])
    // A model that does not exist: refused, and the run gets nothing either.
    const unknown = await post('runs/log-metric', { ...metric, key: 'orphan', model_id: `m-${'0'.repeat(32)}` })
    expect(unknown).toMatchObject({ status: 404, json: { error_code: 'RESOURCE_DOES_NOT_EXIST' } })
    expect((await call('GET', `/api/2.0/mlflow/metrics/get-history?run_id=${run}&metric_key=orphan`)).json.metrics).toBeUndefined()
  })

  it('keeps log-batch metrics that name a logged model on the model too; an unknown model stores nothing', async () => {
    const experiment = (await post('experiments/create', { name: 'batch metrics of a logged model' })).json.experiment_id as string
    const run = ((await post('runs/create', { experiment_id: experiment })).json.run as { info: { run_id: string } }).info.run_id
    const modelId = ((await post('logged-models', { experiment_id: experiment })).json.model as { info: { model_id: string } }).info.model_id
    const metrics = [
      { key: 'eval_acc', value: 0.9, timestamp: 1000, step: 2, model_id: modelId, dataset_name: 'val', dataset_digest: 'd1' },
      { key: 'train_loss', value: 0.3, timestamp: 1001, step: 2 }
    ]
    expect((await post('runs/log-batch', { run_id: run, metrics })).status).toBe(200)
    const model = (await call('GET', `/api/2.0/mlflow/logged-models/${modelId}`)).json.model as { data: { metrics: unknown[] } }
    expect(model.data.metrics).toEqual([{ key: 'eval_acc', value: 0.9, timestamp: 1000, step: 2, model_id: modelId, dataset_name: 'val', dataset_digest: 'd1', run_id: run }])
    expect((await call('GET', `/api/2.0/mlflow/metrics/get-history?run_id=${run}&metric_key=train_loss`)).json.metrics).toEqual([{ key: 'train_loss', value: 0.3, timestamp: 1001, step: 2 }])

    const unknown = await post('runs/log-batch', { run_id: run, metrics: [{ key: 'orphan', value: 1, timestamp: 5, step: 0, model_id: `m-${'0'.repeat(32)}` }] })
    expect(unknown).toMatchObject({ status: 404, json: { error_code: 'RESOURCE_DOES_NOT_EXIST' } })
    expect((await call('GET', `/api/2.0/mlflow/metrics/get-history?run_id=${run}&metric_key=orphan`)).json.metrics).toBeUndefined()
    const badId = await post('runs/log-batch', { run_id: run, metrics: [{ key: 'k', value: 1, timestamp: 5, model_id: 7 }] })
    expect(badId).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining("'metrics[0].model_id'") } })
  })

  it('lets a finished run be resumed and finished again, as the client does with start_run(run_id=…)', async () => {
    const run = (await post('runs/create', { experiment_id: experimentId })).json.run as { info: { run_id: string } }
    expect((await post('runs/update', { run_id: run.info.run_id, status: 'FINISHED', end_time: 1700000000500 })).json.run_info).toMatchObject({ status: 'FINISHED', end_time: 1700000000500 })
    expect((await post('runs/update', { run_id: run.info.run_id, status: 'RUNNING' })).json.run_info).toMatchObject({ status: 'RUNNING' })
    const info = (await post('runs/update', { run_id: run.info.run_id, status: 'KILLED', end_time: 1700000000900 })).json.run_info as Record<string, unknown>
    expect(info).toMatchObject({ status: 'KILLED', end_time: 1700000000900 })
  })
})

describe('MLflow values kept exactly', () => {
  it('stores NaN, ±Infinity, -0 and a step past 2^53 exactly and pages the history', async () => {
    const run = (await post('runs/create', { experiment_id: experimentId })).json.run as { info: { run_id: string } }
    const id = run.info.run_id
    // A step past 2^53 sent as a JSON number literal, as Python's json does.
    const body = `{"run_id": "${id}", "metrics": [{"key": "x", "value": "NaN", "timestamp": 1, "step": 0}, {"key": "x", "value": "Infinity", "timestamp": 2, "step": 1},
      {"key": "x", "value": "-Infinity", "timestamp": 3, "step": 2}, {"key": "x", "value": -0.0, "timestamp": 4, "step": 3},
      {"key": "x", "value": 1.5, "timestamp": 5, "step": 9007199254740993}]}`
    expect((await post('runs/log-batch', body)).status).toBe(200)
    const first = await call('GET', `/api/2.0/mlflow/metrics/get-history?run_id=${id}&metric_key=x&max_results=3`)
    expect(first.text).toContain('"value":"NaN"')
    expect(first.text).toContain('"value":"Infinity"')
    expect(first.text).toContain('"value":"-Infinity"')
    expect(first.json.next_page_token).toEqual(expect.any(String))
    const second = await call('GET', `/api/2.0/mlflow/metrics/get-history?run_id=${id}&metric_key=x&max_results=3&page_token=${encodeURIComponent(first.json.next_page_token as string)}`)
    expect(second.text).toContain('"value":-0.0')
    expect(second.text).toContain('"step":"9007199254740993"')
    expect(second.json.next_page_token).toBeUndefined()
  })
})

describe('MLflow runs/search', () => {
  it('understands MLflow filters plus OR and parentheses, order_by and page tokens', async () => {
    const { experiment_id: searchExperiment } = (await post('experiments/create', { name: 'search' })).json as { experiment_id: string }
    const ids: string[] = []
    for (const [i, lr] of ['0.1', '0.01', '0.001'].entries()) {
      const run = (await post('runs/create', { experiment_id: searchExperiment, run_name: `r${i}` })).json.run as { info: { run_id: string } }
      ids.push(run.info.run_id)
      await post('runs/log-batch', { run_id: run.info.run_id, params: [{ key: 'lr', value: lr }], metrics: [{ key: 'loss', value: i, timestamp: 1, step: 0 }], tags: [{ key: 'team', value: i === 2 ? 'b' : 'a' }] })
    }
    const search = async (filter: string, extra: Record<string, unknown> = {}) =>
      (await post('runs/search', { experiment_ids: [searchExperiment], filter, ...extra })).json as { runs?: { info: { run_name: string } }[]; next_page_token?: string }
    const names = (result: { runs?: { info: { run_name: string } }[] }) => (result.runs ?? []).map((run) => run.info.run_name)
    expect(names(await search("metrics.loss < 1 and params.lr = '0.1'"))).toEqual(['r0'])
    expect(names(await search("(params.lr = '0.1' or tags.team = 'b') and metrics.loss >= 0", { order_by: ['metrics.loss DESC'] }))).toEqual(['r2', 'r0'])
    expect(names(await search("attributes.run_name IN ('r1', 'r2')", { order_by: ['attributes.run_name ASC'] }))).toEqual(['r1', 'r2'])
    const page1 = await search('', { max_results: 2, order_by: ['metrics.loss ASC'] })
    expect(names(page1)).toEqual(['r0', 'r1'])
    expect(names(await search('', { max_results: 2, order_by: ['metrics.loss ASC'], page_token: page1.next_page_token }))).toEqual(['r2'])
    expect(await post('runs/search', { experiment_ids: [searchExperiment], filter: 'metrics.loss <' })).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE' } })
  })
})

describe('mlflow-artifacts', () => {
  const artifacts = () => `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts`

  it('round-trips a file, records its size and BLAKE3, lists and deletes it', async () => {
    const put = await call('PUT', `${artifacts()}/dir/data.bin`, 'hello artifact', { 'content-type': 'application/octet-stream' })
    expect(put.status).toBe(200)
    expect((await call('GET', `${artifacts()}/dir/data.bin`)).text).toBe('hello artifact')
    const listed = await call('GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${experimentId}/${runId}/artifacts/dir`)}`)
    expect(listed.json).toEqual({ files: [{ path: 'data.bin', is_dir: false, file_size: 14 }] })
    const run = await core.core.services.runs.findByUuid(runId)
    const recorded = await core.core.services.artifacts.list(run!.id)
    expect(recorded.find((artifact) => artifact.path === 'dir/data.bin')).toMatchObject({ sizeBytes: 14, blake3: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect((await call('DELETE', `${artifacts()}/dir/data.bin`)).status).toBe(200)
    expect((await call('GET', `${artifacts()}/dir/data.bin`)).status).toBe(404)
  })

  it("takes an upload from MLflow's web UI (ajax-api upload-artifact) and serves it back at /get-artifact", async () => {
    const upload = (query: string, body?: string, headers: Record<string, string> = {}) => call('POST', `/ajax-api/2.0/mlflow/upload-artifact${query}`, body, headers)
    const refusedWith = async (answer: ReturnType<typeof upload>, message: string) => expect(await answer).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining(message) } })
    await refusedWith(upload(''), 'Request must specify run_uuid.')
    await refusedWith(upload(`?run_uuid=${runId}`), 'Request must specify path.')
    await refusedWith(upload(`?run_uuid=${runId}&path=`), 'Request must specify path.')
    await refusedWith(upload(`?run_uuid=${runId}&path=..%2Ftest.txt`), 'Invalid path')
    await refusedWith(upload(`?run_uuid=${runId}&path=test.txt`), 'Request must specify data.')
    // Python's requests sends data="hello world" with no content type at all (as fetch sends bytes).
    const server = core.core.http!
    const plain = await fetch(`${server.url}/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${runId}&path=test.txt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
      body: new TextEncoder().encode('hello world')
    })
    expect(plain.headers.get('content-type')).toContain('application/json')
    expect(plain.status, await plain.clone().text()).toBe(200)
    expect((await upload(`?run_uuid=${runId}&path=notes%2Fa.md`, '# a', { 'content-type': 'text/markdown' })).status).toBe(200)

    const downloaded = await call('GET', `/get-artifact?run_uuid=${runId}&path=test.txt`)
    expect(downloaded).toMatchObject({ status: 200, text: 'hello world' })
    expect((await call('GET', `/get-artifact?run_uuid=${runId}&path=notes%2Fa.md`)).text).toBe('# a')
    expect(await call('GET', `/get-artifact?run_uuid=${'0'.repeat(32)}&path=test.txt`)).toMatchObject({ status: 404, json: { error_code: 'RESOURCE_DOES_NOT_EXIST' } })
    expect(await call('GET', `/get-artifact?run_uuid=${runId}&path=..%2F..%2Fsecret`)).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' } })
  })

  it("lists and serves a logged model's files where MLflow's web UI asks (logged-models/<id>/artifacts/directories and /files)", async () => {
    const created = await post('logged-models', { experiment_id: experimentId, name: 'model' })
    const modelId = (created.json.model as { info: { model_id: string } }).info.model_id
    const mlmodel = `artifact_path: model\nmodel_id: ${modelId}\nflavors:\n  python_function: {}\n`
    const upload = await call('PUT', `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/models/${modelId}/artifacts/MLmodel`, mlmodel, { 'content-type': 'application/octet-stream' })
    expect(upload.status).toBe(200)
    await call('PUT', `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/models/${modelId}/artifacts/data/weights.bin`, 'w', { 'content-type': 'application/octet-stream' })

    const listed = await call('GET', `/ajax-api/2.0/mlflow/logged-models/${modelId}/artifacts/directories`)
    expect(listed.status).toBe(200)
    expect(listed.json.files).toEqual(
      expect.arrayContaining([
        { path: 'MLmodel', is_dir: false, file_size: Buffer.byteLength(mlmodel) },
        { path: 'data', is_dir: true }
      ])
    )
    expect((await call('GET', `/ajax-api/2.0/mlflow/logged-models/${modelId}/artifacts/directories?artifact_directory_path=data`)).json.files).toEqual([
      { path: 'data/weights.bin', is_dir: false, file_size: 1 }
    ])
    const file = await call('GET', `/ajax-api/2.0/mlflow/logged-models/${modelId}/artifacts/files?artifact_file_path=MLmodel`)
    expect(file.status).toBe(200)
    expect(file.text).toContain(modelId)

    expect(await call('GET', `/ajax-api/2.0/mlflow/logged-models/${modelId}/artifacts/files`)).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE' } })
    expect(await call('GET', `/ajax-api/2.0/mlflow/logged-models/${modelId}/artifacts/files?artifact_file_path=..%2F..%2Fsecret`)).toMatchObject({
      status: 400,
      json: { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' }
    })
    expect(await call('GET', `/ajax-api/2.0/mlflow/logged-models/m-${'0'.repeat(32)}/artifacts/directories`)).toMatchObject({ status: 404, json: { error_code: 'RESOURCE_DOES_NOT_EXIST' } })
  })

  it('deletes a file once when deletes of it race: one 200, the others 404, never a 500', async () => {
    for (let round = 0; round < 10; round++) {
      expect((await call('PUT', `${artifacts()}/race.txt`, 'x', { 'content-type': 'application/octet-stream' })).status).toBe(200)
      const statuses = (await Promise.all(Array.from({ length: 6 }, () => call('DELETE', `${artifacts()}/race.txt`)))).map((answer) => answer.status)
      expect(statuses.sort()).toEqual([200, 404, 404, 404, 404, 404])
    }
  })

  it.each([
    ['..', '../../../etc/passwd'],
    ['percent-encoded ..', '%2e%2e/%2e%2e/secret'],
    ['double-encoded ..', '%252e%252e/secret'],
    ['a backslash', '..%5c..%5csecret'],
    ['NUL', 'a%00b'],
    ['an absolute path', '%2Fetc%2Fpasswd'],
    ['a drive letter', 'C:%5Cwindows']
  ])('refuses a path with %s, with a 4xx and no file written', async (_, path) => {
    const response = await call('PUT', `${artifacts()}/${path}`, 'x', { 'content-type': 'text/plain' })
    expect(response.status).toBeGreaterThanOrEqual(400)
    expect(response.status).toBeLessThan(500)
    expect(response.json.error_code).toEqual(expect.any(String))
  })

  it('refuses to read or write through a symlink that leads out of the run folder', async () => {
    const run = await core.core.services.runs.findByUuid(runId)
    const runDir = join(core.dataDir, 'artifacts', String(run!.experimentId), runId)
    mkdirSync(runDir, { recursive: true })
    symlinkSync('/etc', join(runDir, 'escape'))
    const read = await call('GET', `${artifacts()}/escape/hostname`)
    expect(read.status).toBeGreaterThanOrEqual(400)
    expect(read.status).toBeLessThan(500)
    const write = await call('PUT', `${artifacts()}/escape/planted`, 'x', { 'content-type': 'text/plain' })
    expect(write.status).toBeGreaterThanOrEqual(400)
    expect(write.status).toBeLessThan(500)
  })
})
