import { describe, expect, it } from 'vitest'
import type { MetricBucket, MetricSeries } from '../../src/shared/domain'
import { smooth, stepRangeOf, toChartData } from '../../src/renderer/src/lib/chart-data'

const raw: MetricSeries = {
  runId: 1,
  key: 'loss',
  totalPoints: 4,
  mode: 'raw',
  buckets: [],
  points: [
    { key: 'loss', value: 1, step: 0n, epoch: 0, timestamp: 3000, kind: 'train' },
    { key: 'loss', value: NaN, step: 1n, epoch: 0, timestamp: 1000, kind: 'train' },
    { key: 'loss', value: -0.5, step: 2n, epoch: null, timestamp: 2000, kind: 'train' },
    { key: 'loss', value: 0.25, step: 3n, epoch: 1, timestamp: 4000, kind: 'train' }
  ]
}

const bucket = (from: number, to: number, first: number, last: number, min: number, max: number): MetricBucket => ({
  fromStep: BigInt(from),
  toStep: BigInt(to),
  count: to - from + 1,
  min,
  max,
  firstStep: BigInt(from),
  firstValue: first,
  firstTimestamp: from * 1000,
  lastStep: BigInt(to),
  lastValue: last,
  lastTimestamp: to * 1000,
  lastEpoch: Math.floor(to / 100)
})

describe('chart data', () => {
  it('draws raw points on the step axis, with NaN as a gap and non-positive values gone on a log scale', () => {
    expect(toChartData(raw, 'step', { smoothing: 0, logScale: false }).y).toEqual([1, null, -0.5, 0.25])
    const log = toChartData(raw, 'step', { smoothing: 0, logScale: true })
    expect(log.x).toEqual([0, 1, 2, 3])
    expect(log.y).toEqual([1, null, null, 0.25])
  })

  it('sorts the time axis and leaves points without an epoch off the epoch axis', () => {
    expect(toChartData(raw, 'time', { smoothing: 0, logScale: false }).x).toEqual([1, 2, 3, 4])
    const epoch = toChartData(raw, 'epoch', { smoothing: 0, logScale: false })
    expect(epoch.x).toEqual([0, 0, 1])
    expect(epoch.stepLo).toEqual([0n, 1n, 3n])
  })

  it('draws each bucket as its first and last point inside its min/max envelope', () => {
    const series: MetricSeries = { runId: 1, key: 'loss', totalPoints: 200, mode: 'buckets', points: [], buckets: [bucket(0, 99, 5, 3, 1, 9), bucket(100, 199, 3, 2, 0.5, 4)] }
    const data = toChartData(series, 'step', { smoothing: 0, logScale: false })
    expect(data.x).toEqual([0, 99, 100, 199])
    expect(data.y).toEqual([5, 3, 3, 2])
    expect(data.min).toEqual([1, 1, 0.5, 0.5])
    expect(data.max).toEqual([9, 9, 4, 4])
    // On the step axis a zoom asks for exactly the steps under it.
    expect(stepRangeOf(data, 'step', 49.2, 120.7)).toEqual({ fromStep: 50n, toStep: 120n })
    expect(stepRangeOf(data, 'step', 10.2, 10.7)).toBeNull()
    // On the time axis, for the steps of the buckets drawn under it, whole.
    const time = toChartData(series, 'time', { smoothing: 0, logScale: false })
    expect(time.x).toEqual([0, 99, 100, 199])
    expect(stepRangeOf(time, 'time', 150, 250)).toEqual({ fromStep: 100n, toStep: 199n })
    expect(stepRangeOf(time, 'time', 50, 100)).toEqual({ fromStep: 0n, toStep: 199n })
    expect(stepRangeOf(time, 'time', 300, 400)).toBeNull()
  })

  it('smooths with a debiased moving average that keeps gaps', () => {
    expect(smooth([1, 2, 3], 0)).toEqual([1, 2, 3])
    const smoothed = smooth([2, null, 2, 4], 0.5)
    expect(smoothed[0]).toBeCloseTo(2) // debiased: the first value is itself
    expect(smoothed[1]).toBeNull()
    expect(smoothed[2]).toBeCloseTo(2)
    // EMA 1 → 1.5 → 2.75 over three values, divided by 1 - 0.5^3.
    expect(smoothed[3]).toBeCloseTo(2.75 / 0.875, 10)
  })
})
