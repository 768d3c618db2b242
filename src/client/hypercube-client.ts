/**
 * A small client for Hypercube's /v1 tracking API: pure TypeScript over `fetch`, so it runs in
 * Node, Deno, Bun or a browser. It speaks the API's snake_case JSON and takes care of what
 * JSON cannot carry: NaN and ±Infinity travel as the strings "NaN", "Infinity", "-Infinity",
 * -0 as -0.0, and 64-bit steps past 2^53 as decimal strings (returned here as bigint).
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }
/** A 64-bit integer: a number up to 2^53, a bigint, or a decimal string. */
export type Int64 = number | bigint | string
export type MetricKind = 'train' | 'validation' | 'test' | 'system'

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8377 */
  url: string
  /** The content of `<dataDir>/api-token`. */
  token: string
  fetch?: typeof fetch
}

export interface MetricPointInput {
  key: string
  value: number
  step?: Int64
  epoch?: number | null
  /** Milliseconds since 1970; the server's time when absent. */
  timestamp?: number
  kind?: MetricKind
}

export interface Experiment {
  experiment_id: number
  name: string
  description: string
  status: 'active' | 'completed' | 'archived' | 'failed'
  model_config: JsonObject
  training_config: JsonObject
  hyperparameters: JsonObject
  tags: Record<string, string>
  created_by: string | null
  created_at: string
  updated_at: string
  run_count?: number
  last_activity_at?: string
}

export interface MetricSummary {
  key: string
  last_value: number
  last_step: bigint
  last_timestamp: number
  min: number | null
  max: number | null
  count: number
}

export interface Run {
  run_id: number
  run_uuid: string
  experiment_id: number
  run_name: string
  status: 'pending' | 'running' | 'completed' | 'failed' | 'killed'
  hyperparameters: JsonObject
  tags: Record<string, string>
  final_metrics: JsonObject
  random_seed: bigint | null
  git_commit: string | null
  resources: { gpu_hours: number | null; cpu_hours: number | null; peak_memory_bytes: number | null }
  logs: string | null
  error_message: string | null
  stack_trace: string | null
  created_at: string
  started_at: string | null
  completed_at: string | null
  updated_at: string
  /** Present on a single run and on runs listed per experiment. */
  metrics?: MetricSummary[]
}

export interface BatchResult {
  run_id: number
  inserted: number
  duplicates: number
}

export interface MetricPoint {
  key: string
  value: number
  step: bigint
  epoch: number | null
  timestamp: number
  kind: MetricKind
}

export interface MetricBucket {
  from_step: bigint
  to_step: bigint
  count: number
  min: number | null
  max: number | null
  first_step: bigint
  first_value: number
  first_timestamp: number
  last_step: bigint
  last_value: number
  last_timestamp: number
  last_epoch: number | null
}

export interface MetricSeries {
  run_id: number
  key: string
  total_points: number
  mode: 'raw' | 'buckets'
  points: MetricPoint[]
  buckets: MetricBucket[]
}

export interface LeaderboardEntry {
  rank: number
  run_id: number
  run_name: string
  status: Run['status']
  value: number
  step: bigint | null
  hyperparameters: JsonObject
}

export interface Checkpoint {
  checkpoint_id: number
  run_id: number
  path: string
  step: bigint
  epoch: number | null
  metrics_snapshot: JsonObject
  is_best: boolean
  size_bytes: number | null
  blake3: string | null
  created_at: string
}

export interface ModelVersion {
  version_id: number
  model_name: string
  version: string
  parent_version_id: number | null
  source_run_id: number | null
  artifact_uri: string
  artifact_size_bytes: number | null
  artifact_blake3: string | null
  performance_metrics: JsonObject
  description: string
  tags: Record<string, string>
  approval_status: 'pending' | 'approved' | 'rejected' | 'deprecated'
  approval_notes: string | null
  reviewed_by: string | null
  reviewed_at: string | null
  deprecated_by: string | null
  deprecated_at: string | null
  deprecation_notes: string | null
  is_deployed: boolean
  deployment_target: string | null
  aliases: string[]
  created_by: string | null
  created_at: string
  updated_at: string
}

export interface Deployment {
  deployment_id: number
  model_name: string
  target: string
  current_version_id: number
  previous_version_id: number | null
  strategy: 'blue-green' | 'canary' | 'rolling' | 'shadow'
  canary_traffic_percent: number | null
  sla: { latency_p99_ms: number | null; throughput_rps: number | null; availability_percent: number | null }
  health: {
    url: string | null
    status: 'unknown' | 'healthy' | 'degraded' | 'unhealthy'
    checked_at: string | null
    latency_ms: number | null
    throughput_rps: number | null
    availability_percent: number | null
  }
  deployed_by: string | null
  deployed_at: string
  updated_at: string
}

