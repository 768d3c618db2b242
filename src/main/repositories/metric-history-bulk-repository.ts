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

const rangeSql = (range: StepRange | undefined, first: number): string => (range ? `AND step BETWEEN $${first}::bigint AND $${first + 1}::bigint` : '')
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
         SELECT run_id, step, value, logged_at,
                row_number() OVER (PARTITION BY run_id ORDER BY logged_at, step, value) AS n
         FROM ml_metric_log WHERE run_id = ANY($1::bigint[]) AND metric_name = $2) ranked
       WHERE n <= $3 ORDER BY run_id, n`,
      [runIds, key, limitPerRun]
    )
    return rows.map(toPoint)
  }

  /** The distinct steps each run logged the metric at (within the range), ascending. */
  async stepsOfRuns(runIds: readonly number[], key: string, range: StepRange | undefined): Promise<Map<number, bigint[]>> {
    const { rows } = await this.db.query<{ run_id: string; step: string }>(
      `SELECT DISTINCT run_id, step FROM ml_metric_log
       WHERE run_id = ANY($1::bigint[]) AND metric_name = $2 ${rangeSql(range, 3)}
       ORDER BY run_id, step`,
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
      `SELECT run_id, step, value::text AS value, logged_at FROM ml_metric_log
       WHERE run_id = ANY($1::bigint[]) AND metric_name = $2 AND step = ANY($3::bigint[])
       ORDER BY run_id, step, logged_at, value`,
      [runIds, key, steps.map((step) => step.toString())]
    )
    return rows.map(toPoint)
  }
}
