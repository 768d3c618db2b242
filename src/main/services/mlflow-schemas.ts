import { z } from 'zod'
import { jsonLiteralAt } from '../../shared/json-literal'
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

/**
 * The JSON text a request body was parsed from, kept on the body by the door, so that a refusal
 * can quote a number as the client wrote it: Python sends the float 9.0 as "9.0", JSON.parse
 * makes it 9, and MLflow's message says "Invalid value 9.0". An enumerable symbol, so copies of
 * the body ({ ...query, ...body }, { ...body, run_id }) keep it while Object.entries, JSON and
 * zod's object schemas never see it.
 */
export const JSON_SOURCE: unique symbol = Symbol('mlflow.jsonSource')

/** Keeps `text` on a parsed body (an object; other bodies are refused before any schema runs). */
export function withJsonSource(value: unknown, text: string): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) (value as { [JSON_SOURCE]?: string })[JSON_SOURCE] = text
  return value
}

/**
 * A refinement's complete MLflow message, said as is rather than inside "Invalid value …
 * supplied: why" (MLflow answers a traversing artifact path with just "Invalid path").
 */
export const VERBATIM = { params: { mlflowVerbatim: true } } as const

/** One schema issue as MLflow's INVALID_PARAMETER_VALUE message. */
export function mlflowIssueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === 'custom' && issue.params?.mlflowVerbatim === true) return issue.message
  const path = formatPath('', issue.path)
  const value = valueAt(input, issue.path)
  if (value === undefined || value === null || (value === '' && issue.code === 'too_small')) return missingParameter(path)
  return invalidValueMessage(path, value, issue.message, writtenNumber(input, issue.path, value))
}

/**
 * MLflow's wording for a parameter it refuses: Invalid value "x" for parameter 'name' supplied: why.
 * `literal` is the value's text as the client wrote it, when known.
 */
export function invalidValueMessage(path: string, value: unknown, why: string, literal?: string): string {
  return `Invalid value ${literal ?? shortJson(value)} for parameter '${path}' supplied: ${why}`
}

/**
 * A number's text in the request body as sent (9.0, 1e3, or an int64 the door quoted), or
 * undefined when the value is not a JSON number of the body (a string, a query parameter).
 */
function writtenNumber(input: unknown, path: readonly PropertyKey[], value: unknown): string | undefined {
  if (typeof value !== 'number' && typeof value !== 'string') return undefined
  const source = input !== null && typeof input === 'object' ? (input as { [JSON_SOURCE]?: unknown })[JSON_SOURCE] : undefined
  if (typeof source !== 'string') return undefined
  const literal = jsonLiteralAt(source, path)
  return literal !== undefined && /^-?\d/.test(literal) ? literal : undefined
}

export function missingParameter(path: string): string {
  return `Missing value for required parameter '${path}'. See the API docs for more information about request parameters.`
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
export const logMetricBody = z.object({
  ...runRef,
  key: mlflowKey,
  value: z.unknown().refine((value) => value !== undefined && value !== null),
  timestamp: mlflowTimestamp,
  step: mlflowInt64.optional(),
  // MLflow 3: the point also belongs to this logged model, measured on this dataset.
  model_id: mlflowText(64).optional(),
  dataset_name: mlflowText(500).optional(),
  dataset_digest: mlflowText(36).optional()
})
/**
 * log-batch's envelope. A batch holds up to 1,000 metrics: they are read by a hand-written loop
 * (as /v1 reads its points), not a schema per point.
 */
export const logBatchBody = z.object({
  ...runRef,
  // Only "a list" here: a schema per metric cost ~1.5 ms per 1,000 (measured), the loop ~0.1 ms.
  metrics: z.array(z.unknown(), 'must be a list').optional(),
  params: z.array(paramEntry, 'must be a list').optional(),
  tags: z.array(tagEntry, 'must be a list').optional()
})
export const metricHistoryBody = z.object({ ...runRef, metric_key: requiredText(MLFLOW_LIMITS.keyLength) })

/**
 * An artifact path as MLflow's validate_path_is_safe (mlflow/utils/uri.py) takes it: after
 * URL-decoding, no '#', no '..' segment, not absolute (POSIX or Windows, file: URIs as their
 * path); otherwise just "Invalid path". The artifact store confines every path again
 * (artifacts/artifact-confinement.ts): this is MLflow's answer to the request, not the guard.
 */
export function isSafeArtifactPath(raw: string): boolean {
  let path = raw
  // MLflow decodes until the text stops changing (at most 10 rounds); so a "%252E%252E" is "..".
  for (let round = 0; round < 10; round++) {
    const decoded = percentDecode(path)
    if (decoded === path) break
    path = decoded
  }
  if (path.includes('#')) return false
  if (/^file:/i.test(path)) path = path.replace(/^file:(\/\/[^/]*)?/i, '')
  const windowsAbsolute = /^[A-Za-z]:[\\/]/.test(path) || /^[\\/]{2}[^\\/]+[\\/][^\\/]+/.test(path)
  return !path.startsWith('/') && !windowsAbsolute && !path.split('/').includes('..')
}

/** Python's urllib.parse.unquote: %XX sequences as UTF-8, a malformed one left as it is. */
function percentDecode(text: string): string {
  if (!text.includes('%')) return text
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      return run
    }
  })
}

