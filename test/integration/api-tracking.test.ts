import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HypercubeApiError, type HypercubeClient } from '../../src/client/hypercube-client'
import { rawRequest, startApiTestCore } from '../support/api-env'

let api: Awaited<ReturnType<typeof startApiTestCore>>
let client: HypercubeClient

beforeAll(async () => {
  api = await startApiTestCore()
  client = api.client
})
afterAll(async () => {
  await api?.close()
})

/** The API error a call fails with. */
async function failure(promise: Promise<unknown>): Promise<HypercubeApiError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof HypercubeApiError) return error
    throw error
  }
  throw new Error('expected the call to fail')
}

let experimentCount = 0
async function newRun(hyperparameters = {}) {
  const experiment = await client.createExperiment({ name: `api-${++experimentCount}-${Date.now()}` })
  const run = await client.startRun({ experiment_id: experiment.experiment_id, run_name: 'r1', hyperparameters })
  return { experiment, run }
}

describe('experiments and runs over /v1', () => {
  it('creates, lists and gets experiments (the seed form with a tag list)', async () => {
    const created = await client.createExperiment({ name: 'bert-finetuning', description: 'Fine-tune BERT', tags: ['nlp', 'bert'] })
    expect(created.tags).toEqual({ nlp: '', bert: '' })
    expect((await client.getExperiment(created.experiment_id)).name).toBe('bert-finetuning')
    expect((await client.listExperiments()).map((e) => e.name)).toContain('bert-finetuning')
    const duplicate = await failure(client.createExperiment({ name: 'bert-finetuning' }))
    expect([duplicate.status, duplicate.field]).toEqual([409, 'name'])
  })

  it('starts a run (seed request), gets it with params, tags and metric summary, lists runs with latest metrics', async () => {
    const { experiment, run } = await newRun({ learning_rate: 0.001, batch_size: 32 })
    expect(run).toMatchObject({ experiment_id: experiment.experiment_id, run_name: 'r1', status: 'running', hyperparameters: { learning_rate: 0.001, batch_size: 32 } })
    await client.logMetrics(run.run_id, { loss: 0.45, accuracy: 0.92 }, { step: 100 })
    await client.setTags(run.run_id, { owner: 'ana' })
    const fetched = await client.getRun(run.run_id)
    expect(fetched.tags).toEqual({ owner: 'ana' })
    expect(fetched.metrics!.map((m) => [m.key, m.last_value, m.last_step, m.count])).toEqual([
      ['accuracy', 0.92, 100n, 1],
      ['loss', 0.45, 100n, 1]
    ])
    const listed = await client.listRuns(experiment.experiment_id)
    expect(listed.map((r) => r.run_id)).toEqual([run.run_id])
    expect(listed[0]!.metrics!.find((m) => m.key === 'loss')!.last_value).toBe(0.45)
    expect((await failure(client.listRuns(999_999))).status).toBe(404)
    expect((await failure(client.getRun(999_999))).field).toBe('run_id')
  })

  it('deletes runs and experiments (soft, restore, then permanently: 409 before a soft delete); points go in the background', async () => {
    const { experiment, run } = await newRun()
    await client.logMetrics(run.run_id, { loss: 0.5 }, { step: 1 })
    const call = (method: string, path: string) => rawRequest(`${api.url}${path}`, { method, token: api.token, ...(method === 'POST' ? { body: '{}' } : {}) })
    const experimentPath = `/v1/ml/experiments/${experiment.experiment_id}`

    // Runs.
    expect((await call('DELETE', `/v1/ml/runs/${run.run_id}`)).body.error).toMatchObject({ code: 'conflict', field: 'run_id' })
    expect((await call('POST', `/v1/ml/runs/${run.run_id}/delete`)).body).toEqual({ run_id: run.run_id, deleted: true })
    expect((await call('POST', `/v1/ml/runs/${run.run_id}/restore`)).body).toEqual({ run_id: run.run_id, deleted: false })

    // Experiments: a live one is not deleted permanently; deleting archives it; restore undoes.
    const live = await call('DELETE', experimentPath)
    expect([live.status, live.body.error.code, live.body.error.field]).toEqual([409, 'conflict', 'experiment_id'])
    expect((await call('POST', `${experimentPath}/delete`)).body.status).toBe('archived')
    expect((await call('POST', `${experimentPath}/restore`)).body.status).toBe('active')
    expect((await call('POST', `${experimentPath}/delete`)).status).toBe(200)
    expect((await call('DELETE', experimentPath)).body).toEqual({ experiment_id: experiment.experiment_id, deleted_permanently: true })
    // Gone at once, with its runs; its points wait for the purge.
    expect((await call('GET', experimentPath)).status).toBe(404)
    expect((await failure(client.getRun(run.run_id))).status).toBe(404)
    expect((await client.listExperiments()).map((e) => e.experiment_id)).not.toContain(experiment.experiment_id)
    expect((await call('DELETE', experimentPath)).status).toBe(404)
    expect(await api.core.services.metricPurger!.drain()).toBeGreaterThan(0)
    const defaultExperiment = await call('DELETE', '/v1/ml/experiments/0')
    expect([defaultExperiment.status, defaultExperiment.body.error.field]).toEqual([400, 'experiment_id'])
  })

  it('keeps hyperparameters write-once and names the key in the 409', async () => {
    const { run } = await newRun({ lr: 0.1 })
    await client.setParams(run.run_id, { lr: 0.1, momentum: 0.9 })
    const changed = await failure(client.setParams(run.run_id, { lr: 0.2 }))
    expect(changed.status).toBe(409)
    expect(changed.field).toMatch(/^hyperparameters/)
  })

  it('completes a run once; finishing it again is a 409', async () => {
    const { run } = await newRun()
    const done = await client.completeRun({ run_id: run.run_id, final_metrics: { accuracy: 0.95 }, resources: { gpu_hours: 1.5 }, logs: 'ok' })
    expect(done).toMatchObject({ status: 'completed', final_metrics: { accuracy: 0.95 }, resources: { gpu_hours: 1.5 } })
    const again = await failure(client.completeRun({ run_id: run.run_id, status: 'failed' }))
    expect(again.status).toBe(409)
  })

  it('ranks runs on the leaderboard', async () => {
    const experiment = await client.createExperiment({ name: `leaderboard-${Date.now()}` })
    for (const [name, accuracy] of [['a', 0.7], ['b', 0.9], ['c', 0.8]] as const) {
      const run = await client.startRun({ experiment_id: experiment.experiment_id, run_name: name })
      await client.logMetrics(run.run_id, { accuracy }, { step: 1 })
    }
    const entries = await client.leaderboard({ experiment_id: experiment.experiment_id, metric_name: 'accuracy', limit: 2 })
    expect(entries.map((e) => [e.rank, e.run_name, e.value])).toEqual([
      [1, 'b', 0.9],
      [2, 'c', 0.8]
    ])
    const ascending = await client.leaderboard({ experiment_id: experiment.experiment_id, metric_name: 'accuracy', direction: 'asc' })
    expect(ascending[0]!.run_name).toBe('a')
  })

  it('saves and lists checkpoints; one per step, one best', async () => {
    const { run } = await newRun()
    await client.saveCheckpoint(run.run_id, { path: 'ckpt/100.pt', step: 100, is_best: true, metrics_snapshot: { loss: 0.5 } })
    await client.saveCheckpoint(run.run_id, { path: 'ckpt/200.pt', step: '9007199254740993', is_best: true })
    const checkpoints = await client.listCheckpoints(run.run_id)
    expect(checkpoints.map((c) => [c.step, c.is_best])).toEqual([
      [100n, false],
      [9007199254740993n, true]
    ])
    const sameStep = await failure(client.saveCheckpoint(run.run_id, { path: 'other.pt', step: 100 }))
    expect([sameStep.status, sameStep.field]).toEqual([409, 'step'])
  })
})

