import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import type { MetricPoint, MetricSummary, Run } from '../../src/shared/domain'
import type { TestCore } from '../support/test-env'
import { failure, startCoreWithSql, type CoreWithSql } from '../support/service-env'

let env: TestCore
let sql: pg.Client
let counter = 0

const unique = (label: string): string => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`

/** A spelling that tells -0 from 0 (and keeps NaN comparable), for exact comparisons. */
const exact = (value: number | null): string => (value === null ? 'null' : Object.is(value, -0) ? '-0' : String(value))

const runs = () => env.core.services.runs

async function newRun(): Promise<Run> {
  const experiment = await env.core.services.experiments.create({ name: unique('metrics-exp') })
  return runs().start({ experimentId: experiment.id, name: unique('run') })
}

async function stored(runId?: number): Promise<{ points: number; summaries: number; summaryCount: number }> {
  const where = runId === undefined ? '' : 'WHERE run_id = $1'
  const params = runId === undefined ? [] : [runId]
  const points = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ml_metric_point ${where}`, params)
  const summaries = await sql.query<{ n: string; c: string }>(
    `SELECT count(*) AS n, coalesce(sum(value_count), 0) AS c FROM ml_metric_summary ${where}`,
    params
  )
  return { points: Number(points.rows[0]!.n), summaries: Number(summaries.rows[0]!.n), summaryCount: Number(summaries.rows[0]!.c) }
}

async function summaryOf(runId: number, key: string): Promise<MetricSummary | undefined> {
  return (await runs().getWithMetrics(runId)).metrics.find((m) => m.key === key)
}

/** The summary as listByExperiment returns it (a different read path: values travel as JSON text). */
async function listedSummaryOf(run: Run, key: string): Promise<MetricSummary | undefined> {
  const listed = await runs().listByExperiment(run.experimentId)
  return listed.find((r) => r.id === run.id)!.metrics.find((m) => m.key === key)
}

async function history(runId: number, key: string): Promise<MetricPoint[]> {
  return runs().metricHistory({ runId, key })
}

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0)
const SPECIAL_VALUES: Array<[string, number, string]> = [
  ['nan', Number.NaN, 'NaN'],
  ['pos-inf', Number.POSITIVE_INFINITY, 'Infinity'],
  ['neg-inf', Number.NEGATIVE_INFINITY, '-Infinity'],
  ['neg-zero', -0, '-0'],
  ['pos-zero', 0, '0'],
  ['tiny', Number.MIN_VALUE, String(Number.MIN_VALUE)],
  ['huge', -Number.MAX_VALUE, String(-Number.MAX_VALUE)],
  ['tenth', 0.1 + 0.2, String(0.1 + 0.2)],
  ['third', 1 / 3, String(1 / 3)]
]

let shared: CoreWithSql
beforeAll(async () => {
  shared = await startCoreWithSql()
  ;({ env, sql } = shared)
})
afterAll(() => shared?.close())

