import { join } from 'node:path'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * mlflow's own REST tracking tests (tests/tracking/test_rest_tracking.py, MLflow 3.6), case by
 * case, against the door: the same requests, the same assertions. Python's tests match on the
 * raw response text (`expected in response.text`), so these do too: a message with quotes is
 * checked as it appears inside the JSON (`Invalid value \"foo\" …`).
 */

let env: TestCore

interface Answer {
  status: number
  text: string
  json: Record<string, unknown>
}

async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, options: { body?: string; query?: Record<string, string | number> } = {}): Promise<Answer> {
  const server = env.core.http!
  const url = new URL(`${server.url}${path}`)
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.append(name, String(value))
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: options.body
  })
  const text = await response.text()
  return { status: response.status, text, json: JSON.parse(text) as Record<string, unknown> }
}

/** A POST of a JSON text as written (so a literal like 9.0 reaches the server as Python sends it). */
const postText = (endpoint: string, body: string): Promise<Answer> => call('POST', `/api/2.0/mlflow/${endpoint}`, { body })
const post = (endpoint: string, body: unknown): Promise<Answer> => postText(endpoint, JSON.stringify(body))
const get = (endpoint: string, query: Record<string, string | number>, prefix = '/api/2.0'): Promise<Answer> => call('GET', `${prefix}/mlflow/${endpoint}`, { query })
/** The spec reads metric history pages through /ajax-api, where MLflow's web UI calls. */
const getAjax = (endpoint: string, query: Record<string, string | number>): Promise<Answer> => get(endpoint, query, '/ajax-api/2.0')

async function ok(endpoint: string, body: unknown): Promise<Record<string, unknown>> {
  const answer = await post(endpoint, body)
  expect(answer.status, answer.text).toBe(200)
  return answer.json
}

/** test_rest_tracking.py's assert_bad_request: 400 and the message in the raw response text. */
async function assertBadRequest(endpoint: string, body: unknown, expected: string): Promise<void> {
  const answer = typeof body === 'string' ? await postText(endpoint, body) : await post(endpoint, body)
  expect(answer.status, answer.text).toBe(400)
  expect(answer.text).toContain(expected)
}

async function createExperiment(name: string, tags?: Record<string, string>): Promise<string> {
  const body: Record<string, unknown> = { name }
  if (tags) body.tags = Object.entries(tags).map(([key, value]) => ({ key, value }))
  return (await ok('experiments/create', body)).experiment_id as string
}

async function createRun(experimentId: string, extra: Record<string, unknown> = {}): Promise<string> {
  return ((await ok('runs/create', { experiment_id: experimentId, ...extra })).run as { info: { run_id: string } }).info.run_id
}

async function searchExperimentNames(body: Record<string, unknown> = {}): Promise<{ names: string[]; token: string | undefined }> {
  const json = await ok('experiments/search', { max_results: 1000, ...body })
  const experiments = (json.experiments ?? []) as { name: string }[]
  return { names: experiments.map((experiment) => experiment.name), token: json.next_page_token as string | undefined }
}

// Each case starts on an empty server, as the spec's fixture gives it one.
beforeEach(async () => {
  env = await startTestCore({ http: true })
})

afterEach(async () => {
  await env?.close()
})

