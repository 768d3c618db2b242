import type { RunRow } from '../../../shared/contract'
import { groupLabel, groupValueText, NO_VALUE_LABEL, orderGroupKeys } from '../../../shared/grouped-series'
import { colorOfSlot } from './run-colors'

/**
 * Grouping of runs by one param or tag (`params.<key>` / `tags.<key>`), as W&B and Aim group a
 * sweep: the runs table shows a header row per group, the charts draw a group as the mean of
 * its runs with a min–max (or ±std) band. Pure functions, so both views and the tests agree.
 */

export interface RunGroup {
  /** The group's value as text ('' for runs without the param or tag). */
  key: string
  label: string
  color: string
  runIds: number[]
}

/** The label of the group of runs that lack the param or tag (shared with main's grouped series). */
export { NO_VALUE_LABEL }

/** `params.<key>` and `tags.<key>` ids the runs can be grouped by, params first, each sorted. */
export function groupByOptions(rows: readonly Pick<RunRow, 'hyperparameters' | 'tags'>[]): string[] {
  const params = new Set<string>()
  const tags = new Set<string>()
  for (const row of rows) {
    for (const key in row.hyperparameters) params.add(key)
    for (const key in row.tags) tags.add(key)
  }
  return [...[...params].sort().map((key) => `params.${key}`), ...[...tags].sort().map((key) => `tags.${key}`)]
}

/** A run's value for a group-by id, as text; '' when it has none. */
export function groupValueOf(row: Pick<RunRow, 'hyperparameters' | 'tags'>, groupBy: string): string {
  const dot = groupBy.indexOf('.')
  const kind = groupBy.slice(0, dot)
  const key = groupBy.slice(dot + 1)
  const source: Record<string, unknown> = kind === 'params' ? row.hyperparameters : kind === 'tags' ? row.tags : {}
  if (!Object.hasOwn(source, key)) return ''
  return groupValueText(source[key])
}

/**
 * The groups of `rows` under `groupBy`, in value order (numerically when every value is a
 * number; the runs without a value last), each with the runs in the order given and a colour
 * of the categorical palette by its position.
 */
export function groupRuns(rows: readonly Pick<RunRow, 'id' | 'hyperparameters' | 'tags'>[], groupBy: string): RunGroup[] {
  const byKey = new Map<string, number[]>()
  for (const row of rows) {
    const key = groupValueOf(row, groupBy)
    let ids = byKey.get(key)
    if (!ids) byKey.set(key, (ids = []))
    ids.push(row.id)
  }
  // The order main's grouped series use too (shared/grouped-series), so a group keeps its colour.
  return orderGroupKeys(byKey.keys()).map((key, index) => ({ key, label: groupLabel(key), color: colorOfSlot(index), runIds: byKey.get(key)! }))
}

/** One run's line: x ascending, y null where there is nothing to draw. */
export interface Line {
  x: readonly number[]
  y: readonly (number | null)[]
}

/** A group's lines aggregated on one x grid. */
export interface GroupAggregate {
  x: number[]
  mean: (number | null)[]
  min: (number | null)[]
  max: (number | null)[]
  /** Population standard deviation of the runs with a value at that x. */
  std: (number | null)[]
  /** How many runs have a value at that x. */
  count: number[]
}

/**
 * The x values a group is aggregated on: every x of its lines, or — past `maxPoints` of them —
 * `maxPoints` evenly spaced x from the first to the last (runs downsampled into different
 * buckets would otherwise give a grid of every run's own steps).
 */
export function aggregationGrid(lines: readonly Line[], maxPoints: number): number[] {
  const xs = new Set<number>()
  let lo = Infinity
  let hi = -Infinity
  for (const line of lines) {
    for (let i = 0; i < line.x.length; i++) {
      if (line.y[i] === null || line.y[i] === undefined) continue
      const x = line.x[i]!
      xs.add(x)
      if (x < lo) lo = x
      if (x > hi) hi = x
    }
  }
  if (xs.size <= maxPoints) return [...xs].sort((a, b) => a - b)
  const grid: number[] = []
  for (let i = 0; i < maxPoints; i++) grid.push(lo + ((hi - lo) * i) / (maxPoints - 1))
  return grid
}

/**
 * Mean, min, max and std over the group's runs at each x of the grid. A run counts at x when x
 * lies within its own first and last point: its value there, or linearly interpolated between
 * its neighbouring points (steps a run skipped, or a grid between its buckets). Beyond its last
 * point a run does not count, so a run that stopped early does not drag the mean.
 */
export function aggregateLines(lines: readonly Line[], maxPoints = 1_000): GroupAggregate {
  const x = aggregationGrid(lines, maxPoints)
  const n = x.length
  const sum = new Float64Array(n)
  const sumSq = new Float64Array(n)
  const count = new Array<number>(n).fill(0)
  const min: (number | null)[] = new Array<number | null>(n).fill(null)
  const max: (number | null)[] = new Array<number | null>(n).fill(null)
  for (const line of lines) {
    // Only the drawable points of the line.
    const px: number[] = []
    const py: number[] = []
    for (let i = 0; i < line.x.length; i++) {
      const value = line.y[i]
      if (value === null || value === undefined || !Number.isFinite(value)) continue
      px.push(line.x[i]!)
      py.push(value)
    }
    if (px.length === 0) continue
    let j = 0
    for (let g = 0; g < n; g++) {
      const at = x[g]!
      if (at < px[0]! || at > px[px.length - 1]!) continue
      while (j + 1 < px.length && px[j + 1]! <= at) j++
      let value: number
      if (px[j] === at || j + 1 >= px.length) value = py[j]!
      else {
        const t = (at - px[j]!) / (px[j + 1]! - px[j]!)
        value = py[j]! + t * (py[j + 1]! - py[j]!)
      }
      sum[g]! += value
      sumSq[g]! += value * value
      count[g]!++
      if (min[g] === null || value < min[g]!) min[g] = value
      if (max[g] === null || value > max[g]!) max[g] = value
    }
  }
  const mean = count.map((c, g) => (c === 0 ? null : sum[g]! / c))
  const std = count.map((c, g) => (c === 0 ? null : Math.sqrt(Math.max(0, sumSq[g]! / c - (sum[g]! / c) ** 2))))
  return { x, mean, min, max, std, count }
}
