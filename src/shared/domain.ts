/**
 * Domain types shared by main, preload and renderer. Pure data: no classes, no I/O.
 *
 * int64 values that can pass 2^53 (metric steps, random seeds) are `bigint`; ids are
 * `number` (bigserial ids stay far below 2^53 on one machine). Times are ISO-8601 strings,
 * except metric timestamps, which are milliseconds since the epoch as MLflow sends them.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }
export type Tags = Record<string, string>

export const EXPERIMENT_STATUSES = ['active', 'completed', 'archived', 'failed'] as const
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number]

export interface Experiment {
  id: number
  name: string
  description: string
  modelConfig: JsonObject
  trainingConfig: JsonObject
  hyperparameters: JsonObject
  tags: Tags
  status: ExperimentStatus
  compositionId: string | null
  createdBy: string | null
  createdAt: string
  updatedAt: string
}

export interface ExperimentSummary extends Experiment {
  runCount: number
  /** The newest of the experiment's own update and its runs' updates. */
  lastActivityAt: string
}

export const RUN_STATUSES = ['pending', 'running', 'completed', 'failed', 'killed'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]
export const FINISHED_RUN_STATUSES = ['completed', 'failed', 'killed'] as const
export type FinishedRunStatus = (typeof FINISHED_RUN_STATUSES)[number]

export interface ResourceUsage {
  gpuHours: number | null
  cpuHours: number | null
  peakMemoryBytes: number | null
}

export interface Run {
  id: number
  /** 32 lowercase hex digits; the id MLflow clients use. */
  uuid: string
  experimentId: number
  name: string
  status: RunStatus
  hyperparameters: JsonObject
  tags: Tags
  finalMetrics: JsonObject
  randomSeed: bigint | null
  gitCommit: string | null
  resources: ResourceUsage
  logs: string | null
  errorMessage: string | null
  stackTrace: string | null
  createdAt: string
  startedAt: string | null
  completedAt: string | null
  updatedAt: string
}

export const METRIC_KINDS = ['train', 'validation', 'test', 'system'] as const
export type MetricKind = (typeof METRIC_KINDS)[number]

export interface MetricPoint {
  key: string
  /** Any double, NaN, ±Infinity and -0 included; stored and returned exactly. */
  value: number
  step: bigint
  epoch: number | null
  /** Milliseconds since the Unix epoch. */
  timestamp: number
  kind: MetricKind
}

/** The latest-metric summary of one key of one run, kept current on ingest. */
export interface MetricSummary {
  key: string
  lastValue: number
  lastStep: bigint
  lastTimestamp: number
  /** Over the non-NaN values; null while every value is NaN. */
  min: number | null
  max: number | null
  count: number
}

export interface RunWithMetrics extends Run {
  metrics: MetricSummary[]
}

/** The keys an experiment's runs have, each sorted: what the runs filter may name. */
export interface RunKeys {
  params: string[]
  /** Logged, or reported as a numeric final metric. */
  metrics: string[]
  tags: string[]
}

export interface Checkpoint {
  id: number
  runId: number
  path: string
  step: bigint
  epoch: number | null
  metricsSnapshot: JsonObject
  isBest: boolean
  sizeBytes: number | null
  blake3: string | null
  createdAt: string
}

export const ARTIFACT_KINDS = ['model', 'checkpoint', 'plot', 'dataset', 'config', 'log', 'other'] as const
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number]

export interface Artifact {
  id: number
  runId: number | null
  modelVersionId: number | null
  kind: ArtifactKind
  path: string
  uri: string | null
  sizeBytes: number | null
  blake3: string | null
  metadata: JsonObject
  createdAt: string
  verifiedAt: string | null
}

export interface LeaderboardEntry {
  rank: number
  runId: number
  runName: string
  status: RunStatus
  value: number
  /** The step of the logged value; null when the value is the run's reported final metric. */
  step: bigint | null
  hyperparameters: JsonObject
}

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'deprecated'] as const
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number]

