import { z } from 'zod'
import type {
  ApiDoorState,
  Artifact,
  Checkpoint,
  ComparisonProgress,
  Deployment,
  DeploymentEvent,
  HealthCheck,
  ModelVersion,
  VersionComparison,
  Experiment,
  ExperimentSummary,
  ModelAlias,
  LeaderboardEntry,
  MetricSeries,
  RunKeys,
  RunStatus,
  RunWithMetrics,
  ReviewImportResult,
  MlflowImportReport,
  SystemStatus
} from './domain'
import { EXPERIMENT_STATUSES } from './domain'
import type { PluginInfo } from './plugins'
import { MAX_READ_BYTES, MAX_UPLOAD_CHUNK_BYTES, type ArtifactBytes, type ArtifactFolderListing, type SafetensorsSummary, type VersionArtifactLocation } from './artifact-browser'
import type { ErrorInfo } from './errors'
import { BUNDLE_CONFLICT_MODES, type BundleCheck, type BundleExportEstimate, type BundleExportResult, type BundleImportReport, type BundleSaveResult, type OpenReview } from './bundles'
import { groupedSeriesInput, type GroupedSeries } from './grouped-series'
import { aliasName, deployModelInput, experimentId, id, int64, LIMITS, name, rollbackInput, setAliasInput, tags, text } from './schemas'

export { EVENT_CHANNEL, INVOKE_CHANNEL } from './contract-channels'

/**
 * The one contract between renderer and main: every call's name, its input schema (parsed in
 * main before any service sees the input), its result type, and every event main pushes.
 * Electron IPC carries it in the desktop app; the serve-mode transport (HTTP + WebSocket,
 * src/main/http/serve-ui) carries the same calls and events to a browser.
 */
/** A token the core handed out for one upload, export, staged bundle or review (128 random bits as hex). */
const handle = (what: string) => z.string().regex(/^[0-9a-f]{32}$/, `must be ${what}`)
const requestId = z.string().min(1).max(64)
/** One chunk of a file sent from the window (an artifact, a review bundle), in order, as base64. */
const uploadChunkInput = z
  .object({
    uploadId: handle('an upload id'),
    offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    base64: z
      .string()
      .max(Math.ceil(MAX_UPLOAD_CHUNK_BYTES / 3) * 4, `must encode at most ${MAX_UPLOAD_CHUNK_BYTES} bytes`)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
  })
  .strict()
const bundleRunIds = z.array(id).min(1).max(50_000).optional()

const pluginName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a plugin name (lowercase letters, digits, _ or -)')

