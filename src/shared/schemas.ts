import { z } from 'zod'
import {
  DEPLOYMENT_STRATEGIES,
  EXPERIMENT_STATUSES,
  FINISHED_RUN_STATUSES,
  METRIC_KINDS,
  type JsonObject,
  type MetricKind,
  type MetricPoint
} from './domain'
import { invalidArgument } from './errors'

/**
 * Input schemas of every service operation. Main parses everything from outside (IPC, HTTP,
 * files) with these before a service acts, so a bad input is refused with the field named and
 * nothing written.
 */

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

export const LIMITS = {
  name: 256,
  description: 10_000,
  notes: 10_000,
  metricKey: 250,
  tagKey: 250,
  tagValue: 8_000,
  errorMessage: 100_000,
  stackTrace: 1_000_000,
  logs: 10_000_000,
  path: 1_024,
  target: 64,
  version: 64
} as const

const noNul = (value: string): boolean => !value.includes('\0')
const NUL_MESSAGE = 'must not contain a NUL byte'

/** Text with a length limit and no NUL byte (PostgreSQL text cannot hold one). */
export function text(max: number, min = 0) {
  return z
    .string()
    .min(min, min === 1 ? 'must not be empty' : `must have at least ${min} characters`)
    .max(max, `must be at most ${max} characters`)
    .refine(noNul, NUL_MESSAGE)
}

export const name = text(LIMITS.name, 1)
export const id = z.number().int('must be an integer').positive('must be a positive id').max(Number.MAX_SAFE_INTEGER)
/** An experiment id: 0 is MLflow's Default experiment (created on first use by the MLflow door). */
export const experimentId = z.number().int('must be an integer').nonnegative('must not be negative').max(Number.MAX_SAFE_INTEGER)

/**
 * A 64-bit integer as a JS number (only up to 2^53, where it is still exact), a decimal string
 * or a bigint. Larger numbers must come as strings: a JS number past 2^53 has already lost
 * precision, so accepting one would store a different value than the client meant.
 */
export const int64 = z
  .union([
    z.bigint(),
    // Not .int(): zod's int() also refuses integers past 2^53 with a message that hides why.
    z
      .number()
      .refine(Number.isInteger, 'must be an integer')
      .refine(Number.isSafeInteger, 'is past 2^53: send it as a decimal string to keep it exact'),
    z.string().regex(/^-?\d{1,19}$/, 'must be a decimal integer')
  ])
  .transform((value) => BigInt(value))
  .refine((value) => value >= INT64_MIN && value <= INT64_MAX, 'must fit in a signed 64-bit integer')

// JSON that PostgreSQL's jsonb can store: no NUL in any string, numbers finite.
const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([
    text(1_000_000),
    z.number().finite('must be finite (JSON has no NaN or Infinity)'),
    z.boolean(),
    z.null(),
    z.array(jsonValue),
    z.record(text(LIMITS.tagKey), jsonValue)
  ])
)
export const jsonObject = z.record(text(LIMITS.tagKey, 1), jsonValue).transform((value) => value as JsonObject)
export const tags = z.record(text(LIMITS.tagKey, 1), text(LIMITS.tagValue))
const blake3Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (a BLAKE3 hash)')
const nonNegative = z.number().finite().nonnegative('must not be negative')

export const createExperimentInput = z
  .object({
    name,
    description: text(LIMITS.description).default(''),
    modelConfig: jsonObject.default({}),
    trainingConfig: jsonObject.default({}),
    hyperparameters: jsonObject.default({}),
    tags: tags.default({}),
    createdBy: text(LIMITS.name).nullable().default(null),
    /** Where an MLflow client asked for artifacts to go (reported back; Hypercube keeps its own store). */
    artifactLocation: text(LIMITS.path * 4).nullable().default(null),
    /** Without artifactLocation: it becomes <artifactRoot>/<experiment id> (MLflow's default artifact root). */
    artifactRoot: text(LIMITS.path * 4).nullable().default(null)
  })
  .strict()

export const updateExperimentInput = z
  .object({
    experimentId,
    name: name.optional(),
    description: text(LIMITS.description).optional(),
    status: z.enum(EXPERIMENT_STATUSES).optional(),
    tags: tags.optional()
  })
  .strict()

