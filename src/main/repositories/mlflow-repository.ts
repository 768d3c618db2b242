import type { JsonObject, RunStatus, Tags } from '../../shared/domain'
import type { Queryable } from '../db/database'
import type { FilterExpression, RunOrder } from '../../shared/run-filter'
import { BYTEWISE, compileFilter, compileOrder, epochMsSql, RUN_FILTER_TARGET, SqlParams, type FilterTarget } from './run-filter-sql'
import { readKeyHistory } from './metric-repository'
import { translated } from './pg-errors'
import type { RunDatasetInput } from './run-repository'
import { toId, toJsonObject, toTags } from './row-mapping'

/**
 * MLflow's view of experiments, runs, the registry and logged models, over the same tables the
 * /v1 API uses (plus migrations/0006_mlflow.sql): reads only. Every write goes through the
 * services (RunService, ExperimentService, ModelService) and their SQL, like /v1's and the UI's.
 * Times are milliseconds since the epoch, as MLflow speaks them.
 */

export interface MlflowExperimentRecord {
  id: number
  name: string
  artifactLocation: string | null
  /** Hypercube's archived is MLflow's deleted. */
  deleted: boolean
  tags: Tags
  creationTime: number
  lastUpdateTime: number
}

export interface MlflowRunRecord {
  id: number
  uuid: string
  experimentId: number
  name: string
  status: RunStatus
  userId: string
  startTime: number | null
  endTime: number | null
  deleted: boolean
  params: JsonObject
  tags: Tags
}

export interface LatestMetric {
  key: string
  value: number
  timestamp: number
  step: bigint
}

/** A dataset a run consumed, as run-repository records it (MLflow's log-inputs). */
export type DatasetInputRecord = RunDatasetInput

export interface MlflowRunDetails extends MlflowRunRecord {
  metrics: LatestMetric[]
  datasetInputs: DatasetInputRecord[]
  modelInputs: string[]
  modelOutputs: { modelId: string; step: bigint }[]
}

export interface RegisteredModelRecord {
  name: string
  description: string
  tags: Tags
  creationTime: number
  lastUpdateTime: number
  aliases: { alias: string; version: string }[]
}

export interface ModelVersionRecord {
  id: number
  name: string
  version: string
  creationTime: number
  lastUpdateTime: number
  stage: string
  description: string
  source: string
  /** Where the version's files are: its source, or what a models:/ source resolved to. */
  downloadUri: string
  /** MLflow's run_id as the client gave it (or the source run's), whether or not such a run exists. */
  runUuid: string | null
  runLink: string
  tags: Tags
  aliases: string[]
  loggedModelId: string | null
}

export interface LoggedModelRecord {
  modelId: string
  experimentId: number
  name: string
  modelType: string
  sourceRunUuid: string | null
  status: string
  params: Tags
  tags: Tags
  creationTime: number
  lastUpdateTime: number
  /** Points logged against the model (log-metric with model_id), oldest first. */
  metrics: LoggedModelMetric[]
}

export interface LoggedModelMetric {
  key: string
  value: number
  step: bigint
  timestamp: number
  runUuid: string | null
  datasetName: string | null
  datasetDigest: string | null
}

export const RUN_STATUS_TO_MLFLOW: Record<RunStatus, string> = {
  pending: 'SCHEDULED',
  running: 'RUNNING',
  completed: 'FINISHED',
  failed: 'FAILED',
  killed: 'KILLED'
}

const ms = (value: unknown): number => (value as Date).getTime()
const optionalMs = (value: unknown): number | null => (value === null || value === undefined ? null : ms(value))

// What MLflow's experiment and registry searches can name, over this module's queries; the one
// filter compiler (run-filter-sql.ts) turns the shared filter AST into SQL over them. Runs use
// RUN_FILTER_TARGET, the same as /v1.

const EXPERIMENT_TARGET: FilterTarget = {
  attributes: {
    name: { sql: 'e.name', kind: 'text' },
    experiment_id: { sql: 'e.experiment_id', kind: 'id' },
    creation_time: { sql: epochMsSql('e.created_at'), kind: 'number' },
    last_update_time: { sql: epochMsSql('e.updated_at'), kind: 'number' }
  },
  tags: 'e.tags'
}

