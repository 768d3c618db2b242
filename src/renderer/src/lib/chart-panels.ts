import type { MetricSeries } from '../../../shared/domain'
import { isSmoothingMethod, smoothValues, type SmoothingMethod } from './smoothing'
import type { Line } from './run-groups'

/**
 * Chart panels (the experiment's Charts section): what one panel shows and how, kept per
 * experiment, and the pure steps from metric series to the lines a panel draws.
 */

/** `step`, `relative` (seconds since the run's first point), `wall` (clock time) or `metric:<key>` (metric vs metric). */
export type PanelXAxis = 'step' | 'relative' | 'wall' | `metric:${string}`

export type BandKind = 'minmax' | 'std'

export interface PanelConfig {
  id: string
  /** One or more metric keys drawn in the panel. */
  metrics: string[]
  xAxis: PanelXAxis
  logY: boolean
  smoothing: { method: SmoothingMethod; strength: number }
  /** Fixed y range ends; null follows the data. */
  yMin: number | null
  yMax: number | null
  /** Height of the plot in CSS pixels (the panel's resize handle). */
  height: number
  /** Spans the whole row instead of half of it. */
  wide: boolean
  /** What a group's band shows around its mean. */
  band: BandKind
}

export const PANEL_MIN_HEIGHT = 160
export const PANEL_MAX_HEIGHT = 800
export const PANEL_DEFAULT_HEIGHT = 240

export function newPanel(id: string, metrics: string[]): PanelConfig {
  return {
    id,
    metrics,
    xAxis: 'step',
    logY: false,
    smoothing: { method: 'ema', strength: 0 },
    yMin: null,
    yMax: null,
    height: PANEL_DEFAULT_HEIGHT,
    wide: false,
    band: 'minmax'
  }
}

export const clampHeight = (height: number): number => Math.round(Math.min(PANEL_MAX_HEIGHT, Math.max(PANEL_MIN_HEIGHT, height)))

const isNullableNumber = (value: unknown): value is number | null => value === null || (typeof value === 'number' && Number.isFinite(value))

export function isPanelXAxis(value: unknown): value is PanelXAxis {
  return value === 'step' || value === 'relative' || value === 'wall' || (typeof value === 'string' && value.startsWith('metric:') && value.length > 7)
}

/** Panels read back from storage: anything malformed is dropped rather than trusted. */
export function parsePanels(value: unknown): PanelConfig[] | null {
  if (!Array.isArray(value)) return null
  const panels: PanelConfig[] = []
  for (const item of value as unknown[]) {
    if (typeof item !== 'object' || item === null) continue
    const p = item as Record<string, unknown>
    const smoothing = p.smoothing as Record<string, unknown> | undefined
    if (
      typeof p.id !== 'string' ||
      !Array.isArray(p.metrics) ||
      p.metrics.length === 0 ||
      !p.metrics.every((key) => typeof key === 'string') ||
      !isPanelXAxis(p.xAxis) ||
      typeof p.logY !== 'boolean' ||
      !smoothing ||
      !isSmoothingMethod(smoothing.method) ||
      typeof smoothing.strength !== 'number' ||
      !isNullableNumber(p.yMin) ||
      !isNullableNumber(p.yMax) ||
      typeof p.height !== 'number'
    )
      continue
    panels.push({
      id: p.id,
      metrics: p.metrics as string[],
      xAxis: p.xAxis,
      logY: p.logY,
      smoothing: { method: smoothing.method, strength: Math.min(0.99, Math.max(0, smoothing.strength)) },
      yMin: p.yMin,
      yMax: p.yMax,
      height: clampHeight(p.height),
      wide: p.wide === true,
      band: p.band === 'std' ? 'std' : 'minmax'
    })
  }
  return panels
}

/** How a settings change enters the history: dragging the smoothing slider is one change ('replace' after the first notch), not one entry per notch. */
export function historyModeOf(before: PanelConfig | undefined, patch: Partial<PanelConfig>): 'push' | 'replace' {
  return before !== undefined && Object.keys(patch).length === 1 && patch.smoothing?.method === before.smoothing.method ? 'replace' : 'push'
}

/** Moves the panel `id` by `delta` places (clamped to the ends). */
export function movePanel(panels: readonly PanelConfig[], id: string, delta: number): PanelConfig[] {
  const from = panels.findIndex((panel) => panel.id === id)
  if (from < 0) return [...panels]
  const to = Math.min(panels.length - 1, Math.max(0, from + delta))
  const next = [...panels]
  const [moved] = next.splice(from, 1)
  next.splice(to, 0, moved!)
  return next
}