export const startRunInput = z
  .object({
    experimentId,
    name: name.optional(),
    hyperparameters: jsonObject.default({}),
    randomSeed: int64.nullable().default(null),
    gitCommit: z
      .string()
      .regex(/^[0-9a-f]{7,64}$/, 'must be a git commit hash (7 to 64 lowercase hex digits)')
      .nullable()
      .default(null),
    tags: tags.default({}),
    status: z.enum(['pending', 'running']).default('running'),
    /** When the run started, in ms since 1970 (an MLflow client sends its own clock); default now. */
    startedAt: z.number().int().nonnegative().max(Date.UTC(9999, 11, 31)).nullable().default(null),
    userId: text(LIMITS.name).nullable().default(null)
  })
  .strict()

export const setRunParamsInput = z.object({ runId: id, hyperparameters: jsonObject }).strict()
export const setRunTagsInput = z.object({ runId: id, tags }).strict()

export const completeRunInput = z
  .object({
    runId: id,
    status: z.enum(FINISHED_RUN_STATUSES).default('completed'),
    finalMetrics: z.record(text(LIMITS.metricKey, 1), z.number().finite('must be finite')).default({}),
    errorMessage: text(LIMITS.errorMessage).nullable().default(null),
    stackTrace: text(LIMITS.stackTrace).nullable().default(null),
    resources: z
      .object({
        gpuHours: nonNegative.nullable().default(null),
        cpuHours: nonNegative.nullable().default(null),
        peakMemoryBytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().default(null)
      })
      .strict()
      .default({ gpuHours: null, cpuHours: null, peakMemoryBytes: null }),
    logs: text(LIMITS.logs).nullable().default(null)
  })
  .strict()

export const saveCheckpointInput = z
  .object({
    runId: id,
    path: text(LIMITS.path, 1),
    step: int64,
    epoch: z.number().int().nonnegative().max(2_147_483_647).nullable().default(null),
    metricsSnapshot: jsonObject.default({}),
    isBest: z.boolean().default(false),
    sizeBytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().default(null),
    blake3: blake3Hex.nullable().default(null)
  })
  .strict()

export const leaderboardInput = z
  .object({
    experimentId,
    metricKey: text(LIMITS.metricKey, 1),
    direction: z.enum(['asc', 'desc']).default('desc'),
    limit: z.number().int().min(1).max(10_000).default(10)
  })
  .strict()

export const registerModelVersionInput = z
  .object({
    modelName: name,
    version: text(LIMITS.version, 1).nullable().default(null),
    artifactUri: text(4_096, 1),
    sourceRunId: id.nullable().default(null),
    parentVersionId: id.nullable().default(null),
    performanceMetrics: jsonObject.default({}),
    artifactBlake3: blake3Hex.nullable().default(null),
    artifactSizeBytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().default(null),
    description: text(LIMITS.description).default(''),
    tags: tags.default({}),
    createdBy: text(LIMITS.name).nullable().default(null)
  })
  .strict()

export const reviewModelVersionInput = z
  .object({
    versionId: id,
    notes: text(LIMITS.notes).nullable().default(null),
    actor: text(LIMITS.name).nullable().default(null)
  })
  .strict()

export const deployModelInput = z
  .object({
    modelName: name,
    versionId: id,
    target: text(LIMITS.target, 1).default('production'),
    strategy: z.enum(DEPLOYMENT_STRATEGIES).default('blue-green'),
    canaryTrafficPercent: z.number().gt(0, 'must be above 0').max(100, 'must be at most 100').nullable().default(null),
    sla: z
      .object({
        latencyP99Ms: z.number().positive().finite().nullable().default(null),
        throughputRps: z.number().positive().finite().nullable().default(null),
        availabilityPercent: z.number().min(0).max(100).nullable().default(null)
      })
      .strict()
      .default({ latencyP99Ms: null, throughputRps: null, availabilityPercent: null }),
    healthUrl: z.url({ protocol: /^https?$/ }).max(2_048).nullable().default(null),
    actor: text(LIMITS.name).nullable().default(null)
  })
  .strict()
  .refine((input) => (input.strategy === 'canary') === (input.canaryTrafficPercent !== null), {
    message: 'a canary deployment needs a traffic share, and only a canary has one',
    path: ['canaryTrafficPercent']
  })

export const rollbackInput = z
  .object({
    modelName: name,
    target: text(LIMITS.target, 1).default('production'),
    actor: text(LIMITS.name).nullable().default(null),
    notes: text(LIMITS.notes).nullable().default(null)
  })
  .strict()

export const aliasName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be 1 to 255 letters, digits, _ or -')
  .refine((alias) => !/^v\d+$/.test(alias) && alias.toLowerCase() !== 'latest', 'must not be "latest" or look like a version (v1)')