describe('ids in URL paths', () => {
  it('accept canonical decimal digits only, so one resource has one spelling', async () => {
    const experiment = await client.createExperiment({ name: `path-ids-${Date.now()}` })
    const run = await client.startRun({ experiment_id: experiment.experiment_id })
    const ok = await rawRequest(`${api.url}/v1/ml/runs/${run.run_id}`, { token: api.token })
    expect(ok.status).toBe(200)
    const hex = `0x${run.run_id.toString(16)}`
    for (const spelling of [hex, `${run.run_id}e0`, `%20${run.run_id}`, `0${run.run_id}`, `${run.run_id}.0`, `+${run.run_id}`]) {
      const refused = await rawRequest(`${api.url}/v1/ml/runs/${spelling}`, { token: api.token })
      expect(refused.status, spelling).toBe(400)
      expect(refused.body.error).toMatchObject({ code: 'invalid_argument', field: 'runId' })
    }
    const experimentHex = await rawRequest(`${api.url}/v1/ml/experiments/1e0`, { token: api.token })
    expect(experimentHex.status).toBe(400)
  })
})

describe('metric ingest', () => {
  it('logs a batch and reads the history back; NaN, ±Infinity and -0 round-trip', async () => {
    const { run } = await newRun()
    const values = [NaN, Infinity, -Infinity, -0, 0.5]
    const result = await client.logBatch(
      run.run_id,
      values.map((value, step) => ({ key: 'odd', value, step, timestamp: 1_700_000_000_000 + step }))
    )
    expect(result).toEqual({ run_id: run.run_id, inserted: 5, duplicates: 0 })
    const series = await client.metricHistory(run.run_id, 'odd')
    expect(series.mode).toBe('raw')
    const back = series.points.map((p) => p.value)
    expect(Number.isNaN(back[0])).toBe(true)
    expect(back.slice(1, 3)).toEqual([Infinity, -Infinity])
    expect(Object.is(back[3], -0)).toBe(true)
    expect(back[4]).toBe(0.5)
    // The raw JSON spells them as promised.
    const raw = await rawRequest(`${api.url}/v1/ml/runs/${run.run_id}/metrics/history?key=odd`, { token: api.token })
    expect(raw.body.points.slice(0, 3).map((p: { value: unknown }) => p.value)).toEqual(['NaN', 'Infinity', '-Infinity'])
  })

  it('keeps int64 steps past 2^53 exact', async () => {
    const { run } = await newRun()
    await client.logBatch(run.run_id, [{ key: 'big', value: 1, step: 9007199254740993n }, { key: 'big', value: 2, step: '9223372036854775807' }])
    const series = await client.metricHistory(run.run_id, 'big')
    expect(series.points.map((p) => p.step)).toEqual([9007199254740993n, 9223372036854775807n])
    // The client sends the columnar form; the error names the column entry.
    const tooBig = await failure(client.logBatch(run.run_id, [{ key: 'big', value: 1, step: '9223372036854775808' }]))
    expect([tooBig.status, tooBig.field]).toEqual([400, 'series[0].steps[0]'])
    const unsafe = await rawRequest(`${api.url}/v1/ml/metrics`, { token: api.token, body: `{"run_id":${run.run_id},"points":[{"key":"big","value":1,"step":9007199254740993}]}` })
    expect([unsafe.status, unsafe.body.error.field]).toEqual([400, 'points[0].step'])
  })

  it('accepts the columnar series form, and names its fields', async () => {
    const { run } = await newRun()
    const body = {
      run_id: run.run_id,
      series: [
        { key: 'loss', values: [0.9, 'NaN', 'NEGATIVE_ZERO'], steps: [1, '9007199254740993', 3], timestamps: [1, 2, 3], epochs: [0, null, 1] },
        { key: 'acc', kind: 'validation', values: [0.5] }
      ]
    }
    // JSON.stringify writes -0 as 0: put the -0.0 literal in by hand.
    const stored = await rawRequest(`${api.url}/v1/ml/metrics`, { token: api.token, body: JSON.stringify(body).replace('"NEGATIVE_ZERO"', '-0.0') })
    expect(stored.body).toEqual({ run_id: run.run_id, inserted: 4, duplicates: 0 })
    const loss = await client.metricHistory(run.run_id, 'loss')
    expect(loss.points.map((p) => p.step)).toEqual([1n, 3n, 9007199254740993n])
    expect(Number.isNaN(loss.points[2]!.value)).toBe(true)
    expect(Object.is(loss.points[1]!.value, -0)).toBe(true)
    for (const [bad, field] of [
      [{ key: 'x', values: [1, 2], steps: [1] }, 'series[0].steps'],
      [{ key: 'x', values: ['high'] }, 'series[0].values[0]'],
      [{ key: 'x', values: [1], colour: 'red' }, 'series[0].colour'],
      [{ key: 'x', values: [] }, 'series[0].values']
    ] as const) {
      const refused = await rawRequest(`${api.url}/v1/ml/metrics`, { token: api.token, body: JSON.stringify({ run_id: run.run_id, series: [bad] }) })
      expect([refused.status, refused.body.error.field]).toEqual([400, field])
    }
  })

  it('accepts the seed form and names its fields', async () => {
    const { run } = await newRun()
    expect(await client.logMetrics(run.run_id, { loss: 0.45, accuracy: 0.92 }, { step: 100, epoch: 1 })).toEqual({ run_id: run.run_id, inserted: 2, duplicates: 0 })
    const badValue = await rawRequest(`${api.url}/v1/ml/metrics`, { token: api.token, body: JSON.stringify({ run_id: run.run_id, metrics: { loss: 'high' }, step: 1 }) })
    expect([badValue.status, badValue.body.error.field]).toEqual([400, 'metrics.loss'])
    const badStep = await rawRequest(`${api.url}/v1/ml/metrics`, { token: api.token, body: JSON.stringify({ run_id: run.run_id, metrics: { loss: 1 }, step: 1.5 }) })
    expect([badStep.status, badStep.body.error.field]).toEqual([400, 'step'])
  })

  it('refuses bad points with the field named and stores nothing of the batch', async () => {
    const { run } = await newRun()
    const cases: Array<[unknown, string]> = [
      [{ run_id: run.run_id, points: [{ key: 'a', value: 1 }, { key: 'a', value: 'x' }] }, 'points[1].value'],
      [{ run_id: run.run_id, points: [{ key: 'a\u0000b', value: 1 }] }, 'points[0].key'],
      [{ run_id: run.run_id, points: [{ key: 'k'.repeat(251), value: 1 }] }, 'points[0].key'],
      [{ run_id: run.run_id, points: [{ key: 'a', value: 1, unit: 'ms' }] }, 'points[0].unit'],
      [{ run_id: run.run_id, points: [{ key: 'a', value: 1, kind: 'weird' }] }, 'points[0].kind'],
      [{ run_id: run.run_id, points: [] }, 'points'],
      [{ run_id: run.run_id, points: [{ key: 'a', value: 1 }], extra: true }, 'extra'],
      [{ run_id: 'one', points: [{ key: 'a', value: 1 }] }, 'run_id'],
      [{ run_id: run.run_id }, 'points']
    ]
    for (const [body, field] of cases) {
      const response = await rawRequest(`${api.url}/v1/ml/metrics`, { token: api.token, body: JSON.stringify(body) })
      expect([response.status, response.body.error.code, response.body.error.field], JSON.stringify(body)).toEqual([400, 'invalid_argument', field])
    }
    expect((await client.getRun(run.run_id)).metrics).toEqual([])
    const unknownRun = await failure(client.logBatch(999_999, [{ key: 'a', value: 1 }]))
    expect([unknownRun.status, unknownRun.field]).toEqual([404, 'run_id'])
  })

  it('treats exact duplicate points as harmless', async () => {
    const { run } = await newRun()
    const points = [1, 2, 3].map((step) => ({ key: 'loss', value: step / 10, step, timestamp: 1_700_000_000_000 + step }))
    await client.logBatch(run.run_id, points)
    expect(await client.logBatch(run.run_id, points)).toEqual({ run_id: run.run_id, inserted: 0, duplicates: 3 })
  })

  it('applies a batch with an idempotency key once; the same key with another body is a 409', async () => {
    const { run } = await newRun()
    // No timestamps: a retry applied twice would store the points again with a new time.
    const points = [1, 2, 3].map((step) => ({ key: 'loss', value: step, step }))
    const first = await client.logBatch(run.run_id, points, 'batch-0001')
    const retry = await client.logBatch(run.run_id, points, 'batch-0001')
    expect(retry).toEqual(first)
    expect((await client.getRun(run.run_id)).metrics![0]!.count).toBe(3)
    const reused = await failure(client.logBatch(run.run_id, [{ key: 'loss', value: 9, step: 4 }], 'batch-0001'))
    expect([reused.status, reused.code, reused.field]).toEqual([409, 'conflict', 'idempotency_key'])
    const { run: other } = await newRun()
    const otherRun = await failure(client.logBatch(other.run_id, points, 'batch-0001'))
    expect(otherRun.status).toBe(409)
    // Concurrent retries of one batch: exactly one stores it.
    const results = await Promise.all([1, 2, 3, 4].map(() => client.logBatch(run.run_id, [{ key: 'acc', value: 1, step: 1 }], 'batch-0002')))
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1)
    expect((await client.getRun(run.run_id)).metrics!.find((m) => m.key === 'acc')!.count).toBe(1)
    const emptyKey = await failure(client.logBatch(run.run_id, points, ''))
    expect([emptyKey.status, emptyKey.field]).toEqual([400, 'idempotency_key'])
  })

  it('downsamples a long history into min/max buckets equal to the raw data, and zooms by step range', async () => {
    const { run } = await newRun()
    const count = 20_000
    const points = Array.from({ length: count }, (_, step) => ({ key: 'loss', value: Math.sin(step / 100) + (step % 7) / 10, step, timestamp: 1_700_000_000_000 + step }))
    await client.logBatch(run.run_id, points)
    const series = await client.metricHistory(run.run_id, 'loss', { maxPoints: 200 })
    expect(series.mode).toBe('buckets')
    expect(series.total_points).toBe(count)
    expect(series.buckets.length).toBeLessThanOrEqual(100)
    expect(series.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(count)
    for (const bucket of series.buckets) {
      const inside = points.filter((p) => BigInt(p.step) >= bucket.from_step && BigInt(p.step) <= bucket.to_step).map((p) => p.value)
      expect(bucket.count).toBe(inside.length)
      expect(bucket.min).toBe(Math.min(...inside))
      expect(bucket.max).toBe(Math.max(...inside))
    }
    const zoomed = await client.metricHistory(run.run_id, 'loss', { maxPoints: 1000, fromStep: 1000, toStep: 1099 })
    expect(zoomed.total_points).toBe(100)
    expect(zoomed.mode).toBe('raw')
    expect(zoomed.points.map((p) => Number(p.step))).toEqual(Array.from({ length: 100 }, (_, i) => 1000 + i))
    const badQuery = await rawRequest(`${api.url}/v1/ml/runs/${run.run_id}/metrics/history?key=loss&max_points=lots`, { token: api.token })
    expect([badQuery.status, badQuery.body.error.field]).toEqual([400, 'max_points'])
    const noKey = await rawRequest(`${api.url}/v1/ml/runs/${run.run_id}/metrics/history`, { token: api.token })
    expect([noKey.status, noKey.body.error.field]).toEqual([400, 'key'])
  })
})

