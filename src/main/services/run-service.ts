import { z } from 'zod'
import type { BatchOptions, BatchResult } from '../repositories/metric-repository'
import type { PgMetricRepository } from '../repositories/metric-repository'
import type { PgRunRepository } from '../repositories/run-repository'
import type { IngestIdempotency, PgIdempotentIngestRepository } from '../repositories/ingest-idempotency-repository'
import type { Checkpoint, LeaderboardEntry, MetricPoint, MetricSeries, Run, RunKeys, RunSearchResult, RunWithMetrics } from '../../shared/domain'
import { parseRunFilter, parseRunOrder, type RunOrder } from '../../shared/run-filter'
import { METRIC_KINDS } from '../../shared/domain'
import {
  completeRunInput,
  id,
  int64,
  leaderboardInput,
  parseInput,
  saveCheckpointInput,
  setRunParamsInput,
  setRunTagsInput,
  startRunInput,
  text,
  LIMITS,
  MAX_TIMESTAMP_MS,
  toMetricStep,
  toMetricValue,
  validateMetricKey,
  validateMetricPoints
} from '../../shared/schemas'
import { invalidArgument } from '../../shared/errors'
import { groupedSeriesInput, type GroupedSeries } from '../../shared/grouped-series'
import { RUN_STATUSES } from '../../shared/domain'
import { experimentId as experimentIdInput, name, tags } from '../../shared/schemas'

const logMetricInput = z
  .object({
    runId: id,
    key: z.unknown(),
    value: z.unknown(),
    step: z.unknown().optional(),
    epoch: z.number().int().nonnegative().max(2_147_483_647).nullable().default(null),
    // The same range as a batch point's timestamp (validateMetricPoints).
    timestamp: z
      .number()
      .finite()
      .nonnegative()
      .max(MAX_TIMESTAMP_MS, 'must be milliseconds since 1970 (a finite number)')
      .optional(),
    kind: z.enum(METRIC_KINDS).default('train')
  })
  .strict()

const historyInput = z
  .object({
    runId: id,
    key: text(LIMITS.metricKey, 1),
    fromStep: int64.optional(),
    toStep: int64.optional(),
    limit: z.number().int().min(1).max(1_000_000).default(100_000)
  })
  .strict()

const seriesInput = z
  .object({
    runId: id,
    key: text(LIMITS.metricKey, 1),
    maxPoints: z.number().int().min(10).max(100_000).default(2_000),
    fromStep: int64.optional(),
    toStep: int64.optional()
  })
  .strict()

const searchInput = z
  .object({
    experimentIds: z.array(experimentIdInput).min(1).max(1_000),
    filter: z.string().max(10_000).refine((value) => !value.includes('\0'), 'must not contain a NUL byte').default(''),
    orderBy: z.array(z.string().max(1_000)).max(10).default([]),
    maxResults: z.number().int().min(1).max(50_000).default(1_000),
    pageToken: z.string().max(200).optional(),
    /** Search the soft-deleted runs instead of the active ones. */
    deleted: z.boolean().default(false)
  })
  .strict()

/** Several runs at once (the runs table's bulk actions). */
const runIdsInput = z.array(id).min(1).max(50_000)
const listLimitInput = z.number().int().min(1).max(50_000)
const tagManyInput = z.object({ runIds: runIdsInput, tags }).strict()

// MLflow's limit on a param value (mlflow/utils/validation.py); /v1 hyperparameters are JSON.
const MLFLOW_PARAM_VALUE_LENGTH = 6_000
const textParams = z.record(text(LIMITS.metricKey, 1), text(MLFLOW_PARAM_VALUE_LENGTH))
const textParamsInput = z.object({ runId: id, params: textParams }).strict()
const runTagKeyInput = z.object({ runId: id, key: text(LIMITS.tagKey, 1) }).strict()
const renameRunInput = z.object({ runId: id, name, tags: tags.default({}) }).strict()
const batchExtrasInput = z.object({ runId: id, params: textParams.default({}), tags: tags.default({}), name: name.optional() }).strict()
// MLflow's dataset limits (mlflow/utils/validation.py).
const loggedModelId = z.string().regex(/^m-[0-9a-f]{32}$/, 'must be m- and 32 lowercase hex digits')
const runInputsInput = z
  .object({
    runId: id,
    datasets: z
      .array(
        z
          .object({
            name: text(500, 1),
            digest: text(36, 1),
            sourceType: text(LIMITS.name, 1),
            source: text(65_535, 1),
            schema: text(1_048_575).nullable().default(null),
            profile: text(16_777_215).nullable().default(null),
            tags: tags.default({})
          })
          .strict()
      )
      .max(1_000)
      .default([]),
    modelIds: z.array(loggedModelId).max(1_000).default([])
  })
  .strict()
