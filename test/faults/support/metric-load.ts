import type pg from 'pg'
import { HypercubeApiError, HypercubeClient } from '../../../src/client/hypercube-client'

/**
 * The load a fault lands in: a few runs, each logging metric batches in step order, every
 * batch with its own idempotency key and retried with that same key until the server
 * acknowledges it — what a careful training script does. A batch whose answer was lost (the
 * app killed after the commit) must then be stored once, not twice; one never acknowledged
 * before the fault must still end up stored once the load finishes.
 */

export interface Endpoint {
  url: string
  token: string
}

export interface LoadOptions {
  batches: number
  pointsPerBatch: number
  /** Give up (fail) if the load has not finished by then. */
  timeoutMs: number
  retryDelayMs?: number
  /** Per attempt; a hung request counts as 'timeout' and is retried. */
  requestTimeoutMs?: number
  /** What else may answer besides 200 and 503 (e.g. 'network' while the app itself is down). */
  retryOn?: ReadonlyArray<string>
}

/** The outcome of one attempt: an HTTP status, 'network' (no answer: refused, reset) or 'timeout'. */
export type Outcome = string

export class MetricLoad {
  readonly outcomes = new Map<Outcome, number>()
  /** Per run: the steps of every batch the server acknowledged. */
  readonly acknowledged: number[][]
  /** First message of each non-200 status, for the summary and for assertions on wording. */
  readonly messages = new Map<Outcome, string>()
  private acknowledgedBatches = 0
  private waiters: Array<{ batches: number; resolve: () => void }> = []
  private faultAt: number | undefined
  private lastFailureAt: number | undefined

  constructor(
    private readonly endpoint: () => Endpoint,
    readonly runIds: readonly number[],
    private readonly options: LoadOptions
  ) {
    this.acknowledged = runIds.map(() => [])
  }

  get metricName(): string {
    return 'loss'
  }

  get totalBatches(): number {
    return this.runIds.length * this.options.batches
  }