const artifactPath = <Text extends z.ZodString>(text: Text) => text.refine(isSafeArtifactPath, { message: 'Invalid path', ...VERBATIM })
export const mlflowArtifactPath = artifactPath(mlflowText(LIMITS.path * 4))
/** artifacts/list's path (MLflow checks it before it looks the run up). */
export const listArtifactsQuery = z.object({ path: mlflowArtifactPath.optional() })
/** get-artifact's and model-versions/get-artifact's file: checked before the run or version is looked up, as MLflow does. */
export const downloadArtifactQuery = z.object({ path: artifactPath(requiredText(LIMITS.path * 4)) })

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

// ---- searches ----

/** A list given in a query string once (a string) or repeated (an array), or in a JSON body. */
const stringList = (field: string) =>
  z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(mlflowText(10_000), `must be a list of strings (${field})`))

/** max_results: 1 to the endpoint's limit, its default when absent. */
export const maxResults = (fallback: number, limit: number) =>
  mlflowInt64.refine((value) => value >= 1n && value <= BigInt(limit), `It must be at most ${limit}, and positive`).transform(Number).default(fallback)

const VIEW_TYPES: Record<string, 'active' | 'deleted' | 'all'> = {
  ACTIVE_ONLY: 'active',
  '1': 'active',
  DELETED_ONLY: 'deleted',
  '2': 'deleted',
  ALL: 'all',
  '3': 'all'
}
const viewType = z
  .union([z.string(), z.number()])
  .refine((value) => String(value) in VIEW_TYPES, 'must be ACTIVE_ONLY, DELETED_ONLY or ALL')
  .transform((value) => VIEW_TYPES[String(value)]!)
  .default('active')

const searchPage = (fallback: number, limit: number) => ({
  max_results: maxResults(fallback, limit),
  page_token: mlflowText(1_000).optional(),
  filter: mlflowText(10_000).optional(),
  order_by: stringList('order_by').optional()
})

export const searchExperimentsBody = z.object({ ...searchPage(1000, MLFLOW_LIMITS.searchMaxResults), view_type: viewType })
export const searchRunsBody = z.object({
  experiment_ids: stringList('experiment_ids').optional(),
  ...searchPage(1000, MLFLOW_LIMITS.searchMaxResults),
  run_view_type: viewType
})
/** experiments/search-datasets (MLflow's web UI asks it through /ajax-api). */
export const SEARCH_DATASETS_MAX_EXPERIMENT_IDS = 20
export const searchDatasetsBody = z.object({ experiment_ids: stringList('experiment_ids').optional() })
export const metricHistoryPage = z.object({ max_results: maxResults(MLFLOW_LIMITS.historyMaxResults, MLFLOW_LIMITS.historyMaxResults), page_token: mlflowText(1_000).optional() })
export const searchRegisteredModelsBody = z.object(searchPage(100, 1000))
export const searchModelVersionsBody = z.object(searchPage(10_000, 200_000))
export const searchLoggedModelsBody = z.object({
  experiment_ids: stringList('experiment_ids').optional(),
  max_results: maxResults(100, MLFLOW_LIMITS.searchMaxResults),
  page_token: mlflowText(1_000).optional(),
  filter: mlflowText(10_000).optional(),
  // Here order_by is a list of {field_name, ascending}, not strings.
  order_by: z.array(z.object({ field_name: requiredText(1_000), ascending: z.boolean().optional() }), 'must be a list of {field_name, ascending}').optional(),
  datasets: z
    .array(z.object({ dataset_name: mlflowText(LIMITS.name).optional(), dataset_digest: mlflowText(LIMITS.name).optional() }), 'must be a list of {dataset_name, dataset_digest}')
    .optional()
})

