/**
 * npm run bench:layouts — the chunk table's partitioning, measured (issue 12): the same chunks
 * written into three tables side by side in one embedded PostgreSQL —
 *   hash:  PARTITION BY HASH (run_id), 16 partitions (what migrations/0014 creates)
 *   range: PARTITION BY RANGE (run_id), one partition per 25 runs (made ahead for the bench; an
 *          app would have to create them as run ids grow)
 *   plain: one table
 * each with the primary key (run_id, key_id, first_step, chunk_id). 16 writers COPY interleaved
 * (in two passes, the second in reverse order, so no variant gains from when it ran)
 * 1,000-point batches (50 steps × 20 keys) of 100 runs; then it reads one key of one run (by
 * name), deletes one run's chunks, and weighs each table. Chunks only: no summary, no rollups,
 * the same for all.
 *
 * And the metric key dictionary, measured the same way on the hash layout (issue 12 asked for
 * both): run-independent key ids (what migrations/0014 keeps: ml_metric_key, one row per name)
 * against per-run key ids (a (run, key index, name) dictionary, indexes counting from 1 in each
 * run). Each batch first looks its keys up (adding the new ones) in its scheme's dictionary, as
 * the app's ml_begin_metric_batch does, and the one-key read resolves the name through it.
 * BENCH_LAYOUT_STEPS (default 2,500 steps per run = 5M points per table) scales it.
 */
import { performance } from 'node:perf_hooks'
import { CHUNK_COPY_COLUMNS, chunkPoints, encodeChunkCopy } from '../src/main/repositories/metric-copy-encoder'
import type { Queryable } from '../src/main/db/database'
import type { MetricPoint } from '../src/shared/domain'
import { startBenchDatabase } from './support'

const RUNS = 100
const KEYS = Array.from({ length: 20 }, (_, i) => `metric_${i}`)
const STEPS = Number(process.env.BENCH_LAYOUT_STEPS ?? 2_500)
const BATCH_STEPS = 50
const WRITERS = 16
type KeyScheme = 'global' | 'per-run'
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function batchOf(firstStep: number, now: number): MetricPoint[] {
  const points: MetricPoint[] = []
  for (let s = 0; s < BATCH_STEPS; s++) {
    for (const key of KEYS) points.push({ key, value: Math.random(), step: BigInt(firstStep + s), epoch: null, timestamp: now + firstStep + s, kind: 'train' })
  }
  return points
}

const COLUMNS = `run_id bigint NOT NULL, key_id integer NOT NULL, first_step bigint NOT NULL,
  chunk_id bigint NOT NULL DEFAULT nextval('bench_chunk_seq'), last_step bigint NOT NULL, sealed boolean NOT NULL,
  kind text NOT NULL, point_count integer NOT NULL, steps bigint[] NOT NULL, vals float8[] NOT NULL,
  logged_at timestamptz[] NOT NULL, epochs integer[], PRIMARY KEY (run_id, key_id, first_step, chunk_id)`

