import type { MetricBucket, MetricKind, MetricPoint, MetricSeries } from '../../shared/domain'
import type { Queryable, Transaction } from '../db/database'
import { chunkPoints, CHUNK_COPY_COLUMNS, encodeChunkCopy, encodeStagingCopy, STAGING_COPY_COLUMNS } from './metric-copy-encoder'
import { rollupBuckets, rollupShift, ROLLUP_LEVELS, summariseByKey, type KeyStats, type RollupBucket } from './metric-aggregates'
import { notFound } from '../../shared/errors'
import { translated } from './pg-errors'
import { readGroupedSeries, type GroupedSeriesQuery } from './grouped-series-repository'
import type { GroupedSeries } from '../../shared/grouped-series'
import { decodeFloat8Array, decodeInt8Array, decodeNullableFloat8Array, decodeNullableInt4Array, decodeTimestampArray } from './pg-binary-arrays'

export interface BatchResult {
  /** Points stored by this call. */
  inserted: number
  /** Exact duplicates of points already stored (or repeated in the batch): accepted, not stored twice. */
  duplicates: number
}

export interface BatchOptions {
  /**
   * Other writes that belong to the same batch (an MLflow log-batch's params and tags): run in
   * the batch's transaction, so the batch is stored whole or not at all.
   */
  alsoWrite?: (tx: Transaction) => Promise<void>
}

export interface HistoryRange {
  fromStep?: bigint
  toStep?: bigint
  limit?: number
}

/**
 * Merges the per-key aggregates of newly stored points into the summary (latest value, min,
 * max, count: the runs table reads it at once). The rollups are left to the folder
 * (foldPendingSlice), which merges many batches at a time (migrations/0016).
 */
async function mergeSummary(tx: Queryable, runId: number, stats: ReadonlyMap<string, KeyStats>): Promise<void> {
  const keys = [...stats.values()]
  await tx.query('SELECT ml_merge_metric_summary($1, $2, $3, $4, $5, $6, $7, $8)', [
    runId,
    keys.map((k) => k.key),
    keys.map((k) => pgFloat(k.last.value)),
    keys.map((k) => k.last.step.toString()),
    keys.map((k) => pgTimestamp(k.last.timestamp)),
    keys.map((k) => (k.min === null ? null : pgFloat(k.min))),
    keys.map((k) => (k.max === null ? null : pgFloat(k.max))),
    keys.map((k) => k.count)
  ])
}

interface ClaimedChunkRow {
  run_id: string
  caught_up: boolean
  /** NULL (with the arrays) on the row of a run found caught up. */
  chunk_id: string | null
  key_id: number | null
  kind: MetricKind
  steps: Buffer | null
  vals: Buffer
  times: Buffer
  epochs: Buffer | null
}

/**
 * The rollup buckets of claimed chunks (see ml_claim_unfolded_chunks), merged, and each run's
 * watermark moved to the last chunk claimed of it, in one round trip. Returns the points folded.
 */
