import type { RunRow } from '../../../shared/contract'
import type { JsonValue } from '../../../shared/domain'
import { categoryOf } from './axis-scale'
import { stepsBetween } from './chart-data'
import { lineOnAxis, newPanel, type PanelConfig, type PanelXAxis, type Sample } from './chart-panels'
import { formatJsonValue } from './format'

/**
 * Pure helpers of the compare view: what a run's value is on a dimension, which rows of the
 * side-by-side table differ, where min and max are, which dimensions can be axes, and which
 * runs pass the brushes. (A run's colour comes from run-colors.ts.)
 */

/** A comparable dimension: `params.<key>`, `metrics.<key>` (latest value), `tags.<key>` or `resources.<field>`. */
export type Dimension = string

export const RESOURCE_FIELDS = ['gpuHours', 'cpuHours', 'peakMemoryBytes'] as const

export function dimensionValue(run: RunRow, dimension: Dimension): JsonValue | undefined {
  const dot = dimension.indexOf('.')
  const section = dimension.slice(0, dot)
  const key = dimension.slice(dot + 1)
  switch (section) {
    case 'params':
      return run.hyperparameters[key]
    case 'metrics':
      return run.metrics.find((metric) => metric.key === key)?.lastValue
    case 'tags':
      return run.tags[key]
    case 'resources':
      return run.resources[key as (typeof RESOURCE_FIELDS)[number]] ?? undefined
    default:
      return undefined
  }
}

/** A value as a number for charts and min/max: numbers, and strings that are numbers ("0.01" from MLflow). */
export function numericValue(value: JsonValue | undefined): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string' && value.trim() !== '') {
    const number = Number(value)
    return Number.isFinite(number) ? number : null
  }
  if (typeof value === 'boolean') return value ? 1 : 0
  return null
}

/** Every dimension any of the runs has, by section, sorted. */
export function dimensionsOf(runs: RunRow[]): { params: string[]; metrics: string[]; tags: string[]; resources: string[] } {
  const params = new Set<string>()
  const metrics = new Set<string>()
  const tags = new Set<string>()
  for (const run of runs) {
    Object.keys(run.hyperparameters).forEach((key) => params.add(`params.${key}`))
    run.metrics.forEach((metric) => metrics.add(`metrics.${metric.key}`))
    Object.keys(run.tags).forEach((key) => tags.add(`tags.${key}`))
  }
  const sorted = (set: Set<string>) => [...set].sort((a, b) => a.localeCompare(b))
  return { params: sorted(params), metrics: sorted(metrics), tags: sorted(tags), resources: RESOURCE_FIELDS.map((field) => `resources.${field}`) }
}

/**
 * The dimensions that can be an axis of the parallel coordinates or the scatter: params with a
 * number or a label (strings such as optimizer = "adam" make a categorical axis) for at least
 * one run, then metrics and resources with a number for at least one run. A dimension none of
 * the runs has is never among them.
 */
export function axisDimensions(runs: RunRow[]): Dimension[] {
  const all = dimensionsOf(runs)
  const params = all.params.filter((dimension) => runs.some((run) => categoryOf(dimensionValue(run, dimension)) !== null))
  const numeric = [...all.metrics, ...all.resources].filter((dimension) => runs.some((run) => numericValue(dimensionValue(run, dimension)) !== null))
  return [...params, ...numeric]
}

/** At most this many axes are chosen by default: more crowd the chart. */
export const DEFAULT_AXES = 8

/**
 * The axes to draw for a new set of runs: the chosen ones the runs still have, or (when none is
 * left) the default: params, then metrics, at most DEFAULT_AXES, never resources.
 */
export function reconcileAxes(chosen: readonly Dimension[], available: readonly Dimension[]): Dimension[] {
  const kept = chosen.filter((dimension) => available.includes(dimension))
  if (kept.length > 0) return kept
  return available.filter((dimension) => !dimension.startsWith('resources.')).slice(0, DEFAULT_AXES)
}

export interface CompareTableRow {
  dimension: Dimension
  section: 'params' | 'metrics' | 'tags' | 'resources'
  key: string
  /** One shown text per run, in the order of the runs. */
  texts: string[]
  differs: boolean
  /** Indices (into the runs) of the lowest and highest numeric value; null unless ≥ 2 numbers differ. */
  minIndex: number | null
  maxIndex: number | null
}

