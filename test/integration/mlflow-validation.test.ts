import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * MLflow request bodies are checked by zod schemas (services/mlflow-schemas.ts) and refused with
 * MLflow's wording, as mlflow's own server tests expect (test_rest_tracking.py): "Missing value
 * for required parameter 'x'", "Invalid value 31 for parameter 'run_id' supplied".
 */

let env: TestCore
let runId = ''

async function post(path: string, body: unknown): Promise<{ status: number; json: { error_code?: string; message?: string } & Record<string, unknown> }> {
  const server = env.core.http!
  const response = await fetch(`${server.url}/api/2.0/mlflow/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  return { status: response.status, json: (await response.json()) as { error_code?: string; message?: string } }
}

async function refused(path: string, body: unknown, message: string): Promise<void> {
  const response = await post(path, body)
  expect(response.status).toBe(400)
  expect(response.json.error_code).toBe('INVALID_PARAMETER_VALUE')
  expect(response.json.message).toContain(message)
}

beforeAll(async () => {
  env = await startTestCore({ http: true })
  const experiment = (await post('experiments/create', { name: 'validation' })).json.experiment_id as string
  runId = ((await post('runs/create', { experiment_id: experiment })).json.run as { info: { run_id: string } }).info.run_id
})

afterAll(async () => {
  await env?.close()
})

describe('MLflow request validation', () => {
  it('experiments/create', async () => {
    await refused('experiments/create', { name: 123 }, "Invalid value 123 for parameter 'name'")
    await refused('experiments/create', {}, "Missing value for required parameter 'name'.")
    await refused('experiments/create', { name: '' }, "Missing value for required parameter 'name'.")
    // JSON.stringify sends 9.0 as 9, so 9 is quoted; a body that says 9.0 is answered "9.0"
    // (mlflow-tracking-conformance.test.ts).
    await refused('experiments/create', { name: 'x', artifact_location: 9.0 }, "Invalid value 9 for parameter 'artifact_location'")
    await refused('experiments/create', { name: 'x', artifact_location: 'here', tags: '5' }, `Invalid value "5" for parameter 'tags'`)
  })

  it('runs/log-metric', async () => {
    const metric = { run_id: runId, key: 'metric', value: 41, timestamp: 59, step: 26 }
    await refused('runs/log-metric', { ...metric, run_id: 31 }, "Invalid value 31 for parameter 'run_id' supplied")
    await refused('runs/log-metric', { ...metric, key: 31 }, "Invalid value 31 for parameter 'key' supplied")
    await refused('runs/log-metric', { ...metric, step: 'foo' }, `Invalid value "foo" for parameter 'step' supplied`)
    await refused('runs/log-metric', { ...metric, timestamp: 'foo' }, `Invalid value "foo" for parameter 'timestamp' supplied`)
    await refused('runs/log-metric', { ...metric, run_id: null }, "Missing value for required parameter 'run_id'")
    await refused('runs/log-metric', { ...metric, key: undefined }, "Missing value for required parameter 'key'")
    await refused('runs/log-metric', { ...metric, key: null }, "Missing value for required parameter 'key'")
    expect((await post('runs/log-metric', metric)).status).toBe(200)
  })

  it('runs/set-tag and runs/log-parameter take string values only', async () => {
    await refused('runs/set-tag', { run_id: 31, key: 'tag', value: 'v' }, "Invalid value 31 for parameter 'run_id' supplied")
    await refused('runs/set-tag', { run_id: runId, key: 'param', value: 41 }, "Invalid value 41 for parameter 'value' supplied")
    await refused('runs/set-tag', { run_id: runId, value: 'value' }, "Missing value for required parameter 'key'")
    await refused('runs/log-parameter', { run_id: runId, key: 'p', value: 41 }, "Invalid value 41 for parameter 'value' supplied")
    await refused('runs/log-parameter', { run_id: runId, key: '../up', value: 'v' }, 'must not resolve to other names')
  })

  it('runs/log-batch', async () => {
    for (const field of ['metrics', 'params', 'tags']) {
      await refused('runs/log-batch', { run_id: runId, [field]: 'foo' }, `Invalid value "foo" for parameter '${field}' supplied`)
    }
    await refused('runs/log-batch', { run_id: runId, metrics: [{ key: 'mae', value: 2.5 }] }, "Missing value for required parameter 'metrics[0].timestamp'")
    expect((await post('runs/log-batch', { run_id: runId, metrics: [{ key: 'mae', value: 2.5, timestamp: 1 }] })).status).toBe(200)
  })

  it('metrics/get-history and runs/update', async () => {
    await refused('runs/update', { run_id: runId, status: 'DONE' }, "Invalid value \"DONE\" for parameter 'status' supplied")
    await refused('runs/update', { run_id: runId, end_time: 'later' }, "Invalid value \"later\" for parameter 'end_time' supplied")
    const server = env.core.http!
    const history = await fetch(`${server.url}/api/2.0/mlflow/metrics/get-history?run_id=${runId}`, { headers: { authorization: `Bearer ${server.token}` } })
    expect(history.status).toBe(400)
    expect(((await history.json()) as { message: string }).message).toContain("Missing value for required parameter 'metric_key'")
  })

  it('searches, the registry and logged models', async () => {
    await refused('runs/search', { experiment_ids: ['0'], max_results: 123456789 }, "Invalid value 123456789 for parameter 'max_results' supplied")
    await refused('experiments/search', { view_type: 'SOME' }, `Invalid value "SOME" for parameter 'view_type' supplied`)
    await refused('registered-models/create', { name: '' }, "Missing value for required parameter 'name'")
    await refused('registered-models/create', { name: 'm', tags: [{ key: 'k', value: 7 }] }, "Invalid value 7 for parameter 'tags[0].value' supplied")
    await refused('registered-models/rename', { name: 'm' }, "Missing value for required parameter 'new_name'")
    await refused('model-versions/create', { name: 'm' }, "Missing value for required parameter 'source'")
    await refused('model-versions/transition-stage', { name: 'm', version: '1', stage: 'Production', archive_existing_versions: 'maybe' }, "parameter 'archive_existing_versions'")
    await refused('logged-models', { experiment_id: '0', params: 'p' }, `Invalid value "p" for parameter 'params' supplied`)
  })
})
