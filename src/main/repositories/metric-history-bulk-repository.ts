import type { Queryable } from '../db/database'

/** One logged point of one run, as the bulk history calls return it. */
export interface RunMetricPoint {
  runId: number
  step: bigint
  value: number
  timestamp: number
}

export interface StepRange {
  start: bigint
  end: bigint
}

interface PointRow {
  run_id: string
  step: string
  value: string
  logged_at: Date
}

const toPoint = (row: PointRow): RunMetricPoint => ({ runId: Number(row.run_id), step: BigInt(row.step), value: Number(row.value), timestamp: row.logged_at.getTime() })

const rangeSql = (range: StepRange | undefined, first: number): string =>
  range ? `AND c.last_step >= $${first}::bigint AND c.first_step <= $${first + 1}::bigint AND u.step BETWEEN $${first}::bigint AND $${first + 1}::bigint` : ''

// One metric's points of several runs, as rows.
const POINTS_OF_RUNS_SQL = `ml_metric_chunk c CROSS JOIN LATERAL unnest(c.steps, c.vals, c.logged_at) AS u(step, value, logged_at)
  WHERE c.run_id = ANY($1::bigint[]) AND c.key_id = (SELECT key_id FROM ml_metric_key WHERE metric_name = $2)`
const rangeParams = (range: StepRange | undefined): string[] => (range ? [range.start.toString(), range.end.toString()] : [])

/**
 * One metric's history across several runs at once (MLflow's get-history-bulk and
 * get-history-bulk-interval, which chart many runs side by side).
 */
export class MetricHistoryBulkRepository {
  constructor(private readonly db: Queryable) {}

  /** Every point of the runs, at most `limit` per run, in the order MLflow returns them (time, step, value). */
  async pointsOfRuns(runIds: readonly number[], key: string, limitPerRun: number): Promise<RunMetricPoint[]> {
    const { rows } = await this.db.query<PointRow>(
      `SELECT run_id, step, value::text AS value, logged_at FROM (
         SELECT c.run_id, u.step, u.value, u.logged_at,
                row_number() OVER (PARTITION BY c.run_id ORDER BY u.logged_at, u.step, u.value) AS n
         FROM ${POINTS_OF_RUNS_SQL}) ranked
       WHERE n <= $3 ORDER BY run_id, n`,
      [runIds, key, limitPerRun]
    )
    return rows.map(toPoint)
  }

  /** How many points of the metric each run holds (from the summaries; runs without it are absent). */
  async pointCounts(runIds: readonly number[], key: string): Promise<Map<number, number>> {
    const { rows } = await this.db.query<{ run_id: string; n: string }>(
      'SELECT run_id, value_count AS n FROM ml_metric_summary WHERE run_id = ANY($1::bigint[]) AND metric_name = $2',
      [runIds, key]
    )
    return new Map(rows.map((row) => [Number(row.run_id), Number(row.n)]))
  }

  /** The distinct steps each run logged the metric at (within the range), ascending. */
  async stepsOfRuns(runIds: readonly number[], key: string, range: StepRange | undefined): Promise<Map<number, bigint[]>> {
    const { rows } = await this.db.query<{ run_id: string; step: string }>(
      `SELECT DISTINCT c.run_id, u.step FROM ${POINTS_OF_RUNS_SQL} ${rangeSql(range, 3)}
       ORDER BY c.run_id, u.step`,
      [runIds, key, ...rangeParams(range)]
    )
    const steps = new Map<number, bigint[]>()
    for (const row of rows) {
      const runId = Number(row.run_id)
      let list = steps.get(runId)
      if (!list) steps.set(runId, (list = []))
      list.push(BigInt(row.step))
    }
    return steps
  }

  /** Every point of the runs at the given steps, by run, step, time and value. */
  async pointsAtSteps(runIds: readonly number[], key: string, steps: readonly bigint[]): Promise<RunMetricPoint[]> {
    const { rows } = await this.db.query<PointRow>(
      `SELECT c.run_id, u.step, u.value::text AS value, u.logged_at FROM ${POINTS_OF_RUNS_SQL} AND u.step = ANY($3::bigint[])
       ORDER BY c.run_id, u.step, u.logged_at, u.value`,
      [runIds, key, steps.map((step) => step.toString())]
    )
    return rows.map(toPoint)
  }
}