describe('exact values', () => {
  it('NaN, ±Infinity, -0.0 and awkward doubles round-trip exactly through logMetric (single point)', async () => {
    const run = await newRun()
    for (const [key, value] of SPECIAL_VALUES) {
      expect(await runs().logMetric({ runId: run.id, key, value, step: 1, timestamp: T0 })).toBe(true)
    }
    // The JSON spellings of the non-finite values are accepted too.
    await runs().logMetric({ runId: run.id, key: 'nan', value: 'NaN', step: 2, timestamp: T0 })
    await runs().logMetric({ runId: run.id, key: 'pos-inf', value: 'Infinity', step: 2, timestamp: T0 })
    await runs().logMetric({ runId: run.id, key: 'neg-inf', value: '-Infinity', step: 2, timestamp: T0 })
    for (const [key, value, spelled] of SPECIAL_VALUES) {
      const points = await history(run.id, key)
      const expectedValues = ['nan', 'pos-inf', 'neg-inf'].includes(key) ? [spelled, spelled] : [spelled]
      expect({ key, values: points.map((p) => exact(p.value)) }).toEqual({ key, values: expectedValues })
      expect(Object.is(points[0]!.value, value)).toBe(true)
      const summary = (await summaryOf(run.id, key))!
      expect({ key, last: exact(summary.lastValue) }).toEqual({ key, last: spelled })
      expect(Object.is((await listedSummaryOf(run, key))!.lastValue, value)).toBe(true)
    }
  })

  it('NaN, ±Infinity, -0.0 and awkward doubles round-trip exactly through logMetrics (batch COPY)', async () => {
    const run = await newRun()
    const result = await runs().logMetrics(
      run.id,
      SPECIAL_VALUES.map(([key, value]) => ({ key, value, step: 7, timestamp: T0, kind: 'validation' }))
    )
    expect(result).toEqual({ inserted: SPECIAL_VALUES.length, duplicates: 0 })
    for (const [key, value, spelled] of SPECIAL_VALUES) {
      const points = await history(run.id, key)
      expect({ key, values: points.map((p) => exact(p.value)) }).toEqual({ key, values: [spelled] })
      expect(points[0]).toMatchObject({ key, step: 7n, timestamp: T0, kind: 'validation', epoch: null })
      const summary = (await summaryOf(run.id, key))!
      expect(Object.is(summary.lastValue, value)).toBe(true)
      const listed = (await listedSummaryOf(run, key))!
      expect({ key, last: exact(listed.lastValue) }).toEqual({ key, last: spelled })
    }
    // The stored doubles themselves are bit-exact (read back as text by PostgreSQL).
    const { rows } = await sql.query<{ metric_name: string; v: string }>(
      `SELECT metric_name, value::text AS v FROM ml_metric_point WHERE run_id = $1 AND metric_name IN ('nan', 'neg-zero', 'neg-inf')
       ORDER BY metric_name`,
      [run.id]
    )
    expect(rows).toEqual([
      { metric_name: 'nan', v: 'NaN' },
      { metric_name: 'neg-inf', v: '-Infinity' },
      { metric_name: 'neg-zero', v: '-0' }
    ])
  })

  it('summary min/max: NaN is ignored, all-NaN gives null, infinities and -0 are kept exactly', async () => {
    const run = await newRun()
    await runs().logMetrics(run.id, [
      { key: 'only-nan', value: 'NaN', step: 1, timestamp: T0 },
      { key: 'only-nan', value: 'NaN', step: 2, timestamp: T0 },
      { key: 'mixed', value: 'NaN', step: 1, timestamp: T0 },
      { key: 'mixed', value: 3, step: 2, timestamp: T0 },
      { key: 'mixed', value: -2, step: 3, timestamp: T0 },
      { key: 'mixed', value: 'NaN', step: 4, timestamp: T0 },
      { key: 'inf', value: 'Infinity', step: 1, timestamp: T0 },
      { key: 'inf', value: '-Infinity', step: 2, timestamp: T0 },
      { key: 'inf', value: 1, step: 3, timestamp: T0 },
      { key: 'negzero', value: -0, step: 1, timestamp: T0 }
    ])
    for (const read of [summaryOf, (id: number, key: string) => listedSummaryOf(run, key)]) {
      const onlyNan = (await read(run.id, 'only-nan'))!
      expect([exact(onlyNan.lastValue), onlyNan.min, onlyNan.max, onlyNan.count, onlyNan.lastStep]).toEqual(['NaN', null, null, 2, 2n])
      const mixed = (await read(run.id, 'mixed'))!
      expect([exact(mixed.lastValue), mixed.min, mixed.max, mixed.count, mixed.lastStep]).toEqual(['NaN', -2, 3, 4, 4n])
      const inf = (await read(run.id, 'inf'))!
      expect([inf.lastValue, inf.min, inf.max, inf.count]).toEqual([1, -Infinity, Infinity, 3])
      const negzero = (await read(run.id, 'negzero'))!
      expect([exact(negzero.lastValue), exact(negzero.min), exact(negzero.max)]).toEqual(['-0', '-0', '-0'])
    }
    // Later batches keep ignoring NaN and widen min/max.
    await runs().logMetrics(run.id, [
      { key: 'only-nan', value: 5, step: 3, timestamp: T0 },
      { key: 'mixed', value: 'NaN', step: 5, timestamp: T0 },
      { key: 'mixed', value: 10, step: 0, timestamp: T0 }
    ])
    const onlyNan = (await summaryOf(run.id, 'only-nan'))!
    expect([onlyNan.lastValue, onlyNan.min, onlyNan.max, onlyNan.count]).toEqual([5, 5, 5, 3])
    const mixed = (await summaryOf(run.id, 'mixed'))!
    expect([exact(mixed.lastValue), mixed.min, mixed.max, mixed.count, mixed.lastStep]).toEqual(['NaN', -2, 10, 6, 5n])
  })
})

