import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * A client's mistake is a 4xx with the door's one error shape, never a 500 (issue 11 item 11):
 * a NUL in any string parameter of any MLflow route (PostgreSQL text cannot hold one, so it
 * used to surface as SQLSTATE 22021), and numeric filter literals that the compared column
 * cannot hold (`experiment_id > 1.5`, ids past int64) in every door's run search.
 */

let env: TestCore
let experimentId = ''
let runId = ''
let modelId = ''

interface Answer {
  status: number
  json: Record<string, unknown>
}

async function call(method: string, path: string, input?: Record<string, unknown>): Promise<Answer> {
  const server = env.core.http!
  let url = `${server.url}${path}`
  const headers: Record<string, string> = { authorization: `Bearer ${server.token}` }
  let body: string | undefined
  if (method === 'GET' && input) {
    const query = new URLSearchParams()
    for (const [key, value] of Object.entries(input)) for (const item of [value].flat()) query.append(key, String(item))
    url += `?${query.toString()}`
  } else if (input) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(input)
  }
  const response = await fetch(url, { method, headers, body })
  const text = await response.text()
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }
}

const mlflow = (path: string): string => `/api/2.0/mlflow/${path}`

beforeAll(async () => {
  env = await startTestCore({ http: true })
  experimentId = (await call('POST', mlflow('experiments/create'), { name: 'bad-input' })).json.experiment_id as string
  runId = ((await call('POST', mlflow('runs/create'), { experiment_id: experimentId })).json.run as { info: { run_id: string } }).info.run_id
  await call('POST', mlflow('registered-models/create'), { name: 'm' })
  await call('POST', mlflow('model-versions/create'), { name: 'm', source: 'models:/x', run_id: runId })
  modelId = ((await call('POST', mlflow('logged-models'), { experiment_id: experimentId, name: 'lm' })).json.model as { info: { model_id: string } }).info.model_id
  await call('PUT', `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/file.txt`)
})

afterAll(async () => {
  await env?.close()
})

/**
 * Every MLflow route with a request it accepts. `params` are the route's path parameters (as
 * the request names them); `input` is the query of a GET, else the JSON body.
 */
interface RouteCase {
  method: string
  route: string
  path: (params: Record<string, string>) => string
  params?: Record<string, string>
  input?: Record<string, unknown>
}

