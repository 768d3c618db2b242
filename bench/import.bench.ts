/**
 * npm run bench:import — importing MLflow history (issue 15): 1M metric points (10 runs × 10 keys
 * × 10,000 steps, with params and tags) written as an MLflow file store (mlruns/) and as an
 * MLflow SQLite store (mlflow.db: the test fixture's store with the same experiment added), then
 * each imported into an empty Hypercube through `MlflowImporter`, as `hypercube import-mlflow`
 * does. Prints points/s — reading the store, and reading plus importing — beside a bare COPY of
 * the same 1M points (one row a point, into an index-free table, one run's points a statement)
 * in the same database, measured in the same run. Target: ≥ 200,000 points/s.
 * Not a test: figures move with whatever else the machine is doing.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import initSqlJs from 'sql.js'
import { startCore } from '../src/main/core'
import { readMlflowFileStore } from '../src/main/import/mlflow-file-store'
import { MlflowImporter } from '../src/main/import/mlflow-importer'
import type { MlflowStoreSnapshot } from '../src/main/import/mlflow-records'
import { readMlflowSqliteStore } from '../src/main/import/mlflow-sql-store'
import { createSilentLogger } from '../src/main/logging'
import { encodeStagingCopy, STAGING_COPY_COLUMNS } from '../src/main/repositories/metric-copy-encoder'
import type { MetricPoint } from '../src/shared/domain'
import { makeBenchDataDir, startBenchDatabase } from './support'

const RUNS = 10
const KEYS = Array.from({ length: 10 }, (_, i) => `metric_${i}`)
const STEPS = Number(process.env.BENCH_IMPORT_STEPS ?? 10_000)
const POINTS = RUNS * KEYS.length * STEPS
const EXPERIMENT = 'bench-import'
const T0 = 1_700_000_000_000
const fixtureDb = join(import.meta.dirname, '..', 'test', 'fixtures', 'mlflow-stores', 'sqlite', 'mlflow.db')
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const runId = (r: number) => `b${String(r).padStart(31, '0')}`
const valueOf = (r: number, k: number, s: number) => Math.exp(-s / 3_000) * (k + 1) + ((r * 7 + k * 13 + s) % 97) / 1_000

/** An mlruns/ folder as the mlflow client writes it: meta.yaml files, metrics/<key> lines. */
function writeFileStore(root: string): void {
  const experimentDir = join(root, '424242')
  mkdirSync(experimentDir, { recursive: true })
  writeFileSync(join(experimentDir, 'meta.yaml'), `artifact_location: file://${experimentDir}\ncreation_time: ${T0}\nexperiment_id: '424242'\nlast_update_time: ${T0}\nlifecycle_stage: active\nname: ${EXPERIMENT}\n`)
  for (let r = 0; r < RUNS; r++) {
    const runDir = join(experimentDir, runId(r))
    for (const sub of ['metrics', 'params', 'tags', 'artifacts']) mkdirSync(join(runDir, sub), { recursive: true })
    writeFileSync(
      join(runDir, 'meta.yaml'),
      `artifact_uri: file://${runDir}/artifacts\nend_time: ${T0 + STEPS}\nentry_point_name: ''\nexperiment_id: '424242'\nlifecycle_stage: active\nrun_id: ${runId(r)}\nrun_name: run-${r}\nsource_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: ${T0}\nstatus: 3\ntags: []\nuser_id: bench\n`
    )
    writeFileSync(join(runDir, 'params', 'lr'), String(0.001 * (r + 1)))
    writeFileSync(join(runDir, 'tags', 'mlflow.runName'), `run-${r}`)
    for (let k = 0; k < KEYS.length; k++) {
      const lines: string[] = new Array(STEPS)
      for (let s = 0; s < STEPS; s++) lines[s] = `${T0 + s} ${valueOf(r, k, s)} ${s}`
      writeFileSync(join(runDir, 'metrics', KEYS[k]!), `${lines.join('\n')}\n`)
    }
  }
}