const REGISTERED_MODEL_TARGET: FilterTarget = {
  attributes: { name: { sql: 'm.model_name', kind: 'text' } },
  tags: 'm.tags',
  tagNotEqualMatchesMissing: true
}

const VERSION_NUMBER_SQL = "CASE WHEN v.version ~ '^[0-9]{1,15}$' THEN v.version::float8 END"
// Whole milliseconds, as MLflow stores and compares them (two versions of one millisecond tie).
const VERSION_UPDATED_MS_SQL = `floor(${epochMsSql('v.updated_at')})`

const MODEL_VERSION_TARGET: FilterTarget = {
  attributes: {
    name: { sql: 'v.model_name', kind: 'text' },
    version: { sql: VERSION_NUMBER_SQL, kind: 'number' },
    version_number: { sql: VERSION_NUMBER_SQL, kind: 'number' },
    run_id: { sql: 'coalesce(v.mlflow_run_id, vr.run_uuid)', kind: 'text' },
    source_path: { sql: 'v.artifact_uri', kind: 'text' },
    current_stage: { sql: 'v.stage', kind: 'text' },
    creation_timestamp: { sql: `floor(${epochMsSql('v.created_at')})`, kind: 'number' },
    last_updated_timestamp: { sql: VERSION_UPDATED_MS_SQL, kind: 'number' }
  },
  tags: 'v.tags',
  tagNotEqualMatchesMissing: true
}

/**
 * MLflow's model-version order after the client's (its SQL store, as test_search_model_versions_*
 * expect): with no order given, the newest update first; then name, then version newest first,
 * each unless the client ordered by it.
 */
function modelVersionTieBreakers(orderBy: readonly RunOrder[]): string[] {
  const ordered = new Set(orderBy.map((order) => (order.field.type === 'attribute' ? order.field.key : '')))
  return [
    ...(orderBy.length === 0 ? [`${VERSION_UPDATED_MS_SQL} DESC`] : []),
    ...(ordered.has('name') ? [] : [`v.model_name ${BYTEWISE} ASC`]),
    ...(ordered.has('version') || ordered.has('version_number') ? [] : [`${VERSION_NUMBER_SQL} DESC NULLS LAST`]),
    'v.version_id DESC'
  ]
}

const LOGGED_MODEL_TARGET: FilterTarget = {
  attributes: {
    name: { sql: 'lm.name', kind: 'text' },
    model_id: { sql: 'lm.model_id', kind: 'text' },
    model_type: { sql: 'lm.model_type', kind: 'text' },
    status: { sql: 'lm.status', kind: 'text' },
    source_run_id: { sql: 'coalesce(lm.mlflow_source_run_id, lr.run_uuid)', kind: 'text' },
    creation_timestamp: { sql: epochMsSql('lm.created_at'), kind: 'number' },
    creation_time: { sql: epochMsSql('lm.created_at'), kind: 'number' },
    last_updated_timestamp: { sql: epochMsSql('lm.updated_at'), kind: 'number' }
  },
  tags: 'lm.tags',
  params: 'lm.params'
}

const EXPERIMENT_COLUMNS = 'e.experiment_id, e.name, e.artifact_location, e.status, e.tags, e.created_at, e.updated_at'

function toExperiment(row: Record<string, unknown>): MlflowExperimentRecord {
  return {
    id: toId(row.experiment_id),
    name: row.name as string,
    artifactLocation: (row.artifact_location as string | null) ?? null,
    deleted: row.status === 'archived',
    tags: toTags(row.tags),
    creationTime: ms(row.created_at),
    lastUpdateTime: ms(row.updated_at)
  }
}

const RUN_COLUMNS = `r.run_id, r.run_uuid, r.experiment_id, r.run_name, r.status, r.user_id, r.started_at, r.completed_at,
  r.deleted_at, r.hyperparameters, r.tags`

function toRunRecord(row: Record<string, unknown>): MlflowRunRecord {
  return {
    id: toId(row.run_id),
    uuid: row.run_uuid as string,
    experimentId: toId(row.experiment_id),
    name: row.run_name as string,
    status: row.status as RunStatus,
    userId: (row.user_id as string | null) ?? '',
    startTime: optionalMs(row.started_at),
    endTime: optionalMs(row.completed_at),
    deleted: row.deleted_at !== null,
    params: toJsonObject(row.hyperparameters),
    tags: toTags(row.tags)
  }
}