function routeCases(): RouteCase[] {
  const tracking = (method: string, route: string, input: Record<string, unknown>): RouteCase => ({ method, route: `/api/2.0/mlflow/${route}`, path: () => mlflow(route), input })
  const version = { name: 'm', version: '1' }
  const tag = { key: 'k', value: 'v' }
  const loggedModel = (method: string, suffix: string, input?: Record<string, unknown>, extra: Record<string, string> = {}): RouteCase => ({
    method,
    route: `/api/2.0/mlflow/logged-models/:modelId${suffix}`,
    params: { model_id: modelId, ...extra },
    path: (params) => mlflow(`logged-models/${encodeURIComponent(params.model_id!)}${suffix.replace(':key', encodeURIComponent(params.key ?? ''))}`),
    input
  })
  const artifact = (method: string): RouteCase => ({
    method,
    route: '/api/2.0/mlflow-artifacts/artifacts/*',
    params: { path: `${experimentId}/${runId}/artifacts/file.txt` },
    path: (params) => `/api/2.0/mlflow-artifacts/artifacts/${params.path!.split('/').map(encodeURIComponent).join('/')}`
  })
  return [
    tracking('POST', 'experiments/create', { name: 'e2', artifact_location: 'here', tags: [tag] }),
    tracking('GET', 'experiments/get', { experiment_id: experimentId }),
    tracking('GET', 'experiments/get-by-name', { experiment_name: 'bad-input' }),
    tracking('GET', 'experiments/search', { filter: "name = 'x'", page_token: '', order_by: 'name', view_type: 'ALL' }),
    tracking('POST', 'experiments/search', { filter: "name = 'x'", order_by: ['name'], view_type: 'ALL' }),
    tracking('POST', 'experiments/update', { experiment_id: experimentId, new_name: 'bad-input-2' }),
    tracking('POST', 'experiments/delete', { experiment_id: experimentId }),
    tracking('POST', 'experiments/restore', { experiment_id: experimentId }),
    tracking('POST', 'experiments/set-experiment-tag', { experiment_id: experimentId, ...tag }),
    tracking('POST', 'experiments/delete-experiment-tag', { experiment_id: experimentId, key: 'k' }),
    tracking('POST', 'experiments/search-datasets', { experiment_ids: [experimentId] }),
    tracking('POST', 'runs/create', { experiment_id: experimentId, run_name: 'r', user_id: 'u', tags: [tag] }),
    tracking('GET', 'runs/get', { run_id: runId }),
    tracking('POST', 'runs/update', { run_id: runId, status: 'RUNNING', run_name: 'r' }),
    tracking('POST', 'runs/delete', { run_id: runId }),
    tracking('POST', 'runs/restore', { run_id: runId }),
    tracking('POST', 'runs/log-metric', { run_id: runId, key: 'loss', value: 1, timestamp: 1, step: 1 }),
    tracking('POST', 'runs/log-parameter', { run_id: runId, key: 'p', value: 'v' }),
    tracking('POST', 'runs/set-tag', { run_id: runId, ...tag }),
    tracking('POST', 'runs/delete-tag', { run_id: runId, key: 'k' }),
    tracking('POST', 'runs/log-batch', { run_id: runId, metrics: [{ key: 'a', value: 1, timestamp: 1, step: 0 }], params: [{ key: 'q', value: 'v' }], tags: [tag] }),
    tracking('POST', 'runs/log-model', { run_id: runId, model_json: '{}' }),
    tracking('POST', 'runs/log-inputs', { run_id: runId, datasets: [{ dataset: { name: 'd', digest: 'x', source_type: 'local', source: 's' } }] }),
    tracking('POST', 'runs/outputs', { run_id: runId, models: [{ model_id: modelId }] }),
    tracking('POST', 'runs/search', { experiment_ids: [experimentId], filter: "tags.k = 'v'", order_by: ['start_time'] }),
    tracking('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss' }),
    tracking('GET', 'metrics/get-history-bulk', { run_id: runId, metric_key: 'loss' }),
    tracking('GET', 'metrics/get-history-bulk-interval', { run_ids: runId, metric_key: 'loss' }),
    {
      // The body is the file: the parameters are in the query.
      method: 'POST',
      route: '/api/2.0/mlflow/upload-artifact',
      params: { run_uuid: runId, path: 'up.txt' },
      path: (params) => `${mlflow('upload-artifact')}?run_uuid=${encodeURIComponent(params.run_uuid!)}&path=${encodeURIComponent(params.path!)}`
    },
    tracking('POST', 'registered-models/create', { name: 'm2', description: 'd', tags: [tag] }),
    tracking('GET', 'registered-models/get', { name: 'm' }),
    tracking('GET', 'registered-models/search', { filter: "name = 'm'", order_by: 'name' }),
    tracking('PATCH', 'registered-models/update', { name: 'm', description: 'd' }),
    tracking('POST', 'registered-models/rename', { name: 'm', new_name: 'm3' }),
    tracking('DELETE', 'registered-models/delete', { name: 'm' }),
    tracking('POST', 'registered-models/set-tag', { name: 'm', ...tag }),
    tracking('DELETE', 'registered-models/delete-tag', { name: 'm', key: 'k' }),
    tracking('GET', 'registered-models/get-latest-versions', { name: 'm', stages: 'None' }),
    tracking('POST', 'registered-models/get-latest-versions', { name: 'm', stages: ['None'] }),
    tracking('POST', 'registered-models/alias', { ...version, alias: 'champion' }),
    tracking('GET', 'registered-models/alias', { name: 'm', alias: 'champion' }),
    tracking('DELETE', 'registered-models/alias', { name: 'm', alias: 'champion' }),
    tracking('POST', 'model-versions/create', { name: 'm', source: 's', run_id: runId, run_link: 'l', description: 'd', tags: [tag] }),
    tracking('GET', 'model-versions/get', version),
    tracking('GET', 'model-versions/search', { filter: "name = 'm'", order_by: 'name' }),
    tracking('PATCH', 'model-versions/update', { ...version, description: 'd' }),
    tracking('DELETE', 'model-versions/delete', version),
    tracking('POST', 'model-versions/transition-stage', { ...version, stage: 'Staging', archive_existing_versions: 'false' }),
    tracking('POST', 'model-versions/set-tag', { ...version, ...tag }),
    tracking('DELETE', 'model-versions/delete-tag', { ...version, key: 'k' }),
    tracking('GET', 'model-versions/get-download-uri', version),
    tracking('POST', 'logged-models', { experiment_id: experimentId, name: 'n', model_type: 't', source_run_id: runId, params: [{ key: 'p', value: 'v' }], tags: [tag] }),
    tracking('POST', 'logged-models/search', { experiment_ids: [experimentId], filter: "name = 'n'", order_by: [{ field_name: 'name' }], datasets: [{ dataset_name: 'd', dataset_digest: 'x' }] }),
    loggedModel('GET', ''),
    loggedModel('PATCH', '', { status: 'LOGGED_MODEL_READY' }),
    loggedModel('DELETE', ''),
    loggedModel('PATCH', '/tags', { tags: [tag] }),
    loggedModel('DELETE', '/tags/:key', undefined, { key: 'k' }),
    loggedModel('POST', '/params', { params: [{ key: 'p', value: 'v' }] }),
    loggedModel('GET', '/artifacts/directories', { artifact_directory_path: 'd' }),
    loggedModel('GET', '/artifacts/files', { artifact_file_path: 'MLmodel' }),
    { method: 'GET', route: '/api/2.0/mlflow-artifacts/artifacts', path: () => '/api/2.0/mlflow-artifacts/artifacts', input: { path: `${experimentId}/${runId}/artifacts` } },
    artifact('GET'),
    artifact('PUT'),
    artifact('DELETE'),
    { method: 'GET', route: '/api/2.0/mlflow/artifacts/list', path: () => mlflow('artifacts/list'), input: { run_id: runId, path: 'dir' } }
  ]
}