/** The side-by-side table: one row per dimension; only rows whose values differ when `onlyDifferences`. */
export function compareTableRows(runs: RunRow[], onlyDifferences: boolean): CompareTableRow[] {
  const all = dimensionsOf(runs)
  const rows: CompareTableRow[] = []
  for (const dimension of [...all.params, ...all.tags, ...all.metrics, ...all.resources]) {
    const values = runs.map((run) => dimensionValue(run, dimension))
    const texts = values.map((value) => (value === undefined || value === null ? '—' : formatJsonValue(value)))
    const differs = texts.some((text) => text !== texts[0])
    if (onlyDifferences && !differs) continue
    let minIndex: number | null = null
    let maxIndex: number | null = null
    const section = dimension.slice(0, dimension.indexOf('.')) as CompareTableRow['section']
    // Tags are labels: their "min" means nothing.
    if (differs && section !== 'tags') {
      values.forEach((value, index) => {
        const number = numericValue(value)
        if (number === null) return
        if (minIndex === null || number < numericValue(values[minIndex])!) minIndex = index
        if (maxIndex === null || number > numericValue(values[maxIndex])!) maxIndex = index
      })
      if (minIndex !== null && maxIndex !== null && numericValue(values[minIndex]) === numericValue(values[maxIndex])) {
        minIndex = null
        maxIndex = null
      }
    }
    rows.push({ dimension, section, key: dimension.slice(dimension.indexOf('.') + 1), texts, differs, minIndex, maxIndex })
  }
  return rows
}

/** A brush on a parallel-coordinates axis: an inclusive interval of a numeric axis, or the categories a brush covers. */
export type Brush = { min: number; max: number } | { categories: string[] }
export type Brushes = Record<Dimension, Brush>

/** Whether a value is inside a brush; no value is inside none. */
export function inBrush(value: JsonValue | undefined, brush: Brush): boolean {
  if ('categories' in brush) {
    const label = categoryOf(value)
    return label !== null && brush.categories.includes(label)
  }
  const number = numericValue(value)
  return number !== null && number >= brush.min && number <= brush.max
}

/** Runs inside every brush; a run without a value on a brushed axis is outside it. */
export function runsInBrushes(runs: RunRow[], brushes: Brushes): RunRow[] {
  const entries = Object.entries(brushes)
  if (entries.length === 0) return runs
  return runs.filter((run) => entries.every(([dimension, brush]) => inBrush(dimensionValue(run, dimension), brush)))
}

/** A compare overlay chart's settings: the user's for that metric, else a chart panel's defaults (one chart per metric). */
export function overlayPanel(metricKey: string, chosen: PanelConfig | undefined): PanelConfig {
  return chosen ? { ...chosen, id: metricKey, metrics: [metricKey] } : newPanel(metricKey, [metricKey])
}

/**
 * The step range behind an x range of an overlay chart (what to re-read when the user zooms):
 * on the step axis the range itself; on the others (time, relative time, another metric), the
 * steps of the points any run drew inside it.
 */
export function stepRangeOnAxis(
  runs: ReadonlyArray<{ samples: readonly Sample[]; xSamples?: readonly Sample[]; origin?: number }>,
  xAxis: PanelXAxis,
  xMin: number,
  xMax: number
): { fromStep: bigint; toStep: bigint } | null {
  if (xAxis === 'step') return stepsBetween(xMin, xMax)
  let from: number | null = null
  let to: number | null = null
  for (const { samples, xSamples, origin } of runs) {
    // The run's points placed on the axis as the chart places them, each carrying its step as its value.
    const steps = lineOnAxis(
      samples.map((sample) => ({ ...sample, value: sample.step })),
      xAxis,
      false,
      xSamples,
      origin
    )
    steps.x.forEach((x, i) => {
      const step = steps.y[i]
      if (x < xMin || x > xMax || step === null || step === undefined) return
      from = from === null ? step : Math.min(from, step)
      to = to === null ? step : Math.max(to, step)
    })
  }
  return from === null || to === null ? null : { fromStep: BigInt(from), toStep: BigInt(to) }
}
