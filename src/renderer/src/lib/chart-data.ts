import type { MetricSeries } from '../../../shared/domain'

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
export function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values
  let last = 0
  let count = 0
  return values.map((value) => {
    if (value === null) return null
    last = last * weight + (1 - weight) * value
    count++
    return last / (1 - weight ** count)
  })
}

/**
 * The step range behind an x range of the chart (what to re-query when the user zooms). On the
 * step axis that is the range itself; on epoch and time axes, the steps of the buckets (or
 * points) drawn inside it.
 */
export function stepRangeOf(data: ChartData, xAxis: ChartXAxis, xMin: number, xMax: number): { fromStep: bigint; toStep: bigint } | null {
  if (xAxis === 'step') {
    const fromStep = BigInt(Math.ceil(xMin))
    const toStep = BigInt(Math.floor(xMax))
    return fromStep <= toStep ? { fromStep, toStep } : null
  }
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