describe('model versions, approval, deployment and aliases', () => {
  it('registers, reviews, deploys, rolls back, and keeps aliases', async () => {
    const { run } = await newRun()
    const model = `model-${Date.now()}`
    const v1 = await client.registerModelVersion({ model_name: model, version: 'v1.0.0', artifact_uri: '/models/a.safetensors', source_run_id: run.run_id, performance_metrics: { accuracy: 0.9 }, artifact_blake3: 'a'.repeat(64) })
    expect(v1).toMatchObject({ model_name: model, version: 'v1.0.0', source_run_id: run.run_id, approval_status: 'pending' })
    const v2 = await client.registerModelVersion({ model_name: model, artifact_uri: '/models/b.safetensors', parent_version_id: v1.version_id })
    const v3 = await client.registerModelVersion({ model_name: model, artifact_uri: '/models/c.safetensors' })
    expect(v2.parent_version_id).toBe(v1.version_id)
    expect((await client.getModelVersion(v2.version_id)).artifact_uri).toBe('/models/b.safetensors')
    expect((await client.listModelVersions(model)).map((v) => v.version_id)).toEqual([v3.version_id, v2.version_id, v1.version_id])

    // Only approved versions deploy.
    const unapproved = await failure(client.deploy({ model_name: model, version_id: v1.version_id }))
    expect(unapproved.status).toBe(409)
    await client.approveVersion({ version_id: v1.version_id, actor: 'lead', notes: 'good' })
    await client.approveVersion({ version_id: v2.version_id })
    expect((await client.rejectVersion({ version_id: v3.version_id, notes: 'worse' })).approval_status).toBe('rejected')
    const reReview = await failure(client.approveVersion({ version_id: v3.version_id }))
    expect([reReview.status, reReview.field]).toEqual([409, 'approval_status'])

    const first = await client.deploy({ model_name: model, version_id: v1.version_id, strategy: 'blue-green', sla: { latency_p99_ms: 50 } })
    expect(first).toMatchObject({ current_version_id: v1.version_id, previous_version_id: null, sla: { latency_p99_ms: 50 } })
    const canary = await client.deploy({ model_name: model, version_id: v2.version_id, strategy: 'canary', canary_traffic_percent: 10 })
    expect(canary).toMatchObject({ current_version_id: v2.version_id, previous_version_id: v1.version_id, canary_traffic_percent: 10 })
    const noShare = await failure(client.deploy({ model_name: model, version_id: v2.version_id, strategy: 'canary' }))
    expect([noShare.status, noShare.field]).toEqual([400, 'canary_traffic_percent'])
    expect((await client.getDeployment(model)).current_version_id).toBe(v2.version_id)
    const rolledBack = await client.rollback({ model_name: model, notes: 'latency' })
    expect(rolledBack.current_version_id).toBe(v1.version_id)
    expect((await client.deploymentHistory(model)).map((e) => e.action)).toEqual(['rollback', 'deploy', 'deploy'])
    expect((await failure(client.getDeployment(model, 'staging'))).status).toBe(404)

    expect((await client.deprecateVersion({ version_id: v2.version_id, notes: 'superseded' })).approval_status).toBe('deprecated')
    const deprecatePending = await failure(client.deprecateVersion({ version_id: v3.version_id }))
    expect(deprecatePending.status).toBe(409)

    const alias = await client.setAlias(model, 'champion', v1.version_id)
    expect(alias).toMatchObject({ model_name: model, alias: 'champion', version_id: v1.version_id })
    expect((await client.getAlias(model, 'champion')).version_id).toBe(v1.version_id)
    expect((await client.listAliases(model)).map((a) => a.alias)).toEqual(['champion'])
    expect((await client.getModelVersion(v1.version_id)).aliases).toEqual(['champion'])
    const badAlias = await failure(client.setAlias(model, 'v1', v1.version_id))
    expect([badAlias.status, badAlias.field]).toEqual([400, 'alias'])
    await client.deleteAlias(model, 'champion')
    expect((await failure(client.getAlias(model, 'champion'))).status).toBe(404)
    expect((await failure(client.getModelVersion(999_999))).status).toBe(404)
  })

  it('refuses bad registrations with the field named', async () => {
    const badHash = await failure(client.registerModelVersion({ model_name: 'm', artifact_uri: 'x', artifact_blake3: 'XYZ' }))
    expect([badHash.status, badHash.field]).toEqual([400, 'artifact_blake3'])
    const nul = await failure(client.registerModelVersion({ model_name: 'a\u0000b', artifact_uri: 'x' }))
    expect([nul.status, nul.field]).toEqual([400, 'model_name'])
    const long = await failure(client.registerModelVersion({ model_name: 'm'.repeat(257), artifact_uri: 'x' }))
    expect([long.status, long.field]).toEqual([400, 'model_name'])
    const unknownRun = await failure(client.registerModelVersion({ model_name: 'm', artifact_uri: 'x', source_run_id: 999_999 }))
    expect(unknownRun.status).toBe(404)
  })
})
