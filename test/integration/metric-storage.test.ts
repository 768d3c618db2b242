import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MetricPoint, MetricSeries } from '../../src/shared/domain'
import { Database } from '../../src/main/db/database'
import { loadMigrations, migrate } from '../../src/main/db/migrator'
import { createSilentLogger } from '../../src/main/logging'
import { migrationsDir } from '../../src/main/paths'
import { PgExperimentRepository } from '../../src/main/repositories/experiment-repository'
import { PgMetricRepository } from '../../src/main/repositories/metric-repository'
import { PgRunRepository } from '../../src/main/repositories/run-repository'
import { failure, startCoreWithSql, type CoreWithSql } from '../support/service-env'
import { createTestDatabase } from '../support/test-env'

// Issue 12: chunked metric storage, its write cost, background deletion, the database layer's
// retries and statement timeout, per-model deploy locks, and the upgrade from the old layout.

const logger = createSilentLogger()

/**
 * Row writes (inserts + updates + deletes) of every table counted by this backend so far, TOAST
 * tables included (a wide row rewritten would write its out-of-line values again).
 */
async function rowWritesInTransaction(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT sum(pg_stat_get_xact_tuples_inserted(c.oid) + pg_stat_get_xact_tuples_updated(c.oid) + pg_stat_get_xact_tuples_deleted(c.oid)) AS n
     FROM pg_class c WHERE c.relnamespace IN ('public'::regnamespace, 'pg_toast'::regnamespace) AND c.relkind IN ('r', 't')`
  )
  return Number(rows[0]!.n)
}

function expectBucketsExact(series: MetricSeries, raw: readonly MetricPoint[]): void {
  let covered = 0
  for (const bucket of series.buckets) {
    const inside = raw.filter((p) => p.step >= bucket.fromStep && p.step <= bucket.toStep)
    const values = inside.map((p) => p.value).filter((v) => !Number.isNaN(v))
    expect(bucket.count).toBe(inside.length)
    expect(bucket.min).toBe(values.length ? Math.min(...values) : null)
    expect(bucket.max).toBe(values.length ? Math.max(...values) : null)
    expect(bucket.lastValue).toBe(inside.reduce((a, b) => (b.step > a.step || (b.step === a.step && b.timestamp >= a.timestamp) ? b : a)).value)
    covered += inside.length
  }
  expect(covered).toBe(raw.length)
}

describe('chunked metric storage', () => {
  let env: CoreWithSql
  let experimentId: number
  beforeAll(async () => {
    env = await startCoreWithSql()
    experimentId = (await env.env.core.services.experiments.create({ name: 'storage' })).id
  })
  afterAll(async () => env?.close())
  const services = () => env.env.core.services
  const newRun = async () => (await services().runs.start({ experimentId })).id

  it('writes at most 3 rows for a single logged point (the MLflow log-metric path), ~2 on average', async () => {
    const runId = await newRun()
    await env.sql.query('BEGIN')
    // Before and after, in one transaction: a backend's counters also hold its earlier
    // transactions' writes until it reports them.
    const before = await rowWritesInTransaction(env.sql)
    for (let step = 0; step < 1_000; step++) {
      await env.sql.query("SELECT log_ml_metric($1, 'loss', $2, $3, NULL, 'train', now())", [runId, step / 7, step])
    }
    const writes = (await rowWritesInTransaction(env.sql)) - before
    await env.sql.query('COMMIT')
    // One chunk row rewritten and one summary row per point; each 64th point seals its chunk
    // (and marks the run for the rollup folder). The first point inserts its metric key too.
    expect(writes / 1_000).toBeLessThanOrEqual(3)
    expect(writes / 1_000).toBeLessThan(2.1)
    // Before issue 12 a single point wrote 21 rows (the point, the summary and 19 rollups).
    const { rows } = await env.sql.query<{ chunks: string; open: string }>(
      'SELECT count(*) AS chunks, count(*) FILTER (WHERE NOT sealed) AS open FROM ml_metric_chunk WHERE run_id = $1',
      [runId]
    )
    expect(rows[0]).toEqual({ chunks: '16', open: '1' }) // 15 × 64 sealed + 40 open
  })

  it('stores a batch as one row per key per 1,024 points and a single point in the open chunk, and charts both exactly', async () => {
    const runId = await newRun()
    const raw: MetricPoint[] = []
    for (let step = 0; step < 50_000; step++) {
      raw.push({ key: 'acc', value: step % 997 === 0 ? NaN : Math.cos(step / 300), step: BigInt(step), epoch: step % 3 === 0 ? null : 1, timestamp: 1_700_000_000_000 + step, kind: 'validation' })
    }
    await services().runs.logValidatedMetrics(runId, raw)
    const { rows } = await env.sql.query<{ n: string }>('SELECT count(*) AS n FROM ml_metric_chunk WHERE run_id = $1', [runId])
    expect(Number(rows[0]!.n)).toBe(Math.ceil(50_000 / 1_024))
    // 300 single points after the batch (four chunks seal at 64 points, 44 stay open), then a
    // retried slice of the batch (stores nothing) and a backfill below it (the staged path).
    for (let step = 50_000; step < 50_300; step++) {
      const point = { key: 'acc', value: -step, step: BigInt(step), epoch: null, timestamp: 1_800_000_000_000, kind: 'validation' } as const
      expect(await services().runs.logMetric({ runId, key: 'acc', value: point.value, step, timestamp: point.timestamp, kind: 'validation' })).toBe(true)
      raw.push(point)
    }
    expect(await services().runs.logValidatedMetrics(runId, raw.slice(10, 2_000))).toEqual({ inserted: 0, duplicates: 1_990 })
    const backfill = Array.from({ length: 500 }, (_, i): MetricPoint => ({ key: 'acc', value: i, step: BigInt(-500 + i), epoch: 0, timestamp: 1_600_000_000_000, kind: 'validation' }))
    await services().runs.logValidatedMetrics(runId, backfill)
    raw.unshift(...backfill)

    const history = await services().runs.metricHistory({ runId, key: 'acc', limit: 100_000 })
    expect(history.map((p) => p.step)).toEqual(raw.map((p) => p.step))
    expect(history.map((p) => p.epoch)).toEqual(raw.map((p) => p.epoch))
    expect(history.every((p) => p.kind === 'validation')).toBe(true)
    const series = await services().runs.metricSeries({ runId, key: 'acc', maxPoints: 1_000 })
    expect(series.mode).toBe('buckets')
    expect(series.totalPoints).toBe(raw.length)
    expectBucketsExact(series, raw)
  })

  it('deletes a run permanently at once and purges its points in the background, in slices', async () => {
    const runs = services().runs
    const runId = await newRun()
    const keep = await newRun()
    const points = (n: number): MetricPoint[] =>
      Array.from({ length: n }, (_, i) => ({ key: i % 2 ? 'a' : 'b', value: i, step: BigInt(i >> 1), epoch: null, timestamp: 1_700_000_000_000, kind: 'train' }))
    await runs.logValidatedMetrics(runId, points(300_000))
    await runs.logValidatedMetrics(keep, points(2_000))

    expect(await failure(() => runs.deletePermanently(runId))).toMatchObject({ code: 'conflict', field: 'runId' })
    await runs.delete(runId)
    await runs.deletePermanently(runId)
    expect(await failure(() => runs.get(runId))).toMatchObject({ code: 'not_found' })
    expect(await failure(() => runs.deletePermanently(runId))).toMatchObject({ code: 'not_found', field: 'runId' })
    // Gone from every view at once; the points are still on disk, queued for the purge.
    expect((await runs.listByExperiment(experimentId)).map((run) => run.id)).not.toContain(runId)
    const chunksOf = async (id: number) =>
      Number((await env.sql.query<{ n: string }>('SELECT count(*) AS n FROM ml_metric_chunk WHERE run_id = $1', [id])).rows[0]!.n)
    expect(await chunksOf(runId)).toBeGreaterThan(0)
    expect(await env.countRows('ml_metric_purge')).toBe(1)

    const removed = await services().metricPurger!.drain()
    expect(removed).toBeGreaterThan(0)
    expect(await chunksOf(runId)).toBe(0)
    expect(Number((await env.sql.query<{ n: string }>('SELECT count(*) AS n FROM ml_metric_rollup WHERE run_id = $1', [runId])).rows[0]!.n)).toBe(0)
    expect(await env.countRows('ml_metric_purge')).toBe(0)
    // Another run's points are untouched.
    expect((await runs.metricHistory({ runId: keep, key: 'a' })).length).toBe(1_000)
  })

  it('the purge waits for a fold of the run in flight, so no rollup row of a deleted run stays behind (migration 0018)', async () => {
    const runs = services().runs
    const runId = await newRun()
    await runs.logValidatedMetrics(runId, Array.from({ length: 3_000 }, (_, i): MetricPoint => ({ key: 'folded', value: i, step: BigInt(i), epoch: null, timestamp: 0, kind: 'train' })))
    const keyId = Number((await env.sql.query<{ id: number }>("SELECT key_id AS id FROM ml_metric_key WHERE metric_name = 'folded'")).rows[0]!.id)
    // A fold in flight: the run's metric lock held and a rollup row written, not yet committed.
    const fold = new pg.Client({ connectionString: env.env.databaseUrl })
    await fold.connect()
    try {
      await fold.query('BEGIN')
      await fold.query("SELECT pg_advisory_xact_lock(hashtextextended('ml_metric_log:' || $1::bigint, 0))", [runId])
      await fold.query(
        `INSERT INTO ml_metric_rollup (run_id, key_id, level, bucket, point_count, min_value, max_value, first_step, first_value, first_logged_at, last_step, last_value, last_logged_at, last_epoch)
         VALUES ($1, $2, 0, 1000000, 1, 0, 0, 0, 0, now(), 0, 0, now(), NULL)`,
        [runId, keyId]
      )
      await runs.delete(runId)
      await runs.deletePermanently(runId)
      let drained = false
      const draining = services().metricPurger!.drain().then(() => (drained = true))
      await new Promise((resolve) => setTimeout(resolve, 300))
      // Without the lock the purge found nothing left and finished here.
      expect(drained).toBe(false)
      await fold.query('COMMIT')
      await draining
    } finally {
      await fold.end()
    }
    const left = await env.sql.query<{ n: string }>('SELECT (SELECT count(*) FROM ml_metric_rollup WHERE run_id = $1) + (SELECT count(*) FROM ml_metric_chunk WHERE run_id = $1) AS n', [runId])
    expect(Number(left.rows[0]!.n)).toBe(0)
    expect(await env.countRows('ml_metric_purge')).toBe(0)
  })

  it('removes at most the slice size per purge statement', async () => {
    const runId = await newRun()
    await services().runs.logValidatedMetrics(
      runId,
      Array.from({ length: 20 * 1_024 * 3 }, (_, i): MetricPoint => ({ key: `k${i % 20}`, value: i, step: BigInt(i), epoch: null, timestamp: 0, kind: 'train' }))
    )
    await services().runs.delete(runId)
    await services().runs.deletePermanently(runId)
    const { rows } = await env.sql.query<{ removed: number }>('SELECT ml_purge_metrics(25) AS removed')
    expect(rows[0]!.removed).toBe(25)
    await services().metricPurger!.drain()
    expect(await env.countRows('ml_metric_purge')).toBe(0)
  })

  it('refuses a negative epoch or an overlong key naming the field, and stores nothing', async () => {
    const runId = await newRun()
    expect(await failure(() => env.env.core.services.runs.logValidatedMetrics(runId, [{ key: 'k', value: 1, step: 0n, epoch: -1, timestamp: 0, kind: 'train' }]))).toMatchObject({
      code: 'invalid_argument',
      field: 'epoch'
    })
    const { rows } = await env.sql.query<{ n: string }>('SELECT count(*) AS n FROM ml_metric_chunk WHERE run_id = $1', [runId])
    expect(rows[0]!.n).toBe('0')
  })
})

describe('rollups folded in the background (migration 0016)', () => {
  // Repositories on a database of their own: no app core, so no folder on a timer, and each
  // fold below happens exactly when the test says.
  let drop: () => Promise<void>
  let database: Database
  let metrics: PgMetricRepository
  let runs: PgRunRepository
  let experimentId: number
  beforeAll(async () => {
    let url: string
    ;({ url, drop } = await createTestDatabase())
    database = await Database.connect(url, logger)
    await migrate(database, loadMigrations(migrationsDir()), logger)
    metrics = new PgMetricRepository(database)
    runs = new PgRunRepository(database)
    experimentId = (await new PgExperimentRepository(database).create({ name: 'folds', description: '', modelConfig: {}, trainingConfig: {}, hyperparameters: {}, tags: {}, createdBy: null })).id
  })
  afterAll(async () => {
    await database?.close()
    await drop?.()
  })
  const newRun = async () => (await runs.start({ experimentId, name: 'r', hyperparameters: {}, randomSeed: null, gitCommit: null, tags: {}, status: 'running' })).id
  const rollupCounts = async (runId: number) =>
    (await database.query<{ level: number; n: string }>('SELECT level, sum(point_count)::text AS n FROM ml_metric_rollup WHERE run_id = $1 GROUP BY level ORDER BY level', [runId])).rows.map((row) => Number(row.n))
  const foldAll = async (maxPoints: number) => {
    let slices = 0
    while ((await metrics.foldPendingSlice(maxPoints)) > 0) slices++
    return slices
  }
  const points = (key: string, from: number, count: number, timestamp = 1_700_000_000_000): MetricPoint[] =>
    Array.from({ length: count }, (_, i) => ({ key, value: (from + i) % 501 === 0 ? NaN : Math.sin((from + i) / 90), step: BigInt(from + i), epoch: null, timestamp: timestamp + i, kind: 'train' }))

  it('writes no rollup row in a batch; a chart is exact before the fold, after it and with new points on top', async () => {
    const runId = await newRun()
    const raw = points('acc', 0, 50_000)
    await metrics.logBatch(runId, raw)
    // Before migration 0016 the batch's transaction merged its points into five rollup levels.
    expect(await rollupCounts(runId)).toEqual([])
    const unfolded = await metrics.series(runId, 'acc', { maxPoints: 1_000 })
    expect(unfolded.mode).toBe('buckets')
    expectBucketsExact(unfolded, raw)

    // 300 single points: 4 × 64 seal chunks (under fresh ids, past any watermark), 44 stay open.
    for (const point of points('acc', 50_000, 300)) {
      expect(await metrics.logOne(runId, point)).toBe(true)
      raw.push(point)
    }
    const beforeFold = await metrics.series(runId, 'acc', { maxPoints: 1_000 })
    expectBucketsExact(beforeFold, raw)
    // Small slices (8 chunks' worth): the watermark moves a few chunks at a time and every chunk is folded once.
    expect(await foldAll(8 * 1_024)).toBeGreaterThan(5)
    expect(await rollupCounts(runId)).toEqual([50_256, 50_256, 50_256, 50_256, 50_256])
    const { rows } = await database.query<{ pending: boolean; behind: string }>(
      `SELECT f.pending, (SELECT count(*) FROM ml_metric_chunk c WHERE c.run_id = f.run_id AND c.sealed AND c.chunk_id > f.folded_through)::text AS behind
       FROM ml_metric_fold f WHERE f.run_id = $1`,
      [runId]
    )
    expect(rows).toEqual([{ pending: false, behind: '0' }])
    const folded = await metrics.series(runId, 'acc', { maxPoints: 1_000 })
    expect(folded).toEqual(beforeFold)

    // New points on top of folded ones (and a backfill below them, through the staged path).
    const more = [...points('acc', 50_300, 20_000), ...points('acc', -700, 700, 1_600_000_000_000)]
    await metrics.logBatch(runId, more.slice(0, 20_000))
    await metrics.logBatch(runId, more.slice(20_000))
    raw.push(...more)
    expectBucketsExact(await metrics.series(runId, 'acc', { maxPoints: 1_000 }), raw)
    await foldAll(65_536)
    expect(await rollupCounts(runId)).toEqual(Array(5).fill(50_256 + 20_700))
    expectBucketsExact(await metrics.series(runId, 'acc', { maxPoints: 1_000 }), raw)
    // A zoomed range at full detail is still the raw points.
    const zoomed = await metrics.series(runId, 'acc', { maxPoints: 1_000, fromStep: 1_000n, toStep: 1_400n })
    expect(zoomed.points.map((p) => p.step)).toEqual(raw.filter((p) => p.step >= 1_000n && p.step <= 1_400n).map((p) => p.step))
  })

  it('folds while 8 writers keep logging to the same run without losing or repeating a point', async () => {
    const runId = await newRun()
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`)
    let writing = true
    const folds = (async () => {
      let slices = 0
      while (writing) slices += (await metrics.foldPendingSlice(4)) > 0 ? 1 : 0
      return slices
    })()
    await Promise.all(
      keys.map(async (key) => {
        for (let batch = 0; batch < 25; batch++) {
          await metrics.logBatch(runId, points(key, batch * 400, 400))
          // A breath between batches, as a training loop has: the folder only tries the run's
          // lock (it never waits behind a writer), and 8 writers back to back would hold it always.
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
      })
    )
    writing = false
    expect(await folds).toBeGreaterThan(0)
    await foldAll(65_536)
    const { rows } = await database.query<{ key: string; n: string }>(
      `SELECT k.metric_name AS key, sum(r.point_count)::text AS n FROM ml_metric_rollup r JOIN ml_metric_key k USING (key_id)
       WHERE r.run_id = $1 AND r.level = 0 GROUP BY 1 ORDER BY 1`,
      [runId]
    )
    expect(rows).toEqual(keys.map((key) => ({ key, n: '10000' })))
    expectBucketsExact(await metrics.series(runId, 'k3', { maxPoints: 500 }), points('k3', 0, 10_000))
  })

  it('folds many small runs in one transaction, and visits every pending run in turn', async () => {
    await foldAll(65_536) // nothing left pending by the tests before
    const small = await Promise.all(Array.from({ length: 100 }, () => newRun()))
    for (const runId of small) await metrics.logBatch(runId, points('lr', 0, 10))
    // Up to 64 runs a slice: two slices fold the hundred runs, not a hundred.
    expect(await metrics.foldPendingSlice(65_536)).toBe(640)
    expect(await metrics.foldPendingSlice(65_536)).toBe(360)
    expect((await database.query('SELECT 1 FROM ml_metric_fold WHERE pending')).rowCount).toBe(0)
    for (const runId of small) expect(await rollupCounts(runId)).toEqual(Array(5).fill(10))
  })

  it('folds a run once it has gathered enough points, or once they have waited long enough', async () => {
    const due = { minUnfoldedPoints: 16_384, maxAgeMs: 60_000 }
    await foldAll(65_536) // nothing left pending by the tests before
    const busy = await newRun()
    await metrics.logBatch(busy, points('loss', 0, 1_000))
    expect(await metrics.foldPendingSlice(65_536, due)).toBe(0)
    expect(await rollupCounts(busy)).toEqual([])
    for (let batch = 1; batch <= 16; batch++) await metrics.logBatch(busy, points('loss', batch * 1_000, 1_000))
    expect(await metrics.foldPendingSlice(65_536, due)).toBe(17_000)
    expect(await rollupCounts(busy)).toEqual(Array(5).fill(17_000))

    const quiet = await newRun()
    await metrics.logBatch(quiet, points('loss', 0, 100))
    expect(await metrics.foldPendingSlice(65_536, { ...due, maxAgeMs: 300 })).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(await metrics.foldPendingSlice(65_536, { ...due, maxAgeMs: 300 })).toBe(100)
  })

  it("folds a soft-deleted run's chunks too, and forgets a permanently deleted run", async () => {
    const runId = await newRun()
    await metrics.logBatch(runId, points('loss', 0, 5_000))
    await runs.setDeleted(runId, true)
    await foldAll(65_536)
    expect(await rollupCounts(runId)).toEqual(Array(5).fill(5_000))
    await metrics.logBatch(await newRun(), points('loss', 0, 10)) // another run left pending
    await runs.deletePermanently(runId)
    expect((await database.query('SELECT 1 FROM ml_metric_fold WHERE run_id = $1', [runId])).rowCount).toBe(0)
    expect(await foldAll(65_536)).toBe(1)
  })
})