const MODEL_VERSION_SELECT = `
  SELECT v.version_id, v.model_name, v.version, v.created_at, v.updated_at, v.stage, v.description, v.artifact_uri,
         coalesce(v.storage_location, v.artifact_uri) AS download_uri, coalesce(v.mlflow_run_id, vr.run_uuid) AS run_uuid,
         v.run_link, v.tags, v.logged_model_id,
         coalesce((SELECT array_agg(a.alias ORDER BY a.alias) FROM ml_model_alias a WHERE a.version_id = v.version_id), '{}') AS aliases
  FROM ml_model_version v LEFT JOIN ml_run vr ON vr.run_id = v.source_run_id`

function toModelVersion(row: Record<string, unknown>): ModelVersionRecord {
  return {
    id: toId(row.version_id),
    name: row.model_name as string,
    version: row.version as string,
    creationTime: ms(row.created_at),
    lastUpdateTime: ms(row.updated_at),
    stage: row.stage as string,
    description: row.description as string,
    source: row.artifact_uri as string,
    downloadUri: row.download_uri as string,
    runUuid: (row.run_uuid as string | null) ?? null,
    runLink: row.run_link as string,
    tags: toTags(row.tags),
    aliases: row.aliases as string[],
    loggedModelId: (row.logged_model_id as string | null) ?? null
  }
}

const REGISTERED_MODEL_SELECT = `
  SELECT m.model_name, m.description, m.tags, m.created_at, m.updated_at,
         coalesce((SELECT jsonb_agg(jsonb_build_array(a.alias, v.version) ORDER BY a.alias)
                   FROM ml_model_alias a JOIN ml_model_version v ON v.version_id = a.version_id
                   WHERE a.model_name = m.model_name), '[]') AS aliases
  FROM ml_registered_model m`

function toRegisteredModel(row: Record<string, unknown>): RegisteredModelRecord {
  return {
    name: row.model_name as string,
    description: row.description as string,
    tags: toTags(row.tags),
    creationTime: ms(row.created_at),
    lastUpdateTime: ms(row.updated_at),
    aliases: (row.aliases as [string, string][]).map(([alias, version]) => ({ alias, version }))
  }
}

const LOGGED_MODEL_SELECT = `
  SELECT lm.model_id, lm.experiment_id, lm.name, lm.model_type, coalesce(lm.mlflow_source_run_id, lr.run_uuid) AS run_uuid, lm.status, lm.params, lm.tags,
         lm.created_at, lm.updated_at,
         (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'key', mm.metric_name, 'value', mm.value::text, 'step', mm.step::text,
                    'ms', (extract(epoch FROM mm.logged_at) * 1000)::bigint::text, 'run_uuid', mr.run_uuid,
                    'dataset_name', mm.dataset_name, 'dataset_digest', mm.dataset_digest)
                  ORDER BY mm.logged_at, mm.step, mm.metric_name), '[]'::jsonb)
          FROM ml_logged_model_metric mm LEFT JOIN ml_run mr ON mr.run_id = mm.run_id
          WHERE mm.model_id = lm.model_id) AS metrics
  FROM ml_logged_model lm LEFT JOIN ml_run lr ON lr.run_id = lm.source_run_id`

function toLoggedModel(row: Record<string, unknown>): LoggedModelRecord {
  return {
    modelId: row.model_id as string,
    experimentId: toId(row.experiment_id),
    name: row.name as string,
    modelType: row.model_type as string,
    sourceRunUuid: (row.run_uuid as string | null) ?? null,
    status: row.status as string,
    params: toTags(row.params),
    tags: toTags(row.tags),
    creationTime: ms(row.created_at),
    lastUpdateTime: ms(row.updated_at),
    metrics: (row.metrics as Array<Record<string, string | null>>).map((metric) => ({
      key: metric.key!,
      value: Number(metric.value),
      step: BigInt(metric.step!),
      timestamp: Number(metric.ms),
      runUuid: metric.run_uuid ?? null,
      datasetName: metric.dataset_name ?? null,
      datasetDigest: metric.dataset_digest ?? null
    }))
  }
}