export const setAliasInput = z.object({ modelName: name, alias: aliasName, versionId: id }).strict()

/** Converts a schema failure into an error naming the first offending field. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown, fieldPrefix = ''): z.output<Schema> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  // An unknown field is named itself (e.g. `points[0].unit`), not the object that holds it.
  const path = issue.code === 'unrecognized_keys' && issue.keys.length > 0 ? [...issue.path, issue.keys[0]!] : issue.path
  const field = formatPath(fieldPrefix, path)
  const message =
    issue.code === 'unrecognized_keys' ? (issue.keys.length > 1 ? `unknown fields ${issue.keys.join(', ')}` : 'unknown field') : issue.message
  throw invalidArgument(field ? `${field}: ${message}` : message, field || undefined)
}

export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out ? `.${String(part)}` : String(part)
  }
  return out
}

// ---- metric points: validated in a hand-written loop, because a batch can hold a million of
// them and a schema library's per-object overhead would dominate ingest.

export interface MetricPointInput {
  key: unknown
  value: unknown
  step?: unknown
  epoch?: unknown
  timestamp?: unknown
  kind?: unknown
}

const KINDS = new Set<string>(METRIC_KINDS)
/** The latest metric timestamp accepted (ms since 1970); later ones are not valid timestamptz input. */
export const MAX_TIMESTAMP_MS = Date.UTC(9999, 11, 31)
const POINT_FIELDS = new Set(['key', 'value', 'step', 'epoch', 'timestamp', 'kind'])

export function validateMetricKey(key: unknown, field: string): string {
  if (typeof key !== 'string') throw invalidArgument(`${field}: must be a string`, field)
  if (key.length === 0 || key.length > LIMITS.metricKey) throw invalidArgument(`${field}: must be 1 to ${LIMITS.metricKey} characters`, field)
  if (key.includes('\0')) throw invalidArgument(`${field}: ${NUL_MESSAGE}`, field)
  return key
}

export function toMetricStep(step: unknown, field: string): bigint {
  if (step === undefined || step === null) return 0n
  const parsed = int64.safeParse(step)
  if (!parsed.success) throw invalidArgument(`${field}: ${parsed.error.issues[0]!.message}`, field)
  return parsed.data
}

/**
 * Validates raw points (e.g. parsed JSON) into MetricPoints. Values may be numbers or the
 * strings "NaN", "Infinity", "-Infinity" (JSON has no literal for them).
 */
export function validateMetricPoints(raw: unknown, field = 'points', now = Date.now()): MetricPoint[] {
  if (!Array.isArray(raw)) throw invalidArgument(`${field}: must be an array`, field)
  const checkedKeys = new Set<string>()
  const points = new Array<MetricPoint>(raw.length)
  for (let i = 0; i < raw.length; i++) {
    const item = raw[i] as MetricPointInput
    const at = `${field}[${i}]`
    if (typeof item !== 'object' || item === null) throw invalidArgument(`${at}: must be an object`, at)
    for (const name in item) if (!POINT_FIELDS.has(name)) throw invalidArgument(`${at}.${name}: unknown field`, `${at}.${name}`)
    const key = item.key
    if (typeof key !== 'string' || !checkedKeys.has(key)) {
      validateMetricKey(key, `${at}.key`)
      checkedKeys.add(key as string)
    }
    const value = toMetricValue(item.value, `${at}.value`)
    const step = typeof item.step === 'number' && Number.isSafeInteger(item.step) ? BigInt(item.step) : toMetricStep(item.step, `${at}.step`)
    let epoch: number | null = null
    if (item.epoch !== undefined && item.epoch !== null) {
      if (typeof item.epoch !== 'number' || !Number.isInteger(item.epoch) || item.epoch < 0 || item.epoch > 2_147_483_647) {
        throw invalidArgument(`${at}.epoch: must be an integer from 0 to 2147483647`, `${at}.epoch`)
      }
      epoch = item.epoch
    }
    let timestamp = now
    if (item.timestamp !== undefined && item.timestamp !== null) {
      if (typeof item.timestamp !== 'number' || !Number.isFinite(item.timestamp) || item.timestamp < 0 || item.timestamp > MAX_TIMESTAMP_MS) {
        throw invalidArgument(`${at}.timestamp: must be milliseconds since 1970 (a finite number)`, `${at}.timestamp`)
      }
      timestamp = item.timestamp
    }
    let kind: MetricKind = 'train'
    if (item.kind !== undefined && item.kind !== null) {
      if (typeof item.kind !== 'string' || !KINDS.has(item.kind)) {
        throw invalidArgument(`${at}.kind: must be one of ${METRIC_KINDS.join(', ')}`, `${at}.kind`)
      }
      kind = item.kind as MetricKind
    }
    points[i] = { key: key as string, value, step, epoch, timestamp, kind }
  }
  return points
}

