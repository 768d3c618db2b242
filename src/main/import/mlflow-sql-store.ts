import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import initSqlJs, { type Database as SqliteDatabase, type SqlValue } from 'sql.js'
import { Database, databaseStorage } from '../db/database'
import { createSilentLogger } from '../logging'
import {
  modelIdOfSource,
  type MlflowDatasetInput,
  type MlflowImportExperiment,
  type MlflowImportLoggedModel,
  type MlflowImportRegisteredModel,
  type MlflowImportRun,
  type MlflowMetricPoint,
  type MlflowRunStatus,
  type MlflowStoreSnapshot
} from './mlflow-records'

/**
 * Reads an MLflow SQL store — the tables of alembic head bf29a5ff90ea, which MLflow keeps alike
 * in SQLite and PostgreSQL — through one reader over either database:
 *   - SQLite (the mlflow.db `mlflow ui` makes), read with sql.js — SQLite compiled to
 *     WebAssembly, so no native build (Node 20 has no node:sqlite). The file is read into memory
 *     whole: fine for the stores people keep in one SQLite file; see the README's limits.
 *   - PostgreSQL by URL (a team's tracking server database), read with pg, the driver the app uses.
 *
 * MLflow's SQL store keeps NaN as value 0 with is_nan = 1 and ±Inf as ±1.7976931348623157e308:
 * NaN is restored; the Infs are taken as stored, because that is what MLflow itself returns.
 */

/** A row as either driver gives it: SQLite INTEGER as BigInt, PostgreSQL bigint as text, booleans as 0/1 or true/false. */
type Row = Record<string, unknown>

/** The two things the reader asks of a database. */
interface SqlStoreSource {
  kind: 'sqlite' | 'postgresql'
  location: string
  /** Where run and model artifact folders are found when their URIs name no folder here. */
  artifactsDir: string | null
  rows(sql: string, params?: unknown[]): Promise<Row[]>
  hasTable(name: string): Promise<boolean>
  /** Every run's metric points, each run's in the order of (key, step, timestamp, value). */
  metricsByRun(): Promise<Map<string, MlflowMetricPoint[]>>
}

const METRICS_ORDERED = 'SELECT key, value, "timestamp", step, is_nan, run_uuid FROM metrics ORDER BY run_uuid, key, step, "timestamp", value'

function metricPointOf(row: Row): MlflowMetricPoint {
  return { key: String(row.key), value: Number(row.is_nan) === 1 ? NaN : Number(row.value), timestampMs: Number(row.timestamp), step: big(row.step) }
}

/**
 * The metrics table of a SQLite store, read for speed: it is nearly all of a store's rows (1M
 * points in bench:import). Integers come as numbers, not BigInt — a step beyond 2^53 comes as
 * text, so none rounds — and no row object is made; SQLite does not sort them (in WebAssembly,
 * its sort of 1M rows took longer than all the rest), each run's points are sorted here as
 * METRICS_ORDERED sorts them. Two to three times faster than the generic rows() on 1M points,
 * with a third of the garbage.
 */
function sqliteMetricsByRun(db: SqliteDatabase): Map<string, MlflowMetricPoint[]> {
  const statement = db.prepare(
    `SELECT run_uuid, key, value, "timestamp", CASE WHEN step BETWEEN -9007199254740991 AND 9007199254740991 THEN step ELSE CAST(step AS TEXT) END, is_nan FROM metrics`
  )
  const byRun = new Map<string, MlflowMetricPoint[]>()
  // The stored value orders points as SQL would (NaN is stored as 0 with is_nan = 1).
  const stored = new Map<MlflowMetricPoint, number>()
  try {
    let runId: string | null = null
    let points: MlflowMetricPoint[] = []
    while (statement.step()) {
      const [run, key, value, timestamp, step, isNan] = statement.get() as [string, string, number, number, number | string, number]
      if (run !== runId) {
        runId = run
        let found = byRun.get(run)
        if (!found) byRun.set(run, (found = []))
        points = found
      }
      const point: MlflowMetricPoint = { key, value: isNan === 1 ? NaN : value, timestampMs: timestamp, step: BigInt(step) }
      if (isNan === 1) stored.set(point, value)
      points.push(point)
    }
  } finally {
    statement.free()
  }
  const storedValue = (point: MlflowMetricPoint): number => stored.get(point) ?? point.value
  for (const points of byRun.values()) {
    points.sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : a.step < b.step ? -1 : a.step > b.step ? 1 : a.timestampMs - b.timestampMs || storedValue(a) - storedValue(b)
    )
  }
  return byRun
}