describe('test_rest_tracking.py: validation messages', () => {
  it('test_create_experiment_validation', async () => {
    await assertBadRequest('experiments/create', { name: 123 }, "Invalid value 123 for parameter 'name'")
    await assertBadRequest('experiments/create', {}, "Missing value for required parameter 'name'.")
    // Python's json.dumps sends the float 9.0 as "9.0"; MLflow's message quotes that literal.
    await assertBadRequest(
      'experiments/create',
      '{"name": "experiment name", "artifact_location": 9.0, "tags": [{"key": "key", "value": "value"}]}',
      "Invalid value 9.0 for parameter 'artifact_location'"
    )
    await assertBadRequest('experiments/create', { name: 'experiment name', artifact_location: 'my_location', tags: '5' }, `Invalid value \\"5\\" for parameter 'tags'`)
  })

  it('test_log_metric_validation', async () => {
    const experimentId = await createExperiment('metrics validation')
    const runId = await createRun(experimentId)
    await assertBadRequest('runs/log-metric', { run_id: 31, key: 'metric', value: 41, timestamp: 59, step: 26 }, "Invalid value 31 for parameter 'run_id' supplied")
    await assertBadRequest('runs/log-metric', { run_id: runId, key: 31, value: 41, timestamp: 59, step: 26 }, "Invalid value 31 for parameter 'key' supplied")
    await assertBadRequest('runs/log-metric', { run_id: runId, key: 'foo', value: 31, timestamp: 59, step: 'foo' }, `Invalid value \\"foo\\" for parameter 'step' supplied`)
    await assertBadRequest('runs/log-metric', { run_id: runId, key: 'foo', value: 31, timestamp: 'foo', step: 41 }, `Invalid value \\"foo\\" for parameter 'timestamp' supplied`)
    await assertBadRequest('runs/log-metric', { run_id: null, key: 'foo', value: 31, timestamp: 59, step: 41 }, "Missing value for required parameter 'run_id'")
    await assertBadRequest('runs/log-metric', { run_id: runId, value: 31, timestamp: 59, step: 41 }, "Missing value for required parameter 'key'")
    await assertBadRequest('runs/log-metric', { run_id: runId, key: null, value: 31, timestamp: 59, step: 41 }, "Missing value for required parameter 'key'")
  })

  it('test_log_param_validation', async () => {
    const experimentId = await createExperiment('params validation')
    const runId = await createRun(experimentId)
    await assertBadRequest('runs/log-parameter', { run_id: 31, key: 'param', value: 41 }, "Invalid value 31 for parameter 'run_id' supplied")
    await assertBadRequest('runs/log-parameter', { run_id: runId, key: 31, value: 41 }, "Invalid value 31 for parameter 'key' supplied")
  })

  it('test_set_tag_validation', async () => {
    const experimentId = await createExperiment('tags validation')
    const runId = await createRun(experimentId)
    await assertBadRequest('runs/set-tag', { run_id: 31, key: 'tag', value: 41 }, "Invalid value 31 for parameter 'run_id' supplied")
    await assertBadRequest('runs/set-tag', { run_id: runId, key: 'param', value: 41 }, "Invalid value 41 for parameter 'value' supplied")
    await assertBadRequest('runs/set-tag', { run_id: runId, value: 'value' }, "Missing value for required parameter 'key'")
    expect((await post('runs/set-tag', { run_uuid: runId, key: 'key', value: 'value' })).status).toBe(200)
  })

  it('test_log_batch_validation', async () => {
    const experimentId = await createExperiment('log_batch validation')
    const runId = await createRun(experimentId)
    for (const parameter of ['metrics', 'params', 'tags']) {
      await assertBadRequest('runs/log-batch', { run_id: runId, [parameter]: 'foo' }, `Invalid value \\"foo\\" for parameter '${parameter}' supplied`)
    }
    await assertBadRequest('runs/log-batch', { run_id: runId, metrics: [{ key: 'mae', value: 2.5 }] }, "Missing value for required parameter 'metrics[0].timestamp'")
    expect((await post('runs/log-batch', { run_id: runId, metrics: [{ key: 'mae', value: 2.5, timestamp: 123456789 }] })).status).toBe(200)
  })

  it('test_path_validation: artifacts/list, get-artifact and model-versions/get-artifact refuse a path that leaves the run with MLflow\'s exact answer', async () => {
    const experimentId = await createExperiment('tags validation')
    const runId = await createRun(experimentId)
    const refusal = { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' }
    for (const answer of [
      await get('artifacts/list', { run_id: runId, path: '../path' }),
      await call('GET', '/get-artifact', { query: { run_id: runId, path: '../path' } }),
      // The spec writes the URL with a double slash (Flask merges slashes); the path is checked
      // before the model version is looked up, so a version that does not exist still gets it.
      await call('GET', '//model-versions/get-artifact', { query: { name: 'model', version: 1, path: '../path' } }),
      await call('GET', '/model-versions/get-artifact', { query: { name: 'model', version: 1, path: '%2E%2E/path' } })
    ]) {
      expect(answer.status, answer.text).toBe(400)
      expect(answer.json).toEqual(refusal)
    }
  })

  it('get-artifact and model-versions/get-artifact serve a run\'s file, as the files MLflow\'s path check guards', async () => {
    const experimentId = await createExperiment('downloads')
    const runId = await createRun(experimentId)
    const server = env.core.http!
    const upload = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/model/MLmodel`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/octet-stream' },
      body: 'flavors: {}\n'
    })
    expect(upload.status).toBe(200)
    await ok('registered-models/create', { name: 'model' })
    await ok('model-versions/create', { name: 'model', source: `mlflow-artifacts:/${experimentId}/${runId}/artifacts/model`, run_id: runId })

    const download = async (path: string, query: Record<string, string>): Promise<Response> => {
      const url = new URL(`${server.url}${path}`)
      for (const [name, value] of Object.entries(query)) url.searchParams.append(name, value)
      return fetch(url, { headers: { authorization: `Bearer ${server.token}` } })
    }
    const runFile = await download('/get-artifact', { run_id: runId, path: 'model/MLmodel' })
    expect(runFile.status).toBe(200)
    expect(runFile.headers.get('content-disposition')).toBe('attachment; filename="MLmodel"')
    expect(await runFile.text()).toBe('flavors: {}\n')
    const versionFile = await download('/model-versions/get-artifact', { name: 'model', version: '1', path: 'MLmodel' })
    expect(versionFile.status).toBe(200)
    expect(await versionFile.text()).toBe('flavors: {}\n')

    const missingRun = await call('GET', '/get-artifact', { query: { run_id: 'f'.repeat(32), path: 'model/MLmodel' } })
    expect(missingRun.status).toBe(404)
    expect(missingRun.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST')
    const missingVersion = await call('GET', '/model-versions/get-artifact', { query: { name: 'model', version: 7, path: 'MLmodel' } })
    expect(missingVersion.status).toBe(404)
    expect(missingVersion.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST')
    // Files elsewhere (a bucket, a local folder) are not this server's to read.
    await ok('model-versions/create', { name: 'model', source: 's3://bucket/model' })
    const elsewhere = await call('GET', '/model-versions/get-artifact', { query: { name: 'model', version: 2, path: 'MLmodel' } })
    expect(elsewhere.status).toBe(400)
    expect(elsewhere.json).toEqual({ error_code: 'INVALID_PARAMETER_VALUE', message: "The model version's artifacts are at s3://bucket/model, which this server does not serve" })
  })
})

describe('test_rest_tracking.py: orderings and paging', () => {
  it('test_search_experiments: newest first by default, then filters, order_by, paging and view types', async () => {
    expect((await searchExperimentNames()).names[0]).toBe('Default')
    const ids: string[] = []
    for (const [name, tags] of [['a', { key: 'value' }], ['ab', { key: 'vaLue' }], ['Abc', undefined]] as const) {
      // Distinct creation times, as the spec's sleep makes them.
      await new Promise((resolve) => setTimeout(resolve, 2))
      ids.push(await createExperiment(name, tags))
    }
    const names = async (body: Record<string, unknown>): Promise<string[]> => (await searchExperimentNames(body)).names
    expect(await names({ filter: "attribute.name = 'a'" })).toEqual(['a'])
    expect(await names({ filter: "attribute.name != 'a'" })).toEqual(['Abc', 'ab', 'Default'])
    expect(await names({ filter: "name LIKE 'a%'" })).toEqual(['ab', 'a'])
    expect(await names({ filter: "tag.key = 'value'" })).toEqual(['a'])
    expect(await names({ filter: "tag.key != 'value'" })).toEqual(['ab'])
    expect(await names({ filter: "tag.key ILIKE '%alu%'" })).toEqual(['ab', 'a'])
    expect(await names({ order_by: ['name DESC'] })).toEqual(['ab', 'a', 'Default', 'Abc'])

    const first = await ok('experiments/search', { max_results: 2 })
    expect((first.experiments as { name: string }[]).map((experiment) => experiment.name)).toEqual(['Abc', 'ab'])
    const second = await ok('experiments/search', { max_results: 1000, page_token: first.next_page_token })
    expect((second.experiments as { name: string }[]).map((experiment) => experiment.name)).toEqual(['a', 'Default'])

    await new Promise((resolve) => setTimeout(resolve, 2))
    await ok('experiments/delete', { experiment_id: ids[1] })
    expect(await names({ view_type: 'ACTIVE_ONLY' })).toEqual(['Abc', 'a', 'Default'])
    expect(await names({ view_type: 'DELETED_ONLY' })).toEqual(['ab'])
    expect(await names({ view_type: 'ALL' })).toEqual(['Abc', 'ab', 'a', 'Default'])
  })

  it('test_create_get_search_experiment: the last page has no next_page_token', async () => {
    const experimentId = await createExperiment('My Experiment')
    await ok('experiments/delete', { experiment_id: experimentId })
    const active = await ok('experiments/search', { max_results: 1 })
    expect((active.experiments as { name: string }[]).map((experiment) => experiment.name)).toEqual(['Default'])
    expect(active.next_page_token).toBeUndefined()
  })

  it('test_search_pagination: runs of one start time come in run id order, four to a page', async () => {
    const experimentId = await createExperiment('search_pagination')
    const runs: string[] = []
    for (let i = 0; i < 10; i++) runs.push(await createRun(experimentId, { start_time: 1 }))
    runs.sort()
    const page = async (token: unknown): Promise<{ ids: string[]; token: unknown }> => {
      const json = await ok('runs/search', { experiment_ids: [experimentId], max_results: 4, ...(token === undefined ? {} : { page_token: token }) })
      return { ids: ((json.runs ?? []) as { info: { run_id: string } }[]).map((run) => run.info.run_id), token: json.next_page_token }
    }
    const first = await page(undefined)
    expect(first.ids).toEqual(runs.slice(0, 4))
    expect(first.token).toBeDefined()
    const second = await page(first.token)
    expect(second.ids).toEqual(runs.slice(4, 8))
    expect(second.token).toBeDefined()
    const third = await page(second.token)
    expect(third.ids).toEqual(runs.slice(8))
    expect(third.token).toBeUndefined()
  })

  it('test_get_metric_history_respects_max_results and _with_page_token', async () => {
    const experimentId = await createExperiment('test page_token')
    const runId = await createRun(experimentId)
    for (let i = 0; i < 10; i++) await ok('runs/log-metric', { run_id: runId, key: 'test_metric', value: i, step: i, timestamp: 1000 + i })

    const all = await get('metrics/get-history', { run_id: runId, metric_key: 'test_metric' })
    expect((all.json.metrics as unknown[]).length).toBe(10)
    expect(all.json.next_page_token).toBeUndefined()

    const limited = await getAjax('metrics/get-history', { run_id: runId, metric_key: 'test_metric', max_results: 3 })
    expect(limited.status).toBe(200)
    expect((limited.json.metrics as { value: number }[]).map((metric) => metric.value)).toEqual([0, 1, 2])

    const pages: { key: string; value: number; step: number; timestamp: number }[][] = []
    let token: string | undefined
    const tokens: (string | undefined)[] = []
    do {
      const answer = await getAjax('metrics/get-history', { run_id: runId, metric_key: 'test_metric', max_results: 4, ...(token === undefined ? {} : { page_token: token }) })
      expect(answer.status, answer.text).toBe(200)
      pages.push(answer.json.metrics as { key: string; value: number; step: number; timestamp: number }[])
      token = answer.json.next_page_token as string | undefined
      tokens.push(token)
    } while (token !== undefined && pages.length < 5)
    expect(pages.map((metrics) => metrics.length)).toEqual([4, 4, 2])
    expect(tokens.map((value) => value !== undefined)).toEqual([true, true, false])
    const metrics = pages.flat()
    metrics.forEach((metric, i) => expect(metric).toEqual({ key: 'test_metric', value: i, step: i, timestamp: 1000 + i }))

    const invalid = await getAjax('metrics/get-history', { run_id: runId, metric_key: 'test_metric', page_token: 'invalid_token' })
    expect(invalid.status).toBe(400)
    expect(invalid.json.error_code).toBe('INVALID_PARAMETER_VALUE')
  })
})

describe('experiments/search-datasets (test_search_dataset_handler_*)', () => {
  beforeEach(async () => {
    env = await startTestCore({ http: true })
  })
  afterEach(async () => env?.close())

  const search = (body: unknown): Promise<Answer> => call('POST', '/ajax-api/2.0/mlflow/experiments/search-datasets', { body: JSON.stringify(body) })

  it('rejects a request without experiment ids, or with more than 20, with MLflow messages', async () => {
    for (const body of [{}, { experiment_ids: [] }]) {
      const answer = await search(body)
      expect(answer.status).toBe(400)
      expect(answer.json.error_code).toBe('INVALID_PARAMETER_VALUE')
      expect(answer.json.message).toContain('SearchDatasets request must specify at least one experiment_id.')
    }
    const tooMany = await search({ experiment_ids: Array.from({ length: 1000 }, (_, i) => `id_${i}`) })
    expect(tooMany.status).toBe(400)
    expect(tooMany.json.error_code).toBe('INVALID_PARAMETER_VALUE')
    expect(tooMany.json.message).toContain('SearchDatasets request cannot specify more than')
  })

  it('returns each dataset logged to the experiments’ runs with its context tag', async () => {
    const experimentId = await createExperiment('log inputs test')
    const runId = await createRun(experimentId)
    const dataset = { name: 'name1', digest: 'digest1', source_type: 'source_type1', source: 'source1' }
    await ok('runs/log-inputs', { run_id: runId, datasets: [{ dataset, tags: [{ key: 'mlflow.data.context', value: 'training' }] }] })
    // Logged again from another run of another experiment: not in this experiment's answer.
    const other = await createExperiment('other')
    await ok('runs/log-inputs', { run_id: await createRun(other), datasets: [{ dataset: { ...dataset, digest: 'digest2' } }] })

    const answer = await search({ experiment_ids: [experimentId] })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.json.dataset_summaries).toEqual([{ experiment_id: experimentId, name: 'name1', digest: 'digest1', context: 'training' }])
    const both = await search({ experiment_ids: [experimentId, other, 'not-an-id'] })
    expect(both.json.dataset_summaries).toEqual([
      { experiment_id: experimentId, name: 'name1', digest: 'digest1', context: 'training' },
      { experiment_id: other, name: 'name1', digest: 'digest2' }
    ])
  })
})

describe('test_rest_tracking.py: logged models', () => {
  interface LoggedModel {
    model_id: string
    name: string
    tags?: { key: string; value: string }[]
  }
  const createLoggedModel = async (experimentId: string, extra: Record<string, unknown> = {}): Promise<LoggedModel> =>
    ((await ok('logged-models', { experiment_id: experimentId, ...extra })).model as { info: LoggedModel }).info
  const searchNames = async (body: Record<string, unknown>): Promise<{ names: string[]; token: unknown }> => {
    const json = await ok('logged-models/search', body)
    return { names: ((json.models ?? []) as { info: LoggedModel }[]).map((model) => model.info.name), token: json.next_page_token }
  }

  it('test_create_logged_model: a source_run_id no run here has is kept as given; one that exists links the lineage', async () => {
    const experimentId = await createExperiment('create_logged_model_source')
    const orphan = (await ok('logged-models', { experiment_id: experimentId, source_run_id: '123' })).model as { info: LoggedModel & { source_run_id?: string } }
    expect(orphan.info.source_run_id).toBe('123')
    const loaded = (await get(`logged-models/${orphan.info.model_id}`, {})).json.model as { info: { source_run_id?: string } }
    expect(loaded.info.source_run_id).toBe('123')
    // Searchable by it, as MLflow's filter attribute.
    const found = await ok('logged-models/search', { experiment_ids: [experimentId], filter: "source_run_id = '123'" })
    expect(((found.models ?? []) as { info: LoggedModel }[]).map((model) => model.info.model_id)).toEqual([orphan.info.model_id])

    // A run that exists: its uuid comes back, and the lineage links the run (its outputs name the model).
    const run = ((await ok('runs/create', { experiment_id: experimentId })).run as { info: { run_id: string } }).info.run_id
    const linked = (await ok('logged-models', { experiment_id: experimentId, source_run_id: run })).model as { info: LoggedModel & { source_run_id?: string } }
    expect(linked.info.source_run_id).toBe(run)
    const sql = new pg.Client({ connectionString: env.databaseUrl })
    await sql.connect()
    try {
      const { rows } = await sql.query<{ linked: string | null; kept: string | null }>(
        `SELECT r.run_uuid AS linked, lm.mlflow_source_run_id AS kept FROM ml_logged_model lm LEFT JOIN ml_run r ON r.run_id = lm.source_run_id WHERE lm.model_id = $1`,
        [linked.info.model_id]
      )
      expect(rows).toEqual([{ linked: run, kept: null }])
    } finally {
      await sql.end()
    }
  })

  it('test_delete_logged_model_tag: a tag the model does not have is refused with "No tag with key"', async () => {
    const model = await createLoggedModel(await createExperiment('create_logged_model'))
    const tags = call('PATCH', `/api/2.0/mlflow/logged-models/${model.model_id}/tags`, {
      body: JSON.stringify({ tags: [{ key: 'tag1', value: 'value1' }, { key: 'tag2', value: 'value2' }] })
    })
    expect((await tags).status).toBe(200)
    expect((await call('DELETE', `/api/2.0/mlflow/logged-models/${model.model_id}/tags/tag1`)).status).toBe(200)
    const loaded = (await get(`logged-models/${model.model_id}`, {})).json.model as { info: LoggedModel }
    expect(loaded.info.tags).toEqual([{ key: 'tag2', value: 'value2' }])

    const again = await call('DELETE', `/api/2.0/mlflow/logged-models/${model.model_id}/tags/tag1`)
    expect(again.status, again.text).toBe(404)
    expect(again.json).toEqual({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: `No tag with key 'tag1' found for model with ID '${model.model_id}'.` })
    // Nothing changed, and a model that does not exist is still named as such.
    expect(((await get(`logged-models/${model.model_id}`, {})).json.model as { info: LoggedModel }).info.tags).toEqual([{ key: 'tag2', value: 'value2' }])
    const unknown = await call('DELETE', `/api/2.0/mlflow/logged-models/m-${'0'.repeat(32)}/tags/tag2`)
    expect(unknown.status).toBe(404)
    expect(unknown.json.message).toBe(`Logged model with ID 'm-${'0'.repeat(32)}' not found.`)
  })

  it('test_search_logged_models: newest first, paged, filtered by name and by the datasets of their metrics, ordered by creation time', async () => {
    const experimentId = await createExperiment('create_logged_model')
    const model1 = await createLoggedModel(experimentId)
    await new Promise((resolve) => setTimeout(resolve, 2)) // distinct creation times, as the spec's sleep makes them
    expect((await searchNames({ experiment_ids: [experimentId] })).names).toEqual([model1.name])

    const model2 = await createLoggedModel(experimentId)
    const page1 = await searchNames({ experiment_ids: [experimentId], max_results: 1 })
    expect(page1.names).toEqual([model2.name])
    expect(page1.token).toBeDefined()
    const page2 = await searchNames({ experiment_ids: [experimentId], max_results: 1, page_token: page1.token })
    expect(page2.names).toEqual([model1.name])
    expect(page2.token).toBeUndefined()

    expect((await searchNames({ experiment_ids: [experimentId], filter: `name = '${model1.name}'` })).names).toEqual([model1.name])

    const runId = await createRun(experimentId)
    await ok('runs/log-metric', { run_id: runId, key: 'metric', value: 1, timestamp: 1, step: 0, dataset_name: 'dataset', dataset_digest: '123', model_id: model1.model_id })
    expect((await searchNames({ experiment_ids: [experimentId], datasets: [{ dataset_name: 'dataset', dataset_digest: '123' }] })).names).toEqual([model1.name])
    expect((await searchNames({ experiment_ids: [experimentId], datasets: [{ dataset_name: 'dataset' }] })).names).toEqual([model1.name])
    expect((await searchNames({ experiment_ids: [experimentId], datasets: [{ dataset_name: 'dataset', dataset_digest: '456' }] })).names).toEqual([])
    expect((await searchNames({ experiment_ids: [experimentId], datasets: [{ dataset_name: 'other' }, { dataset_name: 'dataset' }] })).names).toEqual([model1.name])
    await assertBadRequest('logged-models/search', { experiment_ids: [experimentId], datasets: [{ dataset_digest: '123' }] }, '`dataset_name` in the `datasets` clause must be specified.')

    const ordered = await searchNames({ experiment_ids: [experimentId], order_by: [{ field_name: 'creation_timestamp', ascending: false }] })
    expect(ordered.names).toEqual([model2.name, model1.name])
    const ascending = await searchNames({ experiment_ids: [experimentId], order_by: [{ field_name: 'creation_timestamp', ascending: true }] })
    expect(ascending.names).toEqual([model1.name, model2.name])
  })
})

describe('orderings are byte-wise, as MLflow sorts, on a database whose collation is not C', () => {
  // A user's own PostgreSQL is often en_US.UTF-8 or ICU, where 'ab' < 'Abc' < 'Default'.
  beforeEach(async () => {
    await env.close()
    env = await startTestCore({ http: true, icuLocale: 'en-US' })
  })

  it('the database itself sorts case-insensitively, so the orderings below are the door’s own', async () => {
    const client = new pg.Client({ connectionString: env.databaseUrl })
    await client.connect()
    try {
      const { rows } = await client.query<{ sorted: string[] }>("SELECT array_agg(x ORDER BY x) AS sorted FROM unnest(ARRAY['Default', 'ab', 'a', 'Abc']) x")
      expect(rows[0]!.sorted).toEqual(['a', 'ab', 'Abc', 'Default'])
    } finally {
      await client.end()
    }
  })

  it('experiments, runs (name, params, tags), registered models, model versions and logged models by name', async () => {
    const experimentIds: string[] = []
    for (const name of ['a', 'ab', 'Abc']) experimentIds.push(await createExperiment(name))
    expect((await searchExperimentNames({ order_by: ['name DESC'] })).names).toEqual(['ab', 'a', 'Default', 'Abc'])
    expect((await searchExperimentNames({ order_by: ['name ASC'] })).names).toEqual(['Abc', 'Default', 'a', 'ab'])

    const experimentId = experimentIds[0]!
    for (const value of ['ab', 'Abc', 'a', 'Default']) {
      await createRun(experimentId, { run_name: value, tags: [{ key: 't', value }] })
    }
    const runIds = ((await ok('runs/search', { experiment_ids: [experimentId] })).runs as { info: { run_id: string; run_name: string } }[]).map((run) => run.info)
    for (const run of runIds) await ok('runs/log-parameter', { run_id: run.run_id, key: 'p', value: run.run_name })
    const runNames = async (orderBy: string): Promise<string[]> =>
      ((await ok('runs/search', { experiment_ids: [experimentId], order_by: [orderBy] })).runs as { info: { run_name: string } }[]).map((run) => run.info.run_name)
    for (const orderBy of ['attributes.run_name ASC', 'params.p ASC', 'tags.t ASC']) expect(await runNames(orderBy)).toEqual(['Abc', 'Default', 'a', 'ab'])
    expect(await runNames('params.p DESC')).toEqual(['ab', 'a', 'Default', 'Abc'])

    for (const name of ['ab', 'Abc', 'a', 'Default']) {
      await ok('registered-models/create', { name })
      await ok('model-versions/create', { name, source: 's3://bucket/model' })
    }
    const models = await get('registered-models/search', {})
    expect((models.json.registered_models as { name: string }[]).map((model) => model.name)).toEqual(['Abc', 'Default', 'a', 'ab'])
    const versions = await get('model-versions/search', { order_by: 'name ASC' })
    expect((versions.json.model_versions as { name: string }[]).map((version) => version.name)).toEqual(['Abc', 'Default', 'a', 'ab'])
    const byTime = await get('model-versions/search', { order_by: 'version_number ASC' })
    // Same version number: the name breaks the tie, byte-wise too.
    expect((byTime.json.model_versions as { name: string }[]).map((version) => version.name)).toEqual(['Abc', 'Default', 'a', 'ab'])

    for (const name of ['ab', 'Abc', 'a', 'Default']) await ok('logged-models', { experiment_id: experimentId, name })
    const logged = await ok('logged-models/search', { experiment_ids: [experimentId], order_by: [{ field_name: 'name', ascending: true }] })
    expect((logged.models as { info: { name: string } }[]).map((model) => model.info.name)).toEqual(['Abc', 'Default', 'a', 'ab'])
  })
})

describe('experiments/create: artifact_location as MLflow stores it', () => {
  it('test_create_get_search_experiment: a relative path is made absolute against the server’s working folder', async () => {
    const experimentId = (
      await ok('experiments/create', {
        name: 'My Experiment',
        artifact_location: 'my_location',
        tags: [
          { key: 'key1', value: 'val1' },
          { key: 'key2', value: 'val2' }
        ]
      })
    ).experiment_id as string
    const experiment = (await get('experiments/get', { experiment_id: experimentId })).json.experiment as Record<string, unknown>
    expect(experiment).toMatchObject({
      name: 'My Experiment',
      artifact_location: join(process.cwd(), 'my_location'),
      tags: [
        { key: 'key1', value: 'val1' },
        { key: 'key2', value: 'val2' }
      ]
    })
    const run = (await ok('runs/create', { experiment_id: experimentId })).run as { info: { run_id: string; artifact_uri: string } }
    expect(run.info.artifact_uri).toBe(`${join(process.cwd(), 'my_location')}/${run.info.run_id}/artifacts`)
  })

  it('resolves file: URIs likewise and keeps absolute paths and other schemes as given', async () => {
    const created = async (name: string, artifactLocation: string): Promise<string> => {
      const experimentId = (await ok('experiments/create', { name, artifact_location: artifactLocation })).experiment_id as string
      return ((await get('experiments/get', { experiment_id: experimentId })).json.experiment as { artifact_location: string }).artifact_location
    }
    expect(await created('relative file uri', 'file:some/./place')).toBe(`file://${join(process.cwd(), 'some/place')}`)
    expect(await created('dot', './here')).toBe(join(process.cwd(), 'here'))
    expect(await created('absolute', '/srv/artifacts')).toBe('/srv/artifacts')
    expect(await created('absolute file uri', 'file:///srv/artifacts')).toBe('file:///srv/artifacts')
    expect(await created('bucket', 's3://bucket/path?versioned=true')).toBe('s3://bucket/path?versioned=true')
  })

  it('refuses fragments, ;params and a query with ".." however encoded, with MLflow’s messages, and creates nothing', async () => {
    const cases: Array<[string, string]> = [
      ['file:///srv/artifacts#fragment', "'artifact_location' URL can't include fragments or params."],
      ['http://host/artifacts;params', "'artifact_location' URL can't include fragments or params."],
      ['s3://bucket/path?prefix=../other', 'Invalid query string'],
      ['s3://bucket/path?prefix=%2E%2E/other', 'Invalid query string'],
      ['s3://bucket/path?prefix=%252E%252E/other', 'Invalid query string']
    ]
    for (const [artifactLocation, message] of cases) {
      const answer = await post('experiments/create', { name: 'refused', artifact_location: artifactLocation })
      expect(answer.status, artifactLocation).toBe(400)
      expect(answer.json).toEqual({ error_code: 'INVALID_PARAMETER_VALUE', message })
    }
    expect((await get('experiments/get-by-name', { experiment_name: 'refused' })).status).toBe(404)
  })
})

describe('test_delete_restore_experiment_cli and test_rename_experiment_cli: the REST calls `mlflow experiments …` makes', () => {
  const experiment = async (experimentId: string): Promise<{ name: string; lifecycle_stage: string }> =>
    (await get('experiments/get', { experiment_id: experimentId })).json.experiment as { name: string; lifecycle_stage: string }

  it('create, then find by name; delete and restore; rename', async () => {
    await ok('experiments/create', { name: 'DeleteriousCLI' })
    const byName = await get('experiments/get-by-name', { experiment_name: 'DeleteriousCLI' })
    expect(byName.status, byName.text).toBe(200)
    const experimentId = (byName.json.experiment as { experiment_id: string }).experiment_id
    expect((await experiment(experimentId)).lifecycle_stage).toBe('active')
    await ok('experiments/delete', { experiment_id: experimentId })
    expect((await experiment(experimentId)).lifecycle_stage).toBe('deleted')
    await ok('experiments/restore', { experiment_id: experimentId })
    expect((await experiment(experimentId)).lifecycle_stage).toBe('active')

    await ok('experiments/create', { name: 'CLIBadName' })
    const badId = ((await get('experiments/get-by-name', { experiment_name: 'CLIBadName' })).json.experiment as { experiment_id: string }).experiment_id
    expect((await experiment(badId)).name).toBe('CLIBadName')
    await ok('experiments/update', { experiment_id: badId, new_name: 'CLIGoodName' })
    expect((await experiment(badId)).name).toBe('CLIGoodName')
    expect((await get('experiments/get-by-name', { experiment_name: 'CLIBadName' })).status).toBe(404)
  })
})