const runOutputsInput = z
  .object({ runId: id, outputs: z.array(z.object({ modelId: loggedModelId, step: int64.default(0n) }).strict()).max(1_000) })
  .strict()
const mlflowStatusInput = z
  .object({
    runId: id,
    status: z.enum(RUN_STATUSES),
    endTime: z.number().int().nonnegative().max(MAX_TIMESTAMP_MS).nullable().default(null)
  })
  .strict()

const startRunWithUuidInput = startRunInput.extend({ uuid: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex digits') }).strict()

function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0
  const offset = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, ''))
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument('pageToken: not a token this server gave out', 'pageToken')
  return offset
}

/** Runs and their metrics: the run lifecycle, write-once params, ingest, checkpoints, ranking. */
export class RunService {
  constructor(
    private readonly runs: PgRunRepository,
    private readonly metrics: PgMetricRepository,
    /** Needed only for batches that carry an idempotency key. */
    private readonly idempotentIngest?: PgIdempotentIngestRepository
  ) {}

  async start(input: unknown): Promise<Run> {
    const parsed = parseInput(startRunInput, input)
    const run = await this.runs.start({ ...parsed, name: parsed.name ?? defaultRunName() })
    return run
  }

  /**
   * A run that keeps an id given from outside (an MLflow import: mlflow clients go on naming
   * the run by its MLflow id). A taken id is refused as a conflict.
   */
  async startWithUuid(input: unknown): Promise<Run> {
    const { uuid, ...parsed } = parseInput(startRunWithUuidInput, input)
    return this.runs.start({ ...parsed, name: parsed.name ?? defaultRunName(), uuid })
  }

  async get(runId: unknown): Promise<Run> {
    return this.runs.get(parseInput(id, runId, 'runId'))
  }

  async getWithMetrics(runId: unknown): Promise<RunWithMetrics> {
    return this.runs.getWithMetrics(parseInput(id, runId, 'runId'))
  }

  async findByUuid(uuid: unknown): Promise<Run | undefined> {
    // A malformed uuid names no run (and text with a NUL byte must not reach PostgreSQL).
    if (typeof uuid !== 'string' || !/^[0-9a-f]{32}$/.test(uuid)) return undefined
    return this.runs.findByUuid(uuid)
  }

  /**
   * The experiment's active runs, or its soft-deleted ones (`deleted`: where the runs table offers
   * restore), newest first; `limit` takes only the first of them.
   */
  async listByExperiment(experimentId: unknown, options: { deleted?: boolean; limit?: unknown } = {}): Promise<RunWithMetrics[]> {
    const limit = options.limit === undefined ? null : parseInput(listLimitInput, options.limit, 'limit')
    return this.runs.listByExperiment(parseInput(experimentIdInput, experimentId, 'experimentId'), options.deleted === true, limit)
  }

  /** The param, metric and tag keys the experiment's active runs have (the filter's autocomplete and key check). */
  async keysOf(experimentId: unknown): Promise<RunKeys> {
    return this.runs.keysOf(parseInput(experimentIdInput, experimentId, 'experimentId'))
  }

  async markRunning(runId: unknown): Promise<Run> {
    const runIdChecked = parseInput(id, runId, 'runId')
    await this.runs.markRunning(runIdChecked)
    return this.runs.get(runIdChecked)
  }

  async setParams(input: unknown): Promise<Run> {
    const { runId, hyperparameters } = parseInput(setRunParamsInput, input)
    await this.runs.setParams(runId, hyperparameters)
    return this.runs.get(runId)
  }

  /** The same tags on several runs (a deleted run refuses, as for one run); returns how many runs were tagged. */
  async setTagsOfMany(input: unknown): Promise<number> {
    const { runIds, tags: newTags } = parseInput(tagManyInput, input)
    return this.runs.setTagsOfMany(runIds, newTags)
  }

  async setTags(input: unknown): Promise<Run> {
    const { runId, tags } = parseInput(setRunTagsInput, input)
    await this.runs.setTags(runId, tags)
    return this.runs.get(runId)
  }

  async complete(input: unknown): Promise<Run> {
    const { runId, resources, ...completion } = parseInput(completeRunInput, input)
    await this.runs.complete(runId, { ...completion, ...resources })
    return this.runs.get(runId)
  }

  /** One point (the seed's log_metric). Returns false for an exact duplicate. */
  async logMetric(input: unknown): Promise<boolean> {
    const parsed = parseInput(logMetricInput, input)
    const point: MetricPoint = {
      key: validateMetricKey(parsed.key, 'key'),
      value: toMetricValue(parsed.value, 'value'),
      step: toMetricStep(parsed.step, 'step'),
      epoch: parsed.epoch,
      timestamp: parsed.timestamp ?? Date.now(),
      kind: parsed.kind
    }
    return this.logValidatedPoint(parsed.runId, point)
  }

