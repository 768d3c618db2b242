import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MetricPoint } from '../../src/shared/domain'
import type { GroupedSeries } from '../../src/shared/grouped-series'
import { Database } from '../../src/main/db/database'
import { loadMigrations, migrate } from '../../src/main/db/migrator'
import { createSilentLogger } from '../../src/main/logging'
import { migrationsDir } from '../../src/main/paths'
import { PgExperimentRepository } from '../../src/main/repositories/experiment-repository'
import { PgMetricRepository } from '../../src/main/repositories/metric-repository'
import { PgRunRepository } from '../../src/main/repositories/run-repository'
import { startTestCore, createTestDatabase, type TestCore } from '../support/test-env'

// Issue 13: a grouped chart's mean, min, max, std and count per step bucket, computed in
// PostgreSQL over every run of a sweep (runs.groupedSeries), before and after the rollup fold.

const logger = createSilentLogger()

/** The learning rates of the five groups; 20 more runs have no lr (the "(not set)" group). */
const LRS = ['0.1', '0.01', '0.001', '0.0003', '1']
const RUNS = 300
const UNSET = 20
/** Steps 0, 10, …, 5990 (runs stopping early log fewer). */
const STEP_STRIDE = 10
const FULL_LENGTH = 600

interface SweepRun {
  id: number
  lr: string
  points: MetricPoint[]
}

/** A deterministic value in [0, 1) for run i at step s (no test value comes from the code under test). */
function noise(i: number, step: number): number {
  const x = Math.sin(i * 12.9898 + step * 78.233) * 43758.5453
  return x - Math.floor(x)
}

/**
 * Run i's points: a curve per group plus noise, some runs stopping early, and non-finite values
 * at a few points — NaN and ±Inf at the last step of some buckets (where they decide a run's
 * value there) and NaN in the middle of buckets (where the last value hides them).
 */
function pointsOf(i: number, groupIndex: number, length: number, firstStep = 0): MetricPoint[] {
  return Array.from({ length }, (_, j) => {
    const step = firstStep + j * STEP_STRIDE
    let value = 1 / (1 + step / 1000) + groupIndex + noise(i, step)
    if (step === 5110 && i % 7 === 0) value = NaN
    else if (step === 5110 && i % 7 === 1) value = Infinity
    else if (step === 2550 && i % 11 === 0) value = -Infinity
    else if (step % 1000 === 500 && i % 5 === 0) value = NaN
    return { key: 'loss', value, step: BigInt(step), epoch: null, timestamp: 1_700_000_000_000 + step, kind: 'train' }
  })
}

/** Every number of a value to 12 significant digits (sums that differ only in their order compare equal). */
function toTwelveDigits(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Number(value.toPrecision(12)) : value
  if (Array.isArray(value)) return value.map(toTwelveDigits)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toTwelveDigits(item)]))
  return value
}

const lastStepOf = (runs: readonly SweepRun[]): number => runs.reduce((last, run) => Math.max(last, Number(run.points.at(-1)!.step)), 0)

/** Mean, min, max, population std and count of the finite values, computed here. */
function stats(values: number[]) {
  const finite = values.filter(Number.isFinite)
  const mean = finite.reduce((sum, v) => sum + v, 0) / finite.length
  const variance = finite.reduce((sum, v) => sum + (v - mean) ** 2, 0) / finite.length
  return { mean, min: Math.min(...finite), max: Math.max(...finite), std: Math.sqrt(variance), count: finite.length }
}

/**
 * What each group's buckets must hold, from the points logged: per bucket of `width` steps from
 * step 0, each run's last point in it (the contract's rule), the finite ones aggregated.
 */
function expectedGroups(runs: readonly SweepRun[], width: number) {
  const byGroup = new Map<string, Map<number, number[]>>()
  for (const run of runs) {
    let buckets = byGroup.get(run.lr)
    if (!buckets) byGroup.set(run.lr, (buckets = new Map()))
    const last = new Map<number, MetricPoint>()
    for (const point of run.points) {
      const bucket = Math.floor(Number(point.step) / width)
      const previous = last.get(bucket)
      if (!previous || point.step > previous.step) last.set(bucket, point)
    }
    for (const [bucket, point] of last) {
      const values = buckets.get(bucket) ?? []
      values.push(point.value)
      buckets.set(bucket, values)
    }
  }
  const result = new Map<string, Array<{ bucket: number } & ReturnType<typeof stats>>>()
  for (const [lr, buckets] of byGroup) {
    result.set(
      lr,
      [...buckets.entries()]
        .filter(([, values]) => values.some(Number.isFinite))
        .sort(([a], [b]) => a - b)
        .map(([bucket, values]) => ({ bucket, ...stats(values) }))
    )
  }
  return result
}