async function foldClaimedChunks(tx: Queryable, claimed: readonly ClaimedChunkRow[]): Promise<number> {
  const byRun = new Map<string, Array<ClaimedChunkRow & ChunkArraysRow>>()
  for (const row of claimed) {
    if (row.chunk_id === null || row.steps === null) continue // a run found caught up
    const chunk = row as ClaimedChunkRow & ChunkArraysRow
    const rows = byRun.get(row.run_id)
    if (rows) rows.push(chunk)
    else byRun.set(row.run_id, [chunk])
  }
  if (byRun.size === 0) return 0
  let folded = 0
  const bucketRuns: string[] = []
  const buckets: RollupBucket[] = []
  for (const [runId, rows] of byRun) {
    const points: MetricPoint[] = []
    // Keyed by key id (as text): rollups are written by id and need no names.
    for (const row of rows) for (const point of pointsOfChunks(String(row.key_id), [row], undefined, undefined, Infinity)) points.push(point)
    folded += points.length
    for (const bucket of rollupBuckets(points)) {
      bucketRuns.push(runId)
      buckets.push(bucket)
    }
  }
  const runs = [...byRun.entries()]
  await tx.query('SELECT ml_fold_metric_chunks($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)', [
    runs.map(([runId]) => runId),
    runs.map(([, rows]) => rows.reduce((last, row) => (BigInt(row.chunk_id!) > BigInt(last) ? row.chunk_id! : last), rows[0]!.chunk_id!)),
    runs.map(([, rows]) => rows[0]!.caught_up),
    bucketRuns,
    buckets.map((b) => Number(b.key)),
    buckets.map((b) => b.level),
    buckets.map((b) => b.bucket.toString()),
    buckets.map((b) => b.count),
    buckets.map((b) => (b.min === null ? null : pgFloat(b.min))),
    buckets.map((b) => (b.max === null ? null : pgFloat(b.max))),
    buckets.map((b) => b.first.step.toString()),
    buckets.map((b) => pgFloat(b.first.value)),
    buckets.map((b) => pgTimestamp(b.first.timestamp)),
    buckets.map((b) => b.last.step.toString()),
    buckets.map((b) => pgFloat(b.last.value)),
    buckets.map((b) => pgTimestamp(b.last.timestamp)),
    buckets.map((b) => b.last.epoch)
  ])
  return folded
}

// The points of one key's chunks, as rows (unnest keeps the arrays' element order).
const CHUNK_POINTS_SQL = `ml_metric_chunk c
  CROSS JOIN LATERAL unnest(c.steps, c.vals, c.logged_at, c.epochs) AS u(step, value, logged_at, epoch)`

/** How many level-`level` rollup buckets the step range [lo, hi] touches. */
function bucketsSpanned(lo: bigint, hi: bigint, level: number): bigint {
  const shift = BigInt(rollupShift(level))
  return (hi >> shift) - (lo >> shift) + 1n
}

function toBucket(row: Record<string, unknown>, fromStep: bigint, toStep: bigint): MetricBucket {
  return {
    fromStep,
    toStep,
    count: Number(row.point_count),
    min: row.min === null ? null : Number(row.min),
    max: row.max === null ? null : Number(row.max),
    firstStep: BigInt(row.first_step as string),
    firstValue: Number(row.first_value),
    firstTimestamp: Number(row.first_ms),
    lastStep: BigInt(row.last_step as string),
    lastValue: Number(row.last_value),
    lastTimestamp: Number(row.last_ms),
    lastEpoch: row.last_epoch === null ? null : Number(row.last_epoch)
  }
}

/** Folds a later bucket (in step order) into `target`. */
function mergeBucket(target: MetricBucket, next: MetricBucket): void {
  target.count += next.count
  if (next.min !== null && (target.min === null || next.min < target.min)) target.min = next.min
  if (next.max !== null && (target.max === null || next.max > target.max)) target.max = next.max
  target.lastStep = next.lastStep
  target.lastValue = next.lastValue
  target.lastTimestamp = next.lastTimestamp
  target.lastEpoch = next.lastEpoch
}

/** Folds `other` (a piece of the same bucket, in any order) into `target`. */
function combineBucket(target: MetricBucket, other: MetricBucket): void {
  target.count += other.count
  if (other.min !== null && (target.min === null || other.min < target.min)) target.min = other.min
  if (other.max !== null && (target.max === null || other.max > target.max)) target.max = other.max
  if (other.firstStep < target.firstStep || (other.firstStep === target.firstStep && other.firstTimestamp < target.firstTimestamp)) {
    target.firstStep = other.firstStep
    target.firstValue = other.firstValue
    target.firstTimestamp = other.firstTimestamp
  }
  if (other.lastStep > target.lastStep || (other.lastStep === target.lastStep && other.lastTimestamp >= target.lastTimestamp)) {
    target.lastStep = other.lastStep
    target.lastValue = other.lastValue
    target.lastTimestamp = other.lastTimestamp
    target.lastEpoch = other.lastEpoch
  }
}