  /**
   * One point already validated by its door (MLflow's log-metric): appended to the key's open
   * chunk by log_ml_metric, two row writes. False when the exact point was already stored.
   */
  async logValidatedPoint(runId: number, point: MetricPoint): Promise<boolean> {
    return this.metrics.logOne(runId, point)
  }

  /** A batch of raw points, all-or-nothing. */
  async logMetrics(runId: unknown, rawPoints: unknown, idempotency?: IngestIdempotency): Promise<BatchResult> {
    const runIdChecked = parseInput(id, runId, 'runId')
    return this.logValidatedMetrics(runIdChecked, validateMetricPoints(rawPoints), idempotency)
  }

  /** A batch already validated (e.g. decoded by the HTTP layer's streaming parser). */
  async logValidatedMetrics(
    runId: number,
    points: readonly MetricPoint[],
    idempotency?: IngestIdempotency,
    options: BatchOptions = {}
  ): Promise<BatchResult> {
    if (points.length > 10_000_000) throw invalidArgument('points: at most 10,000,000 points per batch', 'points')
    if (idempotency) {
      const key = idempotency.key
      if (typeof key !== 'string' || key.length === 0 || key.length > 255 || key.includes('\0')) {
        throw invalidArgument('idempotency_key: must be 1 to 255 characters without NUL', 'idempotency_key')
      }
      if (!this.idempotentIngest) throw new Error('RunService was built without idempotent ingest')
      // A replay stores nothing new, so nothing is announced a second time (see migrations/0008).
      const { result } = await this.idempotentIngest.logBatchOnce(runId, points, idempotency)
      return result
    }
    return this.metrics.logBatch(runId, points, options)
  }

  async metricHistory(input: unknown): Promise<MetricPoint[]> {
    const { runId, key, ...range } = parseInput(historyInput, input)
    return this.metrics.history(runId, key, range)
  }

  /**
   * Runs of some experiments matching a filter in the run filter language (shared/run-filter.ts),
   * ordered and paged. Filter and order errors name the field and the position.
   */
  async searchRuns(input: unknown): Promise<RunSearchResult> {
    const query = parseInput(searchInput, input)
    const parsed = parseRunFilter(query.filter)
    if (!parsed.ok) throw invalidArgument(`filter: ${parsed.message}`, 'filter')
    const orderBy: RunOrder[] = query.orderBy.map((text, index) => {
      const order = parseRunOrder(text)
      if (!order.ok) throw invalidArgument(`orderBy[${index}]: ${order.message}`, `orderBy[${index}]`)
      return order.order
    })
    const offset = decodePageToken(query.pageToken)
    // One extra row tells whether another page exists without counting all matches.
    const runs = await this.runs.search({
      experimentIds: query.experimentIds,
      filter: parsed.expression,
      orderBy,
      limit: query.maxResults + 1,
      offset,
      deleted: query.deleted
    })
    const hasMore = runs.length > query.maxResults
    return {
      runs: hasMore ? runs.slice(0, query.maxResults) : runs,
      ...(hasMore ? { nextPageToken: Buffer.from(`offset:${offset + query.maxResults}`).toString('base64url') } : {})
    }
  }

  /** A chart's series: raw points, or min/max buckets for long ranges (re-query on zoom). */
  async metricSeries(input: unknown): Promise<MetricSeries> {
    const { runId, key, ...options } = parseInput(seriesInput, input)
    return this.metrics.series(runId, key, options)
  }

  /**
   * The runs asked (of the experiment) grouped by a param or tag, with each group's mean, min,
   * max, std and run count per step bucket of each key, computed in PostgreSQL over all of them.
   */
  async metricSeriesByGroup(input: unknown): Promise<GroupedSeries> {
    return this.metrics.groupedSeries(parseInput(groupedSeriesInput, input))
  }

  async saveCheckpoint(input: unknown): Promise<Checkpoint> {
    return this.runs.saveCheckpoint(parseInput(saveCheckpointInput, input))
  }

  async listCheckpoints(runId: unknown): Promise<Checkpoint[]> {
    return this.runs.listCheckpoints(parseInput(id, runId, 'runId'))
  }

  /**
   * Resumes a run: a finished run (completed, failed or killed) is running again, a pending one
   * starts. MLflow's start_run(run_id=…) does this; the /v1 API does not offer it, so there a
   * finished run stays finished (resume_ml_run in migrations/0009).
   */
  async resume(runId: unknown): Promise<Run> {
    const checked = parseInput(id, runId, 'runId')
    await this.runs.resume(checked)
    return this.runs.get(checked)
  }

