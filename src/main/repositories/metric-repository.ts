import type { MetricKind, MetricPoint } from '../../shared/domain'
import type { Queryable } from '../db/database'
import { encodeMetricCopy, METRIC_COPY_COLUMNS } from './metric-copy-encoder'
import { translated } from './pg-errors'
import { toBigInt } from './row-mapping'

export interface BatchResult {
  /** Points stored by this call. */
  inserted: number
  /** Exact duplicates of points already stored (or repeated in the batch): accepted, not stored twice. */
  duplicates: number
}

export interface HistoryRange {
  fromStep?: bigint
  toStep?: bigint
  limit?: number
}

/** Per-key aggregates of a batch: what the summary needs, and whether the fast path applies. */
interface KeyStats {
  key: string
  count: number
  minStep: bigint
  maxStep: bigint
  stepsStrictlyRise: boolean
  last: MetricPoint
  min: number | null
  max: number | null
}

function aggregateByKey(points: readonly MetricPoint[]): Map<string, KeyStats> {
  const stats = new Map<string, KeyStats>()
  for (const point of points) {
    const value = point.value
    const finiteOrInf = !Number.isNaN(value)
    const key = stats.get(point.key)
    if (!key) {
      stats.set(point.key, {
        key: point.key,
        count: 1,
        minStep: point.step,
        maxStep: point.step,
        stepsStrictlyRise: true,
        last: point,
        min: finiteOrInf ? value : null,
        max: finiteOrInf ? value : null
      })
      continue
    }
    key.count++
    if (point.step <= key.maxStep) key.stepsStrictlyRise = false
    if (point.step < key.minStep) key.minStep = point.step
    if (point.step > key.maxStep) key.maxStep = point.step
    if (point.step > key.last.step || (point.step === key.last.step && point.timestamp >= key.last.timestamp)) key.last = point
    if (finiteOrInf) {
      if (key.min === null || value < key.min || (value === 0 && Object.is(value, -0) && key.min === 0)) key.min = value
      if (key.max === null || value > key.max) key.max = value
    }
  }
  return stats
}

async function mergeSummary(tx: Queryable, runId: number, keys: KeyStats[]): Promise<void> {
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

/** Milliseconds (possibly fractional) → an ISO timestamp with the microseconds COPY stores. */
export function pgTimestamp(ms: number): string {
  const micros = Math.round(ms * 1000)
  const wholeMs = Math.floor(micros / 1000)
  const iso = new Date(wholeMs).toISOString() // …T12:34:56.789Z
  return `${iso.slice(0, -1)}${String(micros - wholeMs * 1000).padStart(3, '0')}Z`
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
   * stored one or another in the batch, so the batch is copied straight into ml_metric_log and
   * the summary is merged from aggregates computed here while the points are in memory.
   *
   * Otherwise (a retried batch, steps logged again, out-of-order backfill) the batch is staged
   * and moved with the duplicate check in SQL, so an exact duplicate is stored once.
   */
  async logBatch(runId: number, points: readonly MetricPoint[]): Promise<BatchResult> {
    if (points.length === 0) return { inserted: 0, duplicates: 0 }
    const stats = aggregateByKey(points)
    return translated(() =>
      this.db.withTransaction(async (tx) => {
        await tx.query('SELECT ml_lock_run_metrics($1)', [runId])
        const { rows } = await tx.query<{ metric_name: string; last_step: string }>(
          'SELECT metric_name, last_step FROM ml_metric_summary WHERE run_id = $1 AND metric_name = ANY($2)',
          [runId, [...stats.keys()]]
        )
        const storedLastStep = new Map(rows.map((row) => [row.metric_name, BigInt(row.last_step)]))
        const appendOnly = [...stats.values()].every((key) => {
          const last = storedLastStep.get(key.key)
          return key.stepsStrictlyRise && (last === undefined || key.minStep > last)
        })
        if (appendOnly) {
          await tx.copyIn(`COPY ml_metric_log ${METRIC_COPY_COLUMNS} FROM STDIN BINARY`, encodeMetricCopy(runId, points))
          await mergeSummary(tx, runId, [...stats.values()])
          return { inserted: points.length, duplicates: 0 }
        }
        let minStep = stats.values().next().value!.minStep
        let maxStep = stats.values().next().value!.maxStep
        for (const key of stats.values()) {
          if (key.minStep < minStep) minStep = key.minStep
          if (key.maxStep > maxStep) maxStep = key.maxStep
        }
        await tx.query('CREATE TEMP TABLE IF NOT EXISTS ml_metric_staging (LIKE ml_metric_log) ON COMMIT DELETE ROWS')
        await tx.copyIn(`COPY ml_metric_staging ${METRIC_COPY_COLUMNS} FROM STDIN BINARY`, encodeMetricCopy(runId, points))
        const { rows: stored } = await tx.query<{ n: string }>('SELECT ml_insert_staged_metric_points($1, $2, $3) AS n', [
          runId,
          minStep.toString(),
          maxStep.toString()
        ])
        const inserted = Number(stored[0]!.n)
        return { inserted, duplicates: points.length - inserted }
      })
    )
  }

  /** Raw points of one key in step order (bounded; the downsampled read is for large series). */
  async history(runId: number, key: string, range: HistoryRange = {}): Promise<MetricPoint[]> {
    const { rows } = await this.db.query(
      `SELECT metric_name, value::text AS value, step, epoch, logged_at, kind
       FROM ml_metric_log
       WHERE run_id = $1 AND metric_name = $2
         AND ($3::bigint IS NULL OR step >= $3) AND ($4::bigint IS NULL OR step <= $4)
       ORDER BY step, logged_at
       LIMIT $5`,
      [runId, key, range.fromStep?.toString() ?? null, range.toStep?.toString() ?? null, range.limit ?? 100_000]
    )
    return rows.map((row) => ({
      key: row.metric_name as string,
      value: Number(row.value),
      step: toBigInt(row.step),
      epoch: row.epoch === null ? null : Number(row.epoch),
      timestamp: (row.logged_at as Date).getTime(),
      kind: row.kind as MetricKind
    }))
  }

  async count(): Promise<number> {
    // The summaries count every stored point; summing them avoids scanning the point table.
    const { rows } = await this.db.query<{ n: string }>('SELECT coalesce(sum(value_count), 0) AS n FROM ml_metric_summary')
    return Number(rows[0]!.n)
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