export interface PageRequest {
  offset: number
  limit: number
}

export interface Page<T> {
  items: T[]
  /** Offset of the next page; undefined on the last page. */
  nextOffset?: number
}

export interface DatasetSummary {
  experimentId: number
  name: string
  digest: string
  /** The input's mlflow.data.context tag ("training", "eval"), if it has one. */
  context: string | null
}

function toPage<T>(rows: T[], page: PageRequest): Page<T> {
  if (rows.length > page.limit) return { items: rows.slice(0, page.limit), nextOffset: page.offset + page.limit }
  return { items: rows }
}

export class PgMlflowRepository {
  constructor(private readonly db: Queryable) {}

  // ---- experiments ----

  async getExperiment(id: number): Promise<MlflowExperimentRecord | undefined> {
    const { rows } = await this.db.query(`SELECT ${EXPERIMENT_COLUMNS} FROM ml_experiment e WHERE e.experiment_id = $1`, [id])
    return rows[0] ? toExperiment(rows[0]) : undefined
  }

  async findExperimentByName(name: string): Promise<MlflowExperimentRecord | undefined> {
    const { rows } = await this.db.query(`SELECT ${EXPERIMENT_COLUMNS} FROM ml_experiment e WHERE e.name = $1`, [name])
    return rows[0] ? toExperiment(rows[0]) : undefined
  }

  async searchExperiments(
    filter: FilterExpression | null,
    view: 'active' | 'deleted' | 'all',
    orderBy: readonly RunOrder[],
    page: PageRequest
  ): Promise<Page<MlflowExperimentRecord>> {
    const params = new SqlParams()
    const where = compileFilter(filter, EXPERIMENT_TARGET, params)
    // MLflow's default order is newest first (creation_time DESC); experiment_id ASC breaks ties.
    const order = compileOrder(orderBy, EXPERIMENT_TARGET, params, orderBy.length === 0 ? ['e.created_at DESC', 'e.experiment_id ASC'] : ['e.experiment_id ASC'])
    const viewSql = view === 'all' ? 'true' : view === 'deleted' ? "e.status = 'archived'" : "e.status <> 'archived'"
    const { rows } = await translated(() =>
      this.db.query(
        `SELECT ${EXPERIMENT_COLUMNS} FROM ml_experiment e WHERE ${viewSql} AND ${where}
         ORDER BY ${order} LIMIT ${params.add(page.limit + 1)} OFFSET ${params.add(page.offset)}`,
        params.values
      )
    )
    return toPage(rows.map(toExperiment), page)
  }

  // ---- runs ----

  async findRun(uuid: string): Promise<MlflowRunRecord | undefined> {
    const { rows } = await this.db.query(`SELECT ${RUN_COLUMNS} FROM ml_run r WHERE r.run_uuid = $1`, [uuid])
    return rows[0] ? toRunRecord(rows[0]) : undefined
  }

  async getRunDetails(run: MlflowRunRecord): Promise<MlflowRunDetails> {
    const { rows } = await this.db.query<{ metrics: unknown; datasets: unknown; model_inputs: unknown; outputs: unknown }>(
      `SELECT
         coalesce((SELECT jsonb_agg(jsonb_build_array(s.metric_name, s.last_value::text, s.last_step::text,
                                    (extract(epoch FROM s.last_logged_at) * 1000)::float8) ORDER BY s.metric_name)
                   FROM ml_metric_summary s WHERE s.run_id = $1), '[]') AS metrics,
         coalesce((SELECT jsonb_agg(jsonb_build_array(d.name, d.digest, d.source_type, d.source, d.schema, d.profile, d.input_tags)
                                    ORDER BY d.created_at, d.name)
                   FROM ml_run_dataset_input d WHERE d.run_id = $1), '[]') AS datasets,
         coalesce((SELECT jsonb_agg(i.model_id ORDER BY i.model_id) FROM ml_run_model_input i WHERE i.run_id = $1), '[]') AS model_inputs,
         coalesce((SELECT jsonb_agg(jsonb_build_array(o.model_id, o.step::text) ORDER BY o.step, o.model_id)
                   FROM ml_run_model_output o WHERE o.run_id = $1), '[]') AS outputs`,
      [run.id]
    )
    const row = rows[0]!
    return {
      ...run,
      // Values travel as text so NaN, ±Infinity and -0 survive exactly.
      metrics: (row.metrics as [string, string, string, number][]).map(([key, value, step, timestamp]) => ({
        key,
        value: Number(value),
        step: BigInt(step),
        timestamp: Math.round(timestamp)
      })),
      datasetInputs: (row.datasets as [string, string, string, string, string | null, string | null, Tags][]).map(
        ([name, digest, sourceType, source, schema, profile, tags]) => ({ name, digest, sourceType, source, schema, profile, tags })
      ),
      modelInputs: row.model_inputs as string[],
      modelOutputs: (row.outputs as [string, string][]).map(([modelId, step]) => ({ modelId, step: BigInt(step) }))
    }
  }