/** Checks every group of the answer against the values computed from the logged points. */
function expectMatches(answer: GroupedSeries, runs: readonly SweepRun[], width: number, lastStep: number): void {
  expect(answer.bucketWidths.loss).toBe(width)
  const expected = expectedGroups(runs, width)
  // Numeric order, the runs without an lr last (as the runs table orders its groups).
  expect(answer.groups.map((group) => group.label)).toEqual(['0.0003', '0.001', '0.01', '0.1', '1', '(not set)'])
  expect(answer.groups.map((group) => group.key)).toEqual(['0.0003', '0.001', '0.01', '0.1', '1', ''])
  expect(answer.runCount).toBe(RUNS)
  for (const group of answer.groups) {
    expect(group.runCount).toBe(runs.filter((run) => run.lr === group.key).length)
    const want = expected.get(group.key)!
    const got = group.series[0]!
    expect(got.key).toBe('loss')
    expect(got.fromSteps).toEqual(want.map((b) => b.bucket * width))
    expect(got.steps).toEqual(want.map((b) => Math.min(b.bucket * width + width - 1, lastStep)))
    expect(got.count).toEqual(want.map((b) => b.count))
    for (let i = 0; i < want.length; i++) {
      expect(got.mean[i]).toBeCloseTo(want[i]!.mean, 9)
      expect(got.min[i]).toBe(want[i]!.min)
      expect(got.max[i]).toBe(want[i]!.max)
      expect(got.std[i]).toBeCloseTo(want[i]!.std, 9)
    }
  }
}

