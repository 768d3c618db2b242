import type { Logger } from '../logging'

/** What the purger needs of the metric store (PgMetricRepository.purgeDeletedSlice). */
export interface PurgeableMetricStore {
  /** Removes at most `limit` stored rows of deleted runs; 0 when nothing is left. */
  purgeDeletedSlice(limit: number): Promise<number>
}

/** Rows (chunks of up to 1,024 points, or rollup rows) removed per statement: a few ms each. */
const SLICE_ROWS = 500
const DEFAULT_INTERVAL_MS = 5_000

/**
 * Removes the metric points of permanently deleted runs in the background, in bounded slices,
 * so deleting a run with millions of points returns at once and never runs one statement that
 * scans or locks the whole table. Runs in main only (one purger per app; two apps on one
 * server share the queue safely, see ml_purge_metrics).
 */
export class MetricPurger {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<number> | undefined
  private disposed = false

  constructor(
    private readonly store: PurgeableMetricStore,
    private readonly logger: Logger,
    private readonly intervalMs = DEFAULT_INTERVAL_MS
  ) {}

  start(): void {
    if (this.timer || this.disposed) return
    this.timer = setInterval(() => void this.drain().catch((error: unknown) => this.logger.warn({ err: error }, 'metric purge failed; retrying later')), this.intervalMs)
    this.timer.unref()
  }

  /** Purges until nothing is queued; returns the rows removed. Concurrent calls share one pass. */
  drain(): Promise<number> {
    this.running ??= this.purgeAll().finally(() => (this.running = undefined))
    return this.running
  }

  private async purgeAll(): Promise<number> {
    let total = 0
    while (!this.disposed) {
      const removed = await this.store.purgeDeletedSlice(SLICE_ROWS)
      if (removed === 0) break
      total += removed
    }
    if (total > 0) this.logger.info({ rows: total }, 'purged the metric points of deleted runs')
    return total
  }

  async dispose(): Promise<void> {
    this.disposed = true
    if (this.timer) clearInterval(this.timer)
    await this.running?.catch(() => undefined)
  }
}