  /**
   * MLflow's update-run status: running resumes, a finished status finishes the run (or, when it
   * had finished, records the new end status and time), pending only stays pending
   * (set_ml_run_status_mlflow in migrations/0009).
   */
  async setStatusAsMlflow(input: unknown): Promise<Run> {
    const { runId, status, endTime } = parseInput(mlflowStatusInput, input)
    await this.runs.setStatusMlflow(runId, status, endTime)
    return this.runs.get(runId)
  }

  /** A new name, and tags set in the same statement (MLflow keeps the name in mlflow.runName too). */
  async rename(input: unknown): Promise<Run> {
    const { runId, name, tags } = parseInput(renameRunInput, input)
    await this.runs.rename(runId, name, tags)
    return this.runs.get(runId)
  }

  /** Removes a tag; false when the run had no such tag. */
  async deleteTag(input: unknown): Promise<boolean> {
    const { runId, key } = parseInput(runTagKeyInput, input)
    return this.runs.deleteTag(runId, key)
  }

  /** Soft delete (MLflow's delete-run): the run leaves lists, counts and searches until restored. */
  async delete(runId: unknown): Promise<void> {
    await this.runs.setDeleted(parseInput(id, runId, 'runId'), true)
  }

  /**
   * Deletes a deleted run for good. Returns at once: the run is gone from every view with its
   * row, and its metric points are removed in the background (the metric purger, in main).
   */
  async deletePermanently(runId: unknown): Promise<void> {
    await this.runs.deletePermanently(parseInput(id, runId, 'runId'))
  }

  async restore(runId: unknown): Promise<void> {
    await this.runs.setDeleted(parseInput(id, runId, 'runId'), false)
  }

  /** Soft-deletes several runs; returns those that were active (the others were deleted already, or never existed). */
  async deleteMany(runIds: unknown): Promise<number[]> {
    return this.runs.setDeletedOfMany(parseInput(runIdsInput, runIds, 'runIds'), true)
  }

  /** Restores several deleted runs; returns those that were deleted. */
  async restoreMany(runIds: unknown): Promise<number[]> {
    return this.runs.setDeletedOfMany(parseInput(runIdsInput, runIds, 'runIds'), false)
  }

  async isDeleted(runId: unknown): Promise<boolean> {
    return this.runs.isDeleted(parseInput(id, runId, 'runId'))
  }

  /**
   * Params as text (MLflow's params are strings): write-once, where a stored value with the same
   * text is the same value (log_ml_run_text_params in migrations/0009).
   */
  async logTextParams(input: unknown): Promise<Run> {
    const { runId, params } = parseInput(textParamsInput, input)
    await this.runs.logTextParams(runId, params)
    return this.runs.get(runId)
  }

  /**
   * Metrics, text params and tags stored together or not at all (MLflow's log-batch); with
   * `name`, the run is renamed in the same transaction.
   */
  async logBatch(input: { runId: number; points: readonly MetricPoint[]; params: unknown; tags: unknown; name?: unknown }): Promise<BatchResult> {
    const { runId, params, tags, name } = parseInput(batchExtrasInput, { runId: input.runId, params: input.params, tags: input.tags, name: input.name })
    return this.logValidatedMetrics(runId, input.points, undefined, {
      alsoWrite: async (tx) => {
        const runs = this.runs.on(tx)
        if (Object.keys(params).length > 0) await runs.logTextParams(runId, params)
        if (name !== undefined) await runs.rename(runId, name, tags)
        else if (Object.keys(tags).length > 0) await runs.setTags(runId, tags)
      }
    })
  }

  /** Datasets and logged models a run consumed (MLflow's log-inputs). */
  async logInputs(input: unknown): Promise<void> {
    const { runId, datasets, modelIds } = parseInput(runInputsInput, input)
    await this.runs.logInputs(runId, datasets, modelIds)
  }

  /** Logged models a run produced, at a step (MLflow's runs/outputs). */
  async logOutputs(input: unknown): Promise<void> {
    const { runId, outputs } = parseInput(runOutputsInput, input)
    await this.runs.logOutputs(runId, outputs)
  }

  async leaderboard(input: unknown): Promise<LeaderboardEntry[]> {
    const { experimentId, metricKey, direction, limit } = parseInput(leaderboardInput, input)
    return this.runs.leaderboard(experimentId, metricKey, direction === 'asc', limit)
  }

}

function defaultRunName(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `run-${stamp}-${Math.random().toString(36).slice(2, 6)}`
}