/** One point of a series as a panel reads it: step, value and time (ms). */
export interface Sample {
  step: number
  value: number
  time: number
}

/**
 * A series' points by step: raw points as they are; min/max buckets as their first and last
 * points (what the run page's line draws through).
 */
export function seriesSamples(series: MetricSeries): Sample[] {
  if (series.mode === 'raw') return series.points.map((point) => ({ step: Number(point.step), value: point.value, time: point.timestamp }))
  const samples: Sample[] = []
  for (const bucket of series.buckets) {
    samples.push({ step: Number(bucket.firstStep), value: bucket.firstValue, time: bucket.firstTimestamp })
    if (bucket.lastStep !== bucket.firstStep) samples.push({ step: Number(bucket.lastStep), value: bucket.lastValue, time: bucket.lastTimestamp })
  }
  return samples
}

/** The value of a metric at `step`, linearly interpolated between its neighbouring steps; null outside its range. */
export function valueAtStep(samples: readonly Sample[], step: number): number | null {
  if (samples.length === 0 || step < samples[0]!.step || step > samples[samples.length - 1]!.step) return null
  let lo = 0
  let hi = samples.length - 1
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (samples[mid]!.step <= step) lo = mid
    else hi = mid
  }
  const a = samples[lo]!
  const b = samples[hi]!
  if (a.step === step || a.step === b.step) return a.value
  if (b.step === step) return b.value
  return a.value + ((step - a.step) / (b.step - a.step)) * (b.value - a.value)
}

/** The time (ms) of a series' first point: where its relative time starts. */
export function seriesStart(series: MetricSeries): number | null {
  const start = seriesSamples(series).reduce((min, sample) => Math.min(min, sample.time), Infinity)
  return Number.isFinite(start) ? start : null
}

/**
 * One run's line of a metric on a panel's x axis, x ascending. Values a log axis cannot draw
 * (≤ 0) and non-finite ones become gaps. For metric vs metric, each point of the metric is
 * placed at the x metric's value at the same step (interpolated between its steps). Relative
 * time counts from `origin` (ms) when the samples are only part of the run's series (a zoomed
 * range), else from their first point.
 */
export function lineOnAxis(samples: readonly Sample[], xAxis: PanelXAxis, logY: boolean, xSamples?: readonly Sample[], origin?: number): Line {
  const drawable = (value: number): number | null => (!Number.isFinite(value) || (logY && value <= 0) ? null : value)
  const start = origin ?? samples.reduce((min, sample) => Math.min(min, sample.time), Infinity)
  const pairs: Array<[number, number | null]> = []
  for (const sample of samples) {
    let x: number | null
    if (xAxis === 'step') x = sample.step
    else if (xAxis === 'wall') x = sample.time / 1000
    else if (xAxis === 'relative') x = (sample.time - start) / 1000
    else x = xSamples ? valueAtStep(xSamples, sample.step) : null
    if (x === null || !Number.isFinite(x)) continue
    pairs.push([x, drawable(sample.value)])
  }
  if (xAxis !== 'step') pairs.sort((a, b) => a[0] - b[0])
  return { x: pairs.map((pair) => pair[0]), y: pairs.map((pair) => pair[1]) }
}

/** A line smoothed with the panel's method (x unchanged). */
export function smoothLine(line: Line, method: SmoothingMethod, strength: number): Line {
  return { x: line.x, y: smoothValues(line.y, method, strength) }
}

export function xAxisLabel(xAxis: PanelXAxis): string {
  if (xAxis === 'relative') return 'relative time (s)'
  if (xAxis === 'wall') return 'wall time'
  if (xAxis === 'step') return 'step'
  return xAxis.slice('metric:'.length)
}

/** Columns as uPlot draws them (x, then one column per series), as CSV: a header row of labels, then one row per x. */
export function plottedCsv(labels: readonly string[], columns: readonly (readonly (number | null | undefined)[])[]): string {
  const quote = (text: string): string => (/[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text)
  const rows = [labels.map(quote).join(',')]
  const n = columns[0]?.length ?? 0
  for (let i = 0; i < n; i++) rows.push(columns.map((column) => (column[i] === null || column[i] === undefined ? '' : String(column[i]))).join(','))
  return `${rows.join('\n')}\n`
}
