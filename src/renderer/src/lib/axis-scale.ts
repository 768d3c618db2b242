import type { JsonValue } from '../../../shared/domain'
import { formatNumber } from './format'

/**
 * The axis of one dimension over a set of runs, for the parallel coordinates and the scatter:
 * numeric (linear, or logarithmic for positive values), a single value shown as itself, or
 * categorical (strings such as optimizer = "adam" / "sgd"). Positions are fractions of the axis
 * length, 0 at its start (bottom, or left) and 1 at its end.
 */

export interface AxisTick {
  label: string
  /** Fraction of the axis length, 0…1. */
  at: number
}

interface AxisBase {
  ticks: AxisTick[]
  /** Where a run's value sits on the axis; null when it has none this axis can show. */
  at: (value: JsonValue | undefined) => number | null
}

export interface NumericAxis extends AxisBase {
  kind: 'numeric'
  min: number
  max: number
  log: boolean
  /** Whether a log scale is possible (every value positive and not all equal). */
  canLog: boolean
  /** The value at a position (inverse of `at`), for brushing. */
  valueAt: (fraction: number) => number
}

export interface CategoricalAxis extends AxisBase {
  kind: 'categorical'
  categories: string[]
  /** The categories whose positions lie in [from, to]. */
  categoriesBetween: (from: number, to: number) => string[]
}

export type AxisScale = NumericAxis | CategoricalAxis

/** A value as a number when it is one (numbers, and numeric strings as MLflow sends params); booleans and other strings are not. */
export function axisNumber(value: JsonValue | undefined): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string' && value.trim() !== '') {
    const number = Number(value)
    return Number.isFinite(number) ? number : null
  }
  return null
}

/** A value as a category label: strings as they are, other scalars as JSON; objects and arrays have none. */
export function categoryOf(value: JsonValue | undefined): string | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return null
}

const clamp01 = (fraction: number): number => Math.min(1, Math.max(0, fraction))

/** Values spanning at least this ratio (two decades) get a log axis unless the user chose otherwise. */
export const AUTO_LOG_RATIO = 100

/**
 * The axis for these values (one per run; undefined/null where a run has none). `log` is the
 * user's choice for this axis; undefined means automatic: log for positive values spanning
 * ≥ 2 decades. Null when no run has a value.
 */
export function axisScale(values: ReadonlyArray<JsonValue | undefined>, options: { log?: boolean } = {}): AxisScale | null {
  const present = values.filter((value) => value !== undefined && value !== null)
  if (present.length === 0) return null
  const numbers = present.map(axisNumber)
  if (numbers.every((number) => number !== null)) return numericAxis(numbers as number[], options.log)
  const categories = [...new Set(present.map(categoryOf).filter((label): label is string => label !== null))].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true })
  )
  if (categories.length === 0) return null
  return categoricalAxis(categories)
}

function categoricalAxis(categories: string[]): CategoricalAxis {
  const positionOf = new Map(categories.map((category, index) => [category, categories.length === 1 ? 0.5 : index / (categories.length - 1)]))
  return {
    kind: 'categorical',
    categories,
    ticks: categories.map((category) => ({ label: category, at: positionOf.get(category)! })),
    at: (value) => {
      const label = categoryOf(value)
      return label === null ? null : (positionOf.get(label) ?? null)
    },
    categoriesBetween: (from, to) => categories.filter((category) => positionOf.get(category)! >= Math.min(from, to) && positionOf.get(category)! <= Math.max(from, to))
  }
}

function numericAxis(numbers: number[], log: boolean | undefined): NumericAxis {
  const min = Math.min(...numbers)
  const max = Math.max(...numbers)
  if (min === max) {
    // One value: shown once, in the middle, with no invented range around it. Other values
    // (a brush dragged off the middle) map onto a virtual linear scale of ±|value| so a brush
    // above the middle means "more than this value".
    const unit = Math.abs(min) || 1
    return {
      kind: 'numeric',
      min,
      max,
      log: false,
      canLog: false,
      ticks: [{ label: formatNumber(min), at: 0.5 }],
      at: (value) => {
        const number = axisNumber(value)
        return number === null ? null : clamp01(0.5 + (number - min) / (2 * unit))
      },
      valueAt: (fraction) => min + (fraction - 0.5) * 2 * unit
    }
  }
  const canLog = min > 0
  const useLog = canLog && (log ?? max / min >= AUTO_LOG_RATIO)
  if (useLog) {
    const lo = Math.log10(min)
    const hi = Math.log10(max)
    return {
      kind: 'numeric',
      min,
      max,
      log: true,
      canLog,
      ticks: logTicks(min, max).map((tick) => ({ label: formatNumber(tick), at: (Math.log10(tick) - lo) / (hi - lo) })),
      at: (value) => {
        const number = axisNumber(value)
        return number === null || number <= 0 ? null : (Math.log10(number) - lo) / (hi - lo)
      },
      valueAt: (fraction) => 10 ** (lo + fraction * (hi - lo))
    }
  }
  return {
    kind: 'numeric',
    min,
    max,
    log: false,
    canLog,
    ticks: linearTicks(min, max).map((tick) => ({ label: formatNumber(tick), at: (tick - min) / (max - min) })),
    at: (value) => {
      const number = axisNumber(value)
      return number === null ? null : (number - min) / (max - min)
    },
    valueAt: (fraction) => min + fraction * (max - min)
  }
}

/** Round numbers (1, 2 or 5 × 10^k apart) inside [min, max], about `count` of them. */
export function linearTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min]
  const rough = (max - min) / count
  const magnitude = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough) ?? 10 * magnitude
  const ticks: number[] = []
  // Integer multiples of the step, rounded to its precision, so 0.1 + 0.2 prints as 0.3.
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1)
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) ticks.push(Number((k * step).toFixed(digits)))
  return ticks
}

/** Powers of ten inside [min, max] (min > 0); with fewer than two of them, 1-2-5 steps between. */
export function logTicks(min: number, max: number): number[] {
  const decades: number[] = []
  for (let exponent = Math.ceil(Math.log10(min) - 1e-9); exponent <= Math.floor(Math.log10(max) + 1e-9); exponent++) decades.push(Number((10 ** exponent).toPrecision(12)))
  if (decades.length >= 2) return decades
  const ticks: number[] = []
  for (let exponent = Math.floor(Math.log10(min)) - 1; exponent <= Math.ceil(Math.log10(max)); exponent++) {
    for (const factor of [1, 2, 5]) {
      const tick = Number((factor * 10 ** exponent).toPrecision(12))
      if (tick >= min * (1 - 1e-9) && tick <= max * (1 + 1e-9)) ticks.push(tick)
    }
  }
  return ticks.length > 0 ? ticks : [min, max]
}
