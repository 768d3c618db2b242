import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'
import { EXACT_INTERVAL_POINTS } from '../../src/main/services/mlflow-history-bulk'

/**
 * get-history-bulk and get-history-bulk-interval, as mlflow's own server tests specify them
 * (tests/tracking/test_rest_tracking.py: test_get_metric_history_bulk_*,
 * test_get_metric_history_bulk_interval_*), under /ajax-api/2.0 where MLflow's web UI calls them
 * and /api/2.11 where the client does.
 */

let env: TestCore

type Json = Record<string, unknown>

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const server = env.core.http!
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: response.status, json: (await response.json()) as Json }
}

/** A query string as Python's requests builds it from params (a list repeats the key). */
function query(params: Record<string, string | number | Array<string | number>>): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) for (const item of [value].flat()) search.append(name, String(item))
  return search.toString()
}

const bulk = (params: Record<string, string | number | Array<string | number>>) => call('GET', `/ajax-api/2.0/mlflow/metrics/get-history-bulk?${query(params)}`)
const bulkInterval = (params: Record<string, string | number | Array<string | number>>, prefix = '/ajax-api/2.0') =>
  call('GET', `${prefix}/mlflow/metrics/get-history-bulk-interval?${query(params)}`)

async function createRun(experimentId: string): Promise<string> {
  return ((await call('POST', '/api/2.0/mlflow/runs/create', { experiment_id: experimentId })).json.run as { info: { run_id: string } }).info.run_id
}

interface Metric {
  key: string
  timestamp: number
  step: number
  value: number
}

async function logMetric(runId: string, metric: Metric): Promise<void> {
  expect((await call('POST', '/api/2.0/mlflow/runs/log-metric', { run_id: runId, ...metric })).status).toBe(200)
}

async function refused(answer: Promise<{ status: number; json: Json }>, messagePart: string): Promise<void> {
  const { status, json } = await answer
  expect(status).toBe(400)
  expect(json.error_code).toBe('INVALID_PARAMETER_VALUE')
  expect(json.message).toContain(messagePart)
}

beforeAll(async () => {
  env = await startTestCore({ http: true })
})

afterAll(async () => {
  await env?.close()
})

describe('metrics/get-history-bulk', () => {
  it('rejects invalid requests with MLflow\'s messages', async () => {
    await refused(bulk({ metric_key: 'key' }), 'GetMetricHistoryBulk request must specify at least one run_id')
    await refused(bulk({ run_id: [], metric_key: 'key' }), 'GetMetricHistoryBulk request must specify at least one run_id')
    await refused(bulk({ run_id: Array.from({ length: 1000 }, (_, i) => `id_${i}`), metric_key: 'key' }), 'GetMetricHistoryBulk request cannot specify more than')
    await refused(bulk({ run_id: ['123'] }), 'GetMetricHistoryBulk request must specify a metric_key')
  })

  it('returns each run\'s history in time order, the runs ordered by run id, cut at max_results', async () => {
    const experimentId = (await call('POST', '/api/2.0/mlflow/experiments/create', { name: 'get metric history bulk' })).json.experiment_id as string
    const [run1, run2, run3] = [await createRun(experimentId), await createRun(experimentId), await createRun(experimentId)]
    const metricA: Metric[] = [
      { key: 'metricA', timestamp: 1, step: 2, value: 10.0 },
      { key: 'metricA', timestamp: 1, step: 3, value: 11.0 },
      { key: 'metricA', timestamp: 1, step: 3, value: 12.0 },
      { key: 'metricA', timestamp: 2, step: 3, value: 12.0 }
    ]
    const metricB: Metric[] = [
      { key: 'metricB', timestamp: 7, step: -2, value: -100.0 },
      { key: 'metricB', timestamp: 8, step: 0, value: 0.0 },
      { key: 'metricB', timestamp: 8, step: 0, value: 1.0 },
      { key: 'metricB', timestamp: 9, step: 1, value: 12.0 }
    ]
    for (const metric of [...metricA, ...metricB]) {
      await logMetric(run1!, metric)
      await logMetric(run2!, { ...metric, value: metric.value + 1 })
    }
    expect((await bulk({ run_id: [run1!], metric_key: 'metricA' })).json.metrics).toEqual(metricA.map((metric) => ({ ...metric, run_id: run1 })))
    expect((await bulk({ run_id: [run2!], metric_key: 'metricB' })).json.metrics).toEqual(metricB.map((metric) => ({ ...metric, run_id: run2, value: metric.value + 1 })))
    const byRunId = (a: { run_id: string }, b: { run_id: string }) => (a.run_id < b.run_id ? -1 : a.run_id > b.run_id ? 1 : 0)
    expect((await bulk({ run_id: [run1!, run2!], metric_key: 'metricA' })).json.metrics).toEqual(
      [...metricA.map((metric) => ({ ...metric, run_id: run1! })), ...metricA.map((metric) => ({ ...metric, run_id: run2!, value: metric.value + 1 }))].sort(byRunId)
    )
    // run3 logged nothing: it adds nothing.
    expect((await bulk({ run_id: [run1!, run2!, run3!], metric_key: 'metricB' })).json.metrics).toEqual(
      [...metricB.map((metric) => ({ ...metric, run_id: run1! })), ...metricB.map((metric) => ({ ...metric, run_id: run2!, value: metric.value + 1 }))].sort(byRunId)
    )
    expect((await bulk({ run_id: [run1!], metric_key: 'metricA', max_results: 2 })).json.metrics).toEqual(metricA.slice(0, 2).map((metric) => ({ ...metric, run_id: run1 })))
  })
})