describe('64-bit steps', () => {
  const BIG_STEPS = [2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n, 0n, -1n]

  it('round-trip exactly through logMetric, given as strings or bigints', async () => {
    const run = await newRun()
    for (const [i, step] of BIG_STEPS.entries()) {
      await runs().logMetric({ runId: run.id, key: 'big', value: i, step: i % 2 === 0 ? step.toString() : step, timestamp: T0 })
    }
    const points = await history(run.id, 'big')
    expect(points.map((p) => p.step)).toEqual([...BIG_STEPS].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
    const byStep = new Map(points.map((p) => [p.step, p.value]))
    BIG_STEPS.forEach((step, i) => expect(byStep.get(step)).toBe(i))
    const summary = (await summaryOf(run.id, 'big'))!
    expect(summary.lastStep).toBe(2n ** 63n - 1n)
    expect(summary.lastValue).toBe(1)
    const { rows } = await sql.query<{ s: string }>('SELECT step::text AS s FROM ml_metric_point WHERE run_id = $1 ORDER BY step', [run.id])
    expect(rows.map((r) => r.s)).toEqual(['-9223372036854775808', '-1', '0', '9007199254740992', '9007199254740993', '9223372036854775807'])
  })

  it('round-trip exactly through logMetrics (batch COPY)', async () => {
    const run = await newRun()
    const result = await runs().logMetrics(
      run.id,
      BIG_STEPS.map((step, i) => ({ key: 'big', value: i, step: i % 2 === 0 ? step.toString() : step, timestamp: T0 }))
    )
    expect(result.inserted).toBe(BIG_STEPS.length)
    const points = await history(run.id, 'big')
    const byStep = new Map(points.map((p) => [p.step, p.value]))
    expect(points).toHaveLength(BIG_STEPS.length)
    BIG_STEPS.forEach((step, i) => expect(byStep.get(step)).toBe(i))
    expect((await summaryOf(run.id, 'big'))!.lastStep).toBe(2n ** 63n - 1n)
    expect((await listedSummaryOf(run, 'big'))!.lastStep).toBe(2n ** 63n - 1n)
    // Step ranges work past 2^53 too.
    const range = await runs().metricHistory({ runId: run.id, key: 'big', fromStep: '9007199254740993', toStep: 2n ** 63n - 1n })
    expect(range.map((p) => p.step)).toEqual([2n ** 53n + 1n, 2n ** 63n - 1n])
  })

  it('refuses a JS number step past 2^53, naming points[i].step, writing nothing', async () => {
    const run = await newRun()
    const error = await failure(() =>
      runs().logMetrics(run.id, [
        { key: 'k', value: 1, step: 1 },
        { key: 'k', value: 2, step: 2 },
        { key: 'k', value: 3, step: 2 ** 53 + 2 }
      ])
    )
    expect(error.code).toBe('invalid_argument')
    expect(error.field).toBe('points[2].step')
    expect(error.message).toMatch(/2\^53/)
    const single = await failure(() => runs().logMetric({ runId: run.id, key: 'k', value: 1, step: 2 ** 60 }))
    expect(single).toMatchObject({ code: 'invalid_argument', field: 'step' })
    expect(await stored(run.id)).toEqual({ points: 0, summaries: 0, summaryCount: 0 })
  })

  it('refuses steps beyond int64 and non-integer steps', async () => {
    const run = await newRun()
    for (const step of ['9223372036854775808', '-9223372036854775809', 1.5, '1e3', 'ten', true]) {
      const error = await failure(() => runs().logMetrics(run.id, [{ key: 'k', value: 1, step }]))
      expect({ step, code: error.code, field: error.field }).toEqual({ step, code: 'invalid_argument', field: 'points[0].step' })
    }
    expect(await stored(run.id)).toEqual({ points: 0, summaries: 0, summaryCount: 0 })
  })
})

describe('batches are all-or-nothing', () => {
  const BAD_POINTS: Array<[string, Record<string, unknown>, string]> = [
    ['bad kind', { key: 'k', value: 1, kind: 'training' }, 'points[3].kind'],
    ['NUL in key', { key: 'lo\0ss', value: 1 }, 'points[3].key'],
    ['251-char key', { key: 'k'.repeat(251), value: 1 }, 'points[3].key'],
    ['empty key', { key: '', value: 1 }, 'points[3].key'],
    ['string value', { key: 'k', value: '0.5' }, 'points[3].value'],
    ['null value', { key: 'k', value: null }, 'points[3].value'],
    ['missing value', { key: 'k' }, 'points[3].value'],
    ['boolean value', { key: 'k', value: true }, 'points[3].value'],
    ['unknown field', { key: 'k', value: 1, unit: 'ms' }, 'points[3].unit'],
    ['negative epoch', { key: 'k', value: 1, epoch: -1 }, 'points[3].epoch'],
    ['bad timestamp', { key: 'k', value: 1, timestamp: 'yesterday' }, 'points[3].timestamp']
  ]

  for (const [label, bad, field] of BAD_POINTS) {
    it(`a batch with one ${label} writes nothing and names ${field}`, async () => {
      const run = await newRun()
      await runs().logMetrics(run.id, [{ key: 'k', value: 0, step: 0, timestamp: T0 }])
      const before = await stored()
      const good = [1, 2, 3].map((step) => ({ key: 'k', value: step, step, timestamp: T0 }))
      const error = await failure(() => runs().logMetrics(run.id, [...good, bad, { key: 'k', value: 9, step: 9 }]))
      expect(error.code).toBe('invalid_argument')
      expect(error.field).toBe(field)
      expect(await stored()).toEqual(before)
      const summary = (await summaryOf(run.id, 'k'))!
      expect([summary.lastValue, summary.count, summary.lastStep]).toEqual([0, 1, 0n])
    })
  }

  it('a 250-character key is accepted', async () => {
    const run = await newRun()
    const key = 'k'.repeat(250)
    expect(await runs().logMetrics(run.id, [{ key, value: 1 }])).toEqual({ inserted: 1, duplicates: 0 })
    expect((await summaryOf(run.id, key))!.count).toBe(1)
  })

  it('refuses a non-array batch and non-object points', async () => {
    const run = await newRun()
    expect(await failure(() => runs().logMetrics(run.id, { key: 'k', value: 1 }))).toMatchObject({ code: 'invalid_argument', field: 'points' })
    expect(await failure(() => runs().logMetrics(run.id, [{ key: 'k', value: 1 }, 5]))).toMatchObject({
      code: 'invalid_argument',
      field: 'points[1]'
    })
    expect(await stored(run.id)).toEqual({ points: 0, summaries: 0, summaryCount: 0 })
    expect(await runs().logMetrics(run.id, [])).toEqual({ inserted: 0, duplicates: 0 })
  })

  it('logMetric refuses the same bad inputs naming the field, writing nothing', async () => {
    const run = await newRun()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ key: 'k', value: 1, kind: 'training' }, 'kind'],
      [{ key: 'a\0b', value: 1 }, 'key'],
      [{ key: 'k'.repeat(251), value: 1 }, 'key'],
      [{ key: 'k', value: '1' }, 'value'],
      [{ key: 'k', value: 1, colour: 'red' }, 'colour']
    ]
    for (const [input, field] of cases) {
      const error = await failure(() => runs().logMetric({ runId: run.id, ...input }))
      expect({ field: error.field, code: error.code }).toEqual({ field, code: 'invalid_argument' })
    }
    expect(await stored(run.id)).toEqual({ points: 0, summaries: 0, summaryCount: 0 })
  })

  it('logging to a nonexistent run is not_found and writes nothing', async () => {
    const before = await stored()
    const batch = await failure(() => runs().logMetrics(99_999_999, [{ key: 'k', value: 1 }]))
    expect(batch).toMatchObject({ code: 'not_found', field: 'runId' })
    const single = await failure(() => runs().logMetric({ runId: 99_999_999, key: 'k', value: 1 }))
    expect(single).toMatchObject({ code: 'not_found', field: 'runId' })
    expect(await stored()).toEqual(before)
    const { rows } = await sql.query<{ n: string }>('SELECT count(*) AS n FROM ml_metric_point WHERE run_id = 99999999')
    expect(rows[0]!.n).toBe('0')
  })
})

