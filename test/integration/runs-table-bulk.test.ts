import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawRequest, startApiTestCore } from '../support/api-env'

/**
 * What the runs table's bulk actions, "show deleted" view and filter autocomplete ask of main
 * (issue 13, runs table): runs go in over /v1 as a training script sends them, and the UI's
 * contract is called over serve's /ui/api/call as the browser calls it.
 */

let env: Awaited<ReturnType<typeof startApiTestCore>>
let cookie = ''
let experimentId: number
const ids: Record<string, number> = {}

const v1 = (method: string, path: string, body?: unknown) =>
  rawRequest(`${env.url}${path}`, { method, token: env.token, body: body === undefined ? undefined : JSON.stringify(body) })

async function uiCall<T = unknown>(name: string, input: unknown): Promise<{ ok: boolean; value: T; error?: { code: string; message: string; field?: string } }> {
  const response = await rawRequest(`${env.url}/ui/api/call`, { body: JSON.stringify({ name, input }), headers: { cookie } })
  return response.body
}

async function names(call: string, input: Record<string, unknown>): Promise<string[]> {
  const answer = await uiCall<Array<{ name: string }>>(call, { experimentId, ...input })
  expect(answer.ok, JSON.stringify(answer.error)).toBe(true)
  return answer.value.map((row) => row.name).sort()
}

beforeAll(async () => {
  env = await startApiTestCore()
  const login = await fetch(env.core.ui!.loginUrl(), { redirect: 'manual' })
  cookie = login.headers.get('set-cookie')!.split(';')[0]!
  experimentId = (await v1('POST', '/v1/ml/experiments', { name: 'bulk-actions' })).body.experiment_id
  for (const name of ['a', 'b', 'c', 'd']) {
    ids[name] = (await v1('POST', '/v1/ml/runs', { experiment_id: experimentId, run_name: name, hyperparameters: { lr: 0.1 }, tags: { team: 'vision' } })).body.run_id
  }
  await v1('POST', '/v1/ml/metrics', { run_id: ids.a, points: [{ key: 'val_loss', value: 0.3, step: 1 }] })
  await v1('POST', '/v1/ml/runs/complete', { run_id: ids.b, final_metrics: { test_accuracy: 0.9 } })
})
afterAll(async () => {
  await env?.close()
})

describe('bulk actions of the runs table', () => {
  it('tags several runs at once; the filter finds them by the tag', async () => {
    const answer = await uiCall('runs.tagMany', { runIds: [ids.a, ids.c], key: 'reviewed', value: 'yes' })
    expect(answer).toMatchObject({ ok: true, value: { tagged: 2 } })
    expect(await names('runs.search', { filter: "tags.reviewed = 'yes'" })).toEqual(['a', 'c'])
    // The other tags stay.
    expect(await names('runs.search', { filter: "tags.team = 'vision'" })).toEqual(['a', 'b', 'c', 'd'])
  })

  it('deletes several runs softly: they leave the list and the search, appear among the deleted, and come back on restore', async () => {
    const deleted = await uiCall('runs.deleteMany', { runIds: [ids.b, ids.d] })
    expect(deleted).toMatchObject({ ok: true, value: { runIds: [ids.b, ids.d].sort((x, y) => x - y) } })
    expect(await names('runs.list', {})).toEqual(['a', 'c'])
    expect(await names('runs.search', { filter: "tags.team = 'vision'" })).toEqual(['a', 'c'])
    expect(await names('runs.list', { deleted: true })).toEqual(['b', 'd'])
    expect(await names('runs.search', { filter: "tags.team = 'vision'", deleted: true })).toEqual(['b', 'd'])
    // Rows asked for in one state leave out the runs in the other (a live refresh drops a run deleted elsewhere).
    const rows = await uiCall<Array<{ name: string }>>('runs.rows', { runIds: [ids.a, ids.b], deleted: false })
    expect(rows.value.map((row) => row.name)).toEqual(['a'])
    // Deleting again changes nothing and says so.
    expect(await uiCall('runs.deleteMany', { runIds: [ids.b] })).toMatchObject({ ok: true, value: { runIds: [] } })
    // A deleted run takes no tag, as for one run.
    const tagged = await uiCall('runs.tagMany', { runIds: [ids.b], key: 'x', value: 'y' })
    expect(tagged.ok).toBe(false)

    const restored = await uiCall('runs.restoreMany', { runIds: [ids.b, ids.d] })
    expect(restored).toMatchObject({ ok: true, value: { runIds: [ids.b, ids.d].sort((x, y) => x - y) } })
    expect(await names('runs.list', {})).toEqual(['a', 'b', 'c', 'd'])
    expect(await names('runs.list', { deleted: true })).toEqual([])
  })

  it('lists only the newest runs when asked for a first screen, in the order of the whole list', async () => {
    const all = await uiCall<Array<{ name: string }>>('runs.list', { experimentId })
    const first = await uiCall<Array<{ name: string }>>('runs.list', { experimentId, limit: 2 })
    expect(first.value.map((row) => row.name)).toEqual(all.value.slice(0, 2).map((row) => row.name))
    expect(all.value.map((row) => row.name)).toEqual(['d', 'c', 'b', 'a'])
    for (const limit of [0, 1.5, 50_001, '2']) {
      expect(await uiCall('runs.list', { experimentId, limit })).toMatchObject({ ok: false, error: { code: 'invalid_argument', field: 'limit' } })
    }
  })

  it('refuses an empty selection naming the field', async () => {
    const answer = await uiCall('runs.deleteMany', { runIds: [] })
    expect(answer).toMatchObject({ ok: false, error: { code: 'invalid_argument' } })
  })
})

describe('the keys of an experiment’s runs', () => {
  it('lists params, tags and metrics (logged or final) of the active runs', async () => {
    const answer = await uiCall('runs.keys', { experimentId })
    expect(answer).toMatchObject({ ok: true, value: { params: ['lr'], metrics: ['test_accuracy', 'val_loss'], tags: ['reviewed', 'team'] } })
    // A key only a deleted run has is not offered.
    await uiCall('runs.deleteMany', { runIds: [ids.b] })
    expect((await uiCall<{ metrics: string[] }>('runs.keys', { experimentId })).value.metrics).toEqual(['val_loss'])
    await uiCall('runs.restoreMany', { runIds: [ids.b] })
  })
})
