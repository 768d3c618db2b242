import type { Queryable } from '../db/database'
import { notFound } from '../../shared/errors'
import { groupLabel, groupValueText, orderGroupKeys, type GroupedKeySeries, type GroupedSeries } from '../../shared/grouped-series'
import { rollupShift, ROLLUP_LEVELS } from './metric-aggregates'

/**
 * A sweep's runs grouped by one param or tag, and per group and metric key the mean, min, max,
 * std and count of its runs at each step bucket — all in PostgreSQL, over every run asked (the
 * browser could only ever fetch the series of a hundred runs).
 *
 * Per run and bucket the value is the run's LAST value in the bucket (greatest step, then the
 * latest logged). The rollups hold each bucket's count, min, max, first and last point but no
 * sum, so a mean per run is not in them; the last value is, and it is also what a run's line
 * shows at the end of the bucket. A run whose last value there is NaN or ±Inf does not count in
 * that bucket (the browser's aggregation skips such points too), nor anywhere it has no point.
 */

export interface GroupedSeriesQuery {
  experimentId: number
  runIds: readonly number[]
  /** `params.<key>` or `tags.<key>` (checked by the schema). */
  groupBy: string
  keys: readonly string[]
  maxBuckets: number
}

/** Which points a key's buckets are read from and how they are cut (see chooseGrid). */
type Grid =
  | { route: 'raw'; lo: bigint; hi: bigint; width: bigint }
  | { route: 'rollup'; lo: bigint; hi: bigint; level: number; shift: bigint; firstIndex: bigint; lastIndex: bigint; perBucket: bigint }

/**
 * The grid of a key's step range [lo, hi], as PgMetricRepository.series chooses it for one run:
 * a bucket per step when the range fits; a narrow but dense range (finer than the finest rollup
 * level gives a quarter of the buckets asked) in buckets of equal width over the raw points;
 * otherwise the finest rollup level that spans the range in at most 4 × maxBuckets of its
 * buckets, `perBucket` of them merged into each bucket — plus the raw points of the chunks the
 * folder has not reached yet, so the answer is the same before and after a fold.
 */
export function chooseGrid(lo: bigint, hi: bigint, maxBuckets: number): Grid {
  const target = BigInt(maxBuckets)
  const span = hi - lo + 1n
  if (span <= target) return { route: 'raw', lo, hi, width: 1n }
  const spanned = (level: number) => (hi >> BigInt(rollupShift(level))) - (lo >> BigInt(rollupShift(level))) + 1n
  if (spanned(0) * 4n < target) return { route: 'raw', lo, hi, width: (span + target - 1n) / target }
  let level = 0
  while (level < ROLLUP_LEVELS - 1 && spanned(level) > 4n * target) level++
  const shift = BigInt(rollupShift(level))
  return { route: 'rollup', lo, hi, level, shift, firstIndex: lo >> shift, lastIndex: hi >> shift, perBucket: (spanned(level) + target - 1n) / target }
}

/** The group's value of a run as text (shared/grouped-series groupValueText, spelled in SQL); '' for none. */
const GROUP_TEXT_SQL = `CASE WHEN v IS NULL OR jsonb_typeof(v) = 'null' THEN '' WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' ELSE v::text END`

/** The runs asked that belong to the experiment, with their group's text ($1 experiment, $2 run ids, $3 param/tag key). */
const runsSql = (column: 'hyperparameters' | 'tags') => `runs AS (
  SELECT run_id, ${GROUP_TEXT_SQL} AS g, v
  FROM (SELECT r.run_id, r.${column} -> $3::text AS v FROM ml_run r WHERE r.experiment_id = $1 AND r.run_id = ANY($2::bigint[])) AS asked)`

const FINITE = `value <> 'NaN'::float8 AND value <> 'Infinity'::float8 AND value <> '-Infinity'::float8`

/** Per group, the columns of its buckets as arrays, from `pieces` (run_id, b, step, logged_at, value). */
const AGGREGATE_SQL = `
  last AS (SELECT DISTINCT ON (run_id, b) run_id, b, value FROM pieces ORDER BY run_id, b, step DESC, logged_at DESC),
  columns AS (
    SELECT runs.g, last.b, avg(value) FILTER (WHERE ${FINITE}) AS mean, min(value) FILTER (WHERE ${FINITE}) AS min,
           max(value) FILTER (WHERE ${FINITE}) AS max, stddev_pop(value) FILTER (WHERE ${FINITE}) AS std,
           count(*) FILTER (WHERE ${FINITE}) AS n
    FROM last JOIN runs USING (run_id)
    GROUP BY runs.g, last.b)
  SELECT g, array_agg(b ORDER BY b)::text[] AS b, array_agg(mean ORDER BY b) AS mean, array_agg(min ORDER BY b) AS min,
         array_agg(max ORDER BY b) AS max, array_agg(std ORDER BY b) AS std, array_agg(n ORDER BY b)::int[] AS n
  FROM columns WHERE n > 0 GROUP BY g`

