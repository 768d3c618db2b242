import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MetricBucket, MetricPoint, MetricSeries } from '../../src/shared/domain'
import { startTestCore, type TestCore } from '../support/test-env'

// Downsampled series must be exact: every bucket's min/max equal the raw points' min/max over
// the bucket's step range, and every point of the range is in exactly one bucket.
describe('metric series (min/max downsampling from rollups)', () => {
  let test: TestCore
  let runId: number
  const raw: MetricPoint[] = []

  function rawIn(from: bigint, to: bigint): MetricPoint[] {
    return raw.filter((p) => p.step >= from && p.step <= to)
  }

  function expectExact(series: MetricSeries, from: bigint, to: bigint): void {
    let covered = 0
    // Buckets are aligned to rollup boundaries, so the first may start before `from`; after
    // that they follow each other without overlap.
    let previousTo: bigint | undefined
    for (const bucket of series.buckets) {
      if (previousTo !== undefined) expect(bucket.fromStep).toBeGreaterThan(previousTo)
      else expect(bucket.fromStep).toBeLessThanOrEqual(from)
      previousTo = bucket.toStep
      const inside = rawIn(bucket.fromStep, bucket.toStep)
      const comparable = inside.map((p) => p.value).filter((v) => !Number.isNaN(v))
      expect(bucket.count).toBe(inside.length)
      expect(bucket.min).toBe(comparable.length ? Math.min(...comparable) : null)
      expect(bucket.max).toBe(comparable.length ? Math.max(...comparable) : null)
      expect(bucket.firstStep).toBe(inside[0]!.step)
      expect(bucket.lastStep).toBe(inside[inside.length - 1]!.step)
      covered += inside.filter((p) => p.step >= from && p.step <= to).length
    }
    expect(covered).toBe(rawIn(from, to).length)
  }

  beforeAll(async () => {
    test = await startTestCore()
    const { experiments, runs } = test.core.services
    const experiment = await experiments.create({ name: 'series' })
    runId = (await runs.start({ experimentId: experiment.id })).id
    let seed = 7
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
    for (let step = 0; step < 120_000; step++) {
      const value = step % 9973 === 0 ? NaN : Math.sin(step / 1000) + random()
      raw.push({ key: 'loss', value, step: BigInt(step), epoch: Math.floor(step / 1000), timestamp: 1_700_000_000_000 + step, kind: 'train' })
    }
    for (let offset = 0; offset < raw.length; offset += 40_000) {
      await runs.logValidatedMetrics(runId, raw.slice(offset, offset + 40_000))
    }
    // Another key must not leak into this one.
    await runs.logMetrics(runId, [{ key: 'other', value: 1e9, step: 5 }])
  })
  afterAll(async () => test?.close())

  it('answers a whole long series with at most maxPoints/2 exact buckets', async () => {
    const series = await test.core.services.runs.metricSeries({ runId, key: 'loss', maxPoints: 2000 })
    expect(series.mode).toBe('buckets')
    expect(series.buckets.length).toBeLessThanOrEqual(1000)
    expect(series.buckets.length).toBeGreaterThan(200)
    expect(series.totalPoints).toBe(120_000)
    expectExact(series, 0n, 119_999n)
  })

  it('returns raw points when a zoomed range holds few enough', async () => {
    const series = await test.core.services.runs.metricSeries({ runId, key: 'loss', maxPoints: 2000, fromStep: 1000, toStep: 1500 })
    expect(series.mode).toBe('raw')
    expect(series.points.map((p) => p.step)).toEqual(rawIn(1000n, 1500n).map((p) => p.step))
    expect(series.points.map((p) => p.value)).toEqual(rawIn(1000n, 1500n).map((p) => p.value))
  })

  it('buckets a narrow dense range from the raw points, exactly', async () => {
    const series = await test.core.services.runs.metricSeries({ runId, key: 'loss', maxPoints: 2000, fromStep: 10_000, toStep: 40_000 })
    expect(series.mode).toBe('buckets')
    expect(series.buckets.length).toBeLessThanOrEqual(1000)
    expectExact(series, 10_000n, 40_000n)
  })

  it('keeps rollups right through retried, backfilled and single-point writes', async () => {
    const { runs } = test.core.services
    // A retry (all duplicates) and a backfill of negative steps go through the slow path.
    await runs.logValidatedMetrics(runId, raw.slice(0, 5_000))
    const backfill: MetricPoint[] = []
    for (let step = -3_000; step < 0; step++) {
      backfill.push({ key: 'loss', value: step === -7 ? -Infinity : step / 10, step: BigInt(step), epoch: null, timestamp: 1_600_000_000_000, kind: 'train' })
    }
    await runs.logValidatedMetrics(runId, backfill)
    raw.unshift(...backfill)
    // Single points through log_ml_metric().
    for (const step of [200_000, 200_001]) {
      await runs.logMetric({ runId, key: 'loss', value: step === 200_000 ? -0 : 42, step, timestamp: 1_800_000_000_000 })
      raw.push({ key: 'loss', value: step === 200_000 ? -0 : 42, step: BigInt(step), epoch: null, timestamp: 1_800_000_000_000, kind: 'train' })
    }
    const series = await runs.metricSeries({ runId, key: 'loss', maxPoints: 1000 })
    expect(series.totalPoints).toBe(raw.length)
    expectExact(series, -3_000n, 200_001n)
    const tail = await runs.metricSeries({ runId, key: 'loss', fromStep: 199_999, toStep: 300_000 })
    expect(tail.mode).toBe('raw')
    expect(Object.is(tail.points[0]!.value, -0)).toBe(true)
  })

  it('handles steps at the ends of the int64 range', async () => {
    const { experiments, runs } = test.core.services
    const experiment = await experiments.create({ name: 'series-extremes' })
    const run = await runs.start({ experimentId: experiment.id })
    const extremes = ['-9223372036854775808', '-1', '0', '9007199254740993', '9223372036854775807']
    await runs.logMetrics(run.id, extremes.map((step, i) => ({ key: 'x', value: i, step })))
    const all = await runs.metricSeries({ runId: run.id, key: 'x', maxPoints: 10 })
    expect(all.mode).toBe('raw')
    expect(all.points.map((p) => p.step.toString())).toEqual(extremes)
    const buckets = await runs.metricSeries({ runId: run.id, key: 'x', maxPoints: 10, fromStep: '-9223372036854775808', toStep: '9223372036854775807' })
    expect(buckets.points).toHaveLength(5)
  })

  it('is empty for a key never logged, and not found for a missing run', async () => {
    const { runs } = test.core.services
    expect((await runs.metricSeries({ runId, key: 'never' })).totalPoints).toBe(0)
    await expect(runs.metricSeries({ runId: 999_999, key: 'loss' })).rejects.toMatchObject({ code: 'not_found', field: 'runId' })
  })
})

export type { MetricBucket }