describe('duplicates and retries', () => {
  it('an exactly repeated batch (a retry) stores nothing new and keeps the summary right', async () => {
    const run = await newRun()
    const batch = [
      ...[0, 1, 2, 3, 4].map((step) => ({ key: 'loss', value: 1 / (step + 1), step, epoch: 0, timestamp: T0 + step })),
      { key: 'loss', value: 'NaN', step: 5, timestamp: T0 + 5 },
      { key: 'acc', value: -0, step: 5, timestamp: T0 + 5, kind: 'validation' }
    ]
    expect(await runs().logMetrics(run.id, batch)).toEqual({ inserted: 7, duplicates: 0 })
    const first = await stored(run.id)
    const summaryBefore = (await runs().getWithMetrics(run.id)).metrics
    expect(await runs().logMetrics(run.id, batch)).toEqual({ inserted: 0, duplicates: 7 })
    expect(await runs().logMetrics(run.id, batch)).toEqual({ inserted: 0, duplicates: 7 })
    expect(await stored(run.id)).toEqual(first)
    expect(first).toEqual({ points: 7, summaries: 2, summaryCount: 7 })
    const summaryAfter = (await runs().getWithMetrics(run.id)).metrics
    expect(summaryAfter.map((s) => [s.key, exact(s.lastValue), s.count, s.min, s.max])).toEqual(
      summaryBefore.map((s) => [s.key, exact(s.lastValue), s.count, s.min, s.max])
    )
    expect(summaryAfter.find((s) => s.key === 'loss')!.count).toBe(6)

    // The same points as single calls are harmless duplicates too.
    expect(await runs().logMetric({ runId: run.id, key: 'loss', value: 1, step: 0, epoch: 0, timestamp: T0 })).toBe(false)
    expect(await runs().logMetric({ runId: run.id, key: 'loss', value: 'NaN', step: 5, timestamp: T0 + 5 })).toBe(false)
    expect(await stored(run.id)).toEqual(first)
  })

  it('a retried batch that also carries new points stores only the new ones', async () => {
    const run = await newRun()
    const firstHalf = [0, 1, 2].map((step) => ({ key: 'loss', value: 10 - step, step, timestamp: T0 }))
    const secondHalf = [3, 4].map((step) => ({ key: 'loss', value: 10 - step, step, timestamp: T0 }))
    await runs().logMetrics(run.id, firstHalf)
    expect(await runs().logMetrics(run.id, [...firstHalf, ...secondHalf])).toEqual({ inserted: 2, duplicates: 3 })
    const summary = (await summaryOf(run.id, 'loss'))!
    expect([summary.lastValue, summary.lastStep, summary.min, summary.max, summary.count]).toEqual([6, 4n, 6, 10, 5])
    expect((await history(run.id, 'loss')).map((p) => p.value)).toEqual([10, 9, 8, 7, 6])
  })

  it('a duplicate within one batch is harmless', async () => {
    const run = await newRun()
    const point = { key: 'loss', value: 0.5, step: 1, timestamp: T0 }
    const result = await runs().logMetrics(run.id, [point, { ...point }, { key: 'loss', value: 0.4, step: 2, timestamp: T0 }, { ...point }])
    expect(result).toEqual({ inserted: 2, duplicates: 2 })
    expect(await stored(run.id)).toEqual({ points: 2, summaries: 1, summaryCount: 2 })
    const summary = (await summaryOf(run.id, 'loss'))!
    expect([summary.lastValue, summary.count]).toEqual([0.4, 2])
  })

  it('points that differ in value, time or step are not duplicates', async () => {
    const run = await newRun()
    await runs().logMetrics(run.id, [{ key: 'loss', value: 0.5, step: 1, timestamp: T0 }])
    const result = await runs().logMetrics(run.id, [
      { key: 'loss', value: 0.6, step: 1, timestamp: T0 },
      { key: 'loss', value: 0.5, step: 1, timestamp: T0 + 1 },
      { key: 'loss', value: 0.5, step: 2, timestamp: T0 },
      { key: 'loss2', value: 0.5, step: 1, timestamp: T0 }
    ])
    expect(result).toEqual({ inserted: 4, duplicates: 0 })
    expect((await summaryOf(run.id, 'loss'))!.count).toBe(4)
  })

  it('-0.0 and 0.0 at the same step and time are two points, not duplicates', async () => {
    const run = await newRun()
    const result = await runs().logMetrics(run.id, [
      { key: 'z', value: 0, step: 1, timestamp: T0 },
      { key: 'z', value: -0, step: 1, timestamp: T0 }
    ])
    expect(result).toEqual({ inserted: 2, duplicates: 0 })
    expect(await runs().logMetric({ runId: run.id, key: 'y', value: -0, step: 1, timestamp: T0 })).toBe(true)
    expect(await runs().logMetric({ runId: run.id, key: 'y', value: 0, step: 1, timestamp: T0 })).toBe(true)
    expect(await runs().logMetric({ runId: run.id, key: 'y', value: -0, step: 1, timestamp: T0 })).toBe(false)
    for (const key of ['z', 'y']) {
      expect((await history(run.id, key)).map((p) => exact(p.value)).sort()).toEqual(['-0', '0'])
    }
    // Retrying both is still harmless.
    expect(
      await runs().logMetrics(run.id, [
        { key: 'z', value: -0, step: 1, timestamp: T0 },
        { key: 'z', value: 0, step: 1, timestamp: T0 }
      ])
    ).toEqual({ inserted: 0, duplicates: 2 })
    expect(await stored(run.id)).toEqual({ points: 4, summaries: 2, summaryCount: 4 })
  })

  it('the same point in two runs is stored for each', async () => {
    const a = await newRun()
    const b = await newRun()
    const point = { key: 'loss', value: 1, step: 1, timestamp: T0 }
    expect(await runs().logMetrics(a.id, [point])).toEqual({ inserted: 1, duplicates: 0 })
    expect(await runs().logMetrics(b.id, [point])).toEqual({ inserted: 1, duplicates: 0 })
  })
})

