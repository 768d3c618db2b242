import type {
  Checkpoint,
  FinishedRunStatus,
  JsonObject,
  LeaderboardEntry,
  MetricSummary,
  Run,
  RunKeys,
  RunStatus,
  RunWithMetrics,
  Tags
} from '../../shared/domain'
import { conflict, notFound } from '../../shared/errors'
import type { Queryable } from '../db/database'
import { translated } from './pg-errors'
import { compileRunFilter, compileRunOrder, SqlParams } from './run-filter-sql'
import type { FilterExpression, RunOrder } from '../../shared/run-filter'
import {
  toBigInt,
  toId,
  toIso,
  toJsonObject,
  toOptionalBigInt,
  toOptionalIso,
  toOptionalNumber,
  toOptionalString,
  toTags
} from './row-mapping'

export interface NewRun {
  experimentId: number
  name: string
  hyperparameters: JsonObject
  randomSeed: bigint | null
  gitCommit: string | null
  tags: Tags
  status: 'pending' | 'running'
  /** When the client says the run started (ms since 1970); default now. */
  startedAt?: number | null
  userId?: string | null
  /** A run id given from outside (an imported MLflow run keeps its id); default a new one. */
  uuid?: string | null
}

/** A dataset a run consumed (MLflow's log-inputs), identified by name and digest. */
export interface RunDatasetInput {
  name: string
  digest: string
  sourceType: string
  source: string
  schema: string | null
  profile: string | null
  tags: Tags
}

export interface RunCompletion {
  status: FinishedRunStatus
  finalMetrics: JsonObject
  errorMessage: string | null
  stackTrace: string | null
  gpuHours: number | null
  cpuHours: number | null
  peakMemoryBytes: number | null
  logs: string | null
}

export interface NewCheckpoint {
  runId: number
  path: string
  step: bigint
  epoch: number | null
  metricsSnapshot: JsonObject
  isBest: boolean
  sizeBytes: number | null
  blake3: string | null
}

const RUN_COLUMNS = `r.run_id, r.run_uuid, r.experiment_id, r.run_name, r.status, r.hyperparameters, r.tags, r.final_metrics,
  r.random_seed, r.git_commit, r.gpu_hours, r.cpu_hours, r.peak_memory_bytes, r.logs, r.error_message, r.stack_trace,
  r.created_at, r.started_at, r.completed_at, r.updated_at`

function toRun(row: Record<string, unknown>): Run {
  return {
    id: toId(row.run_id),
    uuid: row.run_uuid as string,
    experimentId: toId(row.experiment_id),
    name: row.run_name as string,
    status: row.status as RunStatus,
    hyperparameters: toJsonObject(row.hyperparameters),
    tags: toTags(row.tags),
    finalMetrics: toJsonObject(row.final_metrics),
    randomSeed: toOptionalBigInt(row.random_seed),
    gitCommit: toOptionalString(row.git_commit),
    resources: {
      gpuHours: toOptionalNumber(row.gpu_hours),
      cpuHours: toOptionalNumber(row.cpu_hours),
      peakMemoryBytes: toOptionalNumber(row.peak_memory_bytes)
    },
    logs: toOptionalString(row.logs),
    errorMessage: toOptionalString(row.error_message),
    stackTrace: toOptionalString(row.stack_trace),
    createdAt: toIso(row.created_at),
    startedAt: toOptionalIso(row.started_at),
    completedAt: toOptionalIso(row.completed_at),
    updatedAt: toIso(row.updated_at)
  }
}

export interface RunSearchQuery {
  experimentIds: number[]
  filter: FilterExpression | null
  orderBy: RunOrder[]
  limit: number
  offset: number
  /** The soft-deleted runs instead of the active ones. */
  deleted?: boolean
}