export interface DeploymentEvent {
  event_id: number
  model_name: string
  target: string
  action: 'deploy' | 'update' | 'rollback' | 'promote' | 'abort'
  from_version_id: number | null
  to_version_id: number | null
  strategy: Deployment['strategy'] | null
  canary_traffic_percent: number | null
  actor: string | null
  notes: string | null
  occurred_at: string
}

export interface ModelAlias {
  model_name: string
  alias: string
  version_id: number
  updated_at: string
}

export type ArtifactKind = 'model' | 'checkpoint' | 'plot' | 'dataset' | 'config' | 'log' | 'other'

export interface Artifact {
  artifact_id: number
  run_id: number | null
  model_version_id: number | null
  kind: ArtifactKind
  path: string
  uri: string | null
  size_bytes: number | null
  blake3: string | null
  metadata: JsonObject
  created_at: string
  verified_at: string | null
}

export interface ArtifactVerification {
  verified: boolean
  expected_blake3: string | null
  actual_blake3: string
  expected_size_bytes: number | null
  actual_size_bytes: number
  artifact: Artifact
}

/** The API's error, with the HTTP status and the field at fault. */
export class HypercubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string
  ) {
    super(`${status} ${code}: ${message}`)
    this.name = 'HypercubeApiError'
  }
}

/** A metric value as JSON text: NaN and ±Infinity as strings, -0 kept. */
export function metricValueJson(value: number): string {
  if (Number.isFinite(value)) return Object.is(value, -0) ? '-0.0' : String(value)
  return Number.isNaN(value) ? '"NaN"' : value > 0 ? '"Infinity"' : '"-Infinity"'
}

function int64Json(value: Int64): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`step ${value} is not a safe integer; pass a bigint or a decimal string`)
    return String(value)
  }
  if (typeof value === 'bigint') return value >= -9007199254740991n && value <= 9007199254740991n ? value.toString() : `"${value}"`
  return JSON.stringify(value)
}

/**
 * The JSON of a metric batch, written by hand: JSON.stringify would turn NaN into null and
 * drop -0, and for 10,000-point batches a replacer function costs more than the request.
 */
/**
 * A batch as the columnar `series` body: per (key, kind), parallel arrays of values, steps,
 * timestamps and epochs. Half the bytes of one object per point, and the server parses arrays
 * of numbers several times faster. Missing steps, timestamps or epochs travel as null.
 */
export function encodeMetricBatch(runId: number, points: readonly MetricPointInput[], idempotencyKey?: string): string {
  interface Column {
    key: string
    kind: MetricKind | undefined
    values: string[]
    steps: string[]
    timestamps: string[]
    epochs: string[]
    hasSteps: boolean
    hasTimestamps: boolean
    hasEpochs: boolean
  }
  const columns = new Map<string, Column>()
  for (const point of points) {
    const id = `${point.kind ?? ''}\u0000${point.key}`
    let column = columns.get(id)
    if (!column) {
      column = { key: point.key, kind: point.kind, values: [], steps: [], timestamps: [], epochs: [], hasSteps: false, hasTimestamps: false, hasEpochs: false }
      columns.set(id, column)
    }
    column.values.push(metricValueJson(point.value))
    if (point.step !== undefined) {
      column.hasSteps = true
      column.steps.push(int64Json(point.step))
    } else column.steps.push('null')
    if (point.timestamp !== undefined) {
      column.hasTimestamps = true
      column.timestamps.push(String(point.timestamp))
    } else column.timestamps.push('null')
    if (point.epoch !== undefined && point.epoch !== null) {
      column.hasEpochs = true
      column.epochs.push(String(point.epoch))
    } else column.epochs.push('null')
  }
  const series = [...columns.values()].map((column) => {
    let json = `{"key":${JSON.stringify(column.key)}`
    if (column.kind !== undefined) json += `,"kind":"${column.kind}"`
    json += `,"values":[${column.values.join(',')}]`
    if (column.hasSteps) json += `,"steps":[${column.steps.join(',')}]`
    if (column.hasTimestamps) json += `,"timestamps":[${column.timestamps.join(',')}]`
    if (column.hasEpochs) json += `,"epochs":[${column.epochs.join(',')}]`
    return `${json}}`
  })
  const idempotency = idempotencyKey === undefined ? '' : `,"idempotency_key":${JSON.stringify(idempotencyKey)}`
  return `{"run_id":${runId},"series":[${series.join(',')}]${idempotency}}`
}