export interface ModelVersion {
  id: number
  modelName: string
  version: string
  parentVersionId: number | null
  sourceRunId: number | null
  artifactUri: string
  artifactSizeBytes: number | null
  artifactBlake3: string | null
  performanceMetrics: JsonObject
  description: string
  tags: Tags
  approvalStatus: ApprovalStatus
  approvalNotes: string | null
  reviewedBy: string | null
  reviewedAt: string | null
  deprecatedBy: string | null
  deprecatedAt: string | null
  deprecationNotes: string | null
  isDeployed: boolean
  deploymentTarget: string | null
  aliases: string[]
  createdBy: string | null
  createdAt: string
  updatedAt: string
}

export const DEPLOYMENT_STRATEGIES = ['blue-green', 'canary', 'rolling', 'shadow'] as const
export type DeploymentStrategy = (typeof DEPLOYMENT_STRATEGIES)[number]
export const HEALTH_STATUSES = ['unknown', 'healthy', 'degraded', 'unhealthy'] as const
export type HealthStatus = (typeof HEALTH_STATUSES)[number]

export interface SlaTargets {
  latencyP99Ms: number | null
  throughputRps: number | null
  availabilityPercent: number | null
}

export interface DeploymentHealth {
  url: string | null
  status: HealthStatus
  checkedAt: string | null
  latencyMs: number | null
  throughputRps: number | null
  availabilityPercent: number | null
}

export interface Deployment {
  id: number
  modelName: string
  target: string
  currentVersionId: number
  previousVersionId: number | null
  strategy: DeploymentStrategy
  canaryTrafficPercent: number | null
  sla: SlaTargets
  health: DeploymentHealth
  deployedBy: string | null
  deployedAt: string
  updatedAt: string
}

export const DEPLOYMENT_ACTIONS = ['deploy', 'update', 'rollback', 'promote', 'abort'] as const
export type DeploymentAction = (typeof DEPLOYMENT_ACTIONS)[number]

export interface DeploymentEvent {
  id: number
  modelName: string
  target: string
  action: DeploymentAction
  fromVersionId: number | null
  toVersionId: number | null
  strategy: DeploymentStrategy | null
  canaryTrafficPercent: number | null
  actor: string | null
  notes: string | null
  occurredAt: string
}

/** One probe of a deployment's health URL, judged against its SLA. */
export interface HealthCheck {
  id: number
  deploymentId: number
  versionId: number | null
  checkedAt: string
  ok: boolean
  statusCode: number | null
  latencyMs: number | null
  error: string | null
  status: Exclude<HealthStatus, 'unknown'>
  /** What the deployed version measured up to this check (p99 over its recent probes, availability over them, throughput as its health URL reported). */
  latencyP99Ms: number | null
  availabilityPercent: number | null
  throughputRps: number | null
  /** The SLA targets this check missed; empty when it met them all (or was unhealthy for another reason). */
  breachedTargets: SlaTarget[]
}

export const SLA_TARGETS = ['latency_p99', 'throughput', 'availability'] as const
export type SlaTarget = (typeof SLA_TARGETS)[number]

export interface ModelAlias {
  modelName: string
  alias: string
  versionId: number
  updatedAt: string
}

/** What the shell shows to prove it is connected. */
export interface SystemStatus {
  database: { mode: 'embedded' | 'external'; serverVersion: string; description: string }
  counts: { experiments: number; runs: number; metricPoints: number }
  dataDir: string
  /** The HTTP door (/v1 and the MLflow API); null when this core runs without it. */
  api: ApiDoorState | null
  /** Set when this app shows a review bundle read-only (`hypercube review FILE`). */
  review?: ReviewInfo | null
}

/** What a review (`hypercube review FILE`) shows: a bundle, read-only, not in the user's workspace. */
export interface ReviewInfo {
  /** The bundle's file name. */
  bundle: string
  /** When the bundle was written (ISO). */
  createdAt: string
  experiments: string[]
  runs: number
  points: number
  models: string[]
  /** Where "Import into my workspace" copies it: the data folder (and database) it names. */
  workspace: string
  /**
   * Opened from a running app (its review host): the banner's "Close review" stops it. false in
   * `hypercube review FILE`, which is stopped where it runs (Ctrl+C in its terminal).
   */
  closable: boolean
}

