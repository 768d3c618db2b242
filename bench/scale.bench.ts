/**
 * npm run bench:scale [-- --points 100000000] — metric storage at scale (issue 12).
 *
 * Into a fresh embedded PostgreSQL (or HYPERCUBE_DATABASE_URL): 10,000 runs in one experiment,
 * 1,000 of them "heavy" and written by 16 concurrent writers in interleaved batches of 1,000
 * points (20 keys × 50 steps) until the heavy runs hold `--points` points in all; the other
 * 9,000 hold 100 points each (the runs table's latest values). At 10 %, 50 % and 100 % of the
 * points it prints:
 *   - sustained ingest through the batch path over the last stretch, with the background
 *     rollup folder (migrations/0016) running beside the writers as it does in the app, then
 *     the time it takes after the stretch to fold everything left (the folder itself waits for
 *     a run to gather points or for them to age), and the rate counting that time too; and the same concurrent load as a bare COPY into an index-free table (one row
 *     per point) measured right then;
 *   - a single point (MLflow's log-metric path): row writes per point and points/s;
 *   - reads: a 1M-point series zoomed out to ≤ 2,000 buckets, full detail of a 100k-point key,
 *     the latest value of 20 keys for the 10,000 runs (and the whole runs-table load);
 *   - deleting a 1M-point run: how long the call takes, and the background purge after it;
 *   - bytes on disk per point (chunks + indexes + rollups + summaries), beside MLflow's own
 *     metrics table (its primary key and index) holding 1M points in the same database, and
 *     the size of the data folder.
 * Not a test: it prints figures and targets; nothing fails when a target is missed.
 */
import { execFileSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import type { Database } from '../src/main/db/database'
import { createSilentLogger } from '../src/main/logging'
import { encodeStagingCopy, STAGING_COPY_COLUMNS } from '../src/main/repositories/metric-copy-encoder'
import { decodeFloat8Array, decodeInt8Array } from '../src/main/repositories/pg-binary-arrays'
import { metricFolder } from '../src/main/services/metric-maintenance'
import type { MetricPoint } from '../src/shared/domain'
import { startBenchDatabase } from './support'

const { values: args } = parseArgs({ options: { points: { type: 'string' } } })
const TOTAL_POINTS = Number(args.points ?? process.env.BENCH_POINTS ?? 100_000_000)
const HEAVY_RUNS = 1_000
const LIGHT_RUNS = 9_000
const KEYS = Array.from({ length: 20 }, (_, i) => (i === 0 ? 'loss' : i === 1 ? 'val_loss' : i === 2 ? 'accuracy' : `metric_${String(i).padStart(2, '0')}`))
const WRITERS = 16
const BATCH_STEPS = 50 // × 20 keys = 1,000 points a batch
const BATCH_POINTS = BATCH_STEPS * KEYS.length
const CHECKPOINTS = [0.1, 0.5, 1]

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** 1,000 points of one run: 50 steps × 20 keys, steps from `firstStep`. */
function batchOf(firstStep: number, now: number): MetricPoint[] {
  const points: MetricPoint[] = new Array(BATCH_POINTS)
  let i = 0
  for (let s = 0; s < BATCH_STEPS; s++) {
    const step = firstStep + s
    for (let k = 0; k < KEYS.length; k++) {
      points[i++] = { key: KEYS[k]!, value: Math.exp(-step / 20_000) * (1 + k) + Math.random() * 0.01, step: BigInt(step), epoch: null, timestamp: now + step, kind: 'train' }
    }
  }
  return points
}

function series(key: string, count: number, now: number): MetricPoint[] {
  return Array.from({ length: count }, (_, i) => ({ key, value: Math.sin(i / 1000) + Math.random(), step: BigInt(i), epoch: Math.floor(i / 10_000), timestamp: now + i, kind: 'train' }))
}

async function timeMedian(times: number, work: () => Promise<unknown>): Promise<number> {
  await work() // warm: plan caches, pages
  const samples: number[] = []
  for (let i = 0; i < times; i++) {
    const start = performance.now()
    await work()
    samples.push(performance.now() - start)
  }
  return median(samples)
}

async function bytesOnDisk(database: Database, tables: string): Promise<number> {
  const { rows } = await database.query<{ bytes: string }>(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS bytes FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname ~ $1`,
    [tables]
  )
  return Number(rows[0]!.bytes)
}

const bench = await startBenchDatabase()
const { database, experiments, runs, metrics } = bench
try {
  const now = Date.now()
  const experiment = await experiments.create({ name: `bench-scale-${now}`, description: '', modelConfig: {}, trainingConfig: {}, hyperparameters: {}, tags: {}, createdBy: null })
  const newRun = async (name: string) => (await runs.start({ experimentId: experiment.id, name, hyperparameters: {}, randomSeed: null, gitCommit: null, tags: {}, status: 'running' })).id

  console.log(`database: ${bench.description}; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at start`)
  console.log(`load: ${fmt(HEAVY_RUNS)} heavy runs × ${KEYS.length} keys to ${fmt(TOTAL_POINTS)} points, ${WRITERS} writers, batches of ${fmt(BATCH_POINTS)} points; ${fmt(LIGHT_RUNS)} light runs of 100 points`)

  // Fixed series the reads measure, written first so they are interleaved with everything after.
  const longRun = await newRun('one-million-point-series')
  for (let offset = 0; offset < 1_000_000; offset += 100_000) {
    await metrics.logBatch(longRun, series('long', 1_000_000, now).slice(offset, offset + 100_000))
  }
  const detailRun = await newRun('hundred-thousand-point-key')
  await metrics.logBatch(detailRun, series('detail', 100_000, now))

  // MLflow's own schema for the same kind of points (mlflow/store/tracking/dbmodels/models.py:
  // SqlMetric, primary key (key, timestamp, step, run_uuid, value, is_nan) and index on run_uuid).
  await database.withTransaction(async (tx) => {
    await tx.query(`CREATE TABLE mlflow_metrics (
      key varchar(250) NOT NULL, value double precision NOT NULL, timestamp bigint NOT NULL, run_uuid varchar(32) NOT NULL,
      step bigint NOT NULL DEFAULT 0, is_nan boolean NOT NULL DEFAULT false,
      CONSTRAINT metric_pk PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan))`)
    await tx.query('CREATE INDEX index_metrics_run_uuid ON mlflow_metrics (run_uuid)')
    await tx.query(`INSERT INTO mlflow_metrics (key, value, timestamp, run_uuid, step, is_nan)
      SELECT 'metric_' || lpad((i % 20)::text, 2, '0'), random(), 1700000000000 + i / 20, md5((i / 100000)::text), i / 20, false
      FROM generate_series(0, 999999) AS i`)
  }, { statementTimeoutMs: 0 })
  await database.query('VACUUM ANALYZE mlflow_metrics')
  const mlflowBytesPerPoint = (await bytesOnDisk(database, '^mlflow_metrics$')) / 1_000_000
  await database.query('DROP TABLE mlflow_metrics')

  const lightStart = performance.now()
  const newRuns = async (prefix: string, count: number): Promise<number[]> => {
    const ids: number[] = []
    for (let i = 0; i < count; i += WRITERS) {
      ids.push(...(await Promise.all(Array.from({ length: Math.min(WRITERS, count - i) }, (_, j) => newRun(`${prefix}-${i + j}`)))))
    }
    return ids
  }
  const light = await newRuns('light', LIGHT_RUNS)
  for (let i = 0; i < light.length; i += WRITERS) {
    await Promise.all(light.slice(i, i + WRITERS).map((runId) => metrics.logBatch(runId, batchOf(0, now).slice(0, 100))))
  }
  console.log(`set-up: ${fmt(LIGHT_RUNS)} light runs in ${fmt((performance.now() - lightStart) / 1000, 1)} s`)
  const heavy = await newRuns('heavy', HEAVY_RUNS)

  await database.query(`CREATE TABLE bench_bare_copy (run_id bigint, key_id integer, value double precision, step bigint, epoch integer, logged_at timestamptz, kind text)`)
  const bareKeyIds = new Map(KEYS.map((key, i) => [key, i + 1]))

  /** The same concurrent load, 1M points as one-row-per-point COPY into an index-free table. */
  async function bareCopyRate(): Promise<number> {
    const batches = 1_000_000 / BATCH_POINTS
    let next = 0
    const start = performance.now()
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (next < batches) {
          const points = batchOf(next++ * BATCH_STEPS, now)
          await database.withTransaction((tx) => tx.copyIn(`COPY bench_bare_copy ${STAGING_COPY_COLUMNS} FROM STDIN BINARY`, encodeStagingCopy(points, bareKeyIds)))
        }
      })
    )
    const rate = (1_000_000 / (performance.now() - start)) * 1000
    await database.query('TRUNCATE bench_bare_copy')
    return rate
  }

  // Heavy-run ingest: writer w takes runs w, w + 16, …; each run gets pointsPerRun points.
  const pointsPerRun = Math.floor(TOTAL_POINTS / HEAVY_RUNS / BATCH_POINTS) * BATCH_POINTS
  const batchesPerRun = pointsPerRun / BATCH_POINTS
  const totalBatches = batchesPerRun * HEAVY_RUNS
  // Batches are dealt round-robin across the runs of each group of 16, so the runs of a group
  // interleave on disk as parallel training jobs do.
  let dealt = 0
  const nextBatch = (): { runId: number; firstStep: number } | undefined => {
    if (dealt >= totalBatches) return undefined
    const group = Math.floor(dealt / (WRITERS * batchesPerRun))
    const withinGroup = dealt % (WRITERS * batchesPerRun)
    const runIndex = group * WRITERS + (withinGroup % WRITERS)
    const batchIndex = Math.floor(withinGroup / WRITERS)
    dealt++
    return runIndex < HEAVY_RUNS ? { runId: heavy[runIndex]!, firstStep: batchIndex * BATCH_STEPS } : nextBatch()
  }

  // The app's folder, on a short interval: it folds while the writers write.
  const folder = metricFolder(metrics, createSilentLogger(), 200)
  folder.start()
  const rows: string[][] = []
  let ingested = 0
  let stretchStart = performance.now()
  let stretchPoints = 0
  for (const fraction of CHECKPOINTS) {
    const target = Math.round(totalBatches * fraction)
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (dealt < target) {
          const batch = nextBatch()
          if (!batch) return
          await metrics.logBatch(batch.runId, batchOf(batch.firstStep, now))
          ingested += BATCH_POINTS
          stretchPoints += BATCH_POINTS
        }
      })
    )
    const stretchMs = performance.now() - stretchStart
    const ingestRate = (stretchPoints / stretchMs) * 1000
    // Everything the folder has left (it waits for a run to gather points or for them to age):
    // folded now, timed.
    const catchUpStart = performance.now()
    while ((await metrics.foldPendingSlice(65_536)) > 0) {
      /* fold every pending run */
    }
    const catchUpMs = performance.now() - catchUpStart
    const withFoldRate = (stretchPoints / (stretchMs + catchUpMs)) * 1000
    const bareRate = await bareCopyRate()

    // A single point: row writes in one transaction, and points/s through the repository.
    const singleRun = await newRun(`single-${fraction}`)
    // Counted within one transaction, before and after: a backend's counters also hold its
    // earlier transactions' writes until it reports them.
    const writes = await database.withTransaction(async (tx) => {
      const count = async () =>
        Number(
          (
            await tx.query<{ n: string }>(
              `SELECT sum(pg_stat_get_xact_tuples_inserted(c.oid) + pg_stat_get_xact_tuples_updated(c.oid) + pg_stat_get_xact_tuples_deleted(c.oid)) AS n
               FROM pg_class c WHERE c.relnamespace IN ('public'::regnamespace, 'pg_toast'::regnamespace) AND c.relkind IN ('r', 't')`
            )
          ).rows[0]!.n
        )
      const before = await count()
      for (let step = 0; step < 1_000; step++) await tx.query("SELECT log_ml_metric($1, 'single', $2, $3)", [singleRun, step / 3, step])
      return ((await count()) - before) / 1_000
    })
    const singleStart = performance.now()
    for (let step = 1_000; step < 3_000; step++) {
      await metrics.logOne(singleRun, { key: 'single', value: step, step: BigInt(step), epoch: null, timestamp: now + step, kind: 'train' })
    }
    const singleRate = (2_000 / (performance.now() - singleStart)) * 1000

    const zoomedMs = await timeMedian(20, async () => {
      const result = await metrics.series(longRun, 'long', { maxPoints: 4_000 })
      if (result.mode !== 'buckets' || result.buckets.length > 2_000 || result.totalPoints !== 1_000_000) throw new Error('zoomed-out series is wrong')
    })
    const detailMs = await timeMedian(10, async () => {
      if ((await metrics.history(detailRun, 'detail', { limit: 100_000 })).length !== 100_000) throw new Error('full detail is wrong')
    })
    // The runs table's core: the latest value of 20 keys for every run, one column per key as
    // binary arrays (run ids, values), straight from the per-(run, key) summaries.
    const latestMs = await timeMedian(10, async () => {
      const { rows: columns } = await database.query<{ metric_name: string; run_ids: Buffer; last_values: Buffer }>(
        `SELECT s.metric_name, array_send(array_agg(s.run_id)) AS run_ids, array_send(array_agg(s.last_value)) AS last_values
         FROM ml_metric_summary s JOIN ml_run r ON r.run_id = s.run_id
         WHERE r.experiment_id = $1 AND r.deleted_at IS NULL AND s.metric_name = ANY($2)
         GROUP BY s.metric_name`,
        [experiment.id, KEYS]
      )
      const values = columns.map((column) => ({ key: column.metric_name, runIds: decodeInt8Array(column.run_ids), values: decodeFloat8Array(column.last_values) }))
      if (values.length !== KEYS.length || values[0]!.values.length < LIGHT_RUNS) throw new Error('latest values are wrong')
    })
    const tableMs = await timeMedian(5, async () => {
      if ((await runs.listByExperiment(experiment.id)).length < LIGHT_RUNS) throw new Error('runs table is wrong')
    })

    // Deleting a 1M-point run.
    const doomed = await newRun(`doomed-${fraction}`)
    for (let offset = 0; offset < 1_000_000; offset += BATCH_POINTS * 100) {
      const points: MetricPoint[] = []
      for (let b = 0; b < 100; b++) points.push(...batchOf((offset / KEYS.length) + b * BATCH_STEPS, now))
      await metrics.logBatch(doomed, points)
    }
    await runs.setDeleted(doomed, true)
    const deleteStart = performance.now()
    await runs.deletePermanently(doomed)
    const deleteMs = performance.now() - deleteStart
    const purgeStart = performance.now()
    while ((await metrics.purgeDeletedSlice(500)) > 0) {
      /* the background purger's loop, timed */
    }
    const purgeMs = performance.now() - purgeStart

    await database.query('VACUUM ml_metric_chunk, ml_metric_rollup, ml_metric_summary')
    const stored = await metrics.count()
    const bytesPerPoint = (await bytesOnDisk(database, '^(ml_metric_chunk_p[0-9]+|ml_metric_rollup|ml_metric_summary|ml_metric_key)$')) / stored
    const folderSize = process.env.HYPERCUBE_DATABASE_URL ? 'n/a (external server)' : execFileSync('du', ['-sh', bench.dataDir]).toString().split('\t')[0]!

    const label = `${fmt(ingested / 1e6, 0)}M`
    rows.push([
      label,
      `${fmt(ingestRate)} (${fmt(catchUpMs / 1000, 1)} s, ${fmt(withFoldRate)})`,
      `${fmt(bareRate)} (${fmt((ingestRate / bareRate) * 100)} %)`,
      `${fmt(writes, 2)} rows, ${fmt(singleRate)}/s`,
      fmt(zoomedMs, 1),
      fmt(detailMs, 1),
      `${fmt(latestMs, 1)} (${fmt(tableMs)})`,
      `${fmt(deleteMs, 1)} (${fmt(purgeMs / 1000, 1)} s)`,
      `${fmt(bytesPerPoint, 1)} (MLflow ${fmt(mlflowBytesPerPoint, 1)})`,
      folderSize
    ])
    console.log(`checkpoint ${label}: ${rows.at(-1)!.join(' | ')}`)
    stretchStart = performance.now()
    stretchPoints = 0
  }

  const header = [
    'points',
    'ingest points/s (fold catch-up, points/s counting it)',
    'bare COPY points/s (ingest %)',
    'single point',
    '1M series zoomed ms',
    '100k key detail ms',
    'latest of 20 keys × 10k runs ms (runs table ms)',
    'delete 1M-point run ms (purge)',
    'bytes/point (MLflow schema)',
    'data folder'
  ]
  console.log('\n| ' + header.join(' | ') + ' |')
  console.log('|' + header.map(() => '---').join('|') + '|')
  for (const row of rows) console.log('| ' + row.join(' | ') + ' |')
  const rateOf = (cell: string) => Number(cell.split(' ')[0]!.replace(/,/g, ''))
  const first = rateOf(rows[0]![1]!)
  const last = rateOf(rows.at(-1)![1]!)
  console.log(`\nlast ingest figure / first: ${fmt((last / first) * 100)} % (target ≥ 80 %)`)
  console.log(`load average ${loadavg()[0]!.toFixed(2)} at the end (other work on the machine moves these figures)`)
  console.log('targets: ingest ≥ 500,000 points/s; single point ≤ 3 rows; zoomed ≤ 30 ms; detail ≤ 100 ms; latest ≤ 100 ms; delete ≤ 100 ms; ≤ 40 bytes/point')
  await folder.dispose()
} finally {
  await bench.close()
}
