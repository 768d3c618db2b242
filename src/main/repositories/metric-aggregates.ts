import type { MetricPoint } from '../../shared/domain'

/**
 * Aggregates of a set of newly stored points, computed in one pass while they are in memory:
 * the per-key summary (latest value, min, max, count) and the rollup buckets of every level
 * (see migrations/0014). Both are then merged into PostgreSQL with one statement.
 */

/**
 * Level L buckets hold 2^(8 + 5L) steps (256, 8192, 262144, 2^23, 2^28), as ml_rollup_shift in
 * migrations/0014 says. Five levels keep a batch's rollup writes to five rows per key; a chart
 * reads at most a few thousand rows of the finest level that covers its range, and ranges
 * too narrow for level 0 are bucketed from the raw points instead (PgMetricRepository.series).
 */
export const ROLLUP_LEVELS = 5
const LEVEL_FACTOR_BITS = 5n
export const rollupShift = (level: number): number => 8 + 5 * level

export interface KeyStats {
  key: string
  count: number
  minStep: bigint
  maxStep: bigint
  /** Steps rise strictly through the batch for this key (no repeats, no going back). */
  stepsStrictlyRise: boolean
  last: MetricPoint
  min: number | null
  max: number | null
}

export interface RollupBucket {
  key: string
  level: number
  bucket: bigint
  count: number
  min: number | null
  max: number | null
  first: MetricPoint
  last: MetricPoint
}

/** Orders points by (step, timestamp): "latest" is the greatest; ties go to the newer arrival. */
function isAfter(a: MetricPoint, b: MetricPoint): boolean {
  return a.step > b.step || (a.step === b.step && a.timestamp >= b.timestamp)
}

function isBefore(a: MetricPoint, b: MetricPoint): boolean {
  return a.step < b.step || (a.step === b.step && a.timestamp < b.timestamp)
}

function lessThan(value: number, current: number | null): boolean {
  return current === null || value < current || (value === 0 && current === 0 && Object.is(value, -0))
}

export function summariseByKey(points: readonly MetricPoint[]): Map<string, KeyStats> {
  const stats = new Map<string, KeyStats>()
  for (const point of points) {
    const value = point.value
    const comparable = !Number.isNaN(value)
    const key = stats.get(point.key)
    if (!key) {
      stats.set(point.key, {
        key: point.key,
        count: 1,
        minStep: point.step,
        maxStep: point.step,
        stepsStrictlyRise: true,
        last: point,
        min: comparable ? value : null,
        max: comparable ? value : null
      })
      continue
    }
    key.count++
    if (point.step <= key.maxStep) key.stepsStrictlyRise = false
    if (point.step < key.minStep) key.minStep = point.step
    if (point.step > key.maxStep) key.maxStep = point.step
    if (isAfter(point, key.last)) key.last = point
    if (comparable) {
      if (lessThan(value, key.min)) key.min = value
      if (key.max === null || value > key.max) key.max = value
    }
  }
  return stats
}

function addPoint(bucket: RollupBucket, point: MetricPoint): void {
  bucket.count++
  const value = point.value
  if (value === value) {
    if (lessThan(value, bucket.min)) bucket.min = value
    if (bucket.max === null || value > bucket.max) bucket.max = value
  }
  if (isBefore(point, bucket.first)) bucket.first = point
  if (isAfter(point, bucket.last)) bucket.last = point
}

function mergeInto(target: RollupBucket, source: { count: number; min: number | null; max: number | null; first: MetricPoint; last: MetricPoint }): void {
  target.count += source.count
  if (source.min !== null && lessThan(source.min, target.min)) target.min = source.min
  if (source.max !== null && (target.max === null || source.max > target.max)) target.max = source.max
  if (isBefore(source.first, target.first)) target.first = source.first
  if (isAfter(source.last, target.last)) target.last = source.last
}

/**
 * Rollup buckets of the levels from `fromLevel` up (all by default). The first is built point by
 * point; each higher level merges the buckets of the level below (32 of them per bucket), so
 * the per-point work is one level only.
 */
export function rollupBuckets(points: readonly MetricPoint[], fromLevel = 0, toLevel = ROLLUP_LEVELS - 1): RollupBucket[] {
  const firstLevel = new Map<string, Map<bigint, RollupBucket>>()
  const shift0 = BigInt(rollupShift(fromLevel))
  // Points of a key mostly arrive in step order, so the bucket of the previous point usually
  // takes the next one too: a range check then spares a BigInt shift and a map lookup.
  let current: RollupBucket | undefined
  let currentFrom = 0n
  let currentTo = -1n
  for (const point of points) {
    const comparable = !Number.isNaN(point.value)
    if (current && current.key === point.key && point.step >= currentFrom && point.step <= currentTo) {
      addPoint(current, point)
      continue
    }
    let buckets = firstLevel.get(point.key)
    if (!buckets) firstLevel.set(point.key, (buckets = new Map()))
    const index = point.step >> shift0
    let bucket = buckets.get(index)
    if (!bucket) {
      bucket = {
        key: point.key,
        level: fromLevel,
        bucket: index,
        count: 1,
        min: comparable ? point.value : null,
        max: comparable ? point.value : null,
        first: point,
        last: point
      }
      buckets.set(index, bucket)
    } else {
      addPoint(bucket, point)
    }
    current = bucket
    currentFrom = index << shift0
    currentTo = ((index + 1n) << shift0) - 1n
  }
  const all: RollupBucket[] = []
  for (const buckets of firstLevel.values()) {
    let level = [...buckets.values()]
    all.push(...level)
    for (let next = fromLevel + 1; next <= toLevel; next++) {
      const merged = new Map<bigint, RollupBucket>()
      for (const below of level) {
        const index = below.bucket >> LEVEL_FACTOR_BITS
        const bucket = merged.get(index)
        if (!bucket) merged.set(index, { ...below, level: next, bucket: index })
        else mergeInto(bucket, below)
      }
      level = [...merged.values()]
      all.push(...level)
    }
  }
  return all
}
