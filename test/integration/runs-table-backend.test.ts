import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawRequest, startApiTestCore } from '../support/api-env'

/**
 * What the runs table and experiments list ask of main (issue 13 items 2 and 7), through the
 * doors a user reaches: runs go in over /v1 as a training script sends them, and the UI's
 * contract is called over serve's /ui/api/call as the browser calls it.
 */

let env: Awaited<ReturnType<typeof startApiTestCore>>
let cookie = ''

beforeAll(async () => {
  env = await startApiTestCore()
  const login = await fetch(env.core.ui!.loginUrl(), { redirect: 'manual' })
  cookie = login.headers.get('set-cookie')!.split(';')[0]!
})
afterAll(async () => {
  await env?.close()
})

const v1 = (method: string, path: string, body?: unknown) =>
  rawRequest(`${env.url}${path}`, { method, token: env.token, body: body === undefined ? undefined : JSON.stringify(body) })

async function uiCall(name: string, input: unknown): Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string; field?: string } }> {
  const response = await rawRequest(`${env.url}/ui/api/call`, { body: JSON.stringify({ name, input }), headers: { cookie } })
  return response.body
}

describe('metrics.<key> in the runs filter reads final metrics', () => {
  let experimentId: number
  beforeAll(async () => {
    experimentId = (await v1('POST', '/v1/ml/experiments', { name: 'final-metrics-filter' })).body.experiment_id
    const start = async (name: string) => (await v1('POST', '/v1/ml/runs', { experiment_id: experimentId, run_name: name })).body.run_id as number
    // only-final: reports test_accuracy at completion, never logs it.
    const onlyFinal = await start('only-final')
    await v1('POST', '/v1/ml/runs/complete', { run_id: onlyFinal, final_metrics: { test_accuracy: 0.95 } })
    const lowFinal = await start('low-final')
    await v1('POST', '/v1/ml/runs/complete', { run_id: lowFinal, final_metrics: { test_accuracy: 0.7 } })
    // both: logs a series ending at 0.97, then reports 0.8 as its final value; the final one counts.
    const both = await start('both')
    await v1('POST', '/v1/ml/metrics', { run_id: both, points: [{ key: 'test_accuracy', value: 0.97, step: 3 }] })
    await v1('POST', '/v1/ml/runs/complete', { run_id: both, final_metrics: { test_accuracy: 0.8 } })
    // only-logged: still running, a logged series only.
    const onlyLogged = await start('only-logged')
    await v1('POST', '/v1/ml/metrics', { run_id: onlyLogged, points: [{ key: 'test_accuracy', value: 0.93, step: 1 }] })
    await start('nothing')
  })

  async function names(filter: string): Promise<string[]> {
    const answer = await uiCall('runs.search', { experimentId, filter })
    expect(answer.ok, JSON.stringify(answer.error)).toBe(true)
    return (answer.value as Array<{ name: string }>).map((row) => row.name).sort()
  }

  it('matches a final metric, and a logged series where the run reported no final value', async () => {
    expect(await names('metrics.test_accuracy > 0.9')).toEqual(['only-final', 'only-logged'])
    expect(await names('metrics.test_accuracy < 0.9')).toEqual(['both', 'low-final'])
    expect(await names('metrics.test_accuracy = 0.8')).toEqual(['both'])
  })

  it('the service search (MLflow and /v1 share it) orders by the same value', async () => {
    const result = await env.core.services.runs.searchRuns({ experimentIds: [experimentId], filter: 'metrics.test_accuracy > 0', orderBy: ['metrics.test_accuracy DESC'] })
    expect(result.runs.map((run) => run.name)).toEqual(['only-final', 'only-logged', 'both', 'low-final'])
  })

  it('the leaderboard ranks by the same value', async () => {
    const board = await v1('POST', '/v1/ml/leaderboard', { experiment_id: experimentId, metric_name: 'test_accuracy', direction: 'desc' })
    expect(board.status).toBe(200)
    // (Already so before the filter read final metrics: get_experiment_leaderboard in migrations/0003.)
    expect((board.body.entries as Array<{ run_name: string }>).map((entry) => entry.run_name)).toEqual(['only-final', 'only-logged', 'both', 'low-final'])
  })
})

describe('a taken experiment name', () => {
  it('is refused on rename with a message naming it and the field `name`, not the constraint', async () => {
    await uiCall('experiments.create', { name: 'taken' })
    const other = await uiCall('experiments.create', { name: 'renamed-later' })
    const otherId = (other.value as { id: number }).id
    const answer = await uiCall('experiments.update', { experimentId: otherId, name: 'taken' })
    expect(answer).toMatchObject({ ok: false, error: { code: 'conflict', field: 'name', message: "an experiment named 'taken' already exists" } })
    expect(answer.error!.message).not.toMatch(/constraint|duplicate key/)
    // Creating with it says the same.
    const created = await uiCall('experiments.create', { name: 'taken' })
    expect(created).toMatchObject({ ok: false, error: { code: 'conflict', field: 'name', message: "an experiment named 'taken' already exists" } })
  })
})
