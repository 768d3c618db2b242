import { z } from 'zod'
import type {
  Artifact,
  Checkpoint,
  Experiment,
  ExperimentSummary,
  LeaderboardEntry,
  MetricSeries,
  RunStatus,
  RunWithMetrics,
  SystemStatus
} from './domain'
import { EXPERIMENT_STATUSES } from './domain'
import type { ErrorInfo } from './errors'
import { id, int64, LIMITS, name, text } from './schemas'

export { EVENT_CHANNEL, INVOKE_CHANNEL } from './contract-channels'

/**
 * The one contract between renderer and main: every call's name, its input schema (parsed in
 * main before any service sees the input), its result type, and every event main pushes.
 * Electron IPC carries it in the desktop app; the serve-mode transport (HTTP + WebSocket,
 * src/main/http/serve-ui) carries the same calls and events to a browser.
 */
export const calls = {
  'system.status': { input: z.object({}).strict() },
  /** Where scripts log to: the API URL and token, for the "log your first run" empty states. */
  'system.apiInfo': { input: z.object({}).strict() },

  'experiments.list': { input: z.object({ statuses: z.array(z.enum(EXPERIMENT_STATUSES)).optional() }).strict() },
  'experiments.get': { input: z.object({ experimentId: id }).strict() },
  'experiments.create': { input: z.object({ name, description: text(LIMITS.description).optional() }).strict() },
  /** Rename, describe, archive (status 'archived') and restore (status 'active'). */
  'experiments.update': {
    input: z
      .object({
        experimentId: id,
        name: name.optional(),
        description: text(LIMITS.description).optional(),
        status: z.enum(EXPERIMENT_STATUSES).optional()
      })
      .strict()
  },

  /** Every run of an experiment with its latest metrics (without logs and stack traces). */
  'runs.list': { input: z.object({ experimentId: id }).strict() },
  /**
   * The runs of an experiment matching a filter in the run filter language (shared/run-filter.ts);
   * an invalid filter is an invalid_argument error on field 'filter' whose message names the position.
   */
  'runs.search': {
    input: z
      .object({ experimentId: id, filter: z.string().max(10_000), maxResults: z.number().int().min(1).max(50_000).default(50_000) })
      .strict()
  },
  /** Table rows for these runs, e.g. the ones a pushed event said changed. */
  'runs.rows': { input: z.object({ runIds: z.array(id).min(1).max(200) }).strict() },
  'runs.get': { input: z.object({ runId: id }).strict() },
  'runs.checkpoints': { input: z.object({ runId: id }).strict() },
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
  'artifacts.list': { input: z.object({ runId: id }).strict() },
  /** Re-reads a stored artifact and compares its BLAKE3 and size with what was recorded. */
  'artifacts.verify': { input: z.object({ artifactId: id }).strict() },
  'runs.leaderboard': {
    input: z
      .object({
        experimentId: id,
        metricKey: text(LIMITS.metricKey, 1),
        direction: z.enum(['asc', 'desc']),
        limit: z.number().int().min(1).max(10_000).default(100)
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
  'runs.list': RunRow[]
  'runs.search': RunRow[]
  'runs.rows': RunRow[]
  'runs.get': RunWithMetrics
  'runs.checkpoints': Checkpoint[]
  'runs.metricSeries': MetricSeries
  'artifacts.list': Artifact[]
  'artifacts.verify': ArtifactVerification
  'runs.leaderboard': LeaderboardEntry[]
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
  /** A run started, changed (params, tags, status) or finished; fetch it for the details. */
  'runs.changed': { runId: number; experimentId: number; status: RunStatus }
  /** Points were stored for a run. */
  'metrics.logged': { runId: number; points: number; keys: string[] }
  'experiments.changed': Experiment
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