describe('metrics/get-history-bulk-interval', () => {
  it('rejects invalid requests with MLflow\'s messages', async () => {
    await refused(bulkInterval({ metric_key: 'key' }), "Missing value for required parameter 'run_ids'.")
    await refused(bulkInterval({ run_ids: [], metric_key: 'key' }), "Missing value for required parameter 'run_ids'.")
    await refused(bulkInterval({ run_ids: Array.from({ length: 1000 }, (_, i) => `id_${i}`), metric_key: 'key' }), 'GetMetricHistoryBulkInterval request must specify at most 100 run_ids.')
    await refused(bulkInterval({ run_ids: ['123'], metric_key: 'key', max_results: 0 }), 'max_results must be between 1 and 2500')
    await refused(bulkInterval({ run_ids: ['123'], metric_key: '' }), "Missing value for required parameter 'metric_key'")
    await refused(bulkInterval({ run_ids: ['123'], max_results: 5 }), "Missing value for required parameter 'metric_key'")
    await refused(bulkInterval({ run_ids: ['123'], metric_key: 'key', start_step: 1, end_step: 0, max_results: 5 }), 'end_step must be greater than start_step. ')
    await refused(bulkInterval({ run_ids: ['123'], metric_key: 'key', start_step: 1, max_results: 5 }), 'If either start step or end step are specified, both must be specified.')
  })

  it("samples every k-th step of all the runs' steps plus each run's first and last, with every point at those steps", async () => {
    const experimentId = (await call('POST', '/api/2.0/mlflow/experiments/create', { name: 'get metric history bulk interval' })).json.experiment_id as string
    const run1 = await createRun(experimentId)
    const history1: Metric[] = Array.from({ length: 10 }, (_, step) => ({ key: 'metricA', timestamp: 1, step, value: 10.0 }))
    for (const metric of history1) await logMetric(run1, metric)
    const at = (history: Metric[], runId: string, steps: number[]) => history.filter((metric) => steps.includes(metric.step)).map((metric) => ({ ...metric, run_id: runId }))

    expect((await bulkInterval({ run_ids: [run1], metric_key: 'metricA', max_results: 5 })).json.metrics).toEqual(at(history1, run1, [0, 2, 4, 6, 8, 9]))
    expect((await bulkInterval({ run_ids: [run1], metric_key: 'metricA', start_step: 0, end_step: 4, max_results: 5 })).json.metrics).toEqual(at(history1, run1, [0, 1, 2, 3, 4]))
    // The client's own path for it.
    expect((await bulkInterval({ run_ids: [run1], metric_key: 'metricA', max_results: 5 }, '/api/2.11')).json.metrics).toEqual(at(history1, run1, [0, 2, 4, 6, 8, 9]))

    const run2 = await createRun(experimentId)
    const history2: Metric[] = Array.from({ length: 20 }, (_, step) => ({ key: 'metricA', timestamp: 1, step, value: 10.0 }))
    for (const metric of history2) await logMetric(run2, metric)
    const steps = [0, 4, 8, 9, 12, 16, 19]
    expect((await bulkInterval({ run_ids: [run1, run2], metric_key: 'metricA', max_results: 5 })).json.metrics).toEqual([...at(history1, run1, steps), ...at(history2, run2, steps)])

    // A second point at each step (another timestamp): both come back, in time order.
    for (const metric of history1) await logMetric(run1, { ...metric, timestamp: 2 })
    expect((await bulkInterval({ run_ids: [run1], metric_key: 'metricA', max_results: 5 })).json.metrics).toEqual(
      [0, 2, 4, 6, 8, 9].flatMap((step) => [1, 2].map((timestamp) => ({ key: 'metricA', timestamp, step, value: 10.0, run_id: run1 })))
    )
  })

  it('samples a run longer than EXACT_INTERVAL_POINTS from the rollups its chart reads: the first and last point of each bucket', async () => {
    const experimentId = (await call('POST', '/api/2.0/mlflow/experiments/create', { name: 'long history interval' })).json.experiment_id as string
    const long = await createRun(experimentId)
    const short = await createRun(experimentId)
    const total = EXACT_INTERVAL_POINTS + 2_000
    const valueAt = (step: number): number => Math.sin(step / 100) + step / 1000
    for (let from = 0; from < total; from += 1_000) {
      const metrics = Array.from({ length: 1_000 }, (_, i) => ({ key: 'loss', step: from + i, value: valueAt(from + i), timestamp: 1_000 + from + i }))
      expect((await call('POST', '/api/2.0/mlflow/runs/log-batch', { run_id: long, metrics })).status).toBe(200)
    }
    const shortHistory: Metric[] = Array.from({ length: 10 }, (_, step) => ({ key: 'loss', step, value: step, timestamp: 5 }))
    for (const metric of shortHistory) await logMetric(short, metric)

    const answer = await bulkInterval({ run_ids: [long, short], metric_key: 'loss', max_results: 100 })
    expect(answer.status).toBe(200)
    const metrics = answer.json.metrics as Array<Metric & { run_id: string }>
    const ofLong = metrics.filter((metric) => metric.run_id === long)
    // The chart's own series of the same run and budget, point for point.
    const runId = (await env.core.services.runs.findByUuid(long))!.id
    const series = await env.core.services.runs.metricSeries({ runId, key: 'loss', maxPoints: 100 })
    expect(series.mode).toBe('buckets')
    const endpoints = series.buckets.flatMap((bucket) => [
      { step: Number(bucket.firstStep), value: bucket.firstValue, timestamp: bucket.firstTimestamp },
      { step: Number(bucket.lastStep), value: bucket.lastValue, timestamp: bucket.lastTimestamp }
    ])
    expect(ofLong.map(({ step, value, timestamp }) => ({ step, value, timestamp }))).toEqual(endpoints)
    expect(ofLong.length).toBeLessThanOrEqual(100)
    expect(ofLong[0]!.step).toBe(0)
    expect(ofLong.at(-1)!.step).toBe(total - 1)
    for (const metric of ofLong) expect(metric).toEqual({ key: 'loss', step: metric.step, value: valueAt(metric.step), timestamp: 1_000 + metric.step, run_id: long })
    // The short run beside it is still sampled as MLflow samples: all ten of its steps fit.
    expect(metrics.filter((metric) => metric.run_id === short)).toEqual(shortHistory.map((metric) => ({ ...metric, run_id: short })))
    // The runs in the order asked for.
    expect(metrics.findIndex((metric) => metric.run_id === short)).toBe(ofLong.length)
  })
})
