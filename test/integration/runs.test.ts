import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import type { Run } from '../../src/shared/domain'
import type { TestCore } from '../support/test-env'
import { failure, startCoreWithSql, type CoreWithSql } from '../support/service-env'

let env: TestCore
let sql: pg.Client
let counter = 0

const unique = (label: string): string => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`

const experiments = () => env.core.services.experiments
const runs = () => env.core.services.runs

async function newExperiment(): Promise<number> {
  return (await experiments().create({ name: unique('exp') })).id
}

async function newRun(extra: Record<string, unknown> = {}): Promise<Run> {
  return runs().start({ experimentId: await newExperiment(), name: unique('run'), ...extra })
}

const HEX40 = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3'
const BLAKE3 = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'

let shared: CoreWithSql
beforeAll(async () => {
  shared = await startCoreWithSql()
  ;({ env, sql } = shared)
})
afterAll(() => shared?.close())
const countRows = (table: string): Promise<number> => shared.countRows(table)

describe('run lifecycle', () => {
  it('starts running by default, with a uuid, start time and no completion', async () => {
    const experimentId = await newExperiment()
    const run = await runs().start({ experimentId, name: 'default-start' })
    expect(run).toMatchObject({
      experimentId,
      name: 'default-start',
      status: 'running',
      hyperparameters: {},
      tags: {},
      finalMetrics: {},
      randomSeed: null,
      gitCommit: null,
      resources: { gpuHours: null, cpuHours: null, peakMemoryBytes: null },
      logs: null,
      errorMessage: null,
      stackTrace: null,
      completedAt: null
    })
    expect(run.uuid).toMatch(/^[0-9a-f]{32}$/)
    expect(run.startedAt).not.toBeNull()
    expect(await runs().get(run.id)).toEqual(run)
    expect((await runs().findByUuid(run.uuid))?.id).toBe(run.id)
  })

  it('gives a run a generated name when none is given', async () => {
    const run = await runs().start({ experimentId: await newExperiment() })
    expect(run.name).toMatch(/^run-\d{8}-\d{6}-[0-9a-z]{1,4}$/)
  })

  for (const finalStatus of ['completed', 'failed', 'killed'] as const) {
    it(`pending → running → ${finalStatus}`, async () => {
      const pending = await newRun({ status: 'pending' })
      expect(pending.status).toBe('pending')
      expect(pending.startedAt).toBeNull()
      expect(pending.completedAt).toBeNull()

      const running = await runs().markRunning(pending.id)
      expect(running.status).toBe('running')
      expect(running.startedAt).not.toBeNull()
      expect(running.completedAt).toBeNull()

      // Starting a running run again is harmless and keeps the start time.
      const again = await runs().markRunning(pending.id)
      expect(again.status).toBe('running')
      expect(again.startedAt).toBe(running.startedAt)

      const finished = await runs().complete({ runId: pending.id, status: finalStatus })
      expect(finished.status).toBe(finalStatus)
      expect(finished.completedAt).not.toBeNull()
      expect(finished.startedAt).toBe(running.startedAt)
      expect(Date.parse(finished.completedAt!)).toBeGreaterThanOrEqual(Date.parse(finished.startedAt!))
    })
  }

  it('complete defaults to completed; a pending run can be finished directly', async () => {
    const pending = await newRun({ status: 'pending' })
    const finished = await runs().complete({ runId: pending.id })
    expect(finished.status).toBe('completed')
    expect(finished.startedAt).not.toBeNull()
    expect(finished.completedAt).not.toBeNull()
  })

  it('refuses to finish a finished run (conflict naming `status`) and leaves it unchanged', async () => {
    const run = await newRun()
    const done = await runs().complete({
      runId: run.id,
      status: 'completed',
      finalMetrics: { accuracy: 0.91 },
      resources: { gpuHours: 1.5, cpuHours: 3, peakMemoryBytes: 1024 },
      logs: 'first'
    })
    for (const status of ['completed', 'failed', 'killed'] as const) {
      const error = await failure(() =>
        runs().complete({
          runId: run.id,
          status,
          finalMetrics: { accuracy: 0.1, extra: 1 },
          errorMessage: 'late',
          resources: { gpuHours: 99, cpuHours: 99, peakMemoryBytes: 99 },
          logs: 'second'
        })
      )
      expect(error.code).toBe('conflict')
      expect(error.field).toBe('status')
      expect(error.message).toContain('already completed')
    }
    expect(await runs().get(run.id)).toEqual(done)
  })

  it('refuses markRunning on a finished run (conflict) and leaves it finished', async () => {
    for (const status of ['completed', 'failed', 'killed'] as const) {
      const run = await newRun()
      const done = await runs().complete({ runId: run.id, status })
      const error = await failure(() => runs().markRunning(run.id))
      expect(error.code).toBe('conflict')
      expect(error.field).toBe('status')
      expect(await runs().get(run.id)).toEqual(done)
    }
  })

  it('refuses unknown start and finish statuses naming `status`', async () => {
    const experimentId = await newExperiment()
    const before = await countRows('ml_run')
    for (const status of ['completed', 'paused', 'RUNNING']) {
      const error = await failure(() => runs().start({ experimentId, status }))
      expect(error).toMatchObject({ code: 'invalid_argument', field: 'status' })
    }
    expect(await countRows('ml_run')).toBe(before)
    const run = await runs().start({ experimentId })
    for (const status of ['running', 'pending', 'done']) {
      const error = await failure(() => runs().complete({ runId: run.id, status }))
      expect(error).toMatchObject({ code: 'invalid_argument', field: 'status' })
    }
    expect((await runs().get(run.id)).status).toBe('running')
  })

  it('starting a run in an unknown experiment is not_found naming experimentId', async () => {
    const before = await countRows('ml_run')
    const error = await failure(() => runs().start({ experimentId: 88_888_888 }))
    expect(error).toMatchObject({ code: 'not_found', field: 'experimentId' })
    expect(await countRows('ml_run')).toBe(before)
  })

  it('refuses a NUL byte and an over-long run name, writing nothing', async () => {
    const experimentId = await newExperiment()
    const before = await countRows('ml_run')
    expect(await failure(() => runs().start({ experimentId, name: 'a\0' }))).toMatchObject({ code: 'invalid_argument', field: 'name' })
    expect(await failure(() => runs().start({ experimentId, name: 'r'.repeat(257) }))).toMatchObject({
      code: 'invalid_argument',
      field: 'name'
    })
    expect(await failure(() => runs().start({ experimentId, surprise: 1 }))).toMatchObject({ code: 'invalid_argument' })
    expect(await countRows('ml_run')).toBe(before)
  })

  it('lists runs by experiment, newest first, with their latest metrics', async () => {
    const experimentId = await newExperiment()
    const a = await runs().start({ experimentId, name: 'a' })
    const b = await runs().start({ experimentId, name: 'b' })
    await runs().logMetric({ runId: a.id, key: 'loss', value: 0.5, step: 3 })
    const other = await newRun()
    const listed = await runs().listByExperiment(experimentId)
    expect(listed.map((r) => r.id)).toEqual([b.id, a.id])
    expect(listed.map((r) => r.id)).not.toContain(other.id)
    expect(listed[1]!.metrics).toEqual([
      expect.objectContaining({ key: 'loss', lastValue: 0.5, lastStep: 3n, min: 0.5, max: 0.5, count: 1 })
    ])
    expect(listed[0]!.metrics).toEqual([])
    expect((await runs().getWithMetrics(a.id)).metrics).toEqual(listed[1]!.metrics)
  })
})

describe('hyperparameters', () => {
  it('stores hyperparameters given at start and merges new keys later', async () => {
    const run = await newRun({ hyperparameters: { lr: 0.001, layers: [64, 64], opt: { name: 'adam', beta: 0.9 } } })
    expect(run.hyperparameters).toEqual({ lr: 0.001, layers: [64, 64], opt: { name: 'adam', beta: 0.9 } })
    const merged = await runs().setParams({ runId: run.id, hyperparameters: { batch: 32 } })
    expect(merged.hyperparameters).toEqual({ lr: 0.001, layers: [64, 64], opt: { name: 'adam', beta: 0.9 }, batch: 32 })
  })

  it('accepts the same value again', async () => {
    const run = await newRun({ hyperparameters: { lr: 0.001, opt: { name: 'adam', beta: 0.9 } } })
    const same = await runs().setParams({ runId: run.id, hyperparameters: { lr: 0.001, opt: { beta: 0.9, name: 'adam' } } })
    expect(same.hyperparameters).toEqual(run.hyperparameters)
  })

  it('refuses a different value (conflict naming hyperparameters.<key>) and changes nothing', async () => {
    const run = await newRun({ hyperparameters: { lr: 0.001, batch: 32 } })
    const before = await runs().get(run.id)
    const error = await failure(() => runs().setParams({ runId: run.id, hyperparameters: { momentum: 0.9, lr: 0.01 } }))
    expect(error.code).toBe('conflict')
    expect(error.field).toBe('hyperparameters.lr')
    // The new key in the same call was not written either.
    const after = await runs().get(run.id)
    expect(after.hyperparameters).toEqual({ lr: 0.001, batch: 32 })
    expect(after).toEqual(before)

    const typeChange = await failure(() => runs().setParams({ runId: run.id, hyperparameters: { batch: '32' } }))
    expect(typeChange).toMatchObject({ code: 'conflict', field: 'hyperparameters.batch' })
    const toNull = await failure(() => runs().setParams({ runId: run.id, hyperparameters: { batch: null } }))
    expect(toNull).toMatchObject({ code: 'conflict', field: 'hyperparameters.batch' })
  })

  it('write-once applies to a whole top-level value, nested objects included', async () => {
    const run = await newRun({ hyperparameters: { opt: { name: 'adam', beta: 0.9 } } })
    const changed = await failure(() => runs().setParams({ runId: run.id, hyperparameters: { opt: { name: 'adam', beta: 0.99 } } }))
    expect(changed).toMatchObject({ code: 'conflict', field: 'hyperparameters.opt' })
    const extended = await failure(() => runs().setParams({ runId: run.id, hyperparameters: { opt: { name: 'adam', beta: 0.9, eps: 1e-8 } } }))
    expect(extended).toMatchObject({ code: 'conflict', field: 'hyperparameters.opt' })
    // 1 and 1.0 are the same JSON number.
    const numeric = await newRun({ hyperparameters: { epochs: 10 } })
    expect((await runs().setParams({ runId: numeric.id, hyperparameters: { epochs: 10.0 } })).hyperparameters).toEqual({ epochs: 10 })
    expect((await runs().get(run.id)).hyperparameters).toEqual({ opt: { name: 'adam', beta: 0.9 } })
  })

  it('refuses bad params input and unknown runs', async () => {
    const run = await newRun()
    expect(await failure(() => runs().setParams({ runId: run.id, hyperparameters: { 'a\0': 1 } }))).toMatchObject({
      code: 'invalid_argument'
    })
    expect(await failure(() => runs().setParams({ runId: run.id, hyperparameters: { lr: Number.NaN } }))).toMatchObject({
      code: 'invalid_argument',
      field: 'hyperparameters.lr'
    })
    expect(await failure(() => runs().setParams({ runId: run.id, hyperparameters: [1, 2] }))).toMatchObject({
      code: 'invalid_argument',
      field: 'hyperparameters'
    })
    expect(await failure(() => runs().setParams({ runId: 77_777_777, hyperparameters: { a: 1 } }))).toMatchObject({
      code: 'not_found',
      field: 'runId'
    })
    expect((await runs().get(run.id)).hyperparameters).toEqual({})
  })
})

describe('reproducibility and resources', () => {
  it('round-trips a random seed past 2^53 given as a string, exactly, as a bigint', async () => {
    const seeds = ['9007199254740993', '9223372036854775807', '-9223372036854775808', '0']
    for (const seed of seeds) {
      const run = await newRun({ randomSeed: seed })
      expect(run.randomSeed).toBe(BigInt(seed))
      expect((await runs().get(run.id)).randomSeed).toBe(BigInt(seed))
      const { rows } = await sql.query<{ s: string }>('SELECT random_seed::text AS s FROM ml_run WHERE run_id = $1', [run.id])
      expect(rows[0]!.s).toBe(seed)
    }
    expect((await newRun({ randomSeed: 42 })).randomSeed).toBe(42n)
    expect((await newRun({ randomSeed: 2n ** 62n })).randomSeed).toBe(2n ** 62n)
  })

  it('refuses an unsafe JS number seed and one beyond int64', async () => {
    const experimentId = await newExperiment()
    const before = await countRows('ml_run')
    for (const seed of [2 ** 53 + 2, '9223372036854775808', '12a', 1.5]) {
      const error = await failure(() => runs().start({ experimentId, randomSeed: seed }))
      expect(error).toMatchObject({ code: 'invalid_argument', field: 'randomSeed' })
    }
    expect(await countRows('ml_run')).toBe(before)
  })

  it('stores a git commit and refuses malformed ones', async () => {
    const run = await newRun({ gitCommit: HEX40 })
    expect(run.gitCommit).toBe(HEX40)
    expect((await newRun({ gitCommit: 'abc1234' })).gitCommit).toBe('abc1234')
    const experimentId = await newExperiment()
    for (const bad of ['ABC1234', 'abc123', 'xyz1234', HEX40 + 'g', 'a'.repeat(65), '']) {
      const error = await failure(() => runs().start({ experimentId, gitCommit: bad }))
      expect(error).toMatchObject({ code: 'invalid_argument', field: 'gitCommit' })
    }
  })

  it('stores resources, logs, error message and stack trace', async () => {
    const run = await newRun()
    const logs = 'epoch 1 loss 0.9\nepoch 2 loss 0.7\n'.repeat(1000)
    const stackTrace = 'Traceback (most recent call last):\n  File "train.py", line 10\nRuntimeError: CUDA out of memory'
    const failed = await runs().complete({
      runId: run.id,
      status: 'failed',
      errorMessage: 'CUDA out of memory',
      stackTrace,
      resources: { gpuHours: 12.25, cpuHours: 0.5, peakMemoryBytes: 34_359_738_368 },
      logs,
      finalMetrics: { loss: 0.7 }
    })
    expect(failed).toMatchObject({
      status: 'failed',
      errorMessage: 'CUDA out of memory',
      stackTrace,
      resources: { gpuHours: 12.25, cpuHours: 0.5, peakMemoryBytes: 34_359_738_368 },
      logs,
      finalMetrics: { loss: 0.7 }
    })
    expect(await runs().get(run.id)).toEqual(failed)
  })

  it('refuses negative resources and NUL bytes in logs, naming the field, and leaves the run running', async () => {
    const run = await newRun()
    const negative = await failure(() => runs().complete({ runId: run.id, resources: { gpuHours: -1 } }))
    expect(negative).toMatchObject({ code: 'invalid_argument', field: 'resources.gpuHours' })
    const memory = await failure(() => runs().complete({ runId: run.id, resources: { peakMemoryBytes: 1.5 } }))
    expect(memory).toMatchObject({ code: 'invalid_argument', field: 'resources.peakMemoryBytes' })
    const nulLogs = await failure(() => runs().complete({ runId: run.id, logs: 'a\0b' }))
    expect(nulLogs).toMatchObject({ code: 'invalid_argument', field: 'logs' })
    const nulError = await failure(() => runs().complete({ runId: run.id, status: 'failed', errorMessage: '\0' }))
    expect(nulError).toMatchObject({ code: 'invalid_argument', field: 'errorMessage' })
    const nanMetric = await failure(() => runs().complete({ runId: run.id, finalMetrics: { loss: Number.NaN } }))
    expect(nanMetric).toMatchObject({ code: 'invalid_argument', field: 'finalMetrics.loss' })
    expect(await runs().get(run.id)).toEqual(run)
  })
})

describe('checkpoints', () => {
  it('saves checkpoints with every field and lists them by step', async () => {
    const run = await newRun()
    const saved = await runs().saveCheckpoint({
      runId: run.id,
      path: 'checkpoints/step-2000.pt',
      step: 2000,
      epoch: 2,
      metricsSnapshot: { val_loss: 0.42, accuracy: 0.88 },
      sizeBytes: 123_456_789,
      blake3: BLAKE3
    })
    expect(saved).toMatchObject({
      runId: run.id,
      path: 'checkpoints/step-2000.pt',
      step: 2000n,
      epoch: 2,
      metricsSnapshot: { val_loss: 0.42, accuracy: 0.88 },
      isBest: false,
      sizeBytes: 123_456_789,
      blake3: BLAKE3
    })
    await runs().saveCheckpoint({ runId: run.id, path: 'checkpoints/step-1000.pt', step: 1000 })
    await runs().saveCheckpoint({ runId: run.id, path: 'checkpoints/big.pt', step: '9223372036854775807' })
    const listed = await runs().listCheckpoints(run.id)
    expect(listed.map((c) => c.step)).toEqual([1000n, 2000n, 9223372036854775807n])
    expect(listed[1]).toEqual(saved)
    expect(listed[0]).toMatchObject({ epoch: null, metricsSnapshot: {}, sizeBytes: null, blake3: null, isBest: false })
  })

  it('moves the best flag to the newest best checkpoint', async () => {
    const run = await newRun()
    await runs().saveCheckpoint({ runId: run.id, path: 'c1', step: 1, isBest: true })
    let best = (await runs().listCheckpoints(run.id)).filter((c) => c.isBest)
    expect(best.map((c) => c.step)).toEqual([1n])

    await runs().saveCheckpoint({ runId: run.id, path: 'c2', step: 2, isBest: false })
    best = (await runs().listCheckpoints(run.id)).filter((c) => c.isBest)
    expect(best.map((c) => c.step)).toEqual([1n])

    await runs().saveCheckpoint({ runId: run.id, path: 'c3', step: 3, isBest: true })
    const all = await runs().listCheckpoints(run.id)
    expect(all.map((c) => [c.step, c.isBest])).toEqual([
      [1n, false],
      [2n, false],
      [3n, true]
    ])

    // Another run's best checkpoint is independent.
    const other = await newRun()
    await runs().saveCheckpoint({ runId: other.id, path: 'o1', step: 1, isBest: true })
    expect((await runs().listCheckpoints(run.id)).filter((c) => c.isBest).map((c) => c.step)).toEqual([3n])
  })

  it('refuses a duplicate step (conflict naming `step`) and keeps the best flag where it was', async () => {
    const run = await newRun()
    await runs().saveCheckpoint({ runId: run.id, path: 'a', step: 10, isBest: true })
    const error = await failure(() => runs().saveCheckpoint({ runId: run.id, path: 'b', step: 10, isBest: true }))
    expect(error.code).toBe('conflict')
    expect(error.field).toBe('step')
    const listed = await runs().listCheckpoints(run.id)
    expect(listed).toHaveLength(1)
    expect(listed[0]).toMatchObject({ path: 'a', step: 10n, isBest: true })
  })

  it('refuses bad checkpoint input and unknown runs', async () => {
    const run = await newRun()
    expect(await failure(() => runs().saveCheckpoint({ runId: run.id, path: '', step: 1 }))).toMatchObject({
      code: 'invalid_argument',
      field: 'path'
    })
    expect(await failure(() => runs().saveCheckpoint({ runId: run.id, path: 'p', step: 2 ** 53 + 2 }))).toMatchObject({
      code: 'invalid_argument',
      field: 'step'
    })
    expect(await failure(() => runs().saveCheckpoint({ runId: run.id, path: 'p', step: 1, blake3: 'abc' }))).toMatchObject({
      code: 'invalid_argument',
      field: 'blake3'
    })
    expect(await failure(() => runs().saveCheckpoint({ runId: 66_666_666, path: 'p', step: 1 }))).toMatchObject({
      code: 'not_found',
      field: 'runId'
    })
    expect(await runs().listCheckpoints(run.id)).toEqual([])
  })
})

describe('leaderboard', () => {
  it('ranks by final metric when reported, else the latest logged value; NaN never ranks', async () => {
    const experimentId = await newExperiment()
    const start = (name: string) => runs().start({ experimentId, name, hyperparameters: { name } })
    const a = await start('a') // logged 0.30 then final 0.10: final wins
    const b = await start('b') // logged only: latest by step is 0.20
    const c = await start('c') // logged NaN last: excluded
    const d = await start('d') // final 0.50
    const e = await start('e') // nothing logged
    const f = await start('f') // other key only
    await runs().logMetrics(a.id, [{ key: 'loss', value: 0.3, step: 5 }])
    await runs().complete({ runId: a.id, finalMetrics: { loss: 0.1 } })
    await runs().logMetrics(b.id, [
      { key: 'loss', value: 0.05, step: 1 },
      { key: 'loss', value: 0.2, step: 9 }
    ])
    await runs().logMetrics(c.id, [
      { key: 'loss', value: 0.01, step: 1 },
      { key: 'loss', value: 'NaN', step: 2 }
    ])
    await runs().complete({ runId: d.id, finalMetrics: { loss: 0.5 } })
    await runs().logMetrics(f.id, [{ key: 'accuracy', value: 0.9, step: 1 }])
    void e

    const asc = await runs().leaderboard({ experimentId, metricKey: 'loss', direction: 'asc' })
    expect(asc.map((entry) => [entry.rank, entry.runName, entry.value, entry.step])).toEqual([
      [1, 'a', 0.1, null],
      [2, 'b', 0.2, 9n],
      [3, 'd', 0.5, null]
    ])
    expect(asc[0]).toMatchObject({ runId: a.id, status: 'completed', hyperparameters: { name: 'a' } })
    expect(asc[1]).toMatchObject({ runId: b.id, status: 'running' })

    const desc = await runs().leaderboard({ experimentId, metricKey: 'loss', direction: 'desc' })
    expect(desc.map((entry) => entry.runName)).toEqual(['d', 'b', 'a'])
    expect(desc.map((entry) => entry.rank)).toEqual([1, 2, 3])

    // Default direction is descending, default limit 10.
    expect((await runs().leaderboard({ experimentId, metricKey: 'loss' })).map((x) => x.runName)).toEqual(['d', 'b', 'a'])

    const limited = await runs().leaderboard({ experimentId, metricKey: 'loss', direction: 'asc', limit: 2 })
    expect(limited.map((entry) => entry.runName)).toEqual(['a', 'b'])

    expect(await runs().leaderboard({ experimentId, metricKey: 'no-such-metric' })).toEqual([])
    expect((await runs().leaderboard({ experimentId, metricKey: 'accuracy' })).map((x) => x.runId)).toEqual([f.id])
  })

  it('ties share a rank', async () => {
    const experimentId = await newExperiment()
    const x = await runs().start({ experimentId, name: 'x' })
    const y = await runs().start({ experimentId, name: 'y' })
    const z = await runs().start({ experimentId, name: 'z' })
    await runs().complete({ runId: x.id, finalMetrics: { acc: 0.9 } })
    await runs().complete({ runId: y.id, finalMetrics: { acc: 0.9 } })
    await runs().complete({ runId: z.id, finalMetrics: { acc: 0.8 } })
    const board = await runs().leaderboard({ experimentId, metricKey: 'acc' })
    expect(board.map((entry) => [entry.rank, entry.runId])).toEqual([
      [1, x.id],
      [1, y.id],
      [3, z.id]
    ])
  })

  it('refuses a bad limit, direction or experiment', async () => {
    const experimentId = await newExperiment()
    expect(await failure(() => runs().leaderboard({ experimentId, metricKey: 'loss', limit: 0 }))).toMatchObject({
      code: 'invalid_argument',
      field: 'limit'
    })
    expect(await failure(() => runs().leaderboard({ experimentId, metricKey: 'loss', direction: 'up' }))).toMatchObject({
      code: 'invalid_argument',
      field: 'direction'
    })
    expect(await failure(() => runs().leaderboard({ experimentId: 55_555_555, metricKey: 'loss' }))).toMatchObject({
      code: 'not_found',
      field: 'experimentId'
    })
  })
})

describe('unknown runs', () => {
  it('every run operation on an unknown run id is not_found naming runId', async () => {
    const missing = 44_444_444
    const calls: Array<[string, () => unknown]> = [
      ['get', () => runs().get(missing)],
      ['getWithMetrics', () => runs().getWithMetrics(missing)],
      ['markRunning', () => runs().markRunning(missing)],
      ['complete', () => runs().complete({ runId: missing })],
      ['setParams', () => runs().setParams({ runId: missing, hyperparameters: { a: 1 } })],
      ['setTags', () => runs().setTags({ runId: missing, tags: { a: '1' } })],
      ['logMetric', () => runs().logMetric({ runId: missing, key: 'k', value: 1 })],
      ['logMetrics', () => runs().logMetrics(missing, [{ key: 'k', value: 1 }])],
      ['saveCheckpoint', () => runs().saveCheckpoint({ runId: missing, path: 'p', step: 1 })]
    ]
    for (const [name, call] of calls) {
      const error = await failure(call)
      expect({ name, code: error.code, field: error.field }).toEqual({ name, code: 'not_found', field: 'runId' })
    }
    expect(await runs().listCheckpoints(missing)).toEqual([])
    expect(await runs().findByUuid('0'.repeat(32))).toBeUndefined()
    // A malformed uuid (upper case, NUL byte, not a string) names no run rather than failing.
    const run = await newRun()
    expect(await runs().findByUuid(run.uuid.toUpperCase())).toBeUndefined()
    expect(await runs().findByUuid(`${run.uuid.slice(0, 31)}\0`)).toBeUndefined()
    expect(await runs().findByUuid(42)).toBeUndefined()
  })

  it('service calls return rejected promises for bad input instead of throwing synchronously', async () => {
    const pending = runs().get('not-an-id')
    expect(pending).toBeInstanceOf(Promise)
    await expect(pending).rejects.toMatchObject({ code: 'invalid_argument', field: 'runId' })
    const listing = runs().listCheckpoints(-1)
    expect(listing).toBeInstanceOf(Promise)
    await expect(listing).rejects.toMatchObject({ code: 'invalid_argument', field: 'runId' })
  })
})

describe('tags', () => {
  it('merges run tags', async () => {
    const run = await newRun({ tags: { a: '1' } })
    expect(run.tags).toEqual({ a: '1' })
    const tagged = await runs().setTags({ runId: run.id, tags: { b: '2', a: '3' } })
    expect(tagged.tags).toEqual({ a: '3', b: '2' })
    expect(await failure(() => runs().setTags({ runId: run.id, tags: { c: 3 } }))).toMatchObject({
      code: 'invalid_argument',
      field: 'tags.c'
    })
  })
})