// Runs with their latest metrics, for lists and search: one JSON array per run, because
// parsing 10,000 rows × 20 typed columns (timestamps above all) in node-postgres took 3× longer
// than the query itself; JSON.parse of one small array per row is cheap. Times travel as epoch
// milliseconds, int64 and metric values as text (so NaN, ±Infinity, -0 and 2^53+ stay exact).
// Logs and stack traces (up to megabytes per run) are left out: a list never shows them, and
// `get`/`getWithMetrics` return them.
const ms = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`
const RUN_WITH_METRICS_SELECT = `SELECT json_build_array(
    r.run_id, r.run_uuid, r.experiment_id, r.run_name, r.status, r.hyperparameters, r.tags, r.final_metrics,
    r.random_seed::text, r.git_commit, r.gpu_hours, r.cpu_hours, r.peak_memory_bytes, r.error_message,
    ${ms('r.created_at')}, ${ms('r.started_at')}, ${ms('r.completed_at')}, ${ms('r.updated_at')},
    (SELECT json_agg(json_build_array(s.metric_name, s.last_value::text, s.last_step::text, ${ms('s.last_logged_at')},
                                      s.min_value::text, s.max_value::text, s.value_count) ORDER BY s.metric_name)
     FROM ml_metric_summary s WHERE s.run_id = r.run_id)) AS run
  FROM ml_run r`

type RunListRow = [
  number, string, number, string, RunStatus, JsonObject, Tags, JsonObject, string | null, string | null,
  number | null, number | null, number | null, string | null, number, number | null, number | null, number,
  Array<[string, string, string, number, string | null, string | null, number]> | null
]

const isoOf = (millis: number): string => new Date(millis).toISOString()

function toRunWithMetrics(row: Record<string, unknown>): RunWithMetrics {
  const [id, uuid, experimentId, name, status, hyperparameters, tags, finalMetrics, seed, gitCommit, gpu, cpu, memory, error,
    created, started, completed, updated, metrics] = row.run as RunListRow
  return {
    id,
    uuid,
    experimentId,
    name,
    status,
    hyperparameters,
    tags,
    finalMetrics,
    randomSeed: seed === null ? null : BigInt(seed),
    gitCommit,
    resources: { gpuHours: gpu, cpuHours: cpu, peakMemoryBytes: memory },
    logs: null,
    errorMessage: error,
    stackTrace: null,
    createdAt: isoOf(created),
    startedAt: started === null ? null : isoOf(started),
    completedAt: completed === null ? null : isoOf(completed),
    updatedAt: isoOf(updated),
    metrics: (metrics ?? []).map(([key, lastValue, lastStep, lastTimestamp, min, max, count]) => ({
      key,
      lastValue: Number(lastValue),
      lastStep: BigInt(lastStep),
      lastTimestamp,
      min: min === null ? null : Number(min),
      max: max === null ? null : Number(max),
      count
    }))
  }
}

export function toMetricSummary(row: Record<string, unknown>): MetricSummary {
  return {
    key: row.metric_name as string,
    lastValue: Number(row.last_value),
    lastStep: toBigInt(row.last_step),
    lastTimestamp: (row.last_logged_at as Date).getTime(),
    min: toOptionalNumber(row.min_value),
    max: toOptionalNumber(row.max_value),
    count: Number(row.value_count)
  }
}

function toCheckpoint(row: Record<string, unknown>): Checkpoint {
  return {
    id: toId(row.checkpoint_id),
    runId: toId(row.run_id),
    path: row.path as string,
    step: toBigInt(row.step),
    epoch: toOptionalNumber(row.epoch),
    metricsSnapshot: toJsonObject(row.metrics_snapshot),
    isBest: row.is_best as boolean,
    sizeBytes: toOptionalNumber(row.size_bytes),
    blake3: toOptionalString(row.blake3),
    createdAt: toIso(row.created_at)
  }
}

export class PgRunRepository {
  constructor(private readonly db: Queryable) {}

  async start(run: NewRun): Promise<Run> {
    const insert = async (db: Queryable): Promise<number> => {
      const { rows } = await db.query<{ id: string }>('SELECT start_ml_run($1, $2, $3, $4, $5, $6, $7) AS id', [
        run.experimentId,
        run.name,
        run.hyperparameters,
        run.randomSeed?.toString() ?? null,
        run.gitCommit,
        run.tags,
        run.status
      ])
      return toId(rows[0]!.id)
    }
    const startedAt = run.startedAt ?? null
    const userId = run.userId ?? null
    const uuid = run.uuid ?? null
    const id = await translated(() =>
      startedAt === null && userId === null && uuid === null
        ? insert(this.db)
        : this.db.withTransaction(async (tx) => {
            const runId = await insert(tx)
            await new PgRunRepository(tx).setStartInfo(runId, startedAt, userId)
            if (uuid !== null) await tx.query('UPDATE ml_run SET run_uuid = $2 WHERE run_id = $1', [runId, uuid])
            return runId
          })
    )
    return this.get(id)
  }

  async get(id: number): Promise<Run> {
    const { rows } = await this.db.query(`SELECT ${RUN_COLUMNS} FROM ml_run r WHERE r.run_id = $1`, [id])
    if (!rows[0]) throw notFound(`run ${id} does not exist`, 'runId')
    return toRun(rows[0])
  }

  async findByUuid(uuid: string): Promise<Run | undefined> {
    const { rows } = await this.db.query(`SELECT ${RUN_COLUMNS} FROM ml_run r WHERE r.run_uuid = $1`, [uuid])
    return rows[0] ? toRun(rows[0]) : undefined
  }

  async getWithMetrics(id: number): Promise<RunWithMetrics> {
    const run = await this.get(id)
    return { ...run, metrics: await this.metricSummaries(id) }
  }

  /** Runs of an experiment with their latest metrics, newest first: the active ones, or (`deleted`) the soft-deleted ones. */
  /** Newest first; `limit` takes only the first runs of that order (the runs table's first screen). */
  async listByExperiment(experimentId: number, deleted = false, limit: number | null = null): Promise<RunWithMetrics[]> {
    const { rows } = await this.db.query(
      `${RUN_WITH_METRICS_SELECT} WHERE r.experiment_id = $1 AND (r.deleted_at IS NOT NULL) = $2 ORDER BY r.created_at DESC, r.run_id DESC LIMIT $3`,
      [experimentId, deleted, limit]
    )
    return rows.map(toRunWithMetrics)
  }

  /** The param, tag and metric keys (logged or numeric final) the experiment's active runs have, each sorted. */
  async keysOf(experimentId: number): Promise<RunKeys> {
    const { rows } = await this.db.query<{ kind: keyof RunKeys; key: string }>(
      `WITH runs AS (SELECT run_id, hyperparameters, tags, final_metrics FROM ml_run WHERE experiment_id = $1 AND deleted_at IS NULL)
       SELECT 'params' AS kind, k.key FROM runs, jsonb_object_keys(runs.hyperparameters) AS k(key)
       UNION SELECT 'tags', k.key FROM runs, jsonb_object_keys(runs.tags) AS k(key)
       UNION SELECT 'metrics', f.key FROM runs, jsonb_each(runs.final_metrics) AS f(key, value) WHERE jsonb_typeof(f.value) = 'number'
       UNION SELECT 'metrics', s.metric_name FROM ml_metric_summary s JOIN runs ON runs.run_id = s.run_id
       ORDER BY 1, 2`,
      [experimentId]
    )
    const keys: RunKeys = { params: [], metrics: [], tags: [] }
    for (const row of rows) keys[row.kind].push(row.key)
    return keys
  }

  /**
   * Runs of the given experiments matching a filter (see shared/run-filter.ts), ordered, one
   * page at a time. `offset` pages through; the caller turns it into an opaque token.
   */
  async search(query: RunSearchQuery): Promise<RunWithMetrics[]> {
    const params = new SqlParams()
    const experiments = params.add(query.experimentIds)
    const where = compileRunFilter(query.filter, params)
    const order = compileRunOrder(query.orderBy, params)
    const limit = params.add(query.limit)
    const offset = params.add(query.offset)
    const { rows } = await this.db.query(
      `${RUN_WITH_METRICS_SELECT} WHERE r.experiment_id = ANY(${experiments}::bigint[]) AND (r.deleted_at IS NOT NULL) = ${params.add(query.deleted ?? false)} AND ${where}
       ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}`,
      params.values
    )
    return rows.map(toRunWithMetrics)
  }

  async metricSummaries(runId: number): Promise<MetricSummary[]> {
    const { rows } = await this.db.query('SELECT * FROM ml_metric_summary WHERE run_id = $1 ORDER BY metric_name', [runId])
    return rows.map(toMetricSummary)
  }

  async setParams(runId: number, params: JsonObject): Promise<void> {
    await translated(() => this.db.query('SELECT set_ml_run_params($1, $2)', [runId, params]))
  }

  /** The same tags on several runs in one statement; returns how many runs there were. */
  async setTagsOfMany(runIds: readonly number[], tags: Tags): Promise<number> {
    const { rowCount } = await translated(() =>
      this.db.query('UPDATE ml_run SET tags = tags || $2, updated_at = now() WHERE run_id = ANY($1::bigint[])', [runIds, tags])
    )
    return rowCount ?? 0
  }

  async setTags(runId: number, tags: Tags): Promise<void> {
    const { rowCount } = await translated(() => this.db.query('UPDATE ml_run SET tags = tags || $2, updated_at = now() WHERE run_id = $1', [runId, tags]))
    if (rowCount === 0) throw notFound(`run ${runId} does not exist`, 'runId')
  }

  async markRunning(runId: number): Promise<void> {
    await translated(() => this.db.query('SELECT mark_ml_run_running($1)', [runId]))
  }

  async complete(runId: number, completion: RunCompletion): Promise<void> {
    await translated(() =>
      this.db.query('SELECT complete_ml_run($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
        runId,
        completion.finalMetrics,
        completion.status,
        completion.errorMessage,
        completion.stackTrace,
        completion.gpuHours,
        completion.cpuHours,
        completion.peakMemoryBytes,
        completion.logs
      ])
    )
  }

  async saveCheckpoint(checkpoint: NewCheckpoint): Promise<Checkpoint> {
    return translated(() =>
      this.db.withTransaction(async (tx) => {
        await tx.query('SELECT ml_lock_run($1, true)', [checkpoint.runId])
        // A new best checkpoint takes the flag from the previous one (at most one per run).
        if (checkpoint.isBest) await tx.query('UPDATE ml_checkpoint SET is_best = false WHERE run_id = $1 AND is_best', [checkpoint.runId])
        const { rows } = await tx.query(
          `INSERT INTO ml_checkpoint (run_id, path, step, epoch, metrics_snapshot, is_best, size_bytes, blake3)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
          [
            checkpoint.runId,
            checkpoint.path,
            checkpoint.step.toString(),
            checkpoint.epoch,
            checkpoint.metricsSnapshot,
            checkpoint.isBest,
            checkpoint.sizeBytes,
            checkpoint.blake3
          ]
        )
        return toCheckpoint(rows[0]!)
      })
    )
  }

  async listCheckpoints(runId: number): Promise<Checkpoint[]> {
    const { rows } = await this.db.query('SELECT * FROM ml_checkpoint WHERE run_id = $1 ORDER BY step', [runId])
    return rows.map(toCheckpoint)
  }

  async leaderboard(experimentId: number, metricKey: string, ascending: boolean, limit: number): Promise<LeaderboardEntry[]> {
    const { rows } = await translated(() =>
      this.db.query('SELECT * FROM get_experiment_leaderboard($1, $2, $3, $4)', [experimentId, metricKey, ascending, limit])
    )
    return rows.map((row) => ({
      rank: Number(row.rank),
      runId: toId(row.run_id),
      runName: row.run_name as string,
      status: row.status as RunStatus,
      value: Number(row.metric_value),
      step: toOptionalBigInt(row.metric_step),
      hyperparameters: toJsonObject(row.hyperparameters)
    }))
  }

  /** A repository on the same tables over another queryable (a batch's transaction). */
  on(db: Queryable): PgRunRepository {
    return new PgRunRepository(db)
  }

  /** Whether a run is deleted (MLflow's soft delete; deleted runs leave lists and searches). */
  async isDeleted(runId: number): Promise<boolean> {
    const { rows } = await this.db.query<{ deleted: boolean }>('SELECT deleted_at IS NOT NULL AS deleted FROM ml_run WHERE run_id = $1', [runId])
    if (!rows[0]) throw notFound(`run ${runId} does not exist`, 'runId')
    return rows[0].deleted
  }

  /** Soft-deletes or restores several runs in one statement; returns the ids whose state changed. */
  async setDeletedOfMany(runIds: readonly number[], deleted: boolean): Promise<number[]> {
    const { rows } = await this.db.query<{ run_id: string }>(
      'UPDATE ml_run SET deleted_at = CASE WHEN $2 THEN now() END, updated_at = now() WHERE run_id = ANY($1::bigint[]) AND (deleted_at IS NOT NULL) <> $2 RETURNING run_id',
      [runIds, deleted]
    )
    return rows.map((row) => toId(row.run_id)).sort((a, b) => a - b)
  }

  async setDeleted(runId: number, deleted: boolean): Promise<void> {
    // Only a change of state writes: a deleted run's row takes no other update (migrations/0010).
    const { rowCount } = await this.db.query(
      'UPDATE ml_run SET deleted_at = CASE WHEN $2 THEN now() END, updated_at = now() WHERE run_id = $1 AND (deleted_at IS NOT NULL) <> $2',
      [runId, deleted]
    )
    if (rowCount === 0 && (await this.db.query('SELECT 1 FROM ml_run WHERE run_id = $1', [runId])).rowCount === 0) {
      throw notFound(`run ${runId} does not exist`, 'runId')
    }
  }

  /**
   * Deletes a deleted run for good: its row, summary, artifacts' records and checkpoints at once;
   * its metric points are queued for the background purge (ml_metric_purge, migrations/0014).
   */
  async deletePermanently(runId: number): Promise<void> {
    const { rowCount } = await this.db.query('DELETE FROM ml_run WHERE run_id = $1 AND deleted_at IS NOT NULL', [runId])
    if (rowCount === 1) return
    if ((await this.db.query('SELECT 1 FROM ml_run WHERE run_id = $1', [runId])).rowCount === 0) throw notFound(`run ${runId} does not exist`, 'runId')
    throw conflict(`run ${runId} is not deleted: delete it first (it can be restored until it is deleted permanently)`, 'runId')
  }

  /** A new name and/or tags in one statement (MLflow keeps a run's name in a tag as well). */
  async rename(runId: number, name: string, tags: Tags = {}): Promise<void> {
    const { rowCount } = await translated(() =>
      this.db.query('UPDATE ml_run SET run_name = $2, tags = tags || $3, updated_at = now() WHERE run_id = $1', [runId, name, tags])
    )
    if (rowCount === 0) throw notFound(`run ${runId} does not exist`, 'runId')
  }

  /** Removes a tag; false when the run has no such tag. */
  async deleteTag(runId: number, key: string): Promise<boolean> {
    const { rowCount } = await translated(() =>
      this.db.query('UPDATE ml_run SET tags = tags - $2::text, updated_at = now() WHERE run_id = $1 AND tags ? $2', [runId, key])
    )
    if (rowCount === 0) await this.get(runId) // not found, or found without the tag
    return rowCount > 0
  }

  /** Who started the run and when (an MLflow client sends both). */
  async setStartInfo(runId: number, startedAt: number | null, userId: string | null): Promise<void> {
    await translated(() =>
      this.db.query('UPDATE ml_run SET started_at = coalesce($2::timestamptz, started_at), user_id = coalesce($3, user_id) WHERE run_id = $1', [
        runId,
        startedAt === null ? null : new Date(startedAt).toISOString(),
        userId
      ])
    )
  }

  async resume(runId: number): Promise<void> {
    await translated(() => this.db.query('SELECT resume_ml_run($1)', [runId]))
  }

  /** MLflow's update-run status (see set_ml_run_status_mlflow in migrations/0009). */
  async setStatusMlflow(runId: number, status: RunStatus, endTime: number | null): Promise<void> {
    await translated(() =>
      this.db.query('SELECT set_ml_run_status_mlflow($1, $2, $3)', [runId, status, endTime === null ? null : new Date(endTime).toISOString()])
    )
  }

  /** Datasets (by name and digest: logging one again updates it) and logged models a run consumed. */
  async logInputs(runId: number, datasets: readonly RunDatasetInput[], modelIds: readonly string[]): Promise<void> {
    await translated(() =>
      this.db.withTransaction(async (tx) => {
        await tx.query('SELECT ml_lock_run($1, false)', [runId])
        for (const d of datasets) {
          await tx.query(
            `INSERT INTO ml_run_dataset_input (run_id, name, digest, source_type, source, schema, profile, input_tags)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (run_id, name, digest) DO UPDATE SET source_type = EXCLUDED.source_type, source = EXCLUDED.source,
               schema = EXCLUDED.schema, profile = EXCLUDED.profile, input_tags = ml_run_dataset_input.input_tags || EXCLUDED.input_tags`,
            [runId, d.name, d.digest, d.sourceType, d.source, d.schema, d.profile, d.tags]
          )
        }
        for (const modelId of modelIds) {
          await tx.query('INSERT INTO ml_run_model_input (run_id, model_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [runId, modelId])
        }
      })
    )
  }

  /** Logged models a run produced, at a step. */
  async logOutputs(runId: number, outputs: readonly { modelId: string; step: bigint }[]): Promise<void> {
    await translated(() =>
      this.db.withTransaction(async (tx) => {
        await tx.query('SELECT ml_lock_run($1, false)', [runId])
        for (const output of outputs) {
          await tx.query('INSERT INTO ml_run_model_output (run_id, model_id, step) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
            runId,
            output.modelId,
            output.step.toString()
          ])
        }
      })
    )
  }

  /** Write-once params compared as text (MLflow's string params; see migrations/0009). */
  async logTextParams(runId: number, params: Record<string, string>): Promise<void> {
    await translated(() => this.db.query('SELECT log_ml_run_text_params($1, $2)', [runId, params]))
  }

  async count(): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM ml_run')
    return Number(rows[0]!.n)
  }
}