/** What "Import into my workspace" did: the import report, as the CLI prints it. */
/** What an MLflow import did (or, in a dry run, would do): `hypercube import-mlflow` and the UI's dialog. */
export interface MlflowImportReport {
  source: string
  dryRun: boolean
  imported: { experiments: number; runs: number; points: number; params: number; tags: number; artifacts: number; datasetInputs: number; loggedModels: number; registeredModels: number; modelVersions: number; aliases: number }
  skipped: { experiments: string[]; runs: string[]; loggedModels: string[]; registeredModels: string[]; modelVersions: string[] }
  /** Points MLflow holds twice, exactly alike (same key, step, timestamp and value): Hypercube stores such a point once. */
  duplicatePointsAbsorbed: number
  /** Fields kept as tags, by tag key, with how many entities carry it. */
  keptAsTags: Record<string, number>
  /** What could not be imported, and why. */
  problems: string[]
}

export interface ReviewImportResult {
  report: string
  imported: number
  skipped: number
  problems: string[]
}

/**
 * Where the HTTP door runs and how it is doing. In the desktop app it is a child process that
 * is restarted after a crash; after 3 crashes in 5 minutes it stays down ('failed') and the
 * error names its log file.
 */
export interface ApiDoorState {
  state: 'in-process' | 'starting' | 'running' | 'restarting' | 'failed' | 'stopped'
  url: string | null
  pid: number | null
  /** Crashes counted towards the limit (the last 5 minutes). */
  recentCrashes: number
  error: string | null
  logFile: string | null
}

/**
 * A bucket of consecutive steps of one metric: what a chart draws for a stretch of a series
 * too long to draw point by point. min/max are exact over the bucket's points (NaN excluded).
 */
export interface MetricBucket {
  /** The bucket's step range, inclusive: every point with fromStep ≤ step ≤ toStep is in it. */
  fromStep: bigint
  toStep: bigint
  count: number
  min: number | null
  max: number | null
  /** The bucket's first and last points (by step), for line drawing and time/epoch axes. */
  firstStep: bigint
  firstValue: number
  firstTimestamp: number
  lastStep: bigint
  lastValue: number
  lastTimestamp: number
  lastEpoch: number | null
}

/** A metric series for a chart: raw points when few enough, otherwise min/max buckets. */
export interface MetricSeries {
  runId: number
  key: string
  /** Points in the requested step range. */
  totalPoints: number
  mode: 'raw' | 'buckets'
  /** In raw mode: every point of the range, by step. */
  points: MetricPoint[]
  /** In bucket mode: at most maxPoints / 2 buckets, by step. */
  buckets: MetricBucket[]
}

/** A page of runs from a search. */
export interface RunSearchResult {
  runs: RunWithMetrics[]
  /** Opaque; pass it back to get the next page. Absent on the last page. */
  nextPageToken?: string
}

/** One tensor of two model versions, compared element-wise by the geometric plugins. */
export interface TensorComparison {
  name: string
  status: 'compared' | 'only_in_a' | 'only_in_b' | 'shape_changed'
  dtypeA: string | null
  dtypeB: string | null
  shapeA: number[] | null
  shapeB: number[] | null
  elements: number
  /** ‖a − b‖₂ (euclidean plugin), Σ|a − b| (manhattan plugin), 1 − cos(a, b); null unless compared. */
  l2: number | null
  l1: number | null
  cosineDistance: number | null
}

export interface VersionComparison {
  versionA: ModelVersion
  versionB: ModelVersion
  /** The union of both versions' performance metrics, side by side. */
  metrics: Array<{ key: string; a: JsonValue | null; b: JsonValue | null; delta: number | null }>
  /** Per-tensor comparison when both artifacts are local safetensors files; else null and why. */
  tensors: TensorComparison[] | null
  tensorsUnavailable: string | null
  bytesCompared: number
}

/** Progress of a long comparison, pushed while it runs. */
export interface ComparisonProgress {
  bytesDone: number
  bytesTotal: number
  tensor: string
}
