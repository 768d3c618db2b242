import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import type { TestCore } from '../support/test-env'
import { failure, startCoreWithSql, type CoreWithSql } from '../support/service-env'

/**
 * The rules the MLflow door needs, as service operations backed by SQL (migrations/0009): resume,
 * MLflow's status update, soft delete/restore, text params (write-once), tag removal, rename, the
 * Default experiment. The door only translates onto these; /v1 keeps its own rules.
 */

let env: TestCore
let sql: pg.Client
let counter = 0

const unique = (label: string): string => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
const experiments = () => env.core.services.experiments
const runs = () => env.core.services.runs

async function newRun() {
  const experiment = await experiments().create({ name: unique('exp') })
  return runs().start({ experimentId: experiment.id, name: unique('run') })
}

async function mlflow(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const server = env.core.http!
  const response = await fetch(`${server.url}/api/2.0/mlflow/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  return { status: response.status, json: (await response.json()) as Record<string, unknown> }
}

let shared: CoreWithSql
beforeAll(async () => {
  shared = await startCoreWithSql({ http: true })
  ;({ env, sql } = shared)
})
afterAll(() => shared?.close())

describe('resume', () => {
  it('sets a finished run running again without its completion time; /v1 still refuses to finish it twice', async () => {
    const run = await newRun()
    await runs().complete({ runId: run.id, status: 'failed' })
    expect((await failure(() => runs().complete({ runId: run.id }))).code).toBe('conflict')

    const resumed = await runs().resume(run.id)
    expect(resumed.status).toBe('running')
    expect(resumed.completedAt).toBeNull()
    expect(resumed.startedAt).toBe(run.startedAt)

    const finished = await runs().complete({ runId: run.id })
    expect(finished.status).toBe('completed')
    expect((await failure(() => runs().complete({ runId: run.id }))).code).toBe('conflict')
  })

  it('starts a pending run and leaves a running one as it is', async () => {
    const experiment = await experiments().create({ name: unique('exp') })
    const pending = await runs().start({ experimentId: experiment.id, name: 'p', status: 'pending' })
    expect((await runs().resume(pending.id)).status).toBe('running')
    expect((await runs().resume(pending.id)).status).toBe('running')
    expect((await failure(() => runs().resume(999_999_999))).code).toBe('not_found')
  })
})

describe("MLflow's status update", () => {
  it('finishes with the given end time, ends a finished run again, and never goes back to pending', async () => {
    const run = await newRun()
    const end = Date.UTC(2030, 0, 1)
    const finished = await runs().setStatusAsMlflow({ runId: run.id, status: 'completed', endTime: end })
    expect(finished.status).toBe('completed')
    expect(finished.completedAt).toBe(new Date(end).toISOString())

    const again = await runs().setStatusAsMlflow({ runId: run.id, status: 'killed', endTime: end + 1000 })
    expect(again.status).toBe('killed')
    expect(again.completedAt).toBe(new Date(end + 1000).toISOString())

    expect((await runs().setStatusAsMlflow({ runId: run.id, status: 'running' })).status).toBe('running')
    const refused = await failure(() => runs().setStatusAsMlflow({ runId: run.id, status: 'pending' }))
    expect(refused.code).toBe('conflict')
    expect((await failure(() => runs().setStatusAsMlflow({ runId: run.id, status: 'done' }))).code).toBe('invalid_argument')
  })
})

describe('delete and restore', () => {
  it('hides a deleted run from its experiment until it is restored', async () => {
    const run = await newRun()
    await runs().delete(run.id)
    expect(await runs().isDeleted(run.id)).toBe(true)
    expect((await runs().listByExperiment(run.experimentId)).map((r) => r.id)).not.toContain(run.id)
    await runs().restore(run.id)
    expect(await runs().isDeleted(run.id)).toBe(false)
    expect((await runs().listByExperiment(run.experimentId)).map((r) => r.id)).toContain(run.id)
    expect((await failure(() => runs().delete(999_999_999))).code).toBe('not_found')
  })

  it('a deleted run takes no writes through any door until restored; deleting or restoring twice is harmless', async () => {
    const run = await newRun()
    await runs().logMetrics(run.id, [{ key: 'loss', value: 1, step: 0 }])
    await runs().delete(run.id)
    await runs().delete(run.id)
    const refusals = [
      () => runs().logMetrics(run.id, [{ key: 'loss', value: 0.5, step: 1 }]),
      () => runs().logMetric({ runId: run.id, key: 'loss', value: 0.5, step: 1 }),
      () => runs().setTags({ runId: run.id, tags: { team: 'x' } }),
      () => runs().setParams({ runId: run.id, hyperparameters: { lr: 0.1 } }),
      () => runs().rename({ runId: run.id, name: 'renamed' }),
      () => runs().complete({ runId: run.id }),
      () => runs().saveCheckpoint({ runId: run.id, path: 'ckpt.pt', step: 1 })
    ]
    for (const write of refusals) {
      const refused = await failure(write)
      expect(refused.code).toBe('conflict')
      expect(refused.message).toBe(`The run ${run.uuid} must be in the 'active' state. Current state is deleted.`)
    }
    // In SQL, whoever writes.
    await expect(sql.query("UPDATE ml_run SET tags = '{}' WHERE run_id = $1", [run.id])).rejects.toMatchObject({ code: 'HC409' })
    // Through the MLflow door, as MLflow words it.
    const viaMlflow = await mlflow('runs/log-metric', { run_id: run.uuid, key: 'loss', value: 0.1, timestamp: 1, step: 2 })
    expect(viaMlflow).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE', message: `The run ${run.uuid} must be in the 'active' state. Current state is deleted.` } })
    // Nothing was stored meanwhile; after restore, writes go through.
    expect((await runs().get(run.id)).tags).not.toHaveProperty('team')
    await runs().restore(run.id)
    await runs().restore(run.id)
    await runs().logMetrics(run.id, [{ key: 'loss', value: 0.5, step: 1 }])
    await runs().setTags({ runId: run.id, tags: { team: 'x' } })
    expect((await runs().get(run.id)).tags).toMatchObject({ team: 'x' })
  })
})

describe('text params (MLflow)', () => {
  it('are write-once compared as text: a /v1 number and the same text agree, another value is a conflict', async () => {
    const run = await newRun()
    await runs().setParams({ runId: run.id, hyperparameters: { lr: 0.1 } })
    await runs().logTextParams({ runId: run.id, params: { lr: '0.1', batch: '32' } })
    const conflict = await failure(() => runs().logTextParams({ runId: run.id, params: { batch: '64' } }))
    expect(conflict.code).toBe('conflict')
    // The /v1 number stays a number; nothing changed by the refused write.
    expect((await runs().get(run.id)).hyperparameters).toEqual({ lr: 0.1, batch: '32' })
  })

  it('are enforced by SQL, whoever calls it', async () => {
    const run = await newRun()
    await sql.query('SELECT log_ml_run_text_params($1, $2)', [run.id, { seed: '1' }])
    await expect(sql.query('SELECT log_ml_run_text_params($1, $2)', [run.id, { seed: '2' }])).rejects.toMatchObject({ code: 'HC409' })
  })

  it('are refused through the MLflow door with MLflow’s message, for log-parameter and log-batch alike', async () => {
    const created = await mlflow('runs/create', { experiment_id: String((await experiments().create({ name: unique('exp') })).id) })
    const runId = (created.json.run as { info: { run_id: string } }).info.run_id
    expect((await mlflow('runs/log-parameter', { run_id: runId, key: 'learning_rate', value: '0.1' })).status).toBe(200)
    expect((await mlflow('runs/log-parameter', { run_id: runId, key: 'learning_rate', value: '0.1' })).status).toBe(200)
    const refused = await mlflow('runs/log-parameter', { run_id: runId, key: 'learning_rate', value: '0.2' })
    expect(refused.status).toBe(400)
    expect(refused.json).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `Changing param values is not allowed. Param with key='learning_rate' was already logged with value='0.1' for run ID='${runId}'. Attempted logging new value '0.2'.`
    })
    const batch = await mlflow('runs/log-batch', { run_id: runId, params: [{ key: 'learning_rate', value: '0.3' }], tags: [{ key: 't', value: 'v' }] })
    expect(batch.status).toBe(400)
    expect(batch.json.message).toContain("Param with key='learning_rate' was already logged with value='0.1'")
  })
})

describe('tags and names', () => {
  it('removes one run tag, renames a run with its mlflow.runName tag', async () => {
    const run = await newRun()
    await runs().setTags({ runId: run.id, tags: { a: '1', b: '2' } })
    expect(await runs().deleteTag({ runId: run.id, key: 'a' })).toBe(true)
    expect(await runs().deleteTag({ runId: run.id, key: 'a' })).toBe(false)
    const renamed = await runs().rename({ runId: run.id, name: 'renamed', tags: { 'mlflow.runName': 'renamed' } })
    expect(renamed.name).toBe('renamed')
    expect(renamed.tags).toEqual({ b: '2', 'mlflow.runName': 'renamed' })
    expect((await failure(() => runs().deleteTag({ runId: 999_999_999, key: 'a' }))).code).toBe('not_found')
  })

  it('sets and removes one experiment tag without touching the others', async () => {
    const experiment = await experiments().create({ name: unique('exp'), tags: { keep: 'yes' } })
    expect((await experiments().setTag({ experimentId: experiment.id, key: 'k', value: 'v' })).tags).toEqual({ keep: 'yes', k: 'v' })
    expect(await experiments().deleteTag({ experimentId: experiment.id, key: 'k' })).toBe(true)
    expect(await experiments().deleteTag({ experimentId: experiment.id, key: 'k' })).toBe(false)
    expect((await experiments().get(experiment.id)).tags).toEqual({ keep: 'yes' })
  })

  it("creates MLflow's Default experiment 0 once, and runs can start in it", async () => {
    const first = await experiments().ensureDefault()
    const second = await experiments().ensureDefault()
    expect(first).toMatchObject({ id: 0, name: 'Default' })
    expect(second.id).toBe(0)
    const run = await runs().start({ experimentId: 0, name: 'in-default', startedAt: Date.UTC(2031, 0, 1), userId: 'ana' })
    expect(run.experimentId).toBe(0)
    expect(run.startedAt).toBe(new Date(Date.UTC(2031, 0, 1)).toISOString())
  })

  it('opens in the app like any other: the window reads experiment 0, its runs, search and leaderboard', async () => {
    await experiments().ensureDefault()
    const run = await runs().start({ experimentId: 0, name: 'shown-in-default' })
    await runs().logMetrics(run.id, [{ key: 'loss', value: 0.25, step: 1 }])
    const contract = env.core.contract
    expect(await contract.dispatch('experiments.get', { experimentId: 0 })).toMatchObject({ ok: true, value: { id: 0, name: 'Default' } })
    const listed = await contract.dispatch('runs.list', { experimentId: 0 })
    expect(listed).toMatchObject({ ok: true })
    expect((listed as { ok: true; value: Array<{ id: number }> }).value.map((row) => row.id)).toContain(run.id)
    const searched = await contract.dispatch('runs.search', { experimentId: 0, filter: 'metrics.loss < 0.5' })
    expect((searched as { ok: true; value: Array<{ id: number }> }).value.map((row) => row.id)).toContain(run.id)
    const board = await contract.dispatch('runs.leaderboard', { experimentId: 0, metricKey: 'loss', direction: 'asc' })
    expect(board).toMatchObject({ ok: true })
    expect(await contract.dispatch('experiments.get', { experimentId: -1 })).toMatchObject({ ok: false, error: { code: 'invalid_argument', field: 'experimentId' } })
    // And through /v1, as a training script names it.
    const headers = { authorization: `Bearer ${env.core.http!.token}` }
    const viaV1 = await fetch(`${env.core.http!.url}/v1/ml/experiments/0/runs`, { headers })
    expect(viaV1.status).toBe(200)
    expect(((await viaV1.json()) as { runs: Array<{ run_id: number }> }).runs.map((row) => row.run_id)).toContain(run.id)
  })
})
