import { z } from 'zod'
import type { RunStatus } from '../../shared/domain'
import { RUN_STATUSES } from '../../shared/domain'
import { Emitter, type Disposable, type Event } from '../../shared/event'

/** Raw notification payloads and a signal that some may have been missed (a NotificationListener). */
export interface NotificationSource {
  readonly onDidReceive: Event<string>
  readonly onDidReconnect: Event<void>
}

export interface RunChanged {
  runId: number
  experimentId: number
  status: RunStatus
}
export interface MetricsLogged {
  runId: number
  points: number
  /** The keys that received points; null when there were too many to name. */
  keys: string[] | null
}
export interface ExperimentChanged {
  experimentId: number
}
export interface ModelVersionChanged {
  versionId: number
  modelName: string
}
export interface DeploymentChanged {
  modelName: string
  target: string
}

const dbId = z.number().int().positive()
// Anything on the channel is validated: another process or instance (or a person with psql)
// can NOTIFY it, and a malformed payload must be dropped, not crash a listener.
const notification = z.discriminatedUnion('name', [
  z.object({ name: z.literal('runs.changed'), runId: dbId, experimentId: dbId, status: z.enum(RUN_STATUSES) }),
  z.object({ name: z.literal('metrics.logged'), runId: dbId, points: z.number().int().nonnegative(), keys: z.array(z.string()).nullable() }),
  z.object({ name: z.literal('experiments.changed'), experimentId: dbId }),
  z.object({ name: z.literal('models.versionChanged'), versionId: dbId, modelName: z.string() }),
  z.object({ name: z.literal('deployments.changed'), modelName: z.string(), target: z.string() })
])

/** How long metric announcements of one run are gathered into one event. */
export const METRICS_COALESCE_MS = 50

/**
 * The domain's events, heard from PostgreSQL (NOTIFY inside each writing transaction), so they
 * fire here whichever process or Hypercube instance wrote, and only for committed writes.
 * A training loop may commit dozens of metric batches a second: those are coalesced per run.
 */
export class DomainEvents implements Disposable {
  private readonly didChangeRun = new Emitter<RunChanged>()
  private readonly didLogMetrics = new Emitter<MetricsLogged>()
  private readonly didChangeExperiment = new Emitter<ExperimentChanged>()
  private readonly didChangeModelVersion = new Emitter<ModelVersionChanged>()
  private readonly didChangeDeployment = new Emitter<DeploymentChanged>()
  private readonly didMissEvents = new Emitter<void>()
  readonly onDidChangeRun = this.didChangeRun.event
  readonly onDidLogMetrics = this.didLogMetrics.event
  readonly onDidChangeExperiment = this.didChangeExperiment.event
  readonly onDidChangeModelVersion = this.didChangeModelVersion.event
  readonly onDidChangeDeployment = this.didChangeDeployment.event
  /** The feed was interrupted: events may have been missed, views should read again. */
  readonly onDidMissEvents = this.didMissEvents.event

  private readonly pendingMetrics = new Map<number, MetricsLogged>()
  private metricsTimer: ReturnType<typeof setTimeout> | undefined
  private readonly subscriptions: Disposable[]

  constructor(
    source: NotificationSource,
    private readonly onInvalid: (payload: string) => void = () => undefined
  ) {
    this.subscriptions = [source.onDidReceive((payload) => this.receive(payload)), source.onDidReconnect(() => this.didMissEvents.fire())]
  }

  private receive(payload: string): void {
    let parsed: z.infer<typeof notification>
    try {
      parsed = notification.parse(JSON.parse(payload))
    } catch {
      this.onInvalid(payload)
      return
    }
    switch (parsed.name) {
      case 'runs.changed':
        // Metrics gathered so far go first: a run seen as finished has its last points shown.
        this.flushMetrics()
        this.didChangeRun.fire({ runId: parsed.runId, experimentId: parsed.experimentId, status: parsed.status })
        break
      case 'metrics.logged':
        this.gatherMetrics({ runId: parsed.runId, points: parsed.points, keys: parsed.keys })
        break
      case 'experiments.changed':
        this.didChangeExperiment.fire({ experimentId: parsed.experimentId })
        break
      case 'models.versionChanged':
        this.didChangeModelVersion.fire({ versionId: parsed.versionId, modelName: parsed.modelName })
        break
      case 'deployments.changed':
        this.didChangeDeployment.fire({ modelName: parsed.modelName, target: parsed.target })
        break
    }
  }

  private gatherMetrics(logged: MetricsLogged): void {
    const pending = this.pendingMetrics.get(logged.runId)
    if (!pending) this.pendingMetrics.set(logged.runId, { ...logged, keys: logged.keys && [...logged.keys] })
    else {
      pending.points += logged.points
      if (pending.keys === null || logged.keys === null) pending.keys = null
      else for (const key of logged.keys) if (!pending.keys.includes(key)) pending.keys.push(key)
    }
    this.metricsTimer ??= setTimeout(() => this.flushMetrics(), METRICS_COALESCE_MS)
  }

  private flushMetrics(): void {
    if (this.metricsTimer) clearTimeout(this.metricsTimer)
    this.metricsTimer = undefined
    const batch = [...this.pendingMetrics.values()]
    this.pendingMetrics.clear()
    for (const logged of batch) this.didLogMetrics.fire(logged)
  }

  dispose(): void {
    if (this.metricsTimer) clearTimeout(this.metricsTimer)
    this.pendingMetrics.clear()
    for (const subscription of this.subscriptions) subscription.dispose()
    for (const emitter of [this.didChangeRun, this.didLogMetrics, this.didChangeExperiment, this.didChangeModelVersion, this.didChangeDeployment, this.didMissEvents]) {
      emitter.dispose()
    }
  }
}