describe('the database layer', () => {
  let url: string
  let drop: () => Promise<void>
  let database: Database
  beforeAll(async () => {
    ;({ url, drop } = await createTestDatabase())
    database = await Database.connect(url, logger)
    await database.query('CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL)')
    await database.query('INSERT INTO pair VALUES (1, 0), (2, 0)')
    await database.query('CREATE TABLE ledger (n int NOT NULL)')
  })
  afterAll(async () => {
    await database?.close()
    await drop?.()
  })

  /** Resolves once `count` callers have arrived: lines two transactions up at the same point. */
  function barrier(count: number): () => Promise<void> {
    let arrived = 0
    let release!: () => void
    const all = new Promise<void>((resolve) => (release = resolve))
    return async () => {
      if (++arrived === count) release()
      await all
    }
  }

  it('runs a transaction again after a deadlock (40P01): both crosswise writers succeed', async () => {
    const meet = barrier(2)
    let attempts = 0
    const crosswise = (first: number, second: number) =>
      database.withTransaction(async (tx) => {
        attempts++
        await tx.query('UPDATE pair SET n = n + 1 WHERE id = $1', [first])
        if (attempts <= 2) await meet() // only the first attempts meet; a retry goes straight through
        await tx.query('UPDATE pair SET n = n + 1 WHERE id = $1', [second])
      })
    await Promise.all([crosswise(1, 2), crosswise(2, 1)])
    expect(attempts).toBe(3) // one of the two was the deadlock victim and ran again
    const { rows } = await database.query<{ n: number }>('SELECT n FROM pair ORDER BY id')
    expect(rows).toEqual([{ n: 2 }, { n: 2 }])
  })

  it('runs a transaction again after a serialization failure (40001): both serializable writers succeed', async () => {
    const meet = barrier(2)
    let attempts = 0
    const write = () =>
      database.withTransaction(async (tx) => {
        attempts++
        await tx.query('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE')
        const { rows } = await tx.query<{ total: string }>('SELECT coalesce(sum(n), 0) AS total FROM ledger')
        if (attempts <= 2) await meet()
        await tx.query('INSERT INTO ledger VALUES ($1)', [Number(rows[0]!.total) + 1])
      })
    await Promise.all([write(), write()])
    expect(attempts).toBe(3)
    const { rows } = await database.query<{ n: number }>('SELECT n FROM ledger ORDER BY n')
    expect(rows).toEqual([{ n: 1 }, { n: 2 }]) // serial order: the retry saw the first insert
  })

  it('cancels a statement after the statement timeout with a clear error; a transaction can opt out', async () => {
    const short = await Database.connect(url, logger, 2, undefined, 200)
    try {
      expect((await short.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout).toBe('200ms')
      await expect(short.query('SELECT pg_sleep(1)')).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('statement timeout') })
      await short.withTransaction((tx) => tx.query('SELECT pg_sleep(0.4)'), { statementTimeoutMs: 0 })
      // The opt-out ends with its transaction: the connection is back to the app-wide timeout.
      await expect(short.query('SELECT pg_sleep(1)')).rejects.toMatchObject({ code: 'unavailable' })
    } finally {
      await short.close()
    }
    expect((await database.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout).toBe('1min')
  })
})