function sqliteRows(db: SqliteDatabase, sql: string, params: unknown[] = []): Row[] {
  const statement = db.prepare(sql)
  try {
    statement.bind(params as SqlValue[])
    const names = statement.getColumnNames()
    const found: Row[] = []
    while (statement.step()) {
      // INTEGER as BigInt: steps are int64, and 2**53 and beyond must not round.
      const values = statement.get(null, { useBigInt: true })
      const row: Row = {}
      for (let i = 0; i < names.length; i++) row[names[i]!] = values[i] ?? null
      found.push(row)
    }
    return found
  } finally {
    statement.free()
  }
}

const str = (value: unknown): string | null => (value === null || value === undefined ? null : typeof value === 'bigint' ? value.toString() : String(value))
const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))
const big = (value: unknown): bigint =>
  typeof value === 'bigint' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value) : BigInt(Math.trunc(Number(value ?? 0)))

function keyValues(list: Row[], key: string, value: string): Record<string, string> {
  return Object.fromEntries(list.map((row) => [String(row[key]), str(row[value]) ?? '']))
}

function groupBy(list: Row[], column: string): Map<string, Row[]> {
  const groups = new Map<string, Row[]>()
  for (const row of list) {
    const id = str(row[column]) ?? ''
    let group = groups.get(id)
    if (!group) groups.set(id, (group = []))
    group.push(row)
  }
  return groups
}

/**
 * Where a run's or model's files are: the URI itself when it names a folder here, else its
 * "<experiment>/<id>/artifacts" tail under the store's artifacts folder (the store was moved
 * from the machine that wrote it, or its artifacts were copied next to it).
 */
function artifactDirOf(uri: string | null, artifactsDir: string | null, tail: RegExp): string | null {
  if (uri === null) return null
  if (uri.startsWith('file://')) {
    const local = fileURLToPath(uri)
    if (existsSync(local) && statSync(local).isDirectory()) return local
  }
  const match = tail.exec(uri)
  if (!match || artifactsDir === null) return null
  const candidate = join(artifactsDir, match[0])
  return existsSync(candidate) && statSync(candidate).isDirectory() ? candidate : null
}

const RUN_ARTIFACTS_TAIL = /[^/]+\/[0-9a-f]{32}\/artifacts$/
const MODEL_ARTIFACTS_TAIL = /[^/]+\/models\/m-[0-9a-f]{32}\/artifacts$/

export async function readMlflowSqliteStore(path: string, artifactsDir: string = join(dirname(path), 'artifacts')): Promise<MlflowStoreSnapshot> {
  const SQL = await initSqlJs()
  const db = new SQL.Database(readFileSync(path))
  try {
    return await readMlflowSqlStore({
      kind: 'sqlite',
      location: path,
      artifactsDir,
      rows: async (sql, params) => sqliteRows(db, sql, params),
      hasTable: async (name) => sqliteRows(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).length > 0,
      metricsByRun: async () => sqliteMetricsByRun(db)
    })
  } finally {
    db.close()
  }
}

/**
 * An MLflow store in PostgreSQL (`postgresql://…`, as `mlflow server --backend-store-uri` names
 * it). Its artifacts live wherever the server kept them: `artifactsDir` points at a copy when
 * the URIs do not name folders on this machine.
 */
