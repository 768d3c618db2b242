import type { MetricHistoryBulkRepository, RunMetricPoint, StepRange } from '../repositories/metric-history-bulk-repository'
import type { PgMlflowRepository } from '../repositories/mlflow-repository'
import { MlflowError } from './mlflow-schemas'
import type { RunService } from './run-service'

type Query = Record<string, unknown>

/** MLflow's limits for the bulk calls (mlflow/server/handlers.py). */
const MAX_RUNS_PER_BULK_REQUEST = 100
const MAX_BULK_RESULTS = 25_000
const MAX_INTERVAL_RESULTS = 2_500
/**
 * A run with at most this many points of the metric is sampled exactly as MLflow samples (every
 * k-th of the runs' steps, every point at them), from its raw points; a longer one from the
 * rollups the charts read, without reading its points (see bulkInterval).
 */
export const EXACT_INTERVAL_POINTS = 10_000

const invalid = (message: string): MlflowError => new MlflowError('INVALID_PARAMETER_VALUE', message)

/** A query parameter given once (a string) or repeated (an array), as a list. */
function listOf(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return []
  return (Array.isArray(value) ? value : [value]).map(String)
}

function wholeNumber(value: unknown, name: string): bigint | undefined {
  if (value === undefined || value === null || value === '') return undefined
  const text = String(value)
  if (!/^-?\d{1,19}$/.test(text)) throw invalid(`Invalid value ${JSON.stringify(text)} for parameter '${name}' supplied.`)
  return BigInt(text)
}

/**
 * The steps MLflow's sampled history shows for these runs: every k-th of all their steps (k
 * chosen so that at most maxResults are taken), plus each run's first and last step, so every
 * curve starts and ends where it really does.
 */
