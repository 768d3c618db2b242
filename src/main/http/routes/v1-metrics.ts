import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { MetricBucket, MetricPoint, MetricSeries } from '../../../shared/domain'
import { METRIC_KINDS } from '../../../shared/domain'
import { DomainError, invalidArgument, isDomainError } from '../../../shared/errors'
import { id, int64, parseInput, text, validateMetricPoints, validateMetricSeries, LIMITS } from '../../../shared/schemas'
import type { DoorServices } from '../../services/core-services'
import { defineRoute, type AnyRoute } from '../route-table'
import { runParams } from './v1-runs'

/** A metric batch of 1,000,000 points is ~80 MB of JSON; 10,000-point batches are ~1 MB. */
export const METRICS_BODY_LIMIT = 64 * 1024 * 1024

const metricValueDoc = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])])
const int64Doc = z.union([z.number().int(), z.string().regex(/^-?\d{1,19}$/)]).describe('a 64-bit integer: a JSON number up to 2^53, or a decimal string')
const timestampDoc = z.number().describe('milliseconds since 1970; the server time when absent')
const idempotencyKey = text(255, 1).describe('the same key again with the same body returns the first result and stores nothing; with another body it is a 409')

// The two accepted bodies. Points are not validated by zod (see validateMetricPoints: a batch
// can hold a million of them), so these schemas document them for OpenAPI, and the envelope
// schemas below check everything around them.
const batchBodyDoc = z
  .object({
    run_id: id,
    points: z.array(
      z
        .object({
          key: text(LIMITS.metricKey, 1),
          value: metricValueDoc,
          step: int64Doc.optional(),
          epoch: z.number().int().nonnegative().optional(),
          timestamp: timestampDoc.optional(),
          kind: z.enum(METRIC_KINDS).optional()
        })
        .strict()
    ),
    idempotency_key: idempotencyKey.optional()
  })
  .strict()
  .describe('a batch of points, all stored or none')
const seedBodyDoc = z
  .object({
    run_id: id,
    metrics: z.record(text(LIMITS.metricKey, 1), metricValueDoc),
    step: int64Doc.optional(),
    epoch: z.number().int().nonnegative().optional(),
    timestamp: timestampDoc.optional(),
    kind: z.enum(METRIC_KINDS).optional(),
    idempotency_key: idempotencyKey.optional()
  })
  .strict()
  .describe("the seed's LogMetricsRequest: several metrics at one step")

const seriesBodyDoc = z
  .object({
    run_id: id,
    series: z.array(
      z
        .object({
          key: text(LIMITS.metricKey, 1),
          kind: z.enum(METRIC_KINDS).optional(),
          values: z.array(metricValueDoc),
          steps: z.array(int64Doc).optional(),
          timestamps: z.array(timestampDoc).optional(),
          epochs: z.array(z.number().int().nonnegative()).optional()
        })
        .strict()
    ),
    idempotency_key: idempotencyKey.optional()
  })
  .strict()
  .describe('the columnar batch: per metric key, parallel arrays of values, steps, timestamps and epochs (half the bytes, fastest to parse)')

const seriesEnvelope = z
  .object({ run_id: id, series: z.custom<unknown[]>(Array.isArray, 'must be an array of series'), idempotency_key: idempotencyKey.optional() })
  .strict()

const batchEnvelope = z
  .object({ run_id: id, points: z.custom<unknown[]>(Array.isArray, 'must be an array of points'), idempotency_key: idempotencyKey.optional() })
  .strict()
const seedEnvelope = z
  .object({
    run_id: id,
    metrics: z.custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), 'must be an object of metric name → value'),
    step: z.unknown().optional(),
    epoch: z.unknown().optional(),
    timestamp: z.unknown().optional(),
    kind: z.unknown().optional(),
    idempotency_key: idempotencyKey.optional()
  })
  .strict()

/** The validated points of any of the three bodies. */
function pointsOf(body: unknown): { runId: number; points: MetricPoint[]; idempotencyKey: string | undefined } {
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'series' in body) {
    const batch = parseInput(seriesEnvelope, body)
    const points = validateMetricSeries(batch.series, 'series')
    if (points.length === 0) throw invalidArgument('series: must not be empty', 'series')
    return { runId: batch.run_id, points, idempotencyKey: batch.idempotency_key }
  }
  const { runId, rawPoints, field, idempotencyKey } = rawPointsOf(body)
  return { runId, points: validateBatch(rawPoints, field), idempotencyKey }
}