const bench = await startBenchDatabase()
const { database } = bench
try {
  await database.query('CREATE SEQUENCE bench_chunk_seq')
  await database.query(`CREATE TABLE layout_hash (${COLUMNS}) PARTITION BY HASH (run_id)`)
  for (let i = 0; i < 16; i++) await database.query(`CREATE TABLE layout_hash_${i} PARTITION OF layout_hash FOR VALUES WITH (MODULUS 16, REMAINDER ${i})`)
  await database.query(`CREATE TABLE layout_range (${COLUMNS}) PARTITION BY RANGE (run_id)`)
  for (let from = 1; from <= RUNS; from += 25) await database.query(`CREATE TABLE layout_range_${from} PARTITION OF layout_range FOR VALUES FROM (${from}) TO (${from + 25})`)
  await database.query(`CREATE TABLE layout_plain (${COLUMNS})`)
  await database.query(`CREATE TABLE layout_runkeys (${COLUMNS}) PARTITION BY HASH (run_id)`)
  for (let i = 0; i < 16; i++) await database.query(`CREATE TABLE layout_runkeys_${i} PARTITION OF layout_runkeys FOR VALUES WITH (MODULUS 16, REMAINDER ${i})`)
  // The per-run dictionary (the run-independent one is the app's own ml_metric_key).
  await database.query(`CREATE TABLE bench_run_key (run_id bigint NOT NULL, key_id integer NOT NULL, metric_name text NOT NULL,
    PRIMARY KEY (run_id, key_id), UNIQUE (run_id, metric_name))`)

  /** Key ids of a batch's names in one scheme, adding the names not seen before. */
  const lookUpKeys = async (tx: Queryable, scheme: KeyScheme, runId: number, names: string[]): Promise<Map<string, number>> => {
    const { rows: found } =
      scheme === 'global'
        ? await tx.query<{ metric_name: string; key_id: number }>('SELECT * FROM ml_metric_key_ids($1)', [names])
        : await tx.query<{ metric_name: string; key_id: number }>(
            `WITH added AS (
               INSERT INTO bench_run_key (run_id, key_id, metric_name)
               SELECT $1, coalesce((SELECT max(key_id) FROM bench_run_key WHERE run_id = $1), 0) + row_number() OVER (), n
               FROM unnest($2::text[]) AS n
               WHERE NOT EXISTS (SELECT 1 FROM bench_run_key k WHERE k.run_id = $1 AND k.metric_name = n)
               ON CONFLICT DO NOTHING RETURNING metric_name, key_id)
             SELECT metric_name, key_id FROM added
             UNION ALL SELECT metric_name, key_id FROM bench_run_key WHERE run_id = $1 AND metric_name = ANY($2)`,
            [runId, names]
          )
    return new Map(found.map((row) => [row.metric_name, row.key_id]))
  }

  console.log(`database: ${bench.description}`)
  console.log(`${RUNS} runs × ${KEYS.length} keys × ${fmt(STEPS)} steps = ${fmt(RUNS * KEYS.length * STEPS)} points per table, ${WRITERS} writers, 1,000-point batches`)
  const rows: string[][] = []
  const variants: Array<{ layout: string; table: string; keys: KeyScheme }> = [
    { layout: 'hash', table: 'layout_hash', keys: 'global' },
    { layout: 'range', table: 'layout_range', keys: 'global' },
    { layout: 'plain', table: 'layout_plain', keys: 'global' },
    { layout: 'hash, per-run key ids', table: 'layout_runkeys', keys: 'per-run' }
  ]
  // Ingest in two passes, the second in reverse order and continuing the steps of the first,
  // so a variant is not favoured by when it ran (other work on the machine comes and goes).
  const halfSteps = Math.floor(STEPS / 2 / BATCH_STEPS) * BATCH_STEPS
  const ingestRates = new Map<string, number[]>()
  for (const [pass, order] of [variants, [...variants].reverse()].entries()) {
    for (const { table, keys } of order) {
      const now = Date.now()
      const stepsThisPass = pass === 0 ? halfSteps : STEPS - halfSteps
      const total = RUNS * (stepsThisPass / BATCH_STEPS)
      let next = 0
      const start = performance.now()
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          while (next < total) {
            const n = next++
            // Consecutive batches go to different runs, so the runs interleave on disk.
            const runId = (n % RUNS) + 1
            const firstStep = (pass === 0 ? 0 : halfSteps) + Math.floor(n / RUNS) * BATCH_STEPS
            await database.withTransaction(async (tx) => {
              const chunks = chunkPoints(batchOf(firstStep, now), await lookUpKeys(tx, keys, runId, KEYS))
              await tx.copyIn(`COPY ${table} ${CHUNK_COPY_COLUMNS} FROM STDIN BINARY`, encodeChunkCopy(runId, chunks))
            })
          }
        })
      )
      const rate = ((total * BATCH_STEPS * KEYS.length) / (performance.now() - start)) * 1000
      ingestRates.set(table, [...(ingestRates.get(table) ?? []), rate])
    }
  }

  for (const { layout, table, keys } of variants) {
    const points = RUNS * KEYS.length * STEPS
    await database.query(`VACUUM ANALYZE ${table}`)

    const readSamples: number[] = []
    for (let i = 0; i < 21; i++) {
      const readStart = performance.now()
      const { rows: chunks } = await database.query(
        `SELECT array_send(steps) AS steps, array_send(vals) AS vals FROM ${table}
         WHERE run_id = $1 AND key_id = (${keys === 'global' ? 'SELECT key_id FROM ml_metric_key WHERE metric_name = $2' : 'SELECT key_id FROM bench_run_key WHERE run_id = $1 AND metric_name = $2'})
         ORDER BY first_step`,
        [1 + (i % RUNS), KEYS[i % KEYS.length]]
      )
      if (chunks.length === 0) throw new Error(`no chunks read from ${table}`)
      readSamples.push(performance.now() - readStart)
    }
    const deleteStart = performance.now()
    await database.query(`DELETE FROM ${table} WHERE run_id = $1`, [RUNS / 2])
    const deleteMs = performance.now() - deleteStart
    await database.query(`VACUUM ${table}`)
    const { rows: size } = await database.query<{ bytes: string; dictionary: string; entries: string }>(
      `SELECT (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relname = $1 OR c.relname LIKE $1 || '\\_%')::text AS bytes,
              pg_total_relation_size($2::regclass)::text AS dictionary,
              (SELECT count(*) FROM ${keys === 'global' ? 'ml_metric_key' : 'bench_run_key'})::text AS entries`,
      [table, keys === 'global' ? 'ml_metric_key' : 'bench_run_key']
    )
    const dictionary = `${fmt(Number(size[0]!.entries))} names, ${fmt(Number(size[0]!.dictionary) / 1024)} KiB`
    const rates = ingestRates.get(table)!
    rows.push([layout, `${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}`, fmt(median(readSamples), 2), fmt(deleteMs, 1), fmt(Number(size[0]!.bytes) / points, 1), dictionary])
  }
  const header = ['layout', 'ingest points/s, two passes (key lookup + COPY)', 'one key of one run by name, ms (median)', 'delete one run, ms', 'chunk bytes/point', 'key dictionary']
  console.log('\n| ' + header.join(' | ') + ' |')
  console.log('|' + header.map(() => '---').join('|') + '|')
  for (const row of rows) console.log('| ' + row.join(' | ') + ' |')
} finally {
  await bench.close()
}