describe('concurrent batches', () => {
  it('the same batch sent twice at once (a retry racing the original) is stored once', async () => {
    const run = await newRun()
    const batch = Array.from({ length: 5_000 }, (_, step) => ({ key: 'loss', value: step / 7, step, timestamp: T0 + step }))
    const results = await Promise.all([runs().logMetrics(run.id, batch), runs().logMetrics(run.id, batch), runs().logMetrics(run.id, batch)])
    expect(results.reduce((sum, r) => sum + r.inserted, 0)).toBe(5_000)
    expect(results.reduce((sum, r) => sum + r.duplicates, 0)).toBe(10_000)
    expect(await stored(run.id)).toEqual({ points: 5_000, summaries: 1, summaryCount: 5_000 })
    const summary = (await summaryOf(run.id, 'loss'))!
    expect([summary.lastStep, summary.lastValue, summary.min, summary.max]).toEqual([4_999n, 4_999 / 7, 0, 4_999 / 7])
  })

  it('distinct batches for the same key at once all land in the summary', async () => {
    const run = await newRun()
    const batches = [0, 1, 2, 3].map((b) =>
      Array.from({ length: 2_000 }, (_, i) => ({ key: 'loss', value: b * 10_000 + i, step: b * 10_000 + i, timestamp: T0 }))
    )
    const results = await Promise.all(batches.map((batch) => runs().logMetrics(run.id, batch)))
    expect(results).toEqual(batches.map(() => ({ inserted: 2_000, duplicates: 0 })))
    const summary = (await summaryOf(run.id, 'loss'))!
    expect([summary.count, summary.lastStep, summary.lastValue, summary.min, summary.max]).toEqual([8_000, 31_999n, 31_999, 0, 31_999])
  })
})