export const calls = {
  'system.status': { input: z.object({}).strict() },
  /** Where scripts log to: the API URL and token, for the "log your first run" empty states. */
  'system.apiInfo': { input: z.object({}).strict() },

  'experiments.list': { input: z.object({ statuses: z.array(z.enum(EXPERIMENT_STATUSES)).optional() }).strict() },
  'experiments.get': { input: z.object({ experimentId }).strict() },
  'experiments.create': { input: z.object({ name, description: text(LIMITS.description).optional() }).strict() },
  /** Rename, describe, archive (status 'archived') and restore (status 'active'). */
  'experiments.update': {
    input: z
      .object({
        experimentId,
        name: name.optional(),
        description: text(LIMITS.description).optional(),
        status: z.enum(EXPERIMENT_STATUSES).optional()
      })
      .strict()
  },
  /** Experiment tags: set one (the others are kept) or remove one. */
  'experiments.setTag': { input: z.object({ experimentId, key: text(LIMITS.tagKey, 1), value: text(LIMITS.tagValue) }).strict() },
  'experiments.deleteTag': { input: z.object({ experimentId, key: text(LIMITS.tagKey, 1) }).strict() },
  /** Soft delete and restore, MLflow's experiment lifecycle (the same rule path as the MLflow door's experiments/delete). */
  'experiments.delete': { input: z.object({ experimentId }).strict() },
  'experiments.restore': { input: z.object({ experimentId }).strict() },

  /** Every run of an experiment with its latest metrics (without logs and stack traces); `deleted`: the soft-deleted ones instead. */
  /** Newest first; `limit` asks for only the first runs (the table's first screen, shown while the rest load). */
  'runs.list': { input: z.object({ experimentId, deleted: z.boolean().default(false), limit: z.number().int().min(1).max(50_000).optional() }).strict() },
  /**
   * The runs of an experiment matching a filter in the run filter language (shared/run-filter.ts);
   * an invalid filter is an invalid_argument error on field 'filter' whose message names the position.
   */
  'runs.search': {
    input: z
      .object({
        experimentId,
        filter: z.string().max(10_000),
        maxResults: z.number().int().min(1).max(50_000).default(50_000),
        deleted: z.boolean().default(false)
      })
      .strict()
  },
  /** Table rows for these runs, e.g. the ones a pushed event said changed; with `deleted`, only the runs in that state. */
  'runs.rows': { input: z.object({ runIds: z.array(id).min(1).max(200), deleted: z.boolean().optional() }).strict() },
  /** The param, metric and tag keys of an experiment's runs: the filter box's autocomplete and its check for misspelled keys. */
  'runs.keys': { input: z.object({ experimentId }).strict() },
  /** The runs table's bulk actions: one tag set on, soft delete of, or restore of several runs. */
  'runs.tagMany': { input: z.object({ runIds: z.array(id).min(1).max(50_000), key: text(LIMITS.tagKey, 1), value: text(LIMITS.tagValue) }).strict() },
  'runs.deleteMany': { input: z.object({ runIds: z.array(id).min(1).max(50_000) }).strict() },
  'runs.restoreMany': { input: z.object({ runIds: z.array(id).min(1).max(50_000) }).strict() },
  'runs.get': { input: z.object({ runId: id }).strict() },
  /** The run an MLflow run id (its uuid) names: MLflow's links (#/experiments/1/runs/<uuid>) open it. */
  'runs.findByUuid': { input: z.object({ runUuid: z.string().regex(/^[0-9a-f]{32}$/, 'an MLflow run id is 32 hexadecimal digits') }).strict() },
  'runs.checkpoints': { input: z.object({ runId: id }).strict() },
  'runs.rename': { input: z.object({ runId: id, name }).strict() },
  /** Sets these tags, keeping the others. A run's note is its tag mlflow.note.content, where MLflow keeps it. */
  'runs.setTags': { input: z.object({ runId: id, tags }).strict() },
  'runs.deleteTag': { input: z.object({ runId: id, key: text(LIMITS.tagKey, 1) }).strict() },
  /** One run's soft delete and restore, from its page (MLflow's lifecycle; the table's bulk calls are runs.deleteMany / restoreMany). */
  'runs.delete': { input: z.object({ runId: id }).strict() },
  'runs.restore': { input: z.object({ runId: id }).strict() },
  'runs.isDeleted': { input: z.object({ runId: id }).strict() },
  /** One chart's data: raw points, or min/max buckets when the step range holds more than maxPoints. */
  'runs.metricSeries': {
    input: z
      .object({
        runId: id,
        key: text(LIMITS.metricKey, 1),
        maxPoints: z.number().int().min(10).max(100_000).default(2_000),
        fromStep: int64.optional(),
        toStep: int64.optional()
      })
      .strict()
  },
  /**
   * A grouped chart's data: the runs asked (the runs table's rows) grouped by `params.<key>` or
   * `tags.<key>`, and per group and key its mean, min, max, std and run count per step bucket,
   * computed in PostgreSQL over every one of them.
   */
  'runs.groupedSeries': { input: groupedSeriesInput },
  'artifacts.list': { input: z.object({ runId: id }).strict() },
  /** Re-reads a stored artifact and compares its BLAKE3 and size with what was recorded. */
  'artifacts.verify': { input: z.object({ artifactId: id }).strict() },
  /** Every stored file below a folder of a run (the artifact browser's tree), with its registration. */
  'artifacts.browse': { input: z.object({ runId: id, prefix: z.string().max(LIMITS.path).default('') }).strict() },
  /** Bytes of a stored file for a preview (base64; at most MAX_READ_BYTES a call). */
  'artifacts.read': {
    input: z.object({ runId: id, path: z.string().max(LIMITS.path), offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0), length: z.number().int().min(0).max(MAX_READ_BYTES) }).strict()
  },
  /** A safetensors file's tensor table from its header (no weights read). */
  'artifacts.safetensors': { input: z.object({ runId: id, path: z.string().max(LIMITS.path) }).strict() },
  /** An upload from the UI: begin (the file's path and size), chunks in order, finish; the same write as the API's PUT. */
  'artifacts.uploadBegin': { input: z.object({ runId: id, path: z.string().max(LIMITS.path), sizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict() },
  'artifacts.uploadChunk': { input: uploadChunkInput },
  'artifacts.uploadFinish': { input: z.object({ uploadId: z.string().regex(/^[0-9a-f]{32}$/, 'must be an upload id') }).strict() },
  'artifacts.uploadCancel': { input: z.object({ uploadId: z.string().regex(/^[0-9a-f]{32}$/, 'must be an upload id') }).strict() },
  /**
   * A folder (or the whole run) as a zip pulled over the contract, for the Electron window (serve
   * mode downloads it by URL): begin, then next until done (at most MAX_READ_BYTES each), or cancel.
   */
  'artifacts.zipBegin': { input: z.object({ runId: id, prefix: z.string().max(LIMITS.path).default('') }).strict() },
  'artifacts.zipNext': { input: z.object({ downloadId: z.string().regex(/^[0-9a-f]{32}$/, 'must be a download id') }).strict() },
  'artifacts.zipCancel': { input: z.object({ downloadId: z.string().regex(/^[0-9a-f]{32}$/, 'must be a download id') }).strict() },
  'runs.leaderboard': {
    input: z
      .object({
        experimentId,
        metricKey: text(LIMITS.metricKey, 1),
        direction: z.enum(['asc', 'desc']),
        limit: z.number().int().min(1).max(10_000).default(100)
      })
      .strict()
  },

  /** The k runs of the experiment nearest to one run, under a geometric plugin (computed in its host). */
  'compare.nearestRuns': {
    input: z.object({ experimentId, runId: id, plugin: pluginName, k: z.number().int().min(1).max(100).default(5) }).strict()
  },
  /** Pairwise distances between the compared runs, under a geometric plugin. */
  'compare.distanceMatrix': {
    input: z.object({ experimentId, runIds: z.array(id).min(1).max(100), plugin: pluginName }).strict()
  },

  'models.list': { input: z.object({}).strict() },
  'models.versions': { input: z.object({ modelName: name }).strict() },
  'models.version': { input: z.object({ versionId: id }).strict() },
  /** Approve / reject / deprecate; main refuses moves the workflow does not allow (conflict on approval_status). */
  'models.review': {
    input: z.object({ versionId: id, decision: z.enum(['approve', 'reject', 'deprecate']), notes: text(LIMITS.notes).nullable().default(null) }).strict()
  },
  /** Re-reads a version's local artifact file and compares its BLAKE3 with the registered one. */
  'models.verifyArtifact': { input: z.object({ versionId: id }).strict() },
  /** Where a version's files can be browsed: a folder of a run this app stores, or why not. */
  'models.versionArtifacts': { input: z.object({ versionId: id }).strict() },
  /** "Register as model": a folder of a run becomes a new version of a new or existing model (ModelService.registerVersion). */
  'models.registerFromRun': {
    input: z.object({ runId: id, folder: z.string().max(LIMITS.path), modelName: name, description: text(LIMITS.description).default('') }).strict()
  },
  /** Aliases (@champion…): setting one that exists moves it to the version. */
  'models.aliases': { input: z.object({ modelName: name }).strict() },
  'models.setAlias': { input: setAliasInput },
  'models.deleteAlias': { input: z.object({ modelName: name, alias: aliasName }).strict() },
  /**
   * Two versions side by side; progress of the per-tensor comparison arrives as
   * 'models.compareProgress' events carrying the caller's requestId.
   */
  'models.compare': { input: z.object({ versionIdA: id, versionIdB: id, requestId: z.string().min(1).max(64) }).strict() },

  'deployments.list': { input: z.object({ modelName: name.optional() }).strict() },
  'deployments.history': { input: z.object({ modelName: name, target: text(LIMITS.target, 1).optional() }).strict() },
  /** The health history of the version deployed on a target now, since it was deployed, newest first. */
  'deployments.healthChecks': {
    input: z.object({ modelName: name, target: text(LIMITS.target, 1), limit: z.number().int().min(1).max(1_000).default(100) }).strict()
  },
  /** Deploys an approved version (the actor is the user main runs as); schema as the service's. */
  'deployments.deploy': { input: deployModelInput },
  'deployments.promote': { input: rollbackInput },
  'deployments.abort': { input: rollbackInput },
  'deployments.rollback': { input: rollbackInput },

  'plugins.list': { input: z.object({}).strict() },
  'plugins.reload': { input: z.object({ name: pluginName }).strict() },
  'plugins.enable': { input: z.object({ name: pluginName }).strict() },
  'plugins.disable': { input: z.object({ name: pluginName }).strict() },

  'settings.get': { input: z.object({}).strict() },
  /**
   * Saves the database for the next start: a server URL (validated by connecting first:
   * PostgreSQL ≥ 14, durability on) or null for the embedded server.
   */
  'settings.setDatabase': { input: z.object({ url: z.string().max(2_048).nullable() }).strict() },
  /** A new API token, in force at once; scripts holding the old one get 401 from now on. */
  'settings.rotateToken': { input: z.object({}).strict() },
  /** The API port for the next start (null: the default); ports below 1024 need privileges. */
  'settings.setApiPort': { input: z.object({ port: z.number().int().min(1024).max(65535).nullable() }).strict() },
  /** The name recorded as reviewer of approvals, rejections, deprecations and deploys; null for the OS user's full name. */
  'settings.setReviewerName': { input: z.object({ name: text(LIMITS.name).nullable() }).strict() },
  /** In a review (`hypercube review FILE`): imports the bundle into the user's workspace; runs already there are skipped, kept both or replaced. */
  'review.importIntoWorkspace': { input: z.object({ onConflict: z.enum(['skip', 'keep-both', 'replace']).default('skip') }).strict() },
  /**
   * In a review opened from a running app: "Close review" from its own banner stops it (server
   * stopped, folder removed) just after answering. `hypercube review FILE` answers unavailable:
   * it is stopped where it runs.
   */
  'review.close': { input: z.object({}).strict() },
  /**
   * Review bundles (.hcube) from the window, the same exporter and importer as `hypercube export`
   * and `hypercube import`. An export of an experiment (or of some of its runs): its size
   * estimate first, then the export to a temporary file — progress as 'bundles.progress' events
   * carrying the caller's requestId — which serve mode downloads once from
   * /ui/bundles/exports/<exportId> and the desktop app saves with bundles.saveExport.
   */
  'bundles.estimate': { input: z.object({ experimentId, runIds: bundleRunIds }).strict() },
  'bundles.export': { input: z.object({ experimentId, runIds: bundleRunIds, artifacts: z.boolean(), requestId }).strict() },
  /** The same for a registered model: its versions with approvals, aliases and deployments, and their source runs. */
  'bundles.estimateModel': { input: z.object({ modelName: name }).strict() },
  'bundles.exportModel': { input: z.object({ modelName: name, artifacts: z.boolean(), requestId }).strict() },
  /**
   * The desktop app: main asks where to save the written export (its save dialog) and moves the
   * file there, so the window never holds it; once. Cancelled, the export stays waiting (an hour)
   * to be saved again. Serve mode has no such dialog (unavailable): the browser downloads the URL.
   */
  'bundles.saveExport': { input: z.object({ exportId: handle('an export id') }).strict() },
  /** An upload of a bundle from the window: begin, chunks in order, finish (as artifacts.upload*), streamed to a temporary file. */
  'bundles.uploadBegin': { input: z.object({ name: text(LIMITS.path, 1), sizeBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }).strict() },
  'bundles.uploadChunk': { input: uploadChunkInput },
  'bundles.uploadFinish': { input: z.object({ uploadId: handle('an upload id') }).strict() },
  'bundles.uploadCancel': { input: z.object({ uploadId: handle('an upload id') }).strict() },
  /** Checks every member of an uploaded bundle against its manifest (a refusal names the member) and lists its runs already here. */
  'bundles.check': { input: z.object({ bundleId: handle('a bundle id'), requestId }).strict() },
  /** Imports an uploaded bundle into this workspace; runs already here are skipped, kept both or replaced. */
  'bundles.import': { input: z.object({ bundleId: handle('a bundle id'), onConflict: z.enum(BUNDLE_CONFLICT_MODES), requestId }).strict() },
  'bundles.discard': { input: z.object({ bundleId: handle('a bundle id') }).strict() },
  /**
   * Opens an uploaded bundle read-only without importing it: a core of its own serves it on
   * loopback; the answer's one-time login URL opens it in a new tab. Closed by reviews.close or
   * when the app stops.
   */
  'reviews.open': { input: z.object({ bundleId: handle('a bundle id'), requestId }).strict() },
  'reviews.list': { input: z.object({}).strict() },
  /** A new one-time login URL of an open review (to open it again). */
  'reviews.loginUrl': { input: z.object({ reviewId: handle('a review id') }).strict() },
  'reviews.close': { input: z.object({ reviewId: handle('a review id') }).strict() },
  /**
   * Brings MLflow history in (as `hypercube import-mlflow`): an mlruns folder, an mlflow.db, a
   * postgresql:// store or a running server's http(s):// URL, read by main. Progress arrives as
   * 'imports.progress' events carrying the caller's requestId. A dry run reports and writes nothing.
   */
  'imports.mlflow': {
    input: z
      .object({
        source: text(4096, 1),
        experiments: z.array(name).max(1000).optional(),
        artifactsDir: text(4096, 1).optional(),
        /** A running server's token (else MLFLOW_TRACKING_TOKEN in main's environment). */
        token: text(4096, 1).optional(),
        dryRun: z.boolean(),
        requestId: z.string().min(1).max(64)
      })
      .strict()
  }
} as const

/** A runs-table row: a run with its latest metrics, minus the large text fields. */
export type RunRow = Omit<RunWithMetrics, 'logs' | 'stackTrace' | 'errorMessage'> & { hasError: boolean }

export interface ApiInfo {
  /** The HTTP API's base URL (…/v1), or null when the core runs without HTTP. */
  apiUrl: string | null
  token: string | null
  /** Where the token is kept, for people who would rather read it from disk. */
  tokenFile: string
}

export interface CallResults {
  'system.status': SystemStatus
  'system.apiInfo': ApiInfo
  'experiments.list': ExperimentSummary[]
  'experiments.get': Experiment
  'experiments.create': Experiment
  'experiments.update': Experiment
  'experiments.setTag': Experiment
  'experiments.deleteTag': Experiment
  'experiments.delete': Experiment
  'experiments.restore': Experiment
  'runs.list': RunRow[]
  'runs.search': RunRow[]
  'runs.rows': RunRow[]
  'runs.keys': RunKeys
  /** How many runs were tagged. */
  'runs.tagMany': { tagged: number }
  /** The runs whose state changed (the others were in that state already). */
  'runs.deleteMany': { runIds: number[] }
  'runs.restoreMany': { runIds: number[] }
  'runs.get': RunWithMetrics
  'runs.findByUuid': { runId: number; experimentId: number }
  'runs.checkpoints': Checkpoint[]
  'runs.rename': RunWithMetrics
  'runs.setTags': RunWithMetrics
  'runs.deleteTag': RunWithMetrics
  'runs.delete': { runId: number; deleted: boolean }
  'runs.restore': { runId: number; deleted: boolean }
  'runs.isDeleted': boolean
  'runs.metricSeries': MetricSeries
  'runs.groupedSeries': GroupedSeries
  'artifacts.list': Artifact[]
  'artifacts.verify': ArtifactVerification
  'artifacts.browse': ArtifactFolderListing
  'artifacts.read': ArtifactBytes
  'artifacts.safetensors': SafetensorsSummary
  'artifacts.uploadBegin': { uploadId: string }
  'artifacts.uploadChunk': { received: number }
  'artifacts.uploadFinish': Artifact
  'artifacts.uploadCancel': Record<string, never>
  'artifacts.zipBegin': { downloadId: string; name: string }
  /** The zip's next bytes (base64) from `offset`; `done` with the last of them. */
  'artifacts.zipNext': { base64: string; offset: number; done: boolean }
  'artifacts.zipCancel': Record<string, never>
  'runs.leaderboard': LeaderboardEntry[]
  'compare.nearestRuns': Array<{ runId: number; distance: number }>
  'compare.distanceMatrix': DistanceMatrix
  'models.list': ModelSummary[]
  'models.versions': ModelVersion[]
  'models.version': ModelVersion
  'models.review': ModelVersion
  'models.verifyArtifact': ModelArtifactVerification
  'models.versionArtifacts': VersionArtifactLocation
  'models.registerFromRun': ModelVersion
  'models.aliases': ModelAlias[]
  'models.setAlias': ModelAlias[]
  'models.deleteAlias': ModelAlias[]
  'models.compare': VersionComparison
  'deployments.list': Deployment[]
  'deployments.history': DeploymentEvent[]
  'deployments.healthChecks': HealthCheck[]
  'deployments.deploy': Deployment
  'deployments.promote': Deployment
  'deployments.abort': Deployment
  'deployments.rollback': Deployment
  'plugins.list': PluginInfo[]
  'plugins.reload': PluginInfo
  'plugins.enable': PluginInfo
  'plugins.disable': PluginInfo
  'settings.get': AppSettings
  'review.importIntoWorkspace': ReviewImportResult
  'review.close': Record<string, never>
  'imports.mlflow': MlflowImportReport
  'bundles.estimate': BundleExportEstimate
  'bundles.export': BundleExportResult
  'bundles.estimateModel': BundleExportEstimate
  'bundles.exportModel': BundleExportResult
  'bundles.saveExport': BundleSaveResult
  'bundles.uploadBegin': { uploadId: string }
  'bundles.uploadChunk': { received: number }
  'bundles.uploadFinish': { bundleId: string; fileName: string; sizeBytes: number }
  'bundles.uploadCancel': Record<string, never>
  'bundles.check': BundleCheck
  'bundles.import': BundleImportReport
  'bundles.discard': Record<string, never>
  'reviews.open': { review: OpenReview; loginUrl: string }
  'reviews.list': OpenReview[]
  'reviews.loginUrl': { loginUrl: string }
  'reviews.close': Record<string, never>
  'settings.setDatabase': AppSettings
  'settings.rotateToken': AppSettings
  'settings.setApiPort': AppSettings
  'settings.setReviewerName': AppSettings
}

export interface ModelSummary {
  modelName: string
  versionCount: number
  latestVersionAt: string
}

/** Pairwise distances, row-major: matrix[i][j] = d(runIds[i], runIds[j]). */
export interface DistanceMatrix {
  runIds: number[]
  matrix: number[][]
  /** The feature keys the distances were computed over (params.x, metrics.y). */
  keys: string[]
}

export interface ModelArtifactVerification {
  versionId: number
  /** null when the artifact is not a local file (only local files can be re-read). */
  verified: boolean | null
  expectedBlake3: string | null
  actualBlake3: string | null
  reason: string | null
}

export interface AppSettings {
  dataDir: string
  /** The database this core runs on now. */
  database: { mode: 'embedded' | 'external'; description: string; serverVersion: string }
  /** What settings.json holds for the next start (password-free), and where it is. */
  savedDatabase: { mode: 'embedded' | 'external'; description: string }
  /** True when the command line or HYPERCUBE_DATABASE_URL overrides the saved choice. */
  databaseOverridden: boolean
  settingsFile: string
  api: ApiInfo & { port: number | null }
  /** The port settings.json asks for at the next start; null for the default. */
  savedApiPort: number | null
  /** Who reviews and deploys from this app: the saved name, else the OS user's full name. */
  reviewer: { name: string; saved: string | null; osDefault: string }
}

export interface ArtifactVerification {
  artifact: Artifact
  /** Whether the file's BLAKE3 (and size) equal what was recorded. */
  verified: boolean
  expectedBlake3: string | null
  actualBlake3: string
  expectedSizeBytes: number | null
  actualSizeBytes: number
}

export type CallName = keyof typeof calls
export type CallInput<Name extends CallName> = z.input<(typeof calls)[Name]['input']>

/** What crosses the boundary: errors keep their code and field. */
export type CallOutcome<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo }

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(calls, name)
}