export function sampledSteps(stepsByRun: ReadonlyMap<number, readonly bigint[]>, maxResults: number): bigint[] {
  const all = [...new Set([...stepsByRun.values()].flat())].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const interval = all.length <= maxResults ? 1 : Math.ceil(all.length / maxResults)
  const chosen = new Set(all.filter((_, index) => index % interval === 0))
  for (const steps of stepsByRun.values()) {
    if (steps.length === 0) continue
    chosen.add(steps[0]!)
    chosen.add(steps[steps.length - 1]!)
  }
  return [...chosen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * get-history-bulk and get-history-bulk-interval: one metric of many runs at once, as MLflow's
 * web UI and the client's chart helpers ask for it. Reads only; unknown runs contribute nothing.
 */
export class MlflowHistoryBulk {
  constructor(
    private readonly runs: PgMlflowRepository,
    private readonly history: MetricHistoryBulkRepository,
    /** The charts' series (rollups), for runs too long to sample point by point. */
    private readonly series: Pick<RunService, 'metricSeries'>
  ) {}

  async bulk(query: Query): Promise<unknown> {
    const runUuids = listOf(query.run_id)
    if (runUuids.length === 0) throw invalid('GetMetricHistoryBulk request must specify at least one run_id.')
    if (runUuids.length > MAX_RUNS_PER_BULK_REQUEST) throw invalid(`GetMetricHistoryBulk request cannot specify more than ${MAX_RUNS_PER_BULK_REQUEST} run_ids. Received ${runUuids.length} run_ids.`)
    const key = typeof query.metric_key === 'string' ? query.metric_key : ''
    if (key === '') throw invalid('GetMetricHistoryBulk request must specify a metric_key.')
    const maxResults = Number(wholeNumber(query.max_results, 'max_results') ?? BigInt(MAX_BULK_RESULTS))
    if (maxResults < 1) throw invalid(`max_results must be between 1 and ${MAX_BULK_RESULTS}.`)
    const limit = Math.min(maxResults, MAX_BULK_RESULTS)
    const runs = await this.knownRuns(runUuids)
    // MLflow returns the runs by run id, each run's points in time order, then cuts at max_results.
    const ordered = [...runs].sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0))
    const points = await this.history.pointsOfRuns(
      ordered.map((run) => run.id),
      key,
      limit
    )
    return { metrics: this.inRunOrder(points, ordered, key).slice(0, limit) }
  }

  async bulkInterval(query: Query): Promise<unknown> {
    const runUuids = listOf(query.run_ids)
    if (runUuids.length === 0) throw invalid("Missing value for required parameter 'run_ids'.")
    if (runUuids.length > MAX_RUNS_PER_BULK_REQUEST) throw invalid(`GetMetricHistoryBulkInterval request must specify at most ${MAX_RUNS_PER_BULK_REQUEST} run_ids. Received ${runUuids.length} run_ids.`)
    const key = typeof query.metric_key === 'string' ? query.metric_key : ''
    if (key === '') throw invalid("Missing value for required parameter 'metric_key'.")
    const maxResults = Number(wholeNumber(query.max_results, 'max_results') ?? BigInt(MAX_INTERVAL_RESULTS))
    if (maxResults < 1 || maxResults > MAX_INTERVAL_RESULTS) throw invalid(`max_results must be between 1 and ${MAX_INTERVAL_RESULTS}.`)
    const start = wholeNumber(query.start_step, 'start_step')
    const end = wholeNumber(query.end_step, 'end_step')
    if ((start === undefined) !== (end === undefined)) throw invalid('If either start step or end step are specified, both must be specified.')
    if (start !== undefined && end !== undefined && end < start) throw invalid(`end_step must be greater than start_step. Found start_step=${start} and end_step=${end}.`)
    const range: StepRange | undefined = start !== undefined && end !== undefined ? { start, end } : undefined

    const runs = await this.knownRuns(runUuids)
    const counts = await this.history.pointCounts(
      runs.map((run) => run.id),
      key
    )
    // MLflow's sampling over the runs of at most EXACT_INTERVAL_POINTS points: it needs every step
    // of every run, so it reads them all, as MLflow does.
    const exactIds = runs.filter((run) => (counts.get(run.id) ?? 0) <= EXACT_INTERVAL_POINTS).map((run) => run.id)
    const steps = exactIds.length === 0 ? [] : sampledSteps(await this.history.stepsOfRuns(exactIds, key, range), maxResults)
    const points: RunMetricPoint[] = steps.length === 0 ? [] : await this.history.pointsAtSteps(exactIds, key, steps)
    // A longer run is sampled from its rollups, as its chart is: the first and last point of each
    // of at most max_results / 2 step buckets (real logged points, the run's first and last step
    // among them), or every point of the range when the range holds no more than max_results.
    for (const run of runs) {
      if (exactIds.includes(run.id)) continue
      const series = await this.series.metricSeries({ runId: run.id, key, maxPoints: Math.max(10, maxResults), fromStep: range?.start, toStep: range?.end })
      const sampled =
        series.mode === 'raw'
          ? series.points.map((point) => ({ runId: run.id, step: point.step, value: point.value, timestamp: point.timestamp }))
          : series.buckets.flatMap((bucket) => {
              const first = { runId: run.id, step: bucket.firstStep, value: bucket.firstValue, timestamp: bucket.firstTimestamp }
              const last = { runId: run.id, step: bucket.lastStep, value: bucket.lastValue, timestamp: bucket.lastTimestamp }
              return first.step === last.step && first.timestamp === last.timestamp ? [first] : [first, last]
            })
      points.push(...sampled.sort((a, b) => (a.step < b.step ? -1 : a.step > b.step ? 1 : a.timestamp - b.timestamp)))
    }
    return { metrics: this.inRunOrder(points, runs, key) }
  }

  /** The runs among these MLflow run ids that exist, in the order given, each once. */
  private async knownRuns(runUuids: readonly string[]): Promise<Array<{ id: number; uuid: string }>> {
    const runs: Array<{ id: number; uuid: string }> = []
    for (const uuid of new Set(runUuids)) {
      const run = /^[0-9a-f]{32}$/.test(uuid) ? await this.runs.findRun(uuid) : undefined
      if (run) runs.push({ id: run.id, uuid: run.uuid })
    }
    return runs
  }

  /** The points grouped by run in the runs' order (each run's points keep the order they came in). */
  private inRunOrder(points: readonly RunMetricPoint[], runs: ReadonlyArray<{ id: number; uuid: string }>, key: string): unknown[] {
    const byRun = new Map<number, RunMetricPoint[]>()
    for (const point of points) {
      let list = byRun.get(point.runId)
      if (!list) byRun.set(point.runId, (list = []))
      list.push(point)
    }
    return runs.flatMap((run) => (byRun.get(run.id) ?? []).map((point) => ({ key, value: point.value, timestamp: point.timestamp, step: point.step, run_id: run.uuid })))
  }
}