  async searchRuns(
    experimentIds: readonly number[],
    filter: FilterExpression | null,
    view: 'active' | 'deleted' | 'all',
    orderBy: readonly RunOrder[],
    page: PageRequest
  ): Promise<Page<MlflowRunRecord>> {
    const params = new SqlParams()
    const where = compileFilter(filter, RUN_FILTER_TARGET, params)
    // MLflow's tie-breakers (SqlAlchemyStore._get_orderby_clauses): newest start first, then the
    // run id ascending, so runs of one start time page in a stable order clients can predict.
    const order = compileOrder(orderBy, RUN_FILTER_TARGET, params, ['r.started_at DESC NULLS LAST', 'r.run_uuid ASC'])
    const viewSql = view === 'all' ? 'true' : view === 'deleted' ? 'r.deleted_at IS NOT NULL' : 'r.deleted_at IS NULL'
    const { rows } = await translated(() =>
      this.db.query(
        `SELECT ${RUN_COLUMNS} FROM ml_run r
         WHERE r.experiment_id = ANY(${params.add(experimentIds)}::bigint[]) AND ${viewSql} AND (${where})
         ORDER BY ${order} LIMIT ${params.add(page.limit + 1)} OFFSET ${params.add(page.offset)}`,
        params.values
      )
    )
    return toPage(rows.map(toRunRecord), page)
  }

  /** Distinct (experiment, dataset name, digest, context) of the experiments' runs' inputs, at most 1,000. */
  async searchDatasetSummaries(experimentIds: readonly number[]): Promise<DatasetSummary[]> {
    const { rows } = await this.db.query<{ experiment_id: string; name: string; digest: string; context: string | null }>(
      `SELECT DISTINCT r.experiment_id, d.name, d.digest, d.input_tags ->> 'mlflow.data.context' AS context
       FROM ml_run_dataset_input d JOIN ml_run r ON r.run_id = d.run_id
       WHERE r.experiment_id = ANY($1::bigint[])
       ORDER BY r.experiment_id, d.name, d.digest, context
       LIMIT 1000`,
      [experimentIds]
    )
    return rows.map((row) => ({ experimentId: Number(row.experiment_id), name: row.name, digest: row.digest, context: row.context }))
  }

  async metricHistory(runId: number, key: string, page: PageRequest): Promise<Page<LatestMetric>> {
    const points = await readKeyHistory(this.db, runId, key, { limit: page.offset + page.limit + 1 })
    return toPage(
      points.slice(page.offset).map((point) => ({ key, value: point.value, step: point.step, timestamp: point.timestamp })),
      page
    )
  }

  // ---- registered models ----

  async getRegisteredModel(name: string): Promise<RegisteredModelRecord | undefined> {
    const { rows } = await this.db.query(`${REGISTERED_MODEL_SELECT} WHERE m.model_name = $1`, [name])
    return rows[0] ? toRegisteredModel(rows[0]) : undefined
  }

  async searchRegisteredModels(filter: FilterExpression | null, orderBy: readonly RunOrder[], page: PageRequest): Promise<Page<RegisteredModelRecord>> {
    const params = new SqlParams()
    const where = compileFilter(filter, REGISTERED_MODEL_TARGET, params)
    const order = compileOrder(orderBy, REGISTERED_MODEL_TARGET, params, [`m.model_name ${BYTEWISE} ASC`])
    const { rows } = await translated(() =>
      this.db.query(`${REGISTERED_MODEL_SELECT} WHERE ${where} ORDER BY ${order} LIMIT ${params.add(page.limit + 1)} OFFSET ${params.add(page.offset)}`, params.values)
    )
    return toPage(rows.map(toRegisteredModel), page)
  }