/** `input` with the string at a dotted/indexed path replaced by `text`. */
function withValueAt(input: Record<string, unknown>, path: Array<string | number>, text: string): Record<string, unknown> {
  const copy = structuredClone(input)
  let target: Record<string | number, unknown> = copy
  for (const part of path.slice(0, -1)) target = target[part] as Record<string | number, unknown>
  target[path[path.length - 1]!] = text
  return copy
}

function stringPaths(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof value === 'string') return [path]
  if (Array.isArray(value)) return value.flatMap((item, index) => stringPaths(item, [...path, index]))
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => stringPaths(item, [...path, key]))
  return []
}

function parameterName(path: ReadonlyArray<string | number>): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '')
}

describe('a NUL in any string parameter of any MLflow route', () => {
  it('has a case for every MLflow route the server registers', () => {
    const registered = env.core
      .http!.routes.filter((route) => route.url.startsWith('/api/2.0/') && route.method !== 'HEAD')
      .map((route) => `${route.method} ${route.url}`)
    const covered = new Set(routeCases().map((entry) => `${entry.method} ${entry.route}`))
    expect(registered.filter((route) => !covered.has(route))).toEqual([])
  })

  it('is refused with 400 INVALID_PARAMETER_VALUE naming the parameter, in a body, a query or a path', async () => {
    const failures: string[] = []
    for (const entry of routeCases()) {
      const targets: Array<{ name: string; request: () => Promise<Answer> }> = []
      for (const path of stringPaths(entry.input ?? {})) {
        for (const text of ['\u0000', `${String(path.reduce<unknown>((v, p) => (v as Record<string | number, unknown>)[p], entry.input))}\u0000`]) {
          targets.push({ name: parameterName(path), request: () => call(entry.method, entry.path(entry.params ?? {}), withValueAt(entry.input!, path, text)) })
        }
      }
      for (const [name, value] of Object.entries(entry.params ?? {})) {
        for (const text of ['\u0000', `${value}\u0000`]) {
          targets.push({ name, request: () => call(entry.method, entry.path({ ...entry.params, [name]: text }), entry.input) })
        }
      }
      for (const target of targets) {
        const answer = await target.request()
        const ok =
          answer.status === 400 &&
          answer.json.error_code === 'INVALID_PARAMETER_VALUE' &&
          typeof answer.json.message === 'string' &&
          answer.json.message.includes(`parameter '${target.name}'`) &&
          answer.json.message.includes('NUL')
        if (!ok) failures.push(`${entry.method} ${entry.route} ${target.name}: ${answer.status} ${JSON.stringify(answer.json)}`)
      }
    }
    expect(failures).toEqual([])
  })

  it("words it as MLflow does: Invalid value \"…\" for parameter 'x' supplied", async () => {
    const answer = await call('POST', mlflow('model-versions/create'), { name: 'm\u0000', source: 's' })
    expect(answer).toEqual({
      status: 400,
      json: { error_code: 'INVALID_PARAMETER_VALUE', message: `Invalid value "m\\u0000" for parameter 'name' supplied: must not contain a NUL byte` }
    })
    const path = await call('GET', mlflow('logged-models/%00'))
    expect(path).toEqual({
      status: 400,
      json: { error_code: 'INVALID_PARAMETER_VALUE', message: `Invalid value "\\u0000" for parameter 'model_id' supplied: must not contain a NUL byte` }
    })
  })
})

