import type { MetricPoint } from '../../shared/domain'
import { conflict } from '../../shared/errors'
import type { Queryable } from '../db/database'
import { PgMetricRepository, type BatchResult } from './metric-repository'
import { translated } from './pg-errors'

export interface IngestIdempotency {
  /** Chosen by the client, unique per batch it means to apply once. */
  key: string
  /** SHA-256 (hex) of what the client sent, to tell a retry from a reused key. */
  bodyHash: string
}

/**
 * Metric batches that carry an idempotency key. The key is looked up and recorded inside the
 * batch's own transaction (the batch itself runs in a savepoint of it), under the run's metric
 * lock, so concurrent retries of one batch are serialised and exactly one of them stores it.
 */
export class PgIdempotentIngestRepository {
  constructor(private readonly db: Queryable) {}

  /** The batch's result, and whether it is the recorded result of an earlier application (a retry). */
  /** Forgets keys older than `days`: a retry comes within minutes, keys need not live forever. */
  async pruneOlderThan(days: number): Promise<number> {
    const { rowCount } = await this.db.query(`DELETE FROM ml_ingest_idempotency WHERE created_at < now() - make_interval(days => $1)`, [days])
    return rowCount
  }

  async logBatchOnce(runId: number, points: readonly MetricPoint[], idempotency: IngestIdempotency): Promise<{ result: BatchResult; replayed: boolean }> {
    return translated(() =>
      this.db.withTransaction(async (tx) => {
        await tx.query('SELECT ml_lock_run_metrics($1)', [runId])
        const prior = await tx.query<{ run_id: string; body_hash: string; result: BatchResult }>(
          'SELECT run_id, body_hash, result FROM ml_ingest_idempotency WHERE idempotency_key = $1',
          [idempotency.key]
        )
        if (prior.rows[0]) {
          const { run_id, body_hash, result } = prior.rows[0]
          if (Number(run_id) !== runId || body_hash !== idempotency.bodyHash) {
            throw conflict('idempotency_key: this key was already used for a different batch; use a new key per batch', 'idempotency_key')
          }
          return { result: { inserted: result.inserted, duplicates: result.duplicates }, replayed: true }
        }
        const result = await new PgMetricRepository(tx).logBatch(runId, points)
        // Another run's batch may have taken the key concurrently (it holds another run's lock).
        const recorded = await tx.query(
          `INSERT INTO ml_ingest_idempotency (idempotency_key, run_id, body_hash, result) VALUES ($1, $2, $3, $4)
           ON CONFLICT (idempotency_key) DO NOTHING`,
          [idempotency.key, runId, idempotency.bodyHash, result]
        )
        if (recorded.rowCount === 0) {
          throw conflict('idempotency_key: this key was already used for a different batch; use a new key per batch', 'idempotency_key')
        }
        return { result, replayed: false }
      })
    )
  }
}