describe('deploys lock per model', () => {
  let env: CoreWithSql
  beforeAll(async () => {
    env = await startCoreWithSql()
  })
  afterAll(async () => env?.close())

  it('never deadlocks when two targets swap versions crosswise, 100 times concurrently', async () => {
    const { models } = env.env.core.services
    const v1 = await models.registerVersion({ modelName: 'crosswise', artifactUri: 'file:///m/1' })
    const v2 = await models.registerVersion({ modelName: 'crosswise', artifactUri: 'file:///m/2' })
    for (const v of [v1, v2]) await models.approve({ versionId: v.id, actor: 'ana' })
    await models.deploy({ modelName: 'crosswise', versionId: v1.id, target: 'east' })
    await models.deploy({ modelName: 'crosswise', versionId: v2.id, target: 'west' })
    // Two connections of their own, without the database layer's retry, so a deadlock would
    // fail the test instead of being retried away.
    const a = new pg.Client({ connectionString: env.env.databaseUrl })
    const b = new pg.Client({ connectionString: env.env.databaseUrl })
    await a.connect()
    await b.connect()
    try {
      for (let round = 0; round < 100; round++) {
        const [east, west] = round % 2 === 0 ? [v2.id, v1.id] : [v1.id, v2.id]
        await Promise.all([
          a.query("SELECT deploy_ml_model('crosswise', $1, 'east')", [east]),
          b.query("SELECT deploy_ml_model('crosswise', $1, 'west')", [west])
        ])
      }
    } finally {
      await a.end()
      await b.end()
    }
    const { rows } = await env.sql.query<{ deployment_target: string; current_version_id: string }>(
      "SELECT deployment_target, current_version_id FROM ml_model_registry WHERE model_name = 'crosswise' ORDER BY 1"
    )
    // 100 rounds, even: back where they started.
    expect(rows).toEqual([
      { deployment_target: 'east', current_version_id: String(v1.id) },
      { deployment_target: 'west', current_version_id: String(v2.id) }
    ])
    expect(await env.countRows("ml_deployment_event WHERE model_name = 'crosswise'")).toBe(202)
  })
})

