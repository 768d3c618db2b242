import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Database } from '../../src/main/db/database'
import { createSilentLogger } from '../../src/main/logging'
import { PgIdempotentIngestRepository } from '../../src/main/repositories/ingest-idempotency-repository'
import { startTestCore, type TestCore } from '../support/test-env'

describe('idempotency keys', () => {
  let test: TestCore
  beforeAll(async () => {
    test = await startTestCore()
  })
  afterAll(async () => test?.close())

  it('are forgotten after a week, and only then', async () => {
    const { experiments, runs } = test.core.services
    const experiment = await experiments.create({ name: 'prune' })
    const run = await runs.start({ experimentId: experiment.id })
    const point = [{ key: 'x', value: 1, step: 1n, epoch: null, timestamp: 1, kind: 'train' as const }]
    await runs.logValidatedMetrics(run.id, point, { key: 'old-batch', bodyHash: 'a'.repeat(64) })
    await runs.logValidatedMetrics(run.id, point, { key: 'new-batch', bodyHash: 'b'.repeat(64) })
    const client = new pg.Client({ connectionString: test.databaseUrl })
    await client.connect()
    await client.query("UPDATE ml_ingest_idempotency SET created_at = now() - interval '8 days' WHERE idempotency_key = 'old-batch'")

    const database = await Database.connect(test.databaseUrl, createSilentLogger())
    try {
      expect(await new PgIdempotentIngestRepository(database).pruneOlderThan(7)).toBe(1)
    } finally {
      await database.close()
    }
    const { rows } = await client.query('SELECT idempotency_key FROM ml_ingest_idempotency ORDER BY 1')
    await client.end()
    expect(rows).toEqual([{ idempotency_key: 'new-batch' }])
  })
})