  /** Resolves once this many batches (over all runs) were acknowledged. */
  acknowledgedAtLeast(batches: number): Promise<void> {
    if (this.acknowledgedBatches >= batches) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push({ batches, resolve }))
  }

  /** Marks the moment of the fault: `outageMs` is measured from here to the last failed attempt. */
  markFault(): void {
    this.faultAt = Date.now()
  }

  /** From the fault to the last attempt that failed (0 when none failed after it). */
  get outageMs(): number {
    if (this.faultAt === undefined || this.lastFailureAt === undefined || this.lastFailureAt < this.faultAt) return 0
    return this.lastFailureAt - this.faultAt
  }

  count(outcome: Outcome): number {
    return this.outcomes.get(outcome) ?? 0
  }

  /** Outcomes other than those given (the test says which it tolerates). */
  unexpectedOutcomes(allowed: readonly Outcome[]): Record<Outcome, number> {
    return Object.fromEntries([...this.outcomes].filter(([outcome]) => !allowed.includes(outcome)))
  }

  /** Runs every worker to the end; rejects if a batch got an answer it must not retry, or on timeout. */
  async run(): Promise<void> {
    const deadline = Date.now() + this.options.timeoutMs
    await Promise.all(this.runIds.map((runId, index) => this.worker(runId, index, deadline)))
  }

  private async worker(runId: number, index: number, deadline: number): Promise<void> {
    const { batches, pointsPerBatch } = this.options
    const retryOn = new Set(['503', ...(this.options.retryOn ?? [])])
    for (let batch = 0; batch < batches; batch++) {
      const steps = Array.from({ length: pointsPerBatch }, (_, i) => batch * pointsPerBatch + i)
      const points = steps.map((step) => ({ key: this.metricName, value: 1 / (step + 1), step }))
      const key = `fault-run-${runId}-batch-${batch}`
      for (;;) {
        const outcome = await this.attempt(runId, points, key)
        this.note(outcome)
        if (outcome === '200') {
          this.acknowledged[index]!.push(...steps)
          this.acknowledgedBatches++
          this.waiters = this.waiters.filter((waiter) => (this.acknowledgedBatches >= waiter.batches ? (waiter.resolve(), false) : true))
          break
        }
        this.lastFailureAt = Date.now()
        if (!retryOn.has(outcome)) {
          throw new Error(`run ${runId} batch ${batch}: answered ${outcome} (${this.messages.get(outcome) ?? ''}), which a client must not retry`)
        }
        if (Date.now() > deadline) throw new Error(`run ${runId} batch ${batch}: still failing (${outcome}) after ${this.options.timeoutMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, this.options.retryDelayMs ?? 50))
      }
    }
  }

  private async attempt(runId: number, points: Array<{ key: string; value: number; step: number }>, key: string): Promise<Outcome> {
    const timeoutMs = this.options.requestTimeoutMs ?? 20_000
    const client = new HypercubeClient({
      ...this.endpoint(),
      fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) })
    })
    try {
      await client.logBatch(runId, points, key)
      return '200'
    } catch (error) {
      if (error instanceof HypercubeApiError) {
        const outcome = String(error.status)
        if (!this.messages.has(outcome)) this.messages.set(outcome, error.message)
        return outcome
      }
      const name = (error as Error).name
      const outcome = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network'
      if (!this.messages.has(outcome)) this.messages.set(outcome, String((error as Error).cause ?? (error as Error).message))
      return outcome
    }
  }

  private note(outcome: Outcome): void {
    this.outcomes.set(outcome, this.count(outcome) + 1)
  }
}

export interface ExactlyOnceReport {
  acknowledged: number
  stored: number
  /** Steps stored more than once (the extra rows). */
  duplicates: number
  /** Acknowledged steps not stored. */
  missing: number
  /** Stored steps no acknowledged batch sent. */
  unexpected: number
}

/** Counts, per run, how often each step of the load's metric is stored, against what was acknowledged. */
export async function checkExactlyOnce(db: pg.Client, load: MetricLoad): Promise<ExactlyOnceReport> {
  const report: ExactlyOnceReport = { acknowledged: 0, stored: 0, duplicates: 0, missing: 0, unexpected: 0 }
  for (const [index, runId] of load.runIds.entries()) {
    const { rows } = await db.query<{ step: string; n: string }>(
      'SELECT step::text, count(*)::text AS n FROM ml_metric_point WHERE run_id = $1 AND metric_name = $2 GROUP BY step',
      [runId, load.metricName]
    )
    const stored = new Map(rows.map((row) => [Number(row.step), Number(row.n)]))
    const acknowledged = new Set(load.acknowledged[index])
    report.acknowledged += load.acknowledged[index]!.length
    for (const [step, n] of stored) {
      report.stored += n
      if (n > 1) report.duplicates += n - 1
      if (!acknowledged.has(step)) report.unexpected += 1
    }
    for (const step of acknowledged) if (!stored.has(step)) report.missing += 1
  }
  return report
}

/** One line per scenario in the suite's output. */
export function summarize(scenario: string, load: MetricLoad, report: ExactlyOnceReport, extra: Record<string, string | number> = {}): string {
  const outcomes = [...load.outcomes].map(([outcome, n]) => `${outcome}×${n}`).join(' ')
  const more = Object.entries(extra).map(([name, value]) => `${name} ${value}`)
  return [
    `[faults] ${scenario}: acknowledged ${report.acknowledged} points, stored ${report.stored}, duplicates ${report.duplicates}, missing ${report.missing}, unexpected ${report.unexpected}`,
    `503s ${load.count('503')}`,
    `attempts ${outcomes}`,
    `outage ${load.outageMs} ms`,
    ...more
  ].join('; ')
}

/** An experiment with `count` running runs to load. */
export async function startRuns(endpoint: Endpoint, count: number, name: string): Promise<number[]> {
  const client = new HypercubeClient(endpoint)
  const experiment = await client.createExperiment({ name: `${name}-${Date.now()}` })
  const runs = await Promise.all(Array.from({ length: count }, (_, i) => client.startRun({ experiment_id: experiment.experiment_id, run_name: `load-${i}` })))
  return runs.map((run) => run.run_id)
}