function fromRollupBucket(bucket: RollupBucket): MetricBucket {
  return {
    fromStep: 0n,
    toStep: 0n,
    count: bucket.count,
    min: bucket.min,
    max: bucket.max,
    firstStep: bucket.first.step,
    firstValue: bucket.first.value,
    firstTimestamp: bucket.first.timestamp,
    lastStep: bucket.last.step,
    lastValue: bucket.last.value,
    lastTimestamp: bucket.last.timestamp,
    lastEpoch: bucket.last.epoch
  }
}

function toStoredPoint(row: Record<string, unknown>, keyNames: ReadonlyMap<number, string>): MetricPoint {
  return {
    key: keyNames.get(Number(row.key_id))!,
    value: Number(row.value),
    step: BigInt(row.step as string),
    epoch: row.epoch === null ? null : Number(row.epoch),
    timestamp: Number(row.ms),
    kind: row.kind as MetricKind
  }
}

/**
 * Raw points of one key in order of step, then time, then value (MLflow's order; bounded by
 * `range.limit`, 100,000 by default). The chunks of the range come back as binary arrays and are
 * merged here: chunks written in step order (the usual case) just concatenate, others are sorted.
 */
export async function readKeyHistory(db: Queryable, runId: number, key: string, range: HistoryRange = {}): Promise<MetricPoint[]> {
  const { rows } = await db.query<ChunkArraysRow>(
    `SELECT c.kind, array_send(c.steps) AS steps, array_send(c.vals) AS vals, array_send(c.logged_at) AS times,
            array_send(c.epochs) AS epochs
     FROM ml_metric_chunk c
     WHERE c.run_id = $1 AND c.key_id = (SELECT key_id FROM ml_metric_key WHERE metric_name = $2)
       AND ($3::bigint IS NULL OR c.last_step >= $3) AND ($4::bigint IS NULL OR c.first_step <= $4)
     ORDER BY c.first_step, c.chunk_id`,
    [runId, key, range.fromStep?.toString() ?? null, range.toStep?.toString() ?? null]
  )
  return pointsOfChunks(key, rows, range.fromStep, range.toStep, range.limit ?? 100_000)
}

/** PostgreSQL's order of doubles: NaN after every number. */
function compareValues(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1
  if (Number.isNaN(b)) return -1
  return a - b
}

function comparePoints(a: MetricPoint, b: MetricPoint): number {
  if (a.step !== b.step) return a.step < b.step ? -1 : 1
  return a.timestamp - b.timestamp || compareValues(a.value, b.value)
}

interface RollupColumnsRow {
  buckets: Buffer | null
  counts: Buffer
  mins: Buffer
  maxs: Buffer
  first_steps: Buffer
  first_values: Buffer
  first_times: Buffer
  last_steps: Buffer
  last_values: Buffer
  last_times: Buffer
  last_epochs: Buffer
}

/** Rollup rows read as columns (see series) → buckets by their index at the level. */
function rollupBucketsByIndex(row: RollupColumnsRow): Map<bigint, MetricBucket> {
  const byBucket = new Map<bigint, MetricBucket>()
  if (row.buckets === null) return byBucket // no rows: array_agg of nothing is NULL
  const indexes = decodeInt8Array(row.buckets)
  const counts = decodeInt8Array(row.counts)
  const mins = decodeNullableFloat8Array(row.mins)
  const maxs = decodeNullableFloat8Array(row.maxs)
  const firstSteps = decodeInt8Array(row.first_steps)
  const firstValues = decodeFloat8Array(row.first_values)
  const firstTimes = decodeTimestampArray(row.first_times)
  const lastSteps = decodeInt8Array(row.last_steps)
  const lastValues = decodeFloat8Array(row.last_values)
  const lastTimes = decodeTimestampArray(row.last_times)
  const lastEpochs = decodeNullableInt4Array(row.last_epochs, indexes.length)
  for (let i = 0; i < indexes.length; i++) {
    byBucket.set(indexes[i]!, {
      fromStep: 0n,
      toStep: 0n,
      count: Number(counts[i]),
      min: mins[i]!,
      max: maxs[i]!,
      firstStep: firstSteps[i]!,
      firstValue: firstValues[i]!,
      firstTimestamp: firstTimes[i]!,
      lastStep: lastSteps[i]!,
      lastValue: lastValues[i]!,
      lastTimestamp: lastTimes[i]!,
      lastEpoch: lastEpochs[i]!
    })
  }
  return byBucket
}