/** The raw points of the points and seed bodies, for validateMetricPoints. */
function rawPointsOf(body: unknown): { runId: number; rawPoints: unknown[]; field: 'points' | 'metrics'; idempotencyKey: string | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidArgument('body: must be a JSON object', 'body')
  if ('points' in body) {
    const batch = parseInput(batchEnvelope, body)
    return { runId: batch.run_id, rawPoints: batch.points, field: 'points', idempotencyKey: batch.idempotency_key }
  }
  if (!('metrics' in body)) throw invalidArgument('points: send points (a batch), series (a columnar batch) or metrics (name → value at one step)', 'points')
  const seed = parseInput(seedEnvelope, body)
  const rawPoints = Object.keys(seed.metrics).map((key) => ({
    key,
    value: seed.metrics[key],
    step: seed.step,
    epoch: seed.epoch,
    timestamp: seed.timestamp,
    kind: seed.kind
  }))
  return { runId: seed.run_id, rawPoints, field: 'metrics', idempotencyKey: seed.idempotency_key }
}

export function toApiMetricPoint(point: MetricPoint) {
  return { key: point.key, value: point.value, step: point.step, epoch: point.epoch, timestamp: point.timestamp, kind: point.kind }
}

function toApiBucket(bucket: MetricBucket) {
  return {
    from_step: bucket.fromStep,
    to_step: bucket.toStep,
    count: bucket.count,
    min: bucket.min,
    max: bucket.max,
    first_step: bucket.firstStep,
    first_value: bucket.firstValue,
    first_timestamp: bucket.firstTimestamp,
    last_step: bucket.lastStep,
    last_value: bucket.lastValue,
    last_timestamp: bucket.lastTimestamp,
    last_epoch: bucket.lastEpoch
  }
}

export function toApiMetricSeries(series: MetricSeries) {
  return {
    run_id: series.runId,
    key: series.key,
    total_points: series.totalPoints,
    mode: series.mode,
    points: series.points.map(toApiMetricPoint),
    buckets: series.buckets.map(toApiBucket)
  }
}

const decimal = z.string().regex(/^\d{1,7}$/, 'must be a positive integer').transform(Number)
const historyQuery = z
  .object({
    key: text(LIMITS.metricKey, 1),
    max_points: decimal.optional().describe('at most this many values come back (default 2000): raw points, or max_points / 2 min/max buckets'),
    from_step: int64.optional().describe('first step of the range (inclusive), for zooming'),
    to_step: int64.optional().describe('last step of the range (inclusive)')
  })
  .strict()

export function metricRoutes(services: DoorServices): AnyRoute[] {
  const { runs } = services
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/ml/metrics',
      summary: 'Log metrics: a batch of points ({run_id, points}), a columnar batch ({run_id, series}) or several metrics at one step ({run_id, metrics, step}); atomic',
      tag: 'metrics',
      openApiBody: z.union([batchBodyDoc, seriesBodyDoc, seedBodyDoc]),
      bodyLimit: METRICS_BODY_LIMIT,
      handler: async ({ body }) => {
        const { runId, points, idempotencyKey } = pointsOf(body)
        // The body as parsed, re-serialised: identical for a retry of the same batch. Only
        // paid for when the client asked for idempotency.
        const idempotency = idempotencyKey === undefined ? undefined : { key: idempotencyKey, bodyHash: createHash('sha256').update(JSON.stringify(body)).digest('hex') }
        const result = await runs.logValidatedMetrics(runId, points, idempotency)
        return { run_id: runId, inserted: result.inserted, duplicates: result.duplicates }
      }
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/runs/:runId/metrics/history',
      summary: "One metric's history, downsampled to min/max buckets when longer than max_points; from_step/to_step zoom in",
      tag: 'metrics',
      params: runParams,
      query: historyQuery,
      handler: async ({ params, query }) =>
        toApiMetricSeries(
          await runs.metricSeries({ runId: params.runId, key: query.key, maxPoints: query.max_points, fromStep: query.from_step, toStep: query.to_step })
        )
    })
  ]
}

function validateBatch(rawPoints: unknown[], field: 'points' | 'metrics'): MetricPoint[] {
  if (rawPoints.length === 0) throw invalidArgument(`${field}: must not be empty`, field)
  if (field === 'points') return validateMetricPoints(rawPoints, 'points')
  try {
    return validateMetricPoints(rawPoints, 'metrics')
  } catch (error) {
    throw renameSeedField(error, rawPoints as Array<{ key: string }>)
  }
}

/**
 * In the seed form every point shares step, epoch, timestamp and kind, and its key and value
 * come from `metrics`: `metrics[2].value` is named `metrics.<key>`, `metrics[0].step` is `step`.
 */
function renameSeedField(error: unknown, rawPoints: Array<{ key: string }>): unknown {
  if (!isDomainError(error) || !error.field) return error
  const match = /^metrics\[(\d+)\]\.(\w+)$/.exec(error.field)
  if (!match) return error
  const attribute = match[2]!
  const field = attribute === 'key' || attribute === 'value' ? `metrics.${rawPoints[Number(match[1])]!.key}` : attribute
  return new DomainError(error.code, `${field}${error.message.slice(error.field.length)}`, field)
}