describe('upgrading a data folder from the per-point layout (migration 0014)', () => {
  let url: string
  let drop: () => Promise<void>
  let database: Database
  beforeAll(async () => {
    ;({ url, drop } = await createTestDatabase())
    database = await Database.connect(url, logger)
  })
  afterAll(async () => {
    await database?.close()
    await drop?.()
  })

  // Every point of every run, in one canonical order, hashed: values by their bits (so -0, NaN
  // and ±Infinity count), times to the microsecond.
  const FINGERPRINT = (table: string) => `
    SELECT count(*) AS points, md5(string_agg(
             concat_ws(',', run_id, metric_name, step, encode(float8send(value), 'hex'), extract(epoch FROM logged_at)::numeric * 1000000, epoch, kind),
             ';' ORDER BY run_id, metric_name, step, logged_at, float8send(value))) AS hash
    FROM ${table}`

  it('moves a million points with their summaries into chunks without losing or changing one, and rebuilds the rollups', async () => {
    const migrations = loadMigrations(migrationsDir())
    const before = migrations.filter((m) => m.version <= 13)
    await migrate(database, before, logger)
    // Data as the old writers left it: three runs, a million points in ml_metric_log with
    // summaries, a few through the old log_ml_metric (which also wrote its 19 rollups).
    await database.query("INSERT INTO ml_experiment (name) VALUES ('upgrade')")
    for (let i = 0; i < 3; i++) {
      await database.query(`INSERT INTO ml_run (experiment_id, run_name, run_uuid, status) SELECT experiment_id, 'r${i}', md5('r${i}'), 'running' FROM ml_experiment`)
    }
    await database.withTransaction(
      (tx) =>
        tx.query(`
          INSERT INTO ml_metric_log (run_id, metric_name, value, step, epoch, logged_at, kind)
          SELECT r.run_id, k.name,
                 CASE WHEN s % 10007 = 0 THEN 'NaN'::float8 WHEN s % 10009 = 0 THEN '-0'::float8
                      WHEN s % 10037 = 0 THEN '-Infinity'::float8 ELSE sin(s / 100.0) * r.run_id END,
                 s, CASE WHEN k.name = 'loss' THEN (s / 1000)::int END,
                 timestamptz '2026-01-01' + make_interval(secs => s / 1000.0), k.kind
          FROM ml_run r
          CROSS JOIN (VALUES ('loss', 'train'), ('val_acc', 'validation'), ('gpu', 'system')) AS k(name, kind)
          CROSS JOIN generate_series(0, 111110) AS s`),
      { statementTimeoutMs: 0 }
    )
    // A step logged twice at different times (both kept), and the old single-point path.
    const firstRun = (await database.query<{ run_id: string }>('SELECT min(run_id) AS run_id FROM ml_run')).rows[0]!.run_id
    await database.query("INSERT INTO ml_metric_log (run_id, metric_name, value, step, logged_at) VALUES ($1, 'loss', 7, 5, '2030-01-01')", [firstRun])
    for (let step = 200_000; step < 200_010; step++) {
      await database.query("SELECT log_ml_metric($1, 'single', $2, $3)", [firstRun, step * 1.5, step])
    }
    await database.query(`
      INSERT INTO ml_metric_summary (run_id, metric_name, last_value, last_step, last_logged_at, min_value, max_value, value_count)
      SELECT DISTINCT ON (run_id, metric_name) run_id, metric_name, value, step, logged_at,
             min(value) FILTER (WHERE value <> 'NaN') OVER w, max(value) FILTER (WHERE value <> 'NaN') OVER w, count(*) OVER w
      FROM ml_metric_log WHERE metric_name <> 'single'
      WINDOW w AS (PARTITION BY run_id, metric_name)
      ORDER BY run_id, metric_name, step DESC, logged_at DESC`)
    const old = (await database.query<{ points: string; hash: string }>(FINGERPRINT('ml_metric_log'))).rows[0]!
    expect(old.points).toBe(String(3 * 3 * 111_111 + 1 + 10))

    const report = await migrate(database, migrations, logger)
    expect(report.applied).toContain('0014_metric_chunks.sql')
    const now = (await database.query<{ points: string; hash: string }>(FINGERPRINT('ml_metric_point'))).rows[0]!
    expect(now).toEqual(old)
    expect((await database.query("SELECT to_regclass('ml_metric_log') AS t")).rows[0]).toEqual({ t: null })

    // The rollups, rebuilt from the points: every level counts every point once.
    const { rows: levels } = await database.query<{ level: number; n: string }>(
      'SELECT level, sum(point_count)::text AS n FROM ml_metric_rollup GROUP BY level ORDER BY level'
    )
    expect(levels).toEqual([0, 1, 2, 3, 4].map((level) => ({ level, n: old.points })))
    // Summaries are kept as they were, and new writes go on after the upgrade.
    const { rows: summary } = await database.query<{ value_count: string }>(
      "SELECT value_count::text FROM ml_metric_summary WHERE run_id = $1 AND metric_name = 'single'",
      [firstRun]
    )
    expect(summary).toEqual([{ value_count: '10' }])
    await database.query("SELECT log_ml_metric($1, 'single', 1, 300000)", [firstRun])
    expect((await database.query<{ n: string }>("SELECT count(*)::text AS n FROM ml_metric_point WHERE metric_name = 'single'")).rows[0]!.n).toBe('11')
    // Migration 0016 starts each run's fold watermark past the chunks 0014 merged: nothing is
    // folded twice, and a chart counts each point once (rollups + unfolded chunks).
    const metrics = new PgMetricRepository(database)
    expect(await metrics.foldPendingSlice(65_536)).toBe(0)
    expect((await metrics.series(Number(firstRun), 'loss', { maxPoints: 1_000 })).totalPoints).toBe(111_111 + 1)
    expect((await metrics.series(Number(firstRun), 'single', { maxPoints: 4 })).totalPoints).toBe(11)
  }, 300_000)
})