describe('latest-metric summary', () => {
  it('follows the highest step across batches and single points, whatever the arrival order', async () => {
    const run = await newRun()
    await runs().logMetrics(run.id, [
      { key: 'loss', value: 0.9, step: 10, timestamp: T0 + 10 },
      { key: 'loss', value: 0.8, step: 20, timestamp: T0 + 20 },
      { key: 'loss', value: 0.95, step: 15, timestamp: T0 + 15 }
    ])
    let s = (await summaryOf(run.id, 'loss'))!
    expect([s.lastValue, s.lastStep, s.lastTimestamp, s.min, s.max, s.count]).toEqual([0.8, 20n, T0 + 20, 0.8, 0.95, 3])

    // A late batch with lower steps updates min/max/count but not the latest value.
    await runs().logMetrics(run.id, [
      { key: 'loss', value: 2.5, step: 1, timestamp: T0 + 100 },
      { key: 'loss', value: 0.1, step: 5, timestamp: T0 + 100 }
    ])
    s = (await summaryOf(run.id, 'loss'))!
    expect([s.lastValue, s.lastStep, s.lastTimestamp, s.min, s.max, s.count]).toEqual([0.8, 20n, T0 + 20, 0.1, 2.5, 5])

    // A single point with a higher step becomes the latest.
    await runs().logMetric({ runId: run.id, key: 'loss', value: 0.7, step: 30, timestamp: T0 + 30 })
    s = (await summaryOf(run.id, 'loss'))!
    expect([s.lastValue, s.lastStep, s.lastTimestamp, s.count]).toEqual([0.7, 30n, T0 + 30, 6])

    // Same step, later time: the later point is the latest. Same step, earlier time: it is not.
    await runs().logMetric({ runId: run.id, key: 'loss', value: 0.65, step: 30, timestamp: T0 + 31 })
    await runs().logMetrics(run.id, [{ key: 'loss', value: 0.66, step: 30, timestamp: T0 + 29 }])
    s = (await summaryOf(run.id, 'loss'))!
    expect([s.lastValue, s.lastStep, s.lastTimestamp, s.count]).toEqual([0.65, 30n, T0 + 31, 8])

    // A single point with a lower step is counted but not latest.
    await runs().logMetric({ runId: run.id, key: 'loss', value: 5, step: 2, timestamp: T0 + 200 })
    s = (await summaryOf(run.id, 'loss'))!
    expect([s.lastValue, s.lastStep, s.min, s.max, s.count]).toEqual([0.65, 30n, 0.1, 5, 9])

    // The summary agrees with the stored history.
    const points = await history(run.id, 'loss')
    expect(points).toHaveLength(9)
    expect(Math.min(...points.map((p) => p.value))).toBe(s.min)
    expect(Math.max(...points.map((p) => p.value))).toBe(s.max)
    expect(await listedSummaryOf(run, 'loss')).toEqual(s)
  })

  it('keeps one summary per key, with kinds and epochs stored on the points', async () => {
    const run = await newRun()
    await runs().logMetrics(run.id, [
      { key: 'train/loss', value: 1, step: 1, epoch: 0, kind: 'train', timestamp: T0 },
      { key: 'val/loss', value: 2, step: 1, epoch: 0, kind: 'validation', timestamp: T0 },
      { key: 'test/acc', value: 0.9, step: 1, epoch: 3, kind: 'test', timestamp: T0 },
      { key: 'gpu/util', value: 97, step: 1, kind: 'system', timestamp: T0 }
    ])
    const metrics = (await runs().getWithMetrics(run.id)).metrics
    expect(metrics.map((m) => [m.key, m.lastValue, m.count])).toEqual([
      ['gpu/util', 97, 1],
      ['test/acc', 0.9, 1],
      ['train/loss', 1, 1],
      ['val/loss', 2, 1]
    ])
    expect((await history(run.id, 'test/acc'))[0]).toEqual({ key: 'test/acc', value: 0.9, step: 1n, epoch: 3, timestamp: T0, kind: 'test' })
    expect((await history(run.id, 'gpu/util'))[0]).toMatchObject({ kind: 'system', epoch: null })
    expect((await history(run.id, 'val/loss'))[0]).toMatchObject({ kind: 'validation', epoch: 0 })
  })

  it('keys with non-ASCII text, quotes and separators round-trip through both paths', async () => {
    const run = await newRun()
    const keys = ['λ/损失', 'val "quoted"', "it's\tab", 'emoji 🚀 loss', 'a,b;c\\d']
    await runs().logMetrics(run.id, keys.map((key, i) => ({ key, value: i, step: 1, timestamp: T0 })))
    for (const [i, key] of keys.entries()) {
      await runs().logMetric({ runId: run.id, key, value: i + 100, step: 2, timestamp: T0 })
      expect((await history(run.id, key)).map((p) => [p.key, p.value])).toEqual([
        [key, i],
        [key, i + 100]
      ])
    }
    expect((await runs().getWithMetrics(run.id)).metrics.map((m) => m.key).sort()).toEqual([...keys].sort())
  })

  it('defaults: step 0, kind train, timestamp now', async () => {
    const run = await newRun()
    const before = Date.now()
    await runs().logMetrics(run.id, [{ key: 'k', value: 1 }])
    await runs().logMetric({ runId: run.id, key: 'j', value: 2 })
    const after = Date.now()
    for (const key of ['k', 'j']) {
      const [point] = await history(run.id, key)
      expect(point).toMatchObject({ key, step: 0n, kind: 'train', epoch: null })
      expect(point!.timestamp).toBeGreaterThanOrEqual(before)
      expect(point!.timestamp).toBeLessThanOrEqual(after)
    }
  })
})