export async function readMlflowPostgresStore(url: string, artifactsDir: string | null = null): Promise<MlflowStoreSnapshot> {
  // One connection, no statement timeout: reading a large store's metrics is one long query.
  const database = await Database.connect(url, createSilentLogger(), 1, databaseStorage(url), 0)
  try {
    return await database.withTransaction(async (tx) => {
      // A read-only snapshot: a server still writing cannot tear what is read.
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
      return readMlflowSqlStore({
        kind: 'postgresql',
        location: url.replace(/\/\/[^@/]*@/, '//'), // without the credentials
        artifactsDir,
        rows: async (sql, params) => (await tx.query<Row>(sql, params)).rows,
        hasTable: async (name) => (await tx.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name])).rows[0]!.t !== null,
        metricsByRun: async () => {
          const byRun = new Map<string, MlflowMetricPoint[]>()
          for (const row of (await tx.query<Row>(METRICS_ORDERED)).rows) {
            const runId = String(row.run_uuid)
            let points = byRun.get(runId)
            if (!points) byRun.set(runId, (points = []))
            points.push(metricPointOf(row))
          }
          return byRun
        }
      })
    })
  } finally {
    await database.close()
  }
}

async function readMlflowSqlStore(source: SqlStoreSource): Promise<MlflowStoreSnapshot> {
  const rows = (sql: string, params?: unknown[]) => source.rows(sql, params)
  const hasTable = (name: string) => source.hasTable(name)
  const path = source.location
  {
    if (!(await hasTable('experiments')) || !(await hasTable('runs'))) throw new Error(`${path}: not an MLflow store (no experiments or runs table)`)
    const experimentTags = groupBy(await rows('SELECT key, value, experiment_id FROM experiment_tags'), 'experiment_id')
    const params = groupBy(await rows('SELECT key, value, run_uuid FROM params'), 'run_uuid')
    const tags = groupBy(await rows('SELECT key, value, run_uuid FROM tags'), 'run_uuid')
    const metrics = await source.metricsByRun()
    const datasets = new Map((await hasTable('datasets')) ? (await rows('SELECT * FROM datasets')).map((row) => [String(row.dataset_uuid), row]) : [])
    const inputs = (await hasTable('inputs')) ? await rows('SELECT * FROM inputs ORDER BY input_uuid') : []
    const inputTags = groupBy((await hasTable('input_tags')) ? await rows('SELECT * FROM input_tags') : [], 'input_uuid')

    const runsByExperiment = groupBy(await rows('SELECT * FROM runs ORDER BY start_time, run_uuid'), 'experiment_id')
    const experiments: MlflowImportExperiment[] = (await rows('SELECT * FROM experiments ORDER BY experiment_id')).map((experiment) => {
      const experimentId = str(experiment.experiment_id)!
      const deleted = experiment.lifecycle_stage === 'deleted'
      const runs: MlflowImportRun[] = (runsByExperiment.get(experimentId) ?? []).map((run) => {
        const runId = String(run.run_uuid)
        const runTags = keyValues(tags.get(runId) ?? [], 'key', 'value')
        const datasetInputs: MlflowDatasetInput[] = inputs
          .filter((input) => input.destination_type === 'RUN' && input.destination_id === runId && input.source_type === 'DATASET')
          .flatMap((input) => {
            const dataset = datasets.get(String(input.source_id))
            if (!dataset) return []
            return [
              {
                name: String(dataset.name),
                digest: String(dataset.digest),
                sourceType: String(dataset.dataset_source_type),
                source: String(dataset.dataset_source),
                schema: str(dataset.dataset_schema),
                profile: str(dataset.dataset_profile),
                tags: keyValues(inputTags.get(String(input.input_uuid)) ?? [], 'name', 'value')
              }
            ]
          })
        const modelOutputs = inputs
          .filter((input) => input.source_type === 'RUN_OUTPUT' && input.source_id === runId && input.destination_type === 'MODEL_OUTPUT')
          .map((input) => ({ modelId: String(input.destination_id), step: big(input.step) }))
        const artifactUri = str(run.artifact_uri) ?? ''
        return {
          runId,
          experimentId,
          name: str(run.name) || runTags['mlflow.runName'] || runId,
          status: (str(run.status) ?? 'FINISHED') as MlflowRunStatus,
          startTime: num(run.start_time),
          endTime: num(run.end_time),
          deleted: deleted || run.lifecycle_stage === 'deleted',
          userId: str(run.user_id),
          artifactUri,
          artifactDir: artifactDirOf(artifactUri, source.artifactsDir, RUN_ARTIFACTS_TAIL),
          params: keyValues(params.get(runId) ?? [], 'key', 'value'),
          tags: runTags,
          metrics: metrics.get(runId) ?? [],
          datasetInputs,
          modelOutputs
        }
      })
      return {
        experimentId,
        name: String(experiment.name),
        deleted,
        artifactLocation: str(experiment.artifact_location) ?? '',
        creationTime: num(experiment.creation_time),
        lastUpdateTime: num(experiment.last_update_time),
        tags: keyValues(experimentTags.get(experimentId) ?? [], 'key', 'value'),
        runs
      }
    })

    const loggedModels: MlflowImportLoggedModel[] = []
    if (await hasTable('logged_models')) {
      const modelParams = groupBy(await rows('SELECT * FROM logged_model_params'), 'model_id')
      const modelTags = groupBy(await rows('SELECT * FROM logged_model_tags'), 'model_id')
      const modelMetrics = groupBy(await rows('SELECT * FROM logged_model_metrics ORDER BY metric_step, metric_timestamp_ms'), 'model_id')
      for (const model of await rows("SELECT * FROM logged_models WHERE lifecycle_stage IS NULL OR lifecycle_stage != 'deleted' ORDER BY creation_timestamp_ms")) {
        const modelId = String(model.model_id)
        const artifactLocation = str(model.artifact_location) ?? ''
        loggedModels.push({
          modelId,
          experimentId: str(model.experiment_id)!,
          name: String(model.name),
          modelType: str(model.model_type),
          sourceRunId: str(model.source_run_id),
          status: ({ 1: 'LOGGED_MODEL_PENDING', 2: 'LOGGED_MODEL_READY', 3: 'LOGGED_MODEL_UPLOAD_FAILED' } as Record<number, string>)[Number(model.status)] ?? 'LOGGED_MODEL_READY',
          tags: keyValues(modelTags.get(modelId) ?? [], 'tag_key', 'tag_value'),
          params: keyValues(modelParams.get(modelId) ?? [], 'param_key', 'param_value'),
          metrics: (modelMetrics.get(modelId) ?? []).map((metric) => ({
            key: String(metric.metric_name),
            value: Number(metric.metric_value),
            timestampMs: Number(metric.metric_timestamp_ms),
            step: big(metric.metric_step),
            runId: str(metric.run_id),
            datasetName: str(metric.dataset_name),
            datasetDigest: str(metric.dataset_digest)
          })),
          artifactLocation,
          artifactDir: artifactDirOf(artifactLocation, source.artifactsDir, MODEL_ARTIFACTS_TAIL)
        })
      }
    }

    const registeredModels: MlflowImportRegisteredModel[] = []
    if (await hasTable('registered_models')) {
      const modelTags = groupBy(await rows('SELECT * FROM registered_model_tags'), 'name')
      const versionTags = groupBy(await rows("SELECT *, name || '/' || version AS ref FROM model_version_tags"), 'ref')
      const aliases = groupBy((await hasTable('registered_model_aliases')) ? await rows('SELECT * FROM registered_model_aliases') : [], 'name')
      const versions = groupBy(await rows("SELECT * FROM model_versions WHERE current_stage != 'Deleted_Internal' ORDER BY version"), 'name')
      for (const model of await rows('SELECT * FROM registered_models ORDER BY creation_time, name')) {
        const name = String(model.name)
        registeredModels.push({
          name,
          description: str(model.description),
          tags: keyValues(modelTags.get(name) ?? [], 'key', 'value'),
          aliases: Object.fromEntries((aliases.get(name) ?? []).map((alias) => [String(alias.alias), Number(alias.version)])),
          versions: (versions.get(name) ?? []).map((version) => {
            const source = str(version.source) ?? ''
            return {
              version: Number(version.version),
              source,
              runId: str(version.run_id) || null,
              status: str(version.status) ?? 'READY',
              currentStage: str(version.current_stage) ?? 'None',
              description: str(version.description),
              tags: keyValues(versionTags.get(`${name}/${String(version.version)}`) ?? [], 'key', 'value'),
              // The SQL registry has no model_id column: a models:/<id> source names it.
              modelId: modelIdOfSource(source),
              runLink: str(version.run_link) || null,
              creationTimestamp: num(version.creation_time)
            }
          })
        })
      }
    }
    return { kind: source.kind, location: path, experiments, loggedModels, registeredModels }
  }
}