describe('numeric filter literals the compared column cannot hold', () => {
  const cases: Array<{ filter: string; says: RegExp }> = [
    { filter: 'experiment_id > 1.5', says: /experiment_id compares with whole numbers/ },
    { filter: 'experiment_id in (1.5, 2)', says: /experiment_id compares with whole numbers/ },
    { filter: "experiment_id = '1.5'", says: /experiment_id compares with whole numbers/ },
    { filter: 'experiment_id = 99999999999999999999', says: /experiment_id .*out of range/ },
    { filter: "experiment_id = '-99999999999999999999'", says: /experiment_id .*out of range/ },
    { filter: 'run_id >= 0.5', says: /run_id compares with a run id in quotes/ }
  ]

  it("are invalid_argument naming the filter in the UI's runs.search (the contract)", async () => {
    for (const { filter, says } of cases) {
      const outcome = await env.core.contract.dispatch('runs.search', { experimentId: Number(experimentId), filter })
      expect(outcome, filter).toMatchObject({ ok: false, error: { code: 'invalid_argument', field: 'filter', message: expect.stringMatching(says) } })
    }
  })

  it("are 400 INVALID_PARAMETER_VALUE in MLflow's runs/search and experiments/search", async () => {
    for (const { filter, says } of cases) {
      const answer = await call('POST', mlflow('runs/search'), { experiment_ids: [experimentId], filter })
      expect(answer.status, filter).toBe(400)
      expect(answer.json, filter).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringMatching(says) })
    }
    const experiments = await call('POST', mlflow('experiments/search'), { filter: 'experiment_id = 99999999999999999999' })
    expect(experiments.status).toBe(400)
    expect(experiments.json).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringMatching(/experiment_id .*out of range/) })
  })

  it('still finds runs by whole-number ids and by run id in quotes', async () => {
    const byExperiment = await env.core.contract.dispatch('runs.search', { experimentId: Number(experimentId), filter: `experiment_id = ${experimentId}` })
    expect(byExperiment).toMatchObject({ ok: true })
    expect((byExperiment as { value: unknown[] }).value.length).toBeGreaterThan(0)
    const byRun = await call('POST', mlflow('runs/search'), { experiment_ids: [experimentId], filter: `run_id = '${runId}'` })
    expect((byRun.json.runs as unknown[]).length).toBe(1)
  })
})
