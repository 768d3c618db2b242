import type { MetricSeries } from '../../../shared/domain'
import { emaSmooth } from './smoothing'

/** What a metric chart draws: columns for uPlot, plus the step range behind each x. */
export interface ChartData {
  x: number[]
  /** The line: raw values, or each bucket's first and last value; null where not drawable. */
  y: (number | null)[]
  /** The min/max envelope of buckets (equal to y for raw points). */
  min: (number | null)[]
  max: (number | null)[]
  /** The steps each x stands for, to turn a zoomed x range back into steps. */
  stepLo: bigint[]
  stepHi: bigint[]
}

export type ChartXAxis = 'step' | 'epoch' | 'time'

interface Sample {
  x: number
  y: number
  min: number | null
  max: number | null
  lo: bigint
  hi: bigint
}

/**
 * Turns a series (raw points or min/max buckets) into chart columns on the chosen x axis.
 * Epoch and time axes are not always monotonic in step (a resumed run, a clock change), so
 * those are sorted; points without an epoch are left out of the epoch axis.
 */
export function toChartData(series: MetricSeries, xAxis: ChartXAxis, options: { smoothing: number; logScale: boolean }): ChartData {
  const samples: Sample[] = []
  if (series.mode === 'raw') {
    for (const point of series.points) {
      const x = xAxis === 'step' ? Number(point.step) : xAxis === 'epoch' ? point.epoch : point.timestamp / 1000
      if (x === null) continue
      samples.push({ x, y: point.value, min: point.value, max: point.value, lo: point.step, hi: point.step })
    }
  } else {
    for (const bucket of series.buckets) {
      const xFirst = xAxis === 'step' ? Number(bucket.firstStep) : xAxis === 'epoch' ? bucket.lastEpoch : bucket.firstTimestamp / 1000
      const xLast = xAxis === 'step' ? Number(bucket.lastStep) : xAxis === 'epoch' ? bucket.lastEpoch : bucket.lastTimestamp / 1000
      if (xFirst === null || xLast === null) continue
      if (bucket.firstStep === bucket.lastStep) {
        samples.push({ x: xLast, y: bucket.lastValue, min: bucket.min, max: bucket.max, lo: bucket.fromStep, hi: bucket.toStep })
      } else {
        samples.push({ x: xFirst, y: bucket.firstValue, min: bucket.min, max: bucket.max, lo: bucket.fromStep, hi: bucket.toStep })
        samples.push({ x: xLast, y: bucket.lastValue, min: bucket.min, max: bucket.max, lo: bucket.fromStep, hi: bucket.toStep })
      }
    }
  }
  if (xAxis !== 'step') samples.sort((a, b) => a.x - b.x)

  const drawable = (value: number | null): number | null =>
    value === null || !Number.isFinite(value) || (options.logScale && value <= 0) ? null : value
  const y = smooth(
    samples.map((sample) => drawable(sample.y)),
    options.smoothing
  )
  return {
    x: samples.map((sample) => sample.x),
    y,
    min: samples.map((sample) => drawable(sample.min)),
    max: samples.map((sample) => drawable(sample.max)),
    stepLo: samples.map((sample) => sample.lo),
    stepHi: samples.map((sample) => sample.hi)
  }
}

/** TensorBoard's smoothing: an exponential moving average, debiased at the start; gaps stay gaps. */
export const smooth = emaSmooth

/**
 * The step range behind an x range of the chart (what to re-query when the user zooms). On the
 * step axis that is the range itself; on epoch and time axes, the steps of the buckets (or
 * points) drawn inside it.
 */
export function stepRangeOf(data: ChartData, xAxis: ChartXAxis, xMin: number, xMax: number): { fromStep: bigint; toStep: bigint } | null {
  if (xAxis === 'step') return stepsBetween(xMin, xMax)
  let from: bigint | null = null
  let to: bigint | null = null
  for (let i = 0; i < data.x.length; i++) {
    const x = data.x[i]!
    if (x < xMin || x > xMax) continue
    if (from === null || data.stepLo[i]! < from) from = data.stepLo[i]!
    if (to === null || data.stepHi[i]! > to) to = data.stepHi[i]!
  }
  return from === null || to === null ? null : { fromStep: from, toStep: to }
}

/** The whole steps from xMin to xMax of a step axis; null when none lies between them. */
export function stepsBetween(xMin: number, xMax: number): { fromStep: bigint; toStep: bigint } | null {
  const fromStep = BigInt(Math.ceil(xMin))
  const toStep = BigInt(Math.floor(xMax))
  return fromStep <= toStep ? { fromStep, toStep } : null
}

/** Seconds shown either side of a time axis whose points all share one timestamp (one batch logged without timestamps). */
export const SINGLE_INSTANT_PAD_S = 5

/**
 * The x range of a time axis (seconds) for points from `min` to `max` (sorted x): that range and
 * 2% either side, so the first and last points are not cut at the edges. Points that share one
 * timestamp (a batch logged without timestamps, stamped once by the server) get a few seconds
 * either side — uPlot's own default for them is 1,000 days.
 */
export function timeAxisRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1]
  const span = max - min
  const pad = span > 0 ? span * 0.02 : SINGLE_INSTANT_PAD_S
  return [min - pad, max + pad]
}

/** The median gap between a run's consecutive x values (0 for fewer than two): how far apart its points usually are. */
export function medianGap(xs: ArrayLike<number>): number {
  const gaps: number[] = []
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[i - 1]!) gaps.push(xs[i]! - xs[i - 1]!)
  if (gaps.length === 0) return 0
  gaps.sort((a, b) => a - b)
  return gaps[Math.floor(gaps.length / 2)]!
}

/**
 * Which point of one run an overlay's hover shows when the cursor is at `cursorIdx` of the
 * joined x column (where `ys` is undefined, the run has no point): its own point there, else its
 * nearest point no further than `reach` along x — and nothing before the run's first or after
 * its last point, so a run that stopped at step 20 shows no value at step 80.
 */
export function hoverIndex(xs: ArrayLike<number>, ys: ArrayLike<number | null | undefined>, cursorIdx: number, reach: number): number | null {
  if (cursorIdx < 0 || cursorIdx >= xs.length) return null
  if (ys[cursorIdx] !== undefined) return cursorIdx
  let left = cursorIdx - 1
  while (left >= 0 && ys[left] === undefined) left--
  let right = cursorIdx + 1
  while (right < xs.length && ys[right] === undefined) right++
  if (left < 0 || right >= xs.length) return null
  const x = xs[cursorIdx]!
  const nearest = x - xs[left]! <= xs[right]! - x ? left : right
  return Math.abs(xs[nearest]! - x) <= reach ? nearest : null
}