describe('timestamps', () => {
  it('round-trip exactly through both paths, before and after 2000', async () => {
    const run = await newRun()
    const stamps = [0, 946_684_799_999, 946_684_800_000, T0, Date.UTC(2200, 0, 1, 0, 0, 0, 1)]
    await runs().logMetrics(
      run.id,
      stamps.map((timestamp, step) => ({ key: 'batch', value: step, step, timestamp }))
    )
    for (const [step, timestamp] of stamps.entries()) {
      await runs().logMetric({ runId: run.id, key: 'single', value: step, step, timestamp })
    }
    expect((await history(run.id, 'batch')).map((p) => p.timestamp)).toEqual(stamps)
    expect((await history(run.id, 'single')).map((p) => p.timestamp)).toEqual(stamps)
    // The same point sent once singly and once in a batch is one point, fractional milliseconds included.
    expect(await runs().logMetrics(run.id, [{ key: 'single', value: 0, step: 0, timestamp: 0 }])).toEqual({ inserted: 0, duplicates: 1 })
    expect(await runs().logMetric({ runId: run.id, key: 'frac', value: 1, step: 1, timestamp: T0 + 0.25 })).toBe(true)
    expect(await runs().logMetrics(run.id, [{ key: 'frac', value: 1, step: 1, timestamp: T0 + 0.25 }])).toEqual({ inserted: 0, duplicates: 1 })
    expect(await runs().logMetrics(run.id, [{ key: 'frac', value: 1, step: 1, timestamp: T0 + 0.5 }])).toEqual({ inserted: 1, duplicates: 0 })
    const { rows } = await sql.query<{ us: string }>(
      `SELECT (extract(microseconds FROM logged_at)::bigint % 1000)::text AS us FROM ml_metric_point WHERE run_id = $1 AND metric_name = 'frac' ORDER BY 1`,
      [run.id]
    )
    expect(rows.map((r) => r.us)).toEqual(['250', '500'])
  })

  it('refuses timestamps that are not milliseconds since 1970, naming the field, writing nothing', async () => {
    const run = await newRun()
    for (const timestamp of [-1, 1e20, Number.NaN, Number.POSITIVE_INFINITY, '2024-01-01']) {
      const batch = await failure(() => runs().logMetrics(run.id, [{ key: 'k', value: 1, timestamp }]))
      expect({ timestamp, code: batch.code, field: batch.field }).toEqual({ timestamp, code: 'invalid_argument', field: 'points[0].timestamp' })
      const single = await failure(() => runs().logMetric({ runId: run.id, key: 'k', value: 1, timestamp }))
      expect({ timestamp, code: single.code, field: single.field }).toEqual({ timestamp, code: 'invalid_argument', field: 'timestamp' })
    }
    expect(await stored(run.id)).toEqual({ points: 0, summaries: 0, summaryCount: 0 })
  })
})