interface GroupColumnsRow {
  g: string
  b: string[]
  mean: number[]
  min: number[]
  max: number[]
  std: number[]
  n: number[]
}

export async function readGroupedSeries(db: Queryable, query: GroupedSeriesQuery): Promise<GroupedSeries> {
  return new GroupedSeriesReader(db).read(query)
}

class GroupedSeriesReader {
  constructor(private readonly db: Queryable) {}

  async read(query: GroupedSeriesQuery): Promise<GroupedSeries> {
    const [, kind, paramKey] = /^(params|tags)\.(.+)$/s.exec(query.groupBy)!
    const column = kind === 'params' ? 'hyperparameters' : 'tags'
    const { rowCount } = await this.db.query('SELECT 1 FROM ml_experiment WHERE experiment_id = $1', [query.experimentId])
    if (rowCount === 0) throw notFound(`experiment ${query.experimentId} does not exist`, 'experimentId')
    const runIds = query.runIds.map(String)
    const params = [query.experimentId, runIds, paramKey!]

    // The groups, by the value's text in SQL; one value of each (parsed by the driver) spells
    // its key as the browser does (a number keeps JavaScript's spelling, e.g. 1e-7).
    const { rows: groupRows } = await this.db.query<{ g: string; value: unknown; runs: string }>(
      `WITH ${runsSql(column)} SELECT g, (array_agg(v))[1] AS value, count(*)::text AS runs FROM runs GROUP BY g`,
      params
    )
    const keyOf = new Map(groupRows.map((row) => [row.g, row.g === '' ? '' : groupValueText(row.value)]))
    const series = new Map(groupRows.map((row) => [row.g, [] as GroupedKeySeries[]]))
    const bucketWidths: Record<string, number> = {}

    for (const key of query.keys) {
      const perGroup = await this.keyColumns(column, params, key, query.maxBuckets)
      bucketWidths[key] = perGroup.width
      for (const row of groupRows) {
        const columns = perGroup.rows.get(row.g)
        series.get(row.g)!.push(columns ? toKeySeries(key, columns, perGroup.grid!) : emptyKeySeries(key))
      }
    }

    // SQL's groups under the browser's keys. Two SQL groups share a key when one value is the
    // number and another the string JavaScript spells alike (1e-7 and '1e-7'; PostgreSQL spells
    // the number 0.0000001): the browser groups them together, so they are merged here.
    const byKey = new Map<string, { runCount: number; series: GroupedKeySeries[] }>()
    for (const row of groupRows) {
      const key = keyOf.get(row.g)!
      const found = byKey.get(key)
      if (found) {
        found.runCount += Number(row.runs)
        found.series = found.series.map((one, index) => mergeKeySeries(one, series.get(row.g)![index]!))
      } else {
        byKey.set(key, { runCount: Number(row.runs), series: series.get(row.g)! })
      }
    }
    const groups = orderGroupKeys(byKey.keys()).map((key) => ({ key, label: groupLabel(key), ...byKey.get(key)! }))
    return { groupBy: query.groupBy, runCount: groups.reduce((sum, group) => sum + group.runCount, 0), bucketWidths, groups }
  }