/** For request bodies other than metric batches: bigint as a number or decimal string, non-finite numbers as strings. */
function requestReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value.toString()
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'
  return value
}

/** A number field of a response: "NaN", "Infinity", "-Infinity" back to numbers. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value
  if (value === 'NaN') return NaN
  if (value === 'Infinity') return Infinity
  if (value === '-Infinity') return -Infinity
  throw new TypeError(`expected a number, got ${JSON.stringify(value)}`)
}

const toOptionalNumber = (value: unknown): number | null => (value === null || value === undefined ? null : toNumber(value))
const toBigInt = (value: unknown): bigint => BigInt(value as number | string)
const toOptionalBigInt = (value: unknown): bigint | null => (value === null || value === undefined ? null : BigInt(value as number | string))

/* eslint-disable @typescript-eslint/no-explicit-any -- response decoders take the parsed JSON */
function decodeMetricSummary(raw: any): MetricSummary {
  return { ...raw, last_value: toNumber(raw.last_value), last_step: toBigInt(raw.last_step), min: toOptionalNumber(raw.min), max: toOptionalNumber(raw.max) }
}

function decodeRun(raw: any): Run {
  return {
    ...raw,
    random_seed: toOptionalBigInt(raw.random_seed),
    ...(raw.metrics ? { metrics: raw.metrics.map(decodeMetricSummary) } : {})
  }
}

function decodePoint(raw: any): MetricPoint {
  return { ...raw, value: toNumber(raw.value), step: toBigInt(raw.step) }
}

function decodeBucket(raw: any): MetricBucket {
  return {
    ...raw,
    from_step: toBigInt(raw.from_step),
    to_step: toBigInt(raw.to_step),
    min: toOptionalNumber(raw.min),
    max: toOptionalNumber(raw.max),
    first_step: toBigInt(raw.first_step),
    first_value: toNumber(raw.first_value),
    last_step: toBigInt(raw.last_step),
    last_value: toNumber(raw.last_value)
  }
}

