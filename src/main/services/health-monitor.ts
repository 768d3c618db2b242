import type { Deployment } from '../../shared/domain'
import type { Logger } from '../logging'
import type { ModelService } from './model-service'

export interface HealthMonitorOptions {
  models: ModelService
  logger: Logger
  /** Time between rounds of checks; default 30 s. */
  intervalMs?: number
  /** Time budget of one probe; past it the target counts as unhealthy. Default 5 s. */
  timeoutMs?: number
}

/**
 * Probes the health URL of every deployment that has one, on an interval, and records status
 * and latency against the deployment's SLA (see PgModelRepository.recordHealthCheck). Rounds
 * never overlap; a probe that hangs is cut off by its time budget.
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined
  private round: Promise<void> | undefined
  private disposed = false

  constructor(private readonly options: HealthMonitorOptions) {}

  start(): void {
    const interval = this.options.intervalMs ?? 30_000
    this.timer = setInterval(() => void this.checkAll(), interval)
    this.timer.unref()
  }

  /** One round over all monitored deployments; resolves when every probe is recorded. */
  checkAll(): Promise<void> {
    this.round ??= this.runRound().finally(() => (this.round = undefined))
    return this.round
  }

  private async runRound(): Promise<void> {
    if (this.disposed) return
    try {
      const deployments = await this.options.models.listMonitoredDeployments()
      await Promise.all(deployments.map((deployment) => this.check(deployment)))
    } catch (error) {
      this.options.logger.warn({ err: error }, 'health check round failed')
    }
  }

  private async check(deployment: Deployment): Promise<void> {
    const started = performance.now()
    let probe: { ok: boolean; statusCode: number | null; latencyMs: number | null; error: string | null; throughputRps?: number | null }
    try {
      const response = await fetch(deployment.health.url!, {
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
        redirect: 'manual'
      })
      const body = await response.arrayBuffer().catch(() => undefined)
      probe = {
        ok: response.status >= 200 && response.status < 300,
        statusCode: response.status,
        latencyMs: performance.now() - started,
        error: response.status >= 200 && response.status < 300 ? null : `HTTP ${response.status}`,
        throughputRps: reportedThroughput(body)
      }
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError'
      probe = { ok: false, statusCode: null, latencyMs: timedOut ? performance.now() - started : null, error: timedOut ? 'timed out' : (error as Error).message }
    }
    if (this.disposed) return
    try {
      await this.options.models.recordHealthCheck(deployment, probe)
    } catch (error) {
      this.options.logger.warn({ err: error, deployment: deployment.id }, 'could not record a health check')
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true
    if (this.timer) clearInterval(this.timer)
    await this.round
  }
}

/**
 * A probe measures latency and availability itself; throughput only the service knows, so a
 * health URL may report it as JSON `{"throughput_rps": <number>}` (small bodies only).
 */
export function reportedThroughput(body: ArrayBuffer | undefined): number | null {
  if (!body || body.byteLength === 0 || body.byteLength > 65_536) return null
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as unknown
    const value = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>).throughput_rps : undefined
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null
  } catch {
    return null
  }
}
