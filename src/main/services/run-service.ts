import { z } from 'zod'
import type { BatchOptions, BatchResult } from '../repositories/metric-repository'
import type { PgMetricRepository } from '../repositories/metric-repository'
import type { PgRunRepository } from '../repositories/run-repository'
import type { IngestIdempotency, PgIdempotentIngestRepository } from '../repositories/ingest-idempotency-repository'
import type { Checkpoint, LeaderboardEntry, MetricPoint, MetricSeries, Run, RunSearchResult, RunWithMetrics } from '../../shared/domain'
import { parseRunFilter, parseRunOrder, type RunOrder } from '../../shared/run-filter'
import { METRIC_KINDS } from '../../shared/domain'
import { Emitter } from '../../shared/event'
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

export interface MetricsLogged {
  runId: number
  points: number
  keys: string[]
}

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
    experimentIds: z.array(id).min(1).max(1_000),
    filter: z.string().max(10_000).refine((value) => !value.includes('\0'), 'must not contain a NUL byte').default(''),
    orderBy: z.array(z.string().max(1_000)).max(10).default([]),
    maxResults: z.number().int().min(1).max(50_000).default(1_000),
    pageToken: z.string().max(200).optional()
  })
  .strict()

function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0
  const offset = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, ''))
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument('pageToken: not a token this server gave out', 'pageToken')
  return offset
}

/** Runs and their metrics: the run lifecycle, write-once params, ingest, checkpoints, ranking. */
export class RunService {
  private readonly didChangeRun = new Emitter<Run>()
  private readonly didLogMetrics = new Emitter<MetricsLogged>()
  readonly onDidChangeRun = this.didChangeRun.event
  readonly onDidLogMetrics = this.didLogMetrics.event

  constructor(
    private readonly runs: PgRunRepository,
    private readonly metrics: PgMetricRepository,
    /** Needed only for batches that carry an idempotency key. */
    private readonly idempotentIngest?: PgIdempotentIngestRepository
  ) {}

  async start(input: unknown): Promise<Run> {
    const parsed = parseInput(startRunInput, input)
    const run = await this.runs.start({ ...parsed, name: parsed.name ?? defaultRunName() })
    this.didChangeRun.fire(run)
    return run
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

  async listByExperiment(experimentId: unknown): Promise<RunWithMetrics[]> {
    return this.runs.listByExperiment(parseInput(id, experimentId, 'experimentId'))
  }

  async markRunning(runId: unknown): Promise<Run> {
    const runIdChecked = parseInput(id, runId, 'runId')
    await this.runs.markRunning(runIdChecked)
    return this.fireRun(runIdChecked)
  }

  async setParams(input: unknown): Promise<Run> {
    const { runId, hyperparameters } = parseInput(setRunParamsInput, input)
    await this.runs.setParams(runId, hyperparameters)
    return this.fireRun(runId)
  }

  async setTags(input: unknown): Promise<Run> {
    const { runId, tags } = parseInput(setRunTagsInput, input)
    await this.runs.setTags(runId, tags)
    return this.fireRun(runId)
  }

  async complete(input: unknown): Promise<Run> {
    const { runId, resources, ...completion } = parseInput(completeRunInput, input)
    await this.runs.complete(runId, { ...completion, ...resources })
    return this.fireRun(runId)
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
    const inserted = await this.metrics.logOne(parsed.runId, point)
    if (inserted) this.didLogMetrics.fire({ runId: parsed.runId, points: 1, keys: [point.key] })
    return inserted
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
      const { result, replayed } = await this.idempotentIngest.logBatchOnce(runId, points, idempotency)
      // A replay stored nothing new: nobody is told about points a second time.
      if (!replayed && result.inserted > 0) this.didLogMetrics.fire({ runId, points: result.inserted, keys: [...new Set(points.map((p) => p.key))] })
      return result
    }
    const result = await this.metrics.logBatch(runId, points, options)
    if (result.inserted > 0) this.didLogMetrics.fire({ runId, points: result.inserted, keys: [...new Set(points.map((p) => p.key))] })
    return result
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
      offset
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

  async saveCheckpoint(input: unknown): Promise<Checkpoint> {
    return this.runs.saveCheckpoint(parseInput(saveCheckpointInput, input))
  }

  async listCheckpoints(runId: unknown): Promise<Checkpoint[]> {
    return this.runs.listCheckpoints(parseInput(id, runId, 'runId'))
  }

  async leaderboard(input: unknown): Promise<LeaderboardEntry[]> {
    const { experimentId, metricKey, direction, limit } = parseInput(leaderboardInput, input)
    return this.runs.leaderboard(experimentId, metricKey, direction === 'asc', limit)
  }

  private async fireRun(runId: number): Promise<Run> {
    const run = await this.runs.get(runId)
    this.didChangeRun.fire(run)
    return run
  }

  dispose(): void {
    this.didChangeRun.dispose()
    this.didLogMetrics.dispose()
  }
}

function defaultRunName(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `run-${stamp}-${Math.random().toString(36).slice(2, 6)}`
}
