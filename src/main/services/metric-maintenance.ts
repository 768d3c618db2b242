import type { Logger } from '../logging'
import type { FoldThresholds } from '../repositories/metric-repository'

/** What the background work needs of the metric store (PgMetricRepository). */
export interface MaintainedMetricStore {
  /** Removes at most `limit` stored rows of deleted runs; 0 when nothing is left. */
  purgeDeletedSlice(limit: number): Promise<number>
  /** Folds about `maxPoints` points of runs due for a fold into the rollups; 0 when none is due. */
  foldPendingSlice(maxPoints: number, due?: FoldThresholds): Promise<number>
}

/**
 * Work done in bounded slices in the background, until a slice reports nothing left: on a
 * timer, and at once on drain(). Concurrent drains share one pass; a failed slice is logged
 * and tried again at the next tick.
 */
export class BackgroundDrain {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<number> | undefined
  private disposed = false

  constructor(
    private readonly what: string,
    private readonly slice: () => Promise<number>,
    private readonly logger: Logger,
    private readonly intervalMs: number
  ) {}

  start(): void {
    if (this.timer || this.disposed) return
    this.timer = setInterval(() => void this.drain().catch((error: unknown) => this.logger.warn({ err: error }, `${this.what} failed; retrying later`)), this.intervalMs)
    this.timer.unref()
  }

  /** Runs slices until one reports nothing left; returns the sum of what they reported. */
  drain(): Promise<number> {
    this.running ??= this.runAll().finally(() => (this.running = undefined))
    return this.running
  }

  private async runAll(): Promise<number> {
    let total = 0
    while (!this.disposed) {
      const done = await this.slice()
      if (done === 0) break
      total += done
    }
    if (total > 0) this.logger.debug({ total }, `${this.what} done`)
    return total
  }

  async dispose(): Promise<void> {
    this.disposed = true
    if (this.timer) clearInterval(this.timer)
    await this.running?.catch(() => undefined)
  }
}

/** Rows (chunks of up to 1,024 points, or rollup rows) removed per statement: a few ms each. */
const PURGE_SLICE_ROWS = 500
/**
 * Points folded per transaction (of up to 64 runs): tens of ms of aggregation, during which
 * those runs' writers wait for their metric locks.
 */
const FOLD_SLICE_POINTS = 65_536
/**
 * A run is folded once it has gathered this many points, or its oldest unfolded point has
 * waited this long (a finished run, a slow logger): a rollup row is then rewritten once for
 * about 16 batches of 1,000 instead of once per batch, and a chart adds at most a few thousand
 * raw points per key.
 */
const FOLD_DUE: FoldThresholds = { minUnfoldedPoints: 16_384, maxAgeMs: 10_000 }

/**
 * Removes the metric points of permanently deleted runs in bounded slices, so deleting a run
 * with millions of points returns at once and never runs one statement that scans or locks the
 * whole table. Two apps on one server share the queue safely (see ml_purge_metrics).
 */
export function metricPurger(store: MaintainedMetricStore, logger: Logger, intervalMs = 5_000): BackgroundDrain {
  return new BackgroundDrain('metric purge', () => store.purgeDeletedSlice(PURGE_SLICE_ROWS), logger, intervalMs)
}

/**
 * Merges newly written chunks into the rollups (migrations/0016), many batches at a time, off
 * the writers' transactions. Charts are exact meanwhile (they add unfolded chunks' raw points);
 * folding keeps that raw part small. Two apps on one server fold different runs, or the same
 * run one after the other (the run's metric lock).
 */
export function metricFolder(store: MaintainedMetricStore, logger: Logger, intervalMs = 1_000): BackgroundDrain {
  return new BackgroundDrain('rollup fold', () => store.foldPendingSlice(FOLD_SLICE_POINTS, FOLD_DUE), logger, intervalMs)
}
