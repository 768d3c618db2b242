import type { RunRow } from '../../../shared/contract'
import type { JsonValue } from '../../../shared/domain'
import { formatJsonValue } from './format'

/**
 * Pure helpers of the compare view: what a run's value is on a dimension, which rows of the
 * side-by-side table differ, where min and max are, which runs pass the brushes, and a colour
 * per run that stays the same whatever else is selected.
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

/** The dimensions that can be drawn on an axis: those with a number for at least one run. */
export function numericDimensions(runs: RunRow[]): Dimension[] {
  const all = dimensionsOf(runs)
  return [...all.params, ...all.metrics, ...all.resources].filter((dimension) => runs.some((run) => numericValue(dimensionValue(run, dimension)) !== null))
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

/** A brushed interval on a parallel-coordinates axis, inclusive. */
export type Brushes = Record<Dimension, { min: number; max: number }>

/** Runs inside every brush; a run without a number on a brushed axis is outside it. */
export function runsInBrushes(runs: RunRow[], brushes: Brushes): RunRow[] {
  const entries = Object.entries(brushes)
  if (entries.length === 0) return runs
  return runs.filter((run) =>
    entries.every(([dimension, { min, max }]) => {
      const value = numericValue(dimensionValue(run, dimension))
      return value !== null && value >= min && value <= max
    })
  )
}

/** Colours that stay distinguishable next to each other (Tableau 10, then a second ring). */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#8c564b', '#17becf']

/** A run's colour from its id alone, so it keeps its colour when the selection changes. */
export function runColor(runId: number): string {
  return PALETTE[runId % PALETTE.length]!
}

/** The range of a dimension over the runs (padded when all values are equal so an axis has length). */
export function extentOf(runs: RunRow[], dimension: Dimension): { min: number; max: number } | null {
  let min = Infinity
  let max = -Infinity
  for (const run of runs) {
    const value = numericValue(dimensionValue(run, dimension))
    if (value === null) continue
    min = Math.min(min, value)
    max = Math.max(max, value)
  }
  if (min === Infinity) return null
  if (min === max) return { min: min - 0.5, max: max + 0.5 }
  return { min, max }
}