/** Every event main pushes to the renderer, by name. */
export interface EventPayloads {
  // Payloads are small (ids and counts): they travel through PostgreSQL's NOTIFY from whichever
  // process wrote. A view fetches the details it shows.
  /** A run started, changed (params, tags, status), finished or was deleted. */
  'runs.changed': { runId: number; experimentId: number; status: RunStatus }
  /** Points were stored for a run; keys is null when there were too many to name (refresh all). */
  'metrics.logged': { runId: number; points: number; keys: string[] | null }
  'experiments.changed': { experimentId: number }
  /** A version was registered, reviewed, or its deployment state changed. */
  'models.versionChanged': { versionId: number; modelName: string }
  /** A deployment was made, promoted, aborted, rolled back, or health-checked. */
  'deployments.changed': { modelName: string; target: string }
  /** Main's event feed from PostgreSQL was interrupted: changes may have been missed, read again. */
  'events.resync': Record<string, never>
  /** The HTTP door started, crashed and restarted, or gave up. */
  'api.stateChanged': ApiDoorState
  /** A plugin's state changed (loaded, crashed, disabled…). */
  'plugins.changed': PluginInfo[]
  /** Progress of a models.compare call, for the caller that passed this requestId. */
  'models.compareProgress': ComparisonProgress & { requestId: string }
  /** Progress of an imports.mlflow call (metric points and runs done of all selected), for its requestId. */
  'imports.progress': { requestId: string; done: number; total: number; detail: string }
  /** Progress of a bundles.export, bundles.check, bundles.import or reviews.open call, for its requestId. */
  'bundles.progress': { requestId: string; done: number; total: number; detail: string }
  /** The reviews this app has open, each time one opens or closes (from anywhere: its own banner, too). */
  'reviews.changed': OpenReview[]
  /**
   * Not from main: the transport reports that it reconnected, so views refetch what they
   * might have missed while it was down.
   */
  'transport.reconnected': Record<string, never>
}

export type EventName = keyof EventPayloads
export type PushedEvent = { [Name in EventName]: { name: Name; payload: EventPayloads[Name] } }[EventName]

/** The API the renderer sees, whatever the transport. */
export interface HypercubeApi {
  invoke<Name extends CallName>(name: Name, input: CallInput<Name>): Promise<CallOutcome<CallResults[Name]>>
  /** Subscribes to every pushed event; the returned function unsubscribes. */
  onEvent(listener: (event: PushedEvent) => void): () => void
}