interface UnfoldedPointsRow {
  raw_steps: Buffer | null
  raw_values: Buffer
  raw_times: Buffer
  raw_epochs: Buffer
}

/** The raw points of chunks not in the rollups, read as columns (see series); NULLs when none. */
function unfoldedPoints(key: string, row: UnfoldedPointsRow): MetricPoint[] {
  if (row.raw_steps === null) return []
  const steps = decodeInt8Array(row.raw_steps)
  const values = decodeFloat8Array(row.raw_values)
  const times = decodeTimestampArray(row.raw_times)
  const epochs = decodeNullableInt4Array(row.raw_epochs, steps.length)
  // The kind plays no part in a bucket.
  return steps.map((step, i) => ({ key, value: values[i]!, step, epoch: epochs[i]!, timestamp: times[i]!, kind: 'train' }))
}

interface ChunkArraysRow {
  kind: MetricKind
  steps: Buffer
  vals: Buffer
  times: Buffer
  epochs: Buffer | null
}

/**
 * The points of chunks (given in first-step order) within [from, to], sorted by step, time and
 * value, the first `limit` of them.
 */
function pointsOfChunks(key: string, rows: readonly ChunkArraysRow[], from: bigint | undefined, to: bigint | undefined, limit: number): MetricPoint[] {
  const points: MetricPoint[] = []
  let sorted = true
  for (const row of rows) {
    const steps = decodeInt8Array(row.steps)
    const values = decodeFloat8Array(row.vals)
    const times = decodeTimestampArray(row.times)
    const epochs = decodeNullableInt4Array(row.epochs, steps.length)
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!
      if ((from !== undefined && step < from) || (to !== undefined && step > to)) continue
      const point: MetricPoint = { key, value: values[i]!, step, epoch: epochs[i]!, timestamp: times[i]!, kind: row.kind }
      const previous = points[points.length - 1]
      if (previous && comparePoints(previous, point) > 0) sorted = false
      points.push(point)
    }
  }
  if (!sorted) points.sort(comparePoints)
  return points.length > limit ? points.slice(0, limit) : points
}

/** Milliseconds (possibly fractional) → an ISO timestamp with the microseconds COPY stores. */
export function pgTimestamp(ms: number): string {
  const micros = Math.round(ms * 1000)
  const wholeMs = Math.floor(micros / 1000)
  const iso = new Date(wholeMs).toISOString() // …T12:34:56.789Z
  return `${iso.slice(0, -1)}${String(micros - wholeMs * 1000).padStart(3, '0')}Z`
}

/** When a pending run is due for a fold: enough unfolded points, or old enough. */
export interface FoldThresholds {
  minUnfoldedPoints?: number
  maxAgeMs?: number
}

export class PgMetricRepository {
  constructor(private readonly db: Queryable) {}

  /** One point through log_ml_metric(); false when it was an exact duplicate. */
  async logOne(runId: number, point: MetricPoint): Promise<boolean> {
    const { rows } = await translated(() =>
      this.db.query<{ inserted: boolean }>('SELECT log_ml_metric($1, $2, $3, $4, $5, $6, $7) AS inserted', [
        runId,
        point.key,
        pgFloat(point.value),
        point.step.toString(),
        point.epoch,
        point.kind,
        pgTimestamp(point.timestamp)
      ])
    )
    return rows[0]!.inserted
  }