// ---- run inputs and outputs, MLflow 2's log-model ----

const loggedModelRef = z.object({ model_id: requiredText(64) })
export const logInputsBody = z.object({
  ...runRef,
  datasets: z
    .array(
      z.object({
        tags: tagList.optional(),
        dataset: z.object({
          name: requiredText(500),
          digest: requiredText(36),
          source_type: requiredText(LIMITS.name),
          source: requiredText(65_535),
          schema: mlflowText(1_048_575).optional(),
          profile: mlflowText(16_777_215).optional()
        })
      }),
      'must be a list'
    )
    .optional(),
  models: z.array(loggedModelRef, 'must be a list').optional()
})
export const logOutputsBody = z.object({ ...runRef, models: z.array(loggedModelRef.extend({ step: mlflowInt64.optional() }), 'must be a list').optional() })
export const logModelBody = z.object({ ...runRef, model_json: requiredText(MLFLOW_LIMITS.tagValueLength) })

// ---- the registry ----

const modelName = { name: requiredText(LIMITS.name) }
export const registeredModelBody = z.object(modelName)
export const createRegisteredModelBody = z.object({ ...modelName, description: mlflowText(LIMITS.description).optional(), tags: tagList.optional() })
export const updateRegisteredModelBody = z.object({ ...modelName, description: mlflowText(LIMITS.description).optional() })
export const renameRegisteredModelBody = z.object({ ...modelName, new_name: requiredText(LIMITS.name) })
export const setRegisteredModelTagBody = z.object({ ...modelName, ...tagEntry.shape })
export const deleteRegisteredModelTagBody = z.object({ ...modelName, key: requiredText(MLFLOW_LIMITS.keyLength) })
export const latestVersionsBody = z.object({ ...modelName, stages: stringList('stages').optional() })
export const aliasBody = z.object({ ...modelName, alias: requiredText(LIMITS.name) })

/** A version as clients name it: "3" (or 3). */
const versionRef = { ...modelName, version: z.union([requiredText(LIMITS.version), z.number().int().transform(String)], 'must be a version') }
export const modelVersionBody = z.object(versionRef)
export const setAliasBody = z.object({ ...versionRef, alias: requiredText(LIMITS.name) })
export const createModelVersionBody = z.object({
  ...modelName,
  source: requiredText(LIMITS.path * 4),
  run_id: mlflowText(64).optional(),
  tags: tagList.optional(),
  run_link: mlflowText(4_096).optional(),
  description: mlflowText(LIMITS.description).optional(),
  model_id: mlflowText(64).optional()
})
export const updateModelVersionBody = z.object({ ...versionRef, description: mlflowText(LIMITS.description).optional() })
export const transitionStageBody = z.object({
  ...versionRef,
  stage: requiredText(64),
  archive_existing_versions: z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')], 'must be true or false').optional()
})
export const setModelVersionTagBody = z.object({ ...versionRef, ...tagEntry.shape })
export const deleteModelVersionTagBody = z.object({ ...versionRef, key: requiredText(MLFLOW_LIMITS.keyLength) })

// ---- logged models (MLflow 3) ----

export const createLoggedModelBody = z.object({
  ...experimentRef,
  name: mlflowText(LIMITS.name).optional(),
  model_type: mlflowText(LIMITS.name).optional(),
  source_run_id: mlflowText(64).optional(),
  params: z.array(paramEntry, 'must be a list of {key, value}').optional(),
  tags: tagList.optional()
})
export const finalizeLoggedModelBody = z.object({ status: z.enum(['LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'], 'must be LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED') })
export const loggedModelTagsBody = z.object({ tags: tagList.optional() })
export const loggedModelParamsBody = z.object({ params: z.array(paramEntry, 'must be a list of {key, value}').optional() })