function decodeCheckpoint(raw: any): Checkpoint {
  return { ...raw, step: toBigInt(raw.step) }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface StartRunRequest {
  experiment_id: number
  run_name?: string
  hyperparameters?: JsonObject
  random_seed?: Int64 | null
  git_commit?: string
  tags?: Record<string, string>
  status?: 'pending' | 'running'
}

export interface CompleteRunRequest {
  run_id: number
  status?: 'completed' | 'failed' | 'killed'
  final_metrics?: Record<string, number>
  error_message?: string | null
  stack_trace?: string | null
  resources?: { gpu_hours?: number | null; cpu_hours?: number | null; peak_memory_bytes?: number | null }
  logs?: string | null
}

export interface RegisterModelVersionRequest {
  model_name: string
  version?: string
  artifact_uri: string
  source_run_id?: number | null
  parent_version_id?: number | null
  performance_metrics?: JsonObject
  artifact_blake3?: string | null
  artifact_size_bytes?: number | null
  description?: string
  tags?: Record<string, string>
  created_by?: string | null
}

export interface ReviewRequest {
  version_id: number
  notes?: string | null
  actor?: string | null
}

export interface DeployRequest {
  model_name: string
  version_id: number
  target?: string
  strategy?: Deployment['strategy']
  canary_traffic_percent?: number | null
  sla?: { latency_p99_ms?: number | null; throughput_rps?: number | null; availability_percent?: number | null }
  health_url?: string | null
  actor?: string | null
}

export interface CheckpointRequest {
  path: string
  step: Int64
  epoch?: number | null
  metrics_snapshot?: JsonObject
  is_best?: boolean
  size_bytes?: number | null
  blake3?: string | null
}

export interface RegisterArtifactRequest {
  path: string
  uri?: string | null
  kind?: ArtifactKind
  size_bytes?: number | null
  blake3?: string | null
  metadata?: JsonObject
}

export class HypercubeClient {
  private readonly baseUrl: string
  private readonly token: string
  private readonly fetchImpl: typeof fetch

  constructor(options: ClientOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '')
    this.token = options.token
    this.fetchImpl = options.fetch ?? fetch
  }

  /** Any /v1 call: the parsed JSON of a success, or a HypercubeApiError. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const encoded = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body, requestReplacer)
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(encoded === undefined ? {} : { 'content-type': 'application/json' }) },
      body: encoded
    })
    const text = await response.text()
    const parsed = text === '' ? undefined : JSON.parse(text)
    if (!response.ok) {
      const error = parsed?.error ?? {}
      throw new HypercubeApiError(response.status, error.code ?? 'http_error', error.message ?? response.statusText, error.field)
    }
    return parsed as T
  }

  // ---- experiments
  createExperiment(request: { name: string; description?: string; model_config?: JsonObject; training_config?: JsonObject; hyperparameters?: JsonObject; tags?: Record<string, string> | string[]; created_by?: string }): Promise<Experiment> {
    return this.request('POST', '/v1/ml/experiments', request)
  }

  async listExperiments(options: { activeOnly?: boolean } = {}): Promise<Experiment[]> {
    const query = options.activeOnly ? '?active_only=true' : ''
    return (await this.request<{ experiments: Experiment[] }>('GET', `/v1/ml/experiments${query}`)).experiments
  }

  getExperiment(experimentId: number): Promise<Experiment> {
    return this.request('GET', `/v1/ml/experiments/${experimentId}`)
  }

  // ---- runs
  async startRun(request: StartRunRequest): Promise<Run> {
    return decodeRun(await this.request('POST', '/v1/ml/runs', request))
  }

  async getRun(runId: number): Promise<Run> {
    return decodeRun(await this.request('GET', `/v1/ml/runs/${runId}`))
  }

  async listRuns(experimentId: number): Promise<Run[]> {
    return (await this.request<{ runs: unknown[] }>('GET', `/v1/ml/experiments/${experimentId}/runs`)).runs.map(decodeRun)
  }

  async completeRun(request: CompleteRunRequest): Promise<Run> {
    return decodeRun(await this.request('POST', '/v1/ml/runs/complete', request))
  }

  async setParams(runId: number, hyperparameters: JsonObject): Promise<Run> {
    return decodeRun(await this.request('POST', `/v1/ml/runs/${runId}/params`, { hyperparameters }))
  }

  async setTags(runId: number, tags: Record<string, string>): Promise<Run> {
    return decodeRun(await this.request('POST', `/v1/ml/runs/${runId}/tags`, { tags }))
  }

  async leaderboard(request: { experiment_id: number; metric_name: string; direction?: 'asc' | 'desc'; limit?: number }): Promise<LeaderboardEntry[]> {
    const response = await this.request<{ entries: Array<LeaderboardEntry & { value: unknown; step: unknown }> }>('POST', '/v1/ml/leaderboard', request)
    return response.entries.map((entry) => ({ ...entry, value: toNumber(entry.value), step: toOptionalBigInt(entry.step) }))
  }

  // ---- metrics
  /** Several metrics at one step (the seed's LogMetricsRequest). */
  logMetrics(runId: number, metrics: Record<string, number>, options: { step?: Int64; epoch?: number; timestamp?: number; kind?: MetricKind; idempotencyKey?: string } = {}): Promise<BatchResult> {
    const entries = Object.keys(metrics).map((key) => `${JSON.stringify(key)}:${metricValueJson(metrics[key]!)}`)
    let body = `{"run_id":${runId},"metrics":{${entries.join(',')}}`
    if (options.step !== undefined) body += `,"step":${int64Json(options.step)}`
    if (options.epoch !== undefined) body += `,"epoch":${options.epoch}`
    if (options.timestamp !== undefined) body += `,"timestamp":${options.timestamp}`
    if (options.kind !== undefined) body += `,"kind":"${options.kind}"`
    if (options.idempotencyKey !== undefined) body += `,"idempotency_key":${JSON.stringify(options.idempotencyKey)}`
    return this.request('POST', '/v1/ml/metrics', body + '}')
  }

  /** A batch of points, stored all or none; with an idempotency key a retry is applied once. */
  logBatch(runId: number, points: readonly MetricPointInput[], idempotencyKey?: string): Promise<BatchResult> {
    return this.request('POST', '/v1/ml/metrics', encodeMetricBatch(runId, points, idempotencyKey))
  }

  /** A metric's history: raw points when few enough, else min/max buckets (≤ maxPoints values). */
  async metricHistory(runId: number, key: string, options: { maxPoints?: number; fromStep?: Int64; toStep?: Int64 } = {}): Promise<MetricSeries> {
    const query = new URLSearchParams({ key })
    if (options.maxPoints !== undefined) query.set('max_points', String(options.maxPoints))
    if (options.fromStep !== undefined) query.set('from_step', String(options.fromStep))
    if (options.toStep !== undefined) query.set('to_step', String(options.toStep))
    const raw = await this.request<{ points: unknown[]; buckets: unknown[] } & MetricSeries>('GET', `/v1/ml/runs/${runId}/metrics/history?${query}`)
    return { ...raw, points: raw.points.map(decodePoint), buckets: raw.buckets.map(decodeBucket) }
  }

  // ---- checkpoints
  async saveCheckpoint(runId: number, request: CheckpointRequest): Promise<Checkpoint> {
    return decodeCheckpoint(await this.request('POST', `/v1/ml/runs/${runId}/checkpoints`, request))
  }

  async listCheckpoints(runId: number): Promise<Checkpoint[]> {
    return (await this.request<{ checkpoints: unknown[] }>('GET', `/v1/ml/runs/${runId}/checkpoints`)).checkpoints.map(decodeCheckpoint)
  }

  // ---- model versions, approval, deployment, aliases
  registerModelVersion(request: RegisterModelVersionRequest): Promise<ModelVersion> {
    return this.request('POST', '/v1/ml/models/versions', request)
  }

  getModelVersion(versionId: number): Promise<ModelVersion> {
    return this.request('GET', `/v1/ml/models/versions/${versionId}`)
  }

  async listModelVersions(modelName: string): Promise<ModelVersion[]> {
    return (await this.request<{ versions: ModelVersion[] }>('GET', `/v1/ml/models/${encodeURIComponent(modelName)}/versions`)).versions
  }

  approveVersion(request: ReviewRequest): Promise<ModelVersion> {
    return this.request('POST', '/v1/ml/models/versions/approve', request)
  }

  rejectVersion(request: ReviewRequest): Promise<ModelVersion> {
    return this.request('POST', '/v1/ml/models/versions/reject', request)
  }

  deprecateVersion(request: ReviewRequest): Promise<ModelVersion> {
    return this.request('POST', '/v1/ml/models/versions/deprecate', request)
  }

  deploy(request: DeployRequest): Promise<Deployment> {
    return this.request('POST', '/v1/ml/models/deploy', request)
  }

  getDeployment(modelName: string, target?: string): Promise<Deployment> {
    const query = target === undefined ? '' : `?target=${encodeURIComponent(target)}`
    return this.request('GET', `/v1/ml/models/${encodeURIComponent(modelName)}/deployment${query}`)
  }

  async deploymentHistory(modelName: string, target?: string): Promise<DeploymentEvent[]> {
    const query = target === undefined ? '' : `?target=${encodeURIComponent(target)}`
    return (await this.request<{ events: DeploymentEvent[] }>('GET', `/v1/ml/models/${encodeURIComponent(modelName)}/deployment/history${query}`)).events
  }

  rollback(request: { model_name: string; target?: string; actor?: string | null; notes?: string | null }): Promise<Deployment> {
    return this.request('POST', '/v1/ml/models/rollback', request)
  }

  setAlias(modelName: string, alias: string, versionId: number): Promise<ModelAlias> {
    return this.request('PUT', `/v1/ml/models/${encodeURIComponent(modelName)}/aliases/${encodeURIComponent(alias)}`, { version_id: versionId })
  }

  getAlias(modelName: string, alias: string): Promise<ModelAlias> {
    return this.request('GET', `/v1/ml/models/${encodeURIComponent(modelName)}/aliases/${encodeURIComponent(alias)}`)
  }

  async deleteAlias(modelName: string, alias: string): Promise<void> {
    await this.request('DELETE', `/v1/ml/models/${encodeURIComponent(modelName)}/aliases/${encodeURIComponent(alias)}`)
  }

  async listAliases(modelName: string): Promise<ModelAlias[]> {
    return (await this.request<{ aliases: ModelAlias[] }>('GET', `/v1/ml/models/${encodeURIComponent(modelName)}/aliases`)).aliases
  }

  // ---- artifacts
  registerArtifact(runId: number, request: RegisterArtifactRequest): Promise<Artifact> {
    return this.request('POST', `/v1/ml/runs/${runId}/artifacts`, request)
  }

  async listArtifacts(runId: number): Promise<Artifact[]> {
    return (await this.request<{ artifacts: Artifact[] }>('GET', `/v1/ml/runs/${runId}/artifacts`)).artifacts
  }

  getArtifact(artifactId: number): Promise<Artifact> {
    return this.request('GET', `/v1/ml/artifacts/${artifactId}`)
  }

  verifyArtifact(artifactId: number): Promise<ArtifactVerification> {
    return this.request('POST', `/v1/ml/artifacts/${artifactId}/verify`)
  }
}
