/**
 * Smoothing of a chart line, as W&B and TensorBoard offer it. Every method keeps gaps (null
 * stays null) and reads one `strength` from 0 (off) to 0.99, so one slider drives them all:
 *
 * - `ema`: TensorBoard's exponential moving average, debiased at the start (weight = strength).
 * - `mean`: a trailing running mean over a window that grows with strength (up to 100 points).
 * - `gaussian`: a centred Gaussian kernel whose sigma grows with strength (up to 25 points),
 *   renormalised at the edges and around gaps so the line does not sag there.
 */

export const SMOOTHING_METHODS = ['ema', 'mean', 'gaussian'] as const
export type SmoothingMethod = (typeof SMOOTHING_METHODS)[number]

export const SMOOTHING_LABELS: Record<SmoothingMethod, string> = { ema: 'EMA', mean: 'running mean', gaussian: 'Gaussian' }

export function isSmoothingMethod(value: unknown): value is SmoothingMethod {
  return typeof value === 'string' && (SMOOTHING_METHODS as readonly string[]).includes(value)
}

/** TensorBoard's smoothing: an exponential moving average, debiased at the start; gaps stay gaps. */
export function emaSmooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return [...values]
  let last = 0
  let count = 0
  return values.map((value) => {
    if (value === null) return null
    last = last * weight + (1 - weight) * value
    count++
    return last / (1 - weight ** count)
  })
}

/** The window of the running mean for a strength: 1 (off) up to 100 points. */
export function runningMeanWindow(strength: number): number {
  return Math.max(1, Math.round(1 + clampStrength(strength) * 100))
}

/** The mean of the last `window` non-null values up to each point (fewer at the start). */
export function runningMean(values: readonly (number | null)[], window: number): (number | null)[] {
  if (window <= 1) return [...values]
  const recent: number[] = []
  let sum = 0
  return values.map((value) => {
    if (value === null) return null
    recent.push(value)
    sum += value
    if (recent.length > window) sum -= recent.shift()!
    return sum / recent.length
  })
}

/** The Gaussian kernel's sigma (in points) for a strength: 0 (off) up to 25. */
export function gaussianSigma(strength: number): number {
  return clampStrength(strength) * 25
}

/** A centred Gaussian-weighted mean over ±3 sigma of non-null neighbours. */
export function gaussianSmooth(values: readonly (number | null)[], sigma: number): (number | null)[] {
  if (sigma <= 0) return [...values]
  const reach = Math.ceil(3 * sigma)
  const kernel = Array.from({ length: reach + 1 }, (_, d) => Math.exp(-(d * d) / (2 * sigma * sigma)))
  return values.map((value, i) => {
    if (value === null) return null
    let sum = 0
    let weights = 0
    for (let j = Math.max(0, i - reach); j <= Math.min(values.length - 1, i + reach); j++) {
      const neighbour = values[j]
      if (neighbour === null || neighbour === undefined) continue
      const w = kernel[Math.abs(i - j)]!
      sum += w * neighbour
      weights += w
    }
    return sum / weights
  })
}

function clampStrength(strength: number): number {
  return Number.isFinite(strength) ? Math.min(0.99, Math.max(0, strength)) : 0
}

/** Smooths a line with the chosen method at `strength` (0 returns the values unchanged). */
export function smoothValues(values: readonly (number | null)[], method: SmoothingMethod, strength: number): (number | null)[] {
  const s = clampStrength(strength)
  if (s === 0) return [...values]
  switch (method) {
    case 'ema':
      return emaSmooth(values, s)
    case 'mean':
      return runningMean(values, runningMeanWindow(s))
    case 'gaussian':
      return gaussianSmooth(values, gaussianSigma(s))
  }
}