  /** One key's bucket columns per group (by the group's SQL text). */
  private async keyColumns(
    column: 'hyperparameters' | 'tags',
    params: unknown[],
    key: string,
    maxBuckets: number
  ): Promise<{ width: number; grid: Grid | null; rows: Map<string, GroupColumnsRow> }> {
    const { rows: extent } = await this.db.query<{ key_id: number | null; lo: string | null; hi: string | null }>(
      `WITH ${runsSql(column)}, k AS (SELECT key_id FROM ml_metric_key WHERE metric_name = $4)
       SELECT (SELECT key_id FROM k) AS key_id, min(c.first_step)::text AS lo, max(c.last_step)::text AS hi
       FROM runs JOIN ml_metric_chunk c ON c.run_id = runs.run_id AND c.key_id = (SELECT key_id FROM k)`,
      [...params, key]
    )
    const { key_id: keyId, lo, hi } = extent[0]!
    if (keyId === null || lo === null || hi === null) return { width: 1, grid: null, rows: new Map() }
    const grid = chooseGrid(BigInt(lo), BigInt(hi), maxBuckets)
    // One statement per key, so one snapshot: what a fold moves from chunks to rollups is read
    // from exactly one of them.
    const pieces =
      grid.route === 'raw'
        ? `pieces AS (
             SELECT c.run_id, (u.step - $5::bigint) / $7::bigint AS b, u.step, u.logged_at, u.value
             FROM runs JOIN ml_metric_chunk c ON c.run_id = runs.run_id AND c.key_id = $4 AND c.first_step <= $6::bigint AND c.last_step >= $5::bigint
             CROSS JOIN LATERAL unnest(c.steps, c.vals, c.logged_at) AS u(step, value, logged_at)
             WHERE u.step BETWEEN $5::bigint AND $6::bigint)`
        : `pieces AS (
             SELECT ro.run_id, (ro.bucket - $8::bigint) / $7::bigint AS b, ro.last_step AS step, ro.last_logged_at AS logged_at, ro.last_value AS value
             FROM runs JOIN ml_metric_rollup ro ON ro.run_id = runs.run_id
             WHERE ro.key_id = $4 AND ro.level = $10 AND ro.bucket BETWEEN $8::bigint AND $9::bigint
             UNION ALL
             SELECT c.run_id, ((u.step >> $11::int) - $8::bigint) / $7::bigint, u.step, u.logged_at, u.value
             FROM runs LEFT JOIN ml_metric_fold f ON f.run_id = runs.run_id
             JOIN ml_metric_chunk c ON c.run_id = runs.run_id AND c.key_id = $4 AND (NOT c.sealed OR c.chunk_id > coalesce(f.folded_through, 0))
             CROSS JOIN LATERAL unnest(c.steps, c.vals, c.logged_at) AS u(step, value, logged_at)
             WHERE u.step BETWEEN $5::bigint AND $6::bigint)`
    const values =
      grid.route === 'raw'
        ? [...params, keyId, grid.lo.toString(), grid.hi.toString(), grid.width.toString()]
        : [
            ...params,
            keyId,
            grid.lo.toString(),
            grid.hi.toString(),
            grid.perBucket.toString(),
            grid.firstIndex.toString(),
            grid.lastIndex.toString(),
            grid.level,
            Number(grid.shift)
          ]
    const { rows } = await this.db.query<GroupColumnsRow>(`WITH ${runsSql(column)}, ${pieces}, ${AGGREGATE_SQL}`, values)
    const width = grid.route === 'raw' ? grid.width : grid.perBucket << grid.shift
    return { width: Number(width), grid, rows: new Map(rows.map((row) => [row.g, row])) }
  }
}

/** A bucket's step range, clipped to the key's range. */
function bucketRange(grid: Grid, index: bigint): [bigint, bigint] {
  const [from, to] =
    grid.route === 'raw'
      ? [grid.lo + index * grid.width, grid.lo + (index + 1n) * grid.width - 1n]
      : [(grid.firstIndex + index * grid.perBucket) << grid.shift, ((grid.firstIndex + (index + 1n) * grid.perBucket) << grid.shift) - 1n]
  return [from < grid.lo ? grid.lo : from, to > grid.hi ? grid.hi : to]
}

function toKeySeries(key: string, row: GroupColumnsRow, grid: Grid): GroupedKeySeries {
  const ranges = row.b.map((b) => bucketRange(grid, BigInt(b)))
  return {
    key,
    steps: ranges.map(([, to]) => Number(to)),
    fromSteps: ranges.map(([from]) => Number(from)),
    mean: row.mean.map(Number),
    min: row.min.map(Number),
    max: row.max.map(Number),
    std: row.std.map(Number),
    count: row.n
  }
}

const emptyKeySeries = (key: string): GroupedKeySeries => ({ key, steps: [], fromSteps: [], mean: [], min: [], max: [], std: [], count: [] })

/**
 * Two groups' columns of one key on the same grid as one group's: counts add, means weigh by
 * count, and the population variance of the union is the count-weighted mean of (std² + mean²)
 * less the union's mean².
 */
export function mergeKeySeries(a: GroupedKeySeries, b: GroupedKeySeries): GroupedKeySeries {
  const byStep = new Map<number, { from: number; n: number; sum: number; sumSq: number; min: number; max: number }>()
  for (const side of [a, b]) {
    side.steps.forEach((step, i) => {
      const n = side.count[i]!
      const mean = side.mean[i]!
      const std = side.std[i]!
      const cell = byStep.get(step)
      const sum = n * mean
      const sumSq = n * (std * std + mean * mean)
      if (!cell) byStep.set(step, { from: side.fromSteps[i]!, n, sum, sumSq, min: side.min[i]!, max: side.max[i]! })
      else {
        cell.n += n
        cell.sum += sum
        cell.sumSq += sumSq
        cell.min = Math.min(cell.min, side.min[i]!)
        cell.max = Math.max(cell.max, side.max[i]!)
      }
    })
  }
  const steps = [...byStep.keys()].sort((x, y) => x - y)
  const cells = steps.map((step) => byStep.get(step)!)
  return {
    key: a.key,
    steps,
    fromSteps: cells.map((cell) => cell.from),
    mean: cells.map((cell) => cell.sum / cell.n),
    min: cells.map((cell) => cell.min),
    max: cells.map((cell) => cell.max),
    std: cells.map((cell) => Math.sqrt(Math.max(0, cell.sumSq / cell.n - (cell.sum / cell.n) ** 2))),
    count: cells.map((cell) => cell.n)
  }
}