export function toMetricValue(value: unknown, field: string): number {
  if (typeof value === 'number') return value
  if (value === 'NaN') return NaN
  if (value === 'Infinity') return Infinity
  if (value === '-Infinity') return -Infinity
  throw invalidArgument(`${field}: must be a number or one of "NaN", "Infinity", "-Infinity"`, field)
}

/**
 * The columnar batch form: one entry per metric key with parallel arrays, e.g.
 *   { key: 'loss', steps: [0, 1, 2], values: [0.9, 0.7, 'NaN'], timestamps: [...], epochs: [...] }
 * Half the bytes of one object per point, and arrays of numbers parse several times faster,
 * which is what high-volume clients want. Validated into MetricPoints in one pass.
 */
export function validateMetricSeries(raw: unknown, field = 'series', now = Date.now()): MetricPoint[] {
  if (!Array.isArray(raw)) throw invalidArgument(`${field}: must be an array`, field)
  const points: MetricPoint[] = []
  const SERIES_FIELDS = new Set(['key', 'kind', 'steps', 'values', 'timestamps', 'epochs'])
  for (let s = 0; s < raw.length; s++) {
    const entry = raw[s] as Record<string, unknown>
    const at = `${field}[${s}]`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalidArgument(`${at}: must be an object`, at)
    for (const name in entry) if (!SERIES_FIELDS.has(name)) throw invalidArgument(`${at}.${name}: unknown field`, `${at}.${name}`)
    const key = validateMetricKey(entry.key, `${at}.key`)
    let kind: MetricKind = 'train'
    if (entry.kind !== undefined && entry.kind !== null) {
      if (typeof entry.kind !== 'string' || !KINDS.has(entry.kind)) throw invalidArgument(`${at}.kind: must be one of ${METRIC_KINDS.join(', ')}`, `${at}.kind`)
      kind = entry.kind as MetricKind
    }
    const values = entry.values
    if (!Array.isArray(values) || values.length === 0) throw invalidArgument(`${at}.values: must be a non-empty array`, `${at}.values`)
    const columns = { steps: entry.steps, timestamps: entry.timestamps, epochs: entry.epochs }
    for (const [name, column] of Object.entries(columns)) {
      if (column !== undefined && column !== null && (!Array.isArray(column) || column.length !== values.length)) {
        throw invalidArgument(`${at}.${name}: must be an array as long as values (${values.length})`, `${at}.${name}`)
      }
    }
    const steps = columns.steps as unknown[] | undefined
    const timestamps = columns.timestamps as unknown[] | undefined
    const epochs = columns.epochs as unknown[] | undefined
    for (let i = 0; i < values.length; i++) {
      const value = toMetricValue(values[i], `${at}.values[${i}]`)
      const rawStep = steps?.[i]
      const step = typeof rawStep === 'number' && Number.isSafeInteger(rawStep) ? BigInt(rawStep) : toMetricStep(rawStep, `${at}.steps[${i}]`)
      let timestamp = now
      const rawTimestamp = timestamps?.[i]
      if (rawTimestamp !== undefined && rawTimestamp !== null) {
        if (typeof rawTimestamp !== 'number' || !Number.isFinite(rawTimestamp) || rawTimestamp < 0 || rawTimestamp > MAX_TIMESTAMP_MS) {
          throw invalidArgument(`${at}.timestamps[${i}]: must be milliseconds since 1970 (a finite number)`, `${at}.timestamps[${i}]`)
        }
        timestamp = rawTimestamp
      }
      let epoch: number | null = null
      const rawEpoch = epochs?.[i]
      if (rawEpoch !== undefined && rawEpoch !== null) {
        if (typeof rawEpoch !== 'number' || !Number.isInteger(rawEpoch) || rawEpoch < 0 || rawEpoch > 2_147_483_647) {
          throw invalidArgument(`${at}.epochs[${i}]: must be an integer from 0 to 2147483647`, `${at}.epochs[${i}]`)
        }
        epoch = rawEpoch
      }
      points.push({ key, value, step, epoch, timestamp, kind })
    }
  }
  return points
}