  /**
   * All-or-nothing batch through binary COPY.
   *
   * Fast path — the normal shape of training logs: every key's steps rise strictly within the
   * batch and start after the last step already stored for that key. Then no point can repeat a
   * stored one or another in the batch, so the batch is copied straight into sealed chunks (one
   * row per key and kind, up to 1,024 points each) and the summary is merged from aggregates
   * computed here while the points are in memory; the rollups follow in the background
   * (foldPendingSlice).
   *
   * Otherwise (a retried batch, steps logged again, out-of-order backfill) the batch is staged
   * and moved with the duplicate check in SQL, so an exact duplicate is stored once.
   */
  async logBatch(runId: number, points: readonly MetricPoint[], options: BatchOptions = {}): Promise<BatchResult> {
    if (points.length === 0) {
      if (options.alsoWrite) await translated(() => this.db.withTransaction((tx) => options.alsoWrite!(tx)))
      return { inserted: 0, duplicates: 0 }
    }
    const stats = summariseByKey(points)
    return translated(() =>
      this.db.withTransaction(async (tx) => {
        // Locks the run's metric writers (and the run against deletion), raising not found for
        // a bad id, gives the keys their ids and reads where each key's stored steps end.
        const { rows } = await tx.query<{ metric_name: string; key_id: number; last_step: string | null }>(
          'SELECT * FROM ml_begin_metric_batch($1, $2, $3)',
          [runId, [...stats.keys()], points.length]
        )
        if (options.alsoWrite) await options.alsoWrite(tx)
        const keyIds = new Map(rows.map((row) => [row.metric_name, row.key_id]))
        const storedLastStep = new Map(rows.filter((row) => row.last_step !== null).map((row) => [row.metric_name, BigInt(row.last_step!)]))
        const appendOnly = [...stats.values()].every((key) => {
          const last = storedLastStep.get(key.key)
          return key.stepsStrictlyRise && (last === undefined || key.minStep > last)
        })
        if (appendOnly) {
          await tx.copyIn(`COPY ml_metric_chunk ${CHUNK_COPY_COLUMNS} FROM STDIN BINARY`, encodeChunkCopy(runId, chunkPoints(points, keyIds)))
          await mergeSummary(tx, runId, stats)
          return { inserted: points.length, duplicates: 0 }
        }
        let minStep = stats.values().next().value!.minStep
        let maxStep = stats.values().next().value!.maxStep
        for (const key of stats.values()) {
          if (key.minStep < minStep) minStep = key.minStep
          if (key.maxStep > maxStep) maxStep = key.maxStep
        }
        await tx.query(
          `CREATE TEMP TABLE IF NOT EXISTS ml_metric_staging (
             key_id integer, value double precision, step bigint, epoch integer, logged_at timestamptz, kind text
           ) ON COMMIT DELETE ROWS`
        )
        await tx.copyIn(`COPY ml_metric_staging ${STAGING_COPY_COLUMNS} FROM STDIN BINARY`, encodeStagingCopy(points, keyIds))
        const { rows: storedRows } = await tx.query(
          `SELECT key_id, value::text AS value, step, epoch, (extract(epoch FROM logged_at) * 1000)::text AS ms, kind
           FROM ml_insert_staged_metric_points($1, $2, $3)`,
          [runId, minStep.toString(), maxStep.toString()]
        )
        await tx.query('TRUNCATE ml_metric_staging')
        const keyNames = new Map(rows.map((row) => [row.key_id, row.metric_name]))
        const stored = storedRows.map((row) => toStoredPoint(row, keyNames))
        if (stored.length > 0) await mergeSummary(tx, runId, summariseByKey(stored))
        const inserted = stored.length
        return { inserted, duplicates: points.length - inserted }
      })
    )
  }