describe('runs.groupedSeries: bands over every run, computed in PostgreSQL', () => {
  // Repositories on a database of their own: no core, so no folder on a timer, and the fold
  // happens exactly when the test says.
  let drop: () => Promise<void>
  let database: Database
  let metrics: PgMetricRepository
  let experimentId: number
  let otherExperimentRun: number
  const sweep: SweepRun[] = []
  const foldAll = async () => {
    while ((await metrics.foldPendingSlice(65_536)) > 0);
  }
  const ask = (maxBuckets: number, runIds = sweep.map((run) => run.id)) =>
    metrics.groupedSeries({ experimentId, runIds, groupBy: 'params.lr', keys: ['loss'], maxBuckets })

  beforeAll(async () => {
    let url: string
    ;({ url, drop } = await createTestDatabase())
    database = await Database.connect(url, logger)
    await migrate(database, loadMigrations(migrationsDir()), logger)
    metrics = new PgMetricRepository(database)
    const runs = new PgRunRepository(database)
    const experiments = new PgExperimentRepository(database)
    const newExperiment = async (name: string) => (await experiments.create({ name, description: '', modelConfig: {}, trainingConfig: {}, hyperparameters: {}, tags: {}, createdBy: null })).id
    experimentId = await newExperiment('sweep')
    for (let i = 0; i < RUNS; i++) {
      const groupIndex = i < RUNS - UNSET ? i % LRS.length : LRS.length
      const lr = groupIndex < LRS.length ? LRS[groupIndex]! : ''
      // A third of the runs stop early (at a different step each), so the later buckets count fewer runs.
      const length = i % 3 === 0 ? 200 + (i % 13) * 25 : FULL_LENGTH
      const hyperparameters: Record<string, string | number> = lr === '' ? { batch: 32 } : { lr, batch: 32 }
      const id = (await runs.start({ experimentId, name: `run-${i}`, hyperparameters, randomSeed: null, gitCommit: null, tags: {}, status: 'running' })).id
      const points = pointsOf(i, groupIndex, length)
      await metrics.logBatch(id, points)
      sweep.push({ id, lr, points })
    }
    // A run of another experiment with a value far above the others: asked for, it must not count.
    const other = await newExperiment('another')
    otherExperimentRun = (await runs.start({ experimentId: other, name: 'elsewhere', hyperparameters: { lr: '0.1' }, randomSeed: null, gitCommit: null, tags: {}, status: 'running' })).id
    await metrics.logBatch(otherExperimentRun, [{ key: 'loss', value: 1_000, step: 10n, epoch: null, timestamp: 1_700_000_000_000, kind: 'train' }])
  }, 240_000)
  afterAll(async () => {
    await database?.close()
    await drop?.()
  })

  it('answers from the raw points before the fold, the rollups after it, and both with new points on top — the same values', async () => {
    const lastStep = (FULL_LENGTH - 1) * STEP_STRIDE
    // Nothing folded yet: every sealed chunk is past the watermark.
    expect((await database.query('SELECT 1 FROM ml_metric_rollup')).rowCount).toBe(0)
    // 5,991 steps in 20 buckets: level-0 rollups (256 steps), two merged per bucket.
    const before = await ask(20)
    expectMatches(before, sweep, 512, lastStep)

    await foldAll()
    expect(Number((await database.query<{ n: string }>('SELECT count(*)::text AS n FROM ml_metric_rollup WHERE level = 0')).rows[0]!.n)).toBeGreaterThan(RUNS)
    const after = await ask(20)
    // The same answer; only the last bits of sums may differ: PostgreSQL's avg and stddev_pop
    // add in the order the rows come, and the rollups' rows come in another order than the raw
    // points' (a CI run saw 3.7979451178312833 against …837).
    expect(toTwelveDigits(after)).toEqual(toTwelveDigits(before))

    // New points on some runs, past the folded ones (unfolded again: rollups and raw points together).
    for (const run of sweep.filter((_, i) => i % 4 === 1)) {
      const more = pointsOf(run.id, LRS.indexOf(run.lr), 100, FULL_LENGTH * STEP_STRIDE)
      await metrics.logBatch(run.id, more)
      run.points.push(...more)
    }
    const extendedLast = (FULL_LENGTH + 99) * STEP_STRIDE
    // 6,991 steps: 28 level-0 buckets, two a bucket.
    expectMatches(await ask(20), sweep, 512, extendedLast)
    await foldAll()
    expectMatches(await ask(20), sweep, 512, extendedLast)
  })

  it('a column per step while the steps fit, buckets of equal width over the raw points for a narrow range', async () => {
    const lastStep = lastStepOf(sweep)
    expectMatches(await ask(10_000), sweep, 1, lastStep)
    // 6,991 steps in at most 200 buckets: finer than rollups give (28 level-0 buckets), so 35-step buckets from the raw points.
    expectMatches(await ask(200), sweep, 35, lastStep)
  })

  it('counts only the runs asked that belong to the experiment', async () => {
    const some = sweep.filter((_, i) => i % 2 === 0)
    const answer = await ask(20, [...some.map((run) => run.id), otherExperimentRun])
    expect(answer.runCount).toBe(some.length)
    expect(answer.groups.reduce((sum, group) => sum + group.runCount, 0)).toBe(some.length)
    const lastStep = lastStepOf(some)
    const expected = expectedGroups(some, 512)
    for (const group of answer.groups) {
      expect(group.series[0]!.max).toEqual(expected.get(group.key)!.map((b) => b.max))
      expect(group.series[0]!.steps.at(-1)).toBeLessThanOrEqual(lastStep)
      expect(Math.max(...group.series[0]!.max)).toBeLessThan(1_000)
    }
  })
})

