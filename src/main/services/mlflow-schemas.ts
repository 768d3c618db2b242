import { z } from 'zod'
import { formatPath, LIMITS, MAX_TIMESTAMP_MS } from '../../shared/schemas'

/**
 * MLflow request bodies as zod schemas, like every /v1 route's, with MLflow's own error wording
 * (mlflow/server/handlers.py): a missing field is "Missing value for required parameter 'x'",
 * a wrong one "Invalid value 31 for parameter 'run_id' supplied". Unknown fields are ignored, as
 * MLflow's protobuf parsing ignores them. Rules (write-once params, lifecycle) stay in the services;
 * these only say what MLflow accepts as a request.
 */

// MLflow's own limits (mlflow/utils/validation.py).
export const MLFLOW_LIMITS = {
  batchMetrics: 1000,
  batchParams: 100,
  batchTags: 100,
  batchEntities: 1000,
  batchBytes: 1_000_000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  searchMaxResults: 50_000,
  historyMaxResults: 25_000
} as const

/** One schema issue as MLflow's INVALID_PARAMETER_VALUE message. */
export function mlflowIssueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  const path = formatPath('', issue.path)
  const value = valueAt(input, issue.path)
  if (value === undefined || value === null || (value === '' && issue.code === 'too_small')) {
    return `Missing value for required parameter '${path}'. See the API docs for more information about request parameters.`
  }
  return `Invalid value ${shortJson(value)} for parameter '${path}' supplied: ${issue.message}`
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<PropertyKey, unknown>)[part]
  }
  return value
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 100 ? `${text.slice(0, 100)}…` : text
}

const NUL = 'must not contain a NUL byte'
/** Text as MLflow takes it (a JSON string), without NUL (PostgreSQL text cannot hold one). */
export const mlflowText = (max: number) =>
  z.string('must be a string').max(max, `must be at most ${max} characters`).refine((value) => !value.includes('\0'), NUL)
/** A required text: absent, null and '' are all "missing", as in MLflow. */
export const requiredText = (max: number) => mlflowText(max).min(1, 'must not be empty')

/** A key of a metric, param or tag: path-like, so '..' and absolute paths are refused (as MLflow does). */
export const mlflowKey = requiredText(MLFLOW_LIMITS.keyLength).refine(
  (key) => !key.startsWith('/') && !key.split('/').includes('..'),
  'Names may be treated as files in certain cases, and must not resolve to other names when treated as such.'
)

/** int64 as MLflow clients send it: a JSON number or a decimal string (past 2^53, always a string). */
export const mlflowInt64 = z.union([z.number().refine(Number.isSafeInteger, 'must be a 64-bit integer'), z.string().regex(/^-?\d{1,19}$/, 'must be a 64-bit integer')], 'must be a 64-bit integer')
  .transform((value) => BigInt(value))
  .refine((value) => value >= -(2n ** 63n) && value < 2n ** 63n, 'must be a 64-bit integer')

/** Milliseconds since 1970. */
export const mlflowTimestamp = mlflowInt64.refine((value) => value >= 0n && value <= BigInt(MAX_TIMESTAMP_MS), 'must be milliseconds since 1970').transform(Number)

export const tagEntry = z.object({ key: mlflowKey, value: mlflowText(MLFLOW_LIMITS.tagValueLength) })
export const paramEntry = z.object({ key: mlflowKey, value: mlflowText(MLFLOW_LIMITS.paramValueLength) })
export const tagList = z.array(tagEntry, 'must be a list of {key, value}')

/** A run as a request names it: run_id (or the older run_uuid, which the door copies into run_id). */
const runRef = { run_id: requiredText(64) }
const experimentRef = { experiment_id: z.union([z.string(), z.number()], 'must be an experiment id') }

export const createExperimentBody = z.object({
  name: requiredText(LIMITS.name),
  artifact_location: mlflowText(LIMITS.path * 4).optional(),
  tags: tagList.optional()
})
export const experimentBody = z.object(experimentRef)
export const experimentByNameBody = z.object({ experiment_name: requiredText(LIMITS.name) })
export const updateExperimentBody = z.object({ ...experimentRef, new_name: mlflowText(LIMITS.name).optional() })
export const setExperimentTagBody = z.object({ ...experimentRef, key: mlflowKey, value: mlflowText(MLFLOW_LIMITS.tagValueLength) })
export const deleteExperimentTagBody = z.object({ ...experimentRef, key: requiredText(MLFLOW_LIMITS.keyLength) })

export const RUN_STATUSES_MLFLOW = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const

export const createRunBody = z.object({
  experiment_id: z.union([z.string(), z.number()], 'must be an experiment id').optional(),
  run_name: mlflowText(LIMITS.name).optional(),
  user_id: mlflowText(LIMITS.name).optional(),
  start_time: mlflowTimestamp.optional(),
  tags: tagList.optional()
})
export const runBody = z.object(runRef)
export const updateRunBody = z.object({
  ...runRef,
  status: z.enum(RUN_STATUSES_MLFLOW, `must be one of ${RUN_STATUSES_MLFLOW.join(', ')}`).optional(),
  end_time: mlflowTimestamp.optional(),
  run_name: mlflowText(LIMITS.name).optional()
})
export const logParamBody = z.object({ ...runRef, ...paramEntry.shape })
export const setTagBody = z.object({ ...runRef, ...tagEntry.shape })
export const deleteTagBody = z.object({ ...runRef, key: requiredText(MLFLOW_LIMITS.keyLength) })
/** log-metric's and log-batch's metric values are checked by the door's metric reader (NaN and ±Infinity come as strings). */
export const logMetricBody = z.object({ ...runRef, key: mlflowKey, value: z.unknown().refine((value) => value !== undefined && value !== null), timestamp: mlflowTimestamp, step: mlflowInt64.optional() })
/**
 * log-batch's envelope. A batch holds up to 1,000 metrics: they are read by a hand-written loop
 * (as /v1 reads its points), not a schema per point.
 */
export const logBatchBody = z.object({
  ...runRef,
  metrics: z.array(z.record(z.string(), z.unknown()), 'must be a list').optional(),
  params: z.array(paramEntry, 'must be a list').optional(),
  tags: z.array(tagEntry, 'must be a list').optional()
})
export const metricHistoryBody = z.object({ ...runRef, metric_key: requiredText(MLFLOW_LIMITS.keyLength) })

export type MlflowErrorCode = 'INVALID_PARAMETER_VALUE' | 'RESOURCE_DOES_NOT_EXIST' | 'RESOURCE_ALREADY_EXISTS' | 'BAD_REQUEST' | 'INTERNAL_ERROR'

export const MLFLOW_STATUS: Record<MlflowErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  INTERNAL_ERROR: 500
}

export class MlflowError extends Error {
  constructor(
    readonly errorCode: MlflowErrorCode,
    message: string
  ) {
    super(message)
    this.name = 'MlflowError'
  }

  get status(): number {
    return MLFLOW_STATUS[this.errorCode]
  }
}

/** Parses a request with a schema; the first issue becomes MLflow's INVALID_PARAMETER_VALUE. */
export function parseMlflow<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw new MlflowError('INVALID_PARAMETER_VALUE', mlflowIssueMessage(result.error.issues[0]!, input))
}