  /** Raw points of one key in step order (bounded; the downsampled read is for large series). */
  async history(runId: number, key: string, range: HistoryRange = {}): Promise<MetricPoint[]> {
    return readKeyHistory(this.db, runId, key, range)
  }

  /**
   * A series for a chart: every point of the step range when there are at most `maxPoints`,
   * otherwise at most maxPoints / 2 buckets with exact min/max. Wide ranges are answered from
   * the rollups of the sealed chunks plus the few raw points of the key's open chunk (a few
   * thousand rows whatever the series length); a narrow but dense range (finer than the finest
   * rollup allows) is bucketed from the raw points of that range.
   */
  async series(runId: number, key: string, options: { maxPoints: number; fromStep?: bigint; toStep?: bigint }): Promise<MetricSeries> {
    const empty: MetricSeries = { runId, key, totalPoints: 0, mode: 'raw', points: [], buckets: [] }
    const { rows: extent } = await this.db.query<{ key_id: number; lo: string | null; hi: string }>(
      `SELECT k.key_id, s.last_step::text AS hi,
              (SELECT min(c.first_step) FROM ml_metric_chunk c WHERE c.run_id = $1 AND c.key_id = k.key_id)::text AS lo
       FROM ml_metric_summary s JOIN ml_metric_key k ON k.metric_name = s.metric_name
       WHERE s.run_id = $1 AND s.metric_name = $2`,
      [runId, key]
    )
    if (!extent[0] || extent[0].lo === null) {
      const { rowCount } = await this.db.query('SELECT 1 FROM ml_run WHERE run_id = $1', [runId])
      if (rowCount === 0) throw notFound(`run ${runId} does not exist`, 'runId')
      return empty
    }
    const keyId = extent[0].key_id
    const lo = options.fromStep ?? BigInt(extent[0].lo)
    const hi = options.toStep ?? BigInt(extent[0].hi)
    if (lo > hi) return empty
    const targetBuckets = BigInt(Math.max(1, Math.floor(options.maxPoints / 2)))

    // The finest level that covers the range in at most 4 × targetBuckets rollup rows.
    let level = 0
    while (level < ROLLUP_LEVELS - 1 && bucketsSpanned(lo, hi, level) > 4n * targetBuckets) level++
    const shift = BigInt(rollupShift(level))
    // One statement, so one snapshot: the level's rollup buckets as columns of binary arrays (a
    // few thousand rows, read as one), and the raw points of the key's chunks not yet in the
    // rollups — the open chunk (under 64 points) and sealed chunks the folder has not reached
    // (migrations/0016) — which are bucketed here.
    const { rows } = await this.db.query<RollupColumnsRow & UnfoldedPointsRow>(
      `WITH fold AS (SELECT coalesce((SELECT folded_through FROM ml_metric_fold WHERE run_id = $1), 0) AS through),
       rollup AS (
         SELECT array_send(array_agg(bucket)) AS buckets, array_send(array_agg(point_count)) AS counts,
                array_send(array_agg(min_value)) AS mins, array_send(array_agg(max_value)) AS maxs,
                array_send(array_agg(first_step)) AS first_steps, array_send(array_agg(first_value)) AS first_values,
                array_send(array_agg(first_logged_at)) AS first_times, array_send(array_agg(last_step)) AS last_steps,
                array_send(array_agg(last_value)) AS last_values, array_send(array_agg(last_logged_at)) AS last_times,
                array_send(array_agg(last_epoch)) AS last_epochs
         FROM ml_metric_rollup
         WHERE run_id = $1 AND key_id = $2 AND level = $3 AND bucket BETWEEN $4 AND $5),
       unfolded AS (
         SELECT array_send(array_agg(u.step)) AS raw_steps, array_send(array_agg(u.value)) AS raw_values,
                array_send(array_agg(u.logged_at)) AS raw_times, array_send(array_agg(u.epoch)) AS raw_epochs
         FROM fold, ${CHUNK_POINTS_SQL}
         WHERE c.run_id = $1 AND c.key_id = $2 AND (NOT c.sealed OR c.chunk_id > fold.through) AND u.step BETWEEN $6 AND $7)
       SELECT * FROM rollup, unfolded`,
      [runId, keyId, level, (lo >> shift).toString(), (hi >> shift).toString(), lo.toString(), hi.toString()]
    )
    const byBucket = rollupBucketsByIndex(rows[0]!)
    for (const piece of rollupBuckets(unfoldedPoints(key, rows[0]!), level, level)) {
      const bucket = fromRollupBucket(piece)
      const existing = byBucket.get(piece.bucket)
      if (existing) combineBucket(existing, bucket)
      else byBucket.set(piece.bucket, bucket)
    }
    const upperBound = [...byBucket.values()].reduce((sum, bucket) => sum + bucket.count, 0)
    if (upperBound <= options.maxPoints) {
      const points = await this.history(runId, key, { fromStep: lo, toStep: hi, limit: options.maxPoints })
      return { ...empty, totalPoints: points.length, points }
    }
    // Rollups give at least a quarter of the buckets asked for; a range narrower than that
    // (under 256 × targetBuckets / 4 steps) is bucketed exactly from its raw points.
    if (level === 0 && bucketsSpanned(lo, hi, 0) * 4n < targetBuckets) {
      return this.bucketRawRange(runId, keyId, key, lo, hi, targetBuckets)
    }

    // Merge k consecutive rollup buckets into each output bucket.
    const firstIndex = lo >> shift
    const k = (bucketsSpanned(lo, hi, level) + targetBuckets - 1n) / targetBuckets
    const buckets: MetricBucket[] = []
    let current: MetricBucket | undefined
    let currentGroup = -1n
    const ordered = [...byBucket.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    for (const [index, piece] of ordered) {
      const group = (index - firstIndex) / k
      if (!current || group !== currentGroup) {
        const start = firstIndex + group * k
        current = { ...piece, fromStep: start << shift, toStep: ((start + k) << shift) - 1n }
        currentGroup = group
        buckets.push(current)
      } else {
        mergeBucket(current, piece)
      }
    }
    return { ...empty, mode: 'buckets', totalPoints: upperBound, buckets }
  }

  /** A sweep's runs grouped by a param or tag, each group's mean, min, max and std per step bucket (grouped-series-repository). */
  async groupedSeries(query: GroupedSeriesQuery): Promise<GroupedSeries> {
    return readGroupedSeries(this.db, query)
  }

  /** Exact buckets of equal step width over the raw points of a narrow range. */
  private async bucketRawRange(runId: number, keyId: number, key: string, lo: bigint, hi: bigint, targetBuckets: bigint): Promise<MetricSeries> {
    const width = (hi - lo + targetBuckets) / targetBuckets
    const { rows } = await this.db.query(
      `SELECT ((u.step - $3) / $5)::text AS bucket, count(*) AS point_count,
              (min(u.value) FILTER (WHERE u.value <> 'NaN'::float8))::text AS min,
              (max(u.value) FILTER (WHERE u.value <> 'NaN'::float8))::text AS max,
              (array_agg(u.step ORDER BY u.step, u.logged_at))[1]::text AS first_step,
              (array_agg(u.value ORDER BY u.step, u.logged_at))[1]::text AS first_value,
              (array_agg(extract(epoch FROM u.logged_at) * 1000 ORDER BY u.step, u.logged_at))[1]::text AS first_ms,
              (array_agg(u.step ORDER BY u.step DESC, u.logged_at DESC))[1]::text AS last_step,
              (array_agg(u.value ORDER BY u.step DESC, u.logged_at DESC))[1]::text AS last_value,
              (array_agg(extract(epoch FROM u.logged_at) * 1000 ORDER BY u.step DESC, u.logged_at DESC))[1]::text AS last_ms,
              (array_agg(u.epoch ORDER BY u.step DESC, u.logged_at DESC))[1] AS last_epoch
       FROM ${CHUNK_POINTS_SQL}
       WHERE c.run_id = $1 AND c.key_id = $2 AND c.first_step <= $4 AND c.last_step >= $3 AND u.step BETWEEN $3 AND $4
       GROUP BY 1 ORDER BY min(u.step)`,
      [runId, keyId, lo.toString(), hi.toString(), width.toString()]
    )
    const buckets = rows.map((row) => {
      const index = BigInt(row.bucket as string)
      const fromStep = lo + index * width
      const toStep = fromStep + width - 1n > hi ? hi : fromStep + width - 1n
      return toBucket(row, fromStep, toStep)
    })
    const totalPoints = buckets.reduce((sum, bucket) => sum + bucket.count, 0)
    return { runId, key, totalPoints, mode: 'buckets', points: [], buckets }
  }

  async count(): Promise<number> {
    // The summaries count every stored point; summing them avoids scanning the point table.
    const { rows } = await this.db.query<{ n: string }>('SELECT coalesce(sum(value_count), 0) AS n FROM ml_metric_summary')
    return Number(rows[0]!.n)
  }

  /** The last run a fold visited: the next fold starts after it, so every pending run has its turn. */
  private foldCursor = 0n

  /**
   * Folds unfolded chunks into the rollups (migrations/0016): up to `maxRuns` pending runs and
   * about `maxPoints` points in one transaction, of runs that have gathered `minUnfoldedPoints`
   * or waited `maxAgeMs` (by default every pending run: what "fold everything now" needs).
   * Returns the points folded (at least 1 when it found runs caught up, which are then no
   * longer pending), and 0 when no run was due or every due run it visited was busy with a
   * writer (the next drain tries again).
   */
  async foldPendingSlice(maxPoints: number, due: FoldThresholds = {}, maxRuns = 64): Promise<number> {
    const claim = (tx: Queryable, after: bigint) =>
      tx.query<ClaimedChunkRow>(
        `SELECT run_id, caught_up, chunk_id, key_id, 'train' AS kind, array_send(steps) AS steps, array_send(vals) AS vals,
                array_send(logged_at) AS times, array_send(epochs) AS epochs
         FROM ml_claim_unfolded_chunks($1, $2, $3, $4, make_interval(secs => $5::float8 / 1000))`,
        [after.toString(), maxRuns, maxPoints, due.minUnfoldedPoints ?? 0, due.maxAgeMs ?? 0]
      )
    return this.db.withTransaction(async (tx) => {
      let { rows } = await claim(tx, this.foldCursor)
      if (rows.length === 0 && this.foldCursor > 0n) {
        this.foldCursor = 0n // past the last pending run: from the first again
        ;({ rows } = await claim(tx, 0n))
      }
      if (rows.length === 0) return 0
      this.foldCursor = BigInt(rows.at(-1)!.run_id)
      // At least 1 when runs were only found caught up: the drain goes on to the next ones.
      return Math.max(1, await foldClaimedChunks(tx, rows))
    })
  }

  /**
   * Removes at most `limit` stored rows of deleted runs (ml_purge_metrics, migrations/0014);
   * returns how many, 0 when nothing is left to purge.
   */
  async purgeDeletedSlice(limit: number): Promise<number> {
    const { rows } = await this.db.query<{ removed: number }>('SELECT ml_purge_metrics($1) AS removed', [limit])
    return rows[0]!.removed
  }
}

/**
 * node-postgres sends a JS number as its decimal text, which loses -0 and spells infinities
 * in a way PostgreSQL does not read; this spelling round-trips exactly.
 */
export function pgFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return 'Infinity'
  if (value === -Infinity) return '-Infinity'
  if (Object.is(value, -0)) return '-0'
  return String(value)
}