describe('runs.groupedSeries through the contract', () => {
  let core: TestCore
  let experimentId: number
  const runIds: number[] = []
  beforeAll(async () => {
    core = await startTestCore()
    const { experiments, runs } = core.core.services
    experimentId = (await experiments.create({ name: 'contract-groups' })).id
    // Params given as numbers and strings, and tags: the groups' keys are spelled as the browser spells them.
    const params = [{ lr: 1e-7 }, { lr: 1e-7 }, { lr: 0.5 }, { lr: 'warm' }, {}]
    for (const [i, hyperparameters] of params.entries()) {
      const run = await runs.start({ experimentId, name: `r${i}`, hyperparameters, tags: i < 2 ? { opt: 'adam' } : { opt: 'sgd' } })
      await runs.logValidatedMetrics(run.id, [
        { key: 'acc', value: i, step: 1n, epoch: null, timestamp: Date.now(), kind: 'train' },
        { key: 'acc', value: i * 2, step: 2n, epoch: null, timestamp: Date.now() + 1, kind: 'train' }
      ])
      runIds.push(run.id)
    }
  }, 120_000)
  afterAll(async () => {
    await core?.close()
  })
  const dispatch = (input: unknown) => core.core.contract.dispatch('runs.groupedSeries', input)

  it('groups by a param (numbers spelled as JavaScript does) or a tag, and names the missing metric with empty series', async () => {
    const byLr = await dispatch({ experimentId, runIds, groupBy: 'params.lr', keys: ['acc', 'never-logged'] })
    expect(byLr.ok).toBe(true)
    const answer = (byLr as { ok: true; value: GroupedSeries }).value
    // Not every value is a number ('warm'), so in text order; the run without lr last.
    expect(answer.groups.map((group) => [group.label, group.runCount])).toEqual([
      ['0.5', 1],
      ['1e-7', 2],
      ['warm', 1],
      ['(not set)', 1]
    ])
    const small = answer.groups[1]!.series.find((series) => series.key === 'acc')!
    expect(small).toMatchObject({ steps: [1, 2], mean: [0.5, 1], min: [0, 0], max: [1, 2], std: [0.5, 1], count: [2, 2] })
    expect(answer.groups[1]!.series.find((series) => series.key === 'never-logged')).toMatchObject({ steps: [], mean: [] })

    const byTag = await dispatch({ experimentId, runIds, groupBy: 'tags.opt', keys: ['acc'] })
    const tagged = (byTag as { ok: true; value: GroupedSeries }).value
    expect(tagged.groups.map((group) => [group.key, group.runCount, group.series[0]!.mean])).toEqual([
      ['adam', 2, [0.5, 1]],
      ['sgd', 3, [3, 6]]
    ])
  })

  it('puts a number and the string JavaScript spells alike in one group, as the runs table does', async () => {
    const { experiments, runs } = core.core.services
    const mixed = (await experiments.create({ name: 'mixed-spellings' })).id
    const ids: number[] = []
    // 1e-7 as a number (PostgreSQL spells it 0.0000001) and as the string '1e-7'; 0.5 alone.
    for (const [i, lr] of [1e-7, '1e-7', 1e-7, 0.5].entries()) {
      const run = await runs.start({ experimentId: mixed, name: `m${i}`, hyperparameters: { lr } })
      await runs.logValidatedMetrics(run.id, [{ key: 'acc', value: i * 3, step: 1n, epoch: null, timestamp: Date.now(), kind: 'train' }])
      ids.push(run.id)
    }
    const outcome = await dispatch({ experimentId: mixed, runIds: ids, groupBy: 'params.lr', keys: ['acc'] })
    const answer = (outcome as { ok: true; value: GroupedSeries }).value
    expect(answer.groups.map((group) => [group.key, group.runCount])).toEqual([
      ['1e-7', 3],
      ['0.5', 1]
    ])
    // acc 0, 3, 6: mean 3, population std √6.
    const merged = answer.groups[0]!.series[0]!
    expect(merged).toMatchObject({ steps: [1], fromSteps: [1], min: [0], max: [6], count: [3] })
    expect(merged.mean[0]).toBeCloseTo(3, 12)
    expect(merged.std[0]).toBeCloseTo(Math.sqrt(6), 12)
  })

  it('refuses bad input with the field named', async () => {
    const error = async (input: unknown) => {
      const outcome = await dispatch(input)
      expect(outcome.ok).toBe(false)
      return (outcome as { ok: false; error: { code: string; field?: string; message: string } }).error
    }
    expect(await error({ experimentId: 987_654, runIds, groupBy: 'params.lr', keys: ['acc'] })).toMatchObject({ code: 'not_found', field: 'experimentId' })
    for (const groupBy of ['lr', 'metrics.acc', 'params.', '']) {
      expect(await error({ experimentId, runIds, groupBy, keys: ['acc'] })).toMatchObject({ code: 'invalid_argument', field: 'groupBy' })
    }
    const tooMany = Array.from({ length: 50_001 }, (_, i) => i + 1)
    expect(await error({ experimentId, runIds: tooMany, groupBy: 'params.lr', keys: ['acc'] })).toMatchObject({ code: 'invalid_argument', field: 'runIds', message: 'runIds: must name at most 50,000 runs' })
    expect(await error({ experimentId, runIds: [], groupBy: 'params.lr', keys: ['acc'] })).toMatchObject({ code: 'invalid_argument', field: 'runIds' })
    expect(await error({ experimentId, runIds: [0], groupBy: 'params.lr', keys: ['acc'] })).toMatchObject({ code: 'invalid_argument', field: 'runIds[0]' })
    expect(await error({ experimentId, runIds, groupBy: 'params.lr', keys: [] })).toMatchObject({ code: 'invalid_argument', field: 'keys' })
    expect(await error({ experimentId, runIds, groupBy: 'params.lr', keys: ['acc'], maxBuckets: 5 })).toMatchObject({ code: 'invalid_argument', field: 'maxBuckets' })
    expect(await error({ experimentId, runIds, groupBy: 'params.lr', keys: ['acc'], where: 1 })).toMatchObject({ code: 'invalid_argument', field: 'where' })
  })
})