  // ---- model versions ----

  async getModelVersion(name: string, version: string): Promise<ModelVersionRecord | undefined> {
    const { rows } = await this.db.query(`${MODEL_VERSION_SELECT} WHERE v.model_name = $1 AND v.version = $2`, [name, version])
    return rows[0] ? toModelVersion(rows[0]) : undefined
  }

  /** Per stage, the newest version (MLflow's latest_versions / get-latest-versions). */
  async latestVersions(name: string, stages: readonly string[] | undefined): Promise<ModelVersionRecord[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM (
         SELECT DISTINCT ON (v.stage) x.* FROM (${MODEL_VERSION_SELECT} WHERE v.model_name = $1) x
         JOIN ml_model_version v ON v.version_id = x.version_id
         WHERE $2::text[] IS NULL OR lower(v.stage) = ANY($2)
         ORDER BY v.stage, v.created_at DESC, v.version_id DESC) latest
       ORDER BY created_at DESC`,
      [name, stages && stages.length > 0 ? stages.map((stage) => stage.toLowerCase()) : null]
    )
    return rows.map(toModelVersion)
  }

  async searchModelVersions(filter: FilterExpression | null, orderBy: readonly RunOrder[], page: PageRequest): Promise<Page<ModelVersionRecord>> {
    const params = new SqlParams()
    const where = compileFilter(filter, MODEL_VERSION_TARGET, params)
    const order = compileOrder(orderBy, MODEL_VERSION_TARGET, params, modelVersionTieBreakers(orderBy))
    const { rows } = await translated(() =>
      this.db.query(`${MODEL_VERSION_SELECT} WHERE ${where} ORDER BY ${order} LIMIT ${params.add(page.limit + 1)} OFFSET ${params.add(page.offset)}`, params.values)
    )
    return toPage(rows.map(toModelVersion), page)
  }

  // ---- logged models (MLflow 3) ----

  async getLoggedModel(modelId: string): Promise<LoggedModelRecord | undefined> {
    const { rows } = await this.db.query(`${LOGGED_MODEL_SELECT} WHERE lm.model_id = $1 AND lm.deleted_at IS NULL`, [modelId])
    return rows[0] ? toLoggedModel(rows[0]) : undefined
  }

  async searchLoggedModels(
    experimentIds: readonly number[],
    filter: FilterExpression | null,
    orderBy: readonly RunOrder[],
    page: PageRequest,
    /** Only models with a metric logged on one of these datasets (any digest where none is given). */
    datasets: readonly { name: string; digest: string | null }[] = []
  ): Promise<Page<LoggedModelRecord>> {
    const params = new SqlParams()
    const where = compileFilter(filter, LOGGED_MODEL_TARGET, params)
    const onDatasets =
      datasets.length === 0
        ? 'true'
        : `EXISTS (SELECT 1 FROM ml_logged_model_metric mm
             JOIN unnest(${params.add(datasets.map((dataset) => dataset.name))}::text[], ${params.add(datasets.map((dataset) => dataset.digest))}::text[]) AS d(name, digest)
               ON mm.dataset_name = d.name AND (d.digest IS NULL OR mm.dataset_digest = d.digest)
             WHERE mm.model_id = lm.model_id)`
    const order = compileOrder(orderBy, LOGGED_MODEL_TARGET, params, ['lm.created_at DESC', 'lm.model_id'])
    const { rows } = await translated(() =>
      this.db.query(
        `${LOGGED_MODEL_SELECT} WHERE lm.deleted_at IS NULL AND lm.experiment_id = ANY(${params.add(experimentIds)}::bigint[]) AND ${where} AND ${onDatasets}
         ORDER BY ${order} LIMIT ${params.add(page.limit + 1)} OFFSET ${params.add(page.offset)}`,
        params.values
      )
    )
    return toPage(rows.map(toLoggedModel), page)
  }
}

/** A stored hyperparameter as MLflow's string param (the /v1 API may have stored a number). */
export function paramText(value: JsonObject[string] | undefined): string {
  if (typeof value === 'string') return value
  return JSON.stringify(value ?? null)
}