/** The fixture's mlflow.db with the same experiment, runs and points added. */
async function writeSqliteStore(path: string): Promise<void> {
  copyFileSync(fixtureDb, path)
  const SQL = await initSqlJs()
  const { readFileSync } = await import('node:fs')
  const db = new SQL.Database(readFileSync(path))
  db.run("INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (424242, ?, '', 'active', ?, ?)", [EXPERIMENT, T0, T0])
  const template = db.exec('SELECT run_uuid FROM runs LIMIT 1')[0]!.values[0]![0] as string
  const insertMetric = db.prepare('INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)')
  db.run('BEGIN')
  for (let r = 0; r < RUNS; r++) {
    // A run row like the fixture's, renamed: the runs table's many columns stay as MLflow made them.
    db.run('CREATE TEMP TABLE run_copy AS SELECT * FROM runs WHERE run_uuid = ?', [template])
    db.run("UPDATE run_copy SET run_uuid = ?, name = ?, experiment_id = 424242, status = 'FINISHED', lifecycle_stage = 'active', start_time = ?, end_time = ?, artifact_uri = ''", [runId(r), `run-${r}`, T0, T0 + STEPS])
    db.run('INSERT INTO runs SELECT * FROM run_copy')
    db.run('DROP TABLE run_copy')
    db.run("INSERT INTO params (key, value, run_uuid) VALUES ('lr', ?, ?)", [String(0.001 * (r + 1)), runId(r)])
    db.run("INSERT INTO tags (key, value, run_uuid) VALUES ('mlflow.runName', ?, ?)", [`run-${r}`, runId(r)])
    for (let k = 0; k < KEYS.length; k++) for (let s = 0; s < STEPS; s++) insertMetric.run([KEYS[k]!, valueOf(r, k, s), T0 + s, runId(r), s])
  }
  db.run('COMMIT')
  insertMetric.free()
  writeFileSync(path, db.export())
  db.close()
}

const data = makeBenchDataDir()
const bench = await startBenchDatabase()
try {
  console.log(`bench:import — ${bench.description}; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at start`)
  console.log(`${fmt(RUNS)} runs × ${KEYS.length} keys × ${fmt(STEPS)} steps = ${fmt(POINTS)} points per store`)
  writeFileStore(join(data.dir, 'mlruns'))
  await writeSqliteStore(join(data.dir, 'mlflow.db'))

  const rows: string[][] = []
  for (const [label, read] of [
    ['file store (mlruns/)', () => readMlflowFileStore(join(data.dir, 'mlruns'))],
    ['SQLite store (mlflow.db)', () => readMlflowSqliteStore(join(data.dir, 'mlflow.db'))]
  ] as Array<[string, () => Promise<MlflowStoreSnapshot>]>) {
    // A fresh core (its own data folder) on the bench database; each store into an empty workspace.
    const coreDir = join(data.dir, `core-${rows.length}`)
    mkdirSync(coreDir, { recursive: true })
    await bench.database.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public')
    const core = await startCore({ dataDir: coreDir, databaseUrl: bench.url, logger: createSilentLogger(), http: false, plugins: false })
    try {
      const start = performance.now()
      const snapshot = await read()
      const readMs = performance.now() - start
      const report = await new MlflowImporter(core.services, core.mlflow).import(snapshot, { experiments: [EXPERIMENT] })
      const totalMs = performance.now() - start
      if (report.imported.points !== POINTS || report.problems.length > 0) throw new Error(`${label}: imported ${report.imported.points} points, problems ${report.problems.join('; ')}`)
      rows.push([label, fmt((POINTS / readMs) * 1000), fmt((POINTS / totalMs) * 1000), fmt(totalMs / 1000, 1)])
      console.log(`${label}: ${rows.at(-1)!.join(' | ')}`)
    } finally {
      await core.close()
    }
  }

  // The baseline: the same points as bare one-row-a-point COPY, a run's points a statement.
  await bench.database.query('CREATE TABLE bench_bare_copy (run_id bigint, key_id integer, value double precision, step bigint, epoch integer, logged_at timestamptz, kind text)')
  const keyIds = new Map(KEYS.map((key, i) => [key, i + 1]))
  const bareStart = performance.now()
  for (let r = 0; r < RUNS; r++) {
    const points: MetricPoint[] = []
    for (let k = 0; k < KEYS.length; k++) for (let s = 0; s < STEPS; s++) points.push({ key: KEYS[k]!, value: valueOf(r, k, s), step: BigInt(s), epoch: null, timestamp: T0 + s, kind: 'train' })
    await bench.database.withTransaction((tx) => tx.copyIn(`COPY bench_bare_copy ${STAGING_COPY_COLUMNS} FROM STDIN BINARY`, encodeStagingCopy(points, keyIds)))
  }
  const bareRate = (POINTS / (performance.now() - bareStart)) * 1000

  const header = ['store', 'read points/s', 'read + import points/s', 'seconds']
  console.log(`\n| ${header.join(' | ')} |`)
  console.log(`|${header.map(() => '---').join('|')}|`)
  for (const row of rows) console.log(`| ${row.join(' | ')} |`)
  console.log(`\nbare COPY of the same points, same database: ${fmt(bareRate)} points/s; import ÷ bare COPY: ${rows.map((row) => `${fmt((Number(row[2]!.replace(/,/g, '')) / bareRate) * 100)} %`).join(', ')}`)
  console.log(`target: ≥ 200,000 points/s read + import; load average ${loadavg()[0]!.toFixed(2)} at the end (other work on the machine moves these figures)`)
} finally {
  await bench.close()
  data.remove()
}