describe('large batches', () => {
  it('stores a 200,000-point batch completely, with a correct summary, and a retry of it stores nothing', async () => {
    const run = await newRun()
    const n = 200_000
    const points = new Array(n)
    for (let i = 0; i < n; i++) {
      points[i] = { key: i % 2 === 0 ? 'loss' : 'lr', value: i % 2 === 0 ? 1 / (i + 1) : i, step: Math.floor(i / 2), timestamp: T0 + i }
    }
    expect(await runs().logMetrics(run.id, points)).toEqual({ inserted: n, duplicates: 0 })
    expect(await stored(run.id)).toEqual({ points: n, summaries: 2, summaryCount: n })
    const loss = (await summaryOf(run.id, 'loss'))!
    expect([loss.count, loss.lastStep, loss.lastValue, loss.max, loss.min]).toEqual([n / 2, BigInt(n / 2 - 1), 1 / (n - 1), 1, 1 / (n - 1)])
    const lr = (await summaryOf(run.id, 'lr'))!
    expect([lr.count, lr.lastStep, lr.lastValue, lr.min, lr.max]).toEqual([n / 2, BigInt(n / 2 - 1), n - 1, 1, n - 1])
    const { rows } = await sql.query<{ s: string; n: string }>(
      `SELECT sum(step)::text AS s, count(DISTINCT step)::text AS n FROM ml_metric_point WHERE run_id = $1 AND metric_name = 'lr'`,
      [run.id]
    )
    expect(rows[0]).toEqual({ s: String(((n / 2 - 1) * (n / 2)) / 2), n: String(n / 2) })

    expect(await runs().logMetrics(run.id, points)).toEqual({ inserted: 0, duplicates: n })
    expect(await stored(run.id)).toEqual({ points: n, summaries: 2, summaryCount: n })
  }, 60_000)
})
