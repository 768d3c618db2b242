/**
 * npm run bench:ingest — 1,000,000 metric points for one run through the repository's batch
 * path (binary COPY + summary + rollups), beside a bare COPY of the same points (the ceiling)
 * and a row-by-row INSERT baseline (one INSERT per point in one transaction, the naive way),
 * measured in the same process on the same server.
 * Target on the 2-core reference machine: ≥ 500,000 points/s.
 */
import { performance } from 'node:perf_hooks'
import { pgFloat, pgTimestamp } from '../src/main/repositories/metric-repository'
import { encodeStagingCopy, STAGING_COPY_COLUMNS } from '../src/main/repositories/metric-copy-encoder'
import { formatRate, makePoints, startBenchDatabase } from './support'

const TOTAL_POINTS = Number(process.env.BENCH_POINTS ?? 1_000_000)
const BATCH_SIZE = Number(process.env.BENCH_BATCH ?? 100_000)
const BASELINE_POINTS = Number(process.env.BENCH_BASELINE_POINTS ?? 50_000)
const KEYS = ['loss', 'val_loss', 'accuracy', 'lr']

const bench = await startBenchDatabase()
try {
  const { experiments, runs, metrics, database } = bench
  const experiment = await experiments.create({
    name: `bench-ingest-${Date.now()}`,
    description: '',
    modelConfig: {},
    trainingConfig: {},
    hyperparameters: {},
    tags: {},
    createdBy: null
  })
  const newRun = (name: string) =>
    runs.start({ experimentId: experiment.id, name, hyperparameters: {}, randomSeed: null, gitCommit: null, tags: {}, status: 'running' })
  const batchRun = await newRun('batch')
  const rowRun = await newRun('row-by-row')
  const warmRun = await newRun('warm-up')
  await metrics.logBatch(warmRun.id, makePoints(20_000, KEYS)) // catalog caches, first pages

  const points = makePoints(TOTAL_POINTS, KEYS)
  const batchStart = performance.now()
  for (let offset = 0; offset < points.length; offset += BATCH_SIZE) {
    await metrics.logBatch(batchRun.id, points.slice(offset, offset + BATCH_SIZE))
  }
  const batchMs = performance.now() - batchStart

  // The ceiling: the same points COPYed one row each into a bare table (no index, no summary,
  // no rollups) — what "COPY speed" means on this machine right now.
  const benchKeyIds = new Map(KEYS.map((key, index) => [key, index + 1]))
  await database.query(
    `CREATE TABLE IF NOT EXISTS bench_bare_copy (
       run_id bigint, key_id integer, value double precision, step bigint, epoch integer, logged_at timestamptz, kind text)`
  )
  const copyStart = performance.now()
  for (let offset = 0; offset < points.length; offset += BATCH_SIZE) {
    await database.withTransaction((tx) =>
      tx.copyIn(`COPY bench_bare_copy ${STAGING_COPY_COLUMNS} FROM STDIN BINARY`, encodeStagingCopy(points.slice(offset, offset + BATCH_SIZE), benchKeyIds))
    )
  }
  const copyMs = performance.now() - copyStart

  const baseline = makePoints(BASELINE_POINTS, KEYS)
  const rowStart = performance.now()
  await database.withTransaction(async (tx) => {
    for (const point of baseline) {
      await tx.query(
        'INSERT INTO bench_bare_copy (run_id, key_id, value, step, epoch, logged_at, kind) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [rowRun.id, benchKeyIds.get(point.key), pgFloat(point.value), point.step.toString(), point.epoch, pgTimestamp(point.timestamp), point.kind]
      )
    }
  })
  const rowMs = performance.now() - rowStart
  await database.query('DROP TABLE bench_bare_copy')

  // A retried batch: every point already stored, so the duplicate-filtering path runs.
  const retryStart = performance.now()
  const retry = await metrics.logBatch(batchRun.id, points.slice(0, BATCH_SIZE))
  const retryMs = performance.now() - retryStart

  const stored = (await runs.metricSummaries(batchRun.id)).reduce((sum, m) => sum + m.count, 0)
  if (stored !== TOTAL_POINTS || retry.inserted !== 0) throw new Error(`stored ${stored} points (expected ${TOTAL_POINTS}), retry stored ${retry.inserted}`)

  const batchRate = (TOTAL_POINTS / batchMs) * 1000
  const rowRate = (BASELINE_POINTS / rowMs) * 1000
  console.log(`database: ${bench.description}`)
  console.log(`batch path (binary COPY, ${BATCH_SIZE.toLocaleString('en-US')}-point batches): ${TOTAL_POINTS.toLocaleString('en-US')} points in ${batchMs.toFixed(0)} ms = ${formatRate(TOTAL_POINTS, batchMs)}`)
  console.log(`bare COPY of the same points (a plain table: WAL, no index/summary/rollups): ${copyMs.toFixed(0)} ms = ${formatRate(TOTAL_POINTS, copyMs)}; batch path reaches ${((copyMs / batchMs) * 100).toFixed(0)}% of it`)
  console.log(`row-by-row INSERT baseline (one transaction): ${BASELINE_POINTS.toLocaleString('en-US')} points in ${rowMs.toFixed(0)} ms = ${formatRate(BASELINE_POINTS, rowMs)}`)
  console.log(`ratio batch / row-by-row: ${(batchRate / rowRate).toFixed(1)}x`)
  console.log(`retried ${BATCH_SIZE.toLocaleString('en-US')}-point batch (all duplicates, none stored): ${retryMs.toFixed(0)} ms`)
  console.log(`target ≥ 500,000 points/s: ${batchRate >= 500_000 ? 'met' : 'NOT met'}`)
} finally {
  await bench.close()
}
