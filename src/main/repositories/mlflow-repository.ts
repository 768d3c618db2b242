import type { JsonObject, RunStatus, Tags } from '../../shared/domain'
import { invalidArgument } from '../../shared/errors'
import type { Queryable } from '../db/database'
import { SQL_COMPARISON, type FilterCondition, type OrderClause } from '../services/mlflow-search'
import type { FilterExpression } from '../../shared/run-filter'
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

/** Collects bound parameters while a query is assembled: `${p(value)}` → `$n`. */
class Params {
  readonly values: unknown[] = []
  add(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}

/** Where a filter's attribute lives in a query, and whether it compares as text or a number. */
interface AttributeColumn {
  sql: string
  numeric?: boolean
}

interface FilterTarget {
  attributes: Record<string, AttributeColumn>
  /** SQL of the tags jsonb. */
  tags: string
  /** The latest value of a metric key: `(key param) => SQL`. Runs only. */
  metric?: (key: string) => string
  /** The params jsonb. Runs only. */
  params?: string
  /** MLflow's registry counts a model without the tag as "!=" (so prompts can be excluded). */
  tagNotEqualMatchesMissing: boolean
}

/** The SQL of what a filter or order_by names, and whether it compares as a number. */
function resolveColumn(entity: FilterCondition['entity'], key: string, target: FilterTarget, params: Params): { sql: string; numeric: boolean } {
  switch (entity) {
    case 'attribute': {
      const attribute = target.attributes[key]
      if (!attribute) {
        throw invalidArgument(`Invalid attribute key '${key}' specified. Valid keys are '${Object.keys(target.attributes).join("', '")}'`, 'filter')
      }
      return { sql: attribute.sql, numeric: attribute.numeric === true }
    }
    case 'tag':
      return { sql: `(${target.tags} ->> ${params.add(key)})`, numeric: false }
    case 'param':
      if (!target.params) throw invalidArgument('params are not searchable here', 'filter')
      return { sql: `(${target.params} ->> ${params.add(key)})`, numeric: false }
    case 'metric':
      if (!target.metric) throw invalidArgument('metrics are not searchable here', 'filter')
      return { sql: target.metric(params.add(key)), numeric: true }
  }
}

function compileCondition(condition: FilterCondition, target: FilterTarget, params: Params): string {
  const { sql: column, numeric } = resolveColumn(condition.entity, condition.key, target, params)
  const { op, value } = condition
  if (op === 'IN' || op === 'NOT IN') {
    if (!Array.isArray(value)) throw invalidArgument(`${op} needs a list`, 'filter')
    return `${column} ${op === 'IN' ? '= ANY' : '<> ALL'}(${params.add(value)}::text[])`
  }
  if (Array.isArray(value)) throw invalidArgument(`${op} needs a single value`, 'filter')
  if (numeric) {
    if (op === 'LIKE' || op === 'ILIKE') throw invalidArgument(`${op} does not apply to the number ${condition.key}`, 'filter')
    const number = typeof value === 'number' ? value : Number(value)
    if (Number.isNaN(number) && value !== 'NaN') throw invalidArgument(`'${value}' is not a number (${condition.key})`, 'filter')
    return `${column} ${SQL_COMPARISON[op]} ${params.add(String(number))}::float8`
  }
  const sqlOp = SQL_COMPARISON[op]
  if (condition.entity === 'tag' && op === '!=' && target.tagNotEqualMatchesMissing) {
    return `${column} IS DISTINCT FROM ${params.add(String(value))}`
  }
  return `${column} ${sqlOp} ${params.add(String(value))}`
}

function compileWhere(conditions: readonly FilterCondition[], target: FilterTarget, params: Params): string {
  return conditions.map((condition) => compileCondition(condition, target, params)).join(' AND ') || 'true'
}

function compileOrder(orderBy: readonly OrderClause[], target: FilterTarget, params: Params): string[] {
  return orderBy.map((clause) => `${resolveColumn(clause.entity, clause.key, target, params).sql} ${clause.descending ? 'DESC' : 'ASC'} NULLS LAST`)
}

const msSql = (column: string): string => `(extract(epoch FROM ${column}) * 1000)`

const EXPERIMENT_TARGET: FilterTarget = {
  attributes: {
    name: { sql: 'e.name' },
    experiment_id: { sql: 'e.experiment_id::text' },
    creation_time: { sql: msSql('e.created_at'), numeric: true },
    last_update_time: { sql: msSql('e.updated_at'), numeric: true }
  },
  tags: 'e.tags',
  tagNotEqualMatchesMissing: false
}

const RUN_STATUS_SQL = `CASE r.status WHEN 'pending' THEN 'SCHEDULED' WHEN 'running' THEN 'RUNNING' WHEN 'completed' THEN 'FINISHED'
  WHEN 'failed' THEN 'FAILED' ELSE 'KILLED' END`

export const RUN_TARGET: FilterTarget = {
  attributes: {
    run_id: { sql: 'r.run_uuid' },
    run_uuid: { sql: 'r.run_uuid' },
    run_name: { sql: 'r.run_name' },
    experiment_id: { sql: 'r.experiment_id::text' },
    status: { sql: RUN_STATUS_SQL },
    user_id: { sql: "coalesce(r.user_id, '')" },
    start_time: { sql: msSql('r.started_at'), numeric: true },
    end_time: { sql: msSql('r.completed_at'), numeric: true },
    created: { sql: msSql('r.created_at'), numeric: true },
    lifecycle_stage: { sql: "CASE WHEN r.deleted_at IS NULL THEN 'active' ELSE 'deleted' END" }
  },
  tags: 'r.tags',
  params: 'r.hyperparameters',
  metric: (key) => `(SELECT s.last_value FROM ml_metric_summary s WHERE s.run_id = r.run_id AND s.metric_name = ${key})`,
  tagNotEqualMatchesMissing: false
}

const REGISTERED_MODEL_TARGET: FilterTarget = {
  attributes: { name: { sql: 'm.model_name' } },
  tags: 'm.tags',
  tagNotEqualMatchesMissing: true
}

const MODEL_VERSION_TARGET: FilterTarget = {
  attributes: {
    name: { sql: 'v.model_name' },
    version: { sql: "CASE WHEN v.version ~ '^[0-9]{1,15}$' THEN v.version::float8 END", numeric: true },
    version_number: { sql: "CASE WHEN v.version ~ '^[0-9]{1,15}$' THEN v.version::float8 END", numeric: true },
    run_id: { sql: 'vr.run_uuid' },
    source_path: { sql: 'v.artifact_uri' },
    current_stage: { sql: 'v.stage' }
  },
  tags: 'v.tags',
  tagNotEqualMatchesMissing: true
}

const LOGGED_MODEL_TARGET: FilterTarget = {
  attributes: {
    name: { sql: 'lm.name' },
    model_id: { sql: 'lm.model_id' },
    model_type: { sql: 'lm.model_type' },
    status: { sql: 'lm.status' },
    source_run_id: { sql: 'lr.run_uuid' },
    creation_timestamp: { sql: msSql('lm.created_at'), numeric: true },
    creation_time: { sql: msSql('lm.created_at'), numeric: true },
    last_updated_timestamp: { sql: msSql('lm.updated_at'), numeric: true }
  },
  tags: 'lm.tags',
  params: 'lm.params',
  tagNotEqualMatchesMissing: false
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
         vr.run_uuid, v.run_link, v.tags, v.logged_model_id,
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
  SELECT lm.model_id, lm.experiment_id, lm.name, lm.model_type, lr.run_uuid, lm.status, lm.params, lm.tags,
         lm.created_at, lm.updated_at
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
    lastUpdateTime: ms(row.updated_at)
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
    conditions: readonly FilterCondition[],
    view: 'active' | 'deleted' | 'all',
    orderBy: readonly OrderClause[],
    page: PageRequest
  ): Promise<Page<MlflowExperimentRecord>> {
    const params = new Params()
    const where = compileWhere(conditions, EXPERIMENT_TARGET, params)
    const order = [...compileOrder(orderBy, EXPERIMENT_TARGET, params), 'e.experiment_id ASC']
    const viewSql = view === 'all' ? 'true' : view === 'deleted' ? "e.status = 'archived'" : "e.status <> 'archived'"
    const { rows } = await translated(() =>
      this.db.query(
        `SELECT ${EXPERIMENT_COLUMNS} FROM ml_experiment e WHERE ${viewSql} AND ${where}
         ORDER BY ${order.join(', ')} LIMIT ${params.add(page.limit + 1)} OFFSET ${params.add(page.offset)}`,
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
    whereSql: (params: Params) => string,
    view: 'active' | 'deleted' | 'all',
    orderBy: readonly OrderClause[],
    page: PageRequest
  ): Promise<Page<MlflowRunRecord>> {
    const params = new Params()
    const where = whereSql(params)
    const order = [...compileOrder(orderBy, RUN_TARGET, params), 'r.started_at DESC NULLS LAST', 'r.run_id DESC']
    const viewSql = view === 'all' ? 'true' : view === 'deleted' ? 'r.deleted_at IS NOT NULL' : 'r.deleted_at IS NULL'
    const { rows } = await translated(() =>
      this.db.query(
        `SELECT ${RUN_COLUMNS} FROM ml_run r
         WHERE r.experiment_id = ANY(${params.add(experimentIds)}::bigint[]) AND ${viewSql} AND (${where})
         ORDER BY ${order.join(', ')} LIMIT ${params.add(page.limit + 1)} OFFSET ${params.add(page.offset)}`,
        params.values
      )
    )
    return toPage(rows.map(toRunRecord), page)
  }

  /** A parsed run filter (the shared grammar: MLflow's plus OR and parentheses) as SQL over `ml_run r`. */
  compileRunFilter(expression: FilterExpression | null): (params: Params) => string {
    const compile = (node: FilterExpression, params: Params): string => {
      switch (node.kind) {
        case 'and':
        case 'or':
          return `(${node.items.map((item) => compile(item, params)).join(` ${node.kind.toUpperCase()} `)})`
        case 'in':
          return compileCondition(
            { entity: node.field.type, key: node.field.key, op: node.negated ? 'NOT IN' : 'IN', value: node.values.map(String) },
            RUN_TARGET,
            params
          )
        case 'compare': {
          const sql = compileCondition({ entity: node.field.type, key: node.field.key, op: node.operator, value: node.value }, RUN_TARGET, params)
          return node.negated ? `NOT coalesce(${sql}, false)` : sql
        }
      }
    }
    return (params) => (expression === null ? 'true' : compile(expression, params))
  }

  async metricHistory(runId: number, key: string, page: PageRequest): Promise<Page<LatestMetric>> {
    const { rows } = await this.db.query<{ value: string; step: string; logged_at: Date }>(
      `SELECT value::text AS value, step, logged_at FROM ml_metric_log
       WHERE run_id = $1 AND metric_name = $2
       ORDER BY step, logged_at, value LIMIT $3 OFFSET $4`,
      [runId, key, page.limit + 1, page.offset]
    )
    return toPage(
      rows.map((row) => ({ key, value: Number(row.value), step: BigInt(row.step), timestamp: row.logged_at.getTime() })),
      page
    )
  }

  // ---- registered models ----

  async getRegisteredModel(name: string): Promise<RegisteredModelRecord | undefined> {
    const { rows } = await this.db.query(`${REGISTERED_MODEL_SELECT} WHERE m.model_name = $1`, [name])
    return rows[0] ? toRegisteredModel(rows[0]) : undefined
  }

  async searchRegisteredModels(conditions: readonly FilterCondition[], orderBy: readonly OrderClause[], page: PageRequest): Promise<Page<RegisteredModelRecord>> {
    const params = new Params()
    const where = compileWhere(conditions, REGISTERED_MODEL_TARGET, params)
    const order = [...compileOrder(orderBy, REGISTERED_MODEL_TARGET, params), 'm.model_name ASC']
    const { rows } = await translated(() =>
      this.db.query(`${REGISTERED_MODEL_SELECT} WHERE ${where} ORDER BY ${order.join(', ')} LIMIT ${params.add(page.limit + 1)} OFFSET ${params.add(page.offset)}`, params.values)
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

  async searchModelVersions(conditions: readonly FilterCondition[], orderBy: readonly OrderClause[], page: PageRequest): Promise<Page<ModelVersionRecord>> {
    const params = new Params()
    const where = compileWhere(conditions, MODEL_VERSION_TARGET, params)
    const order = [...compileOrder(orderBy, MODEL_VERSION_TARGET, params), 'v.model_name ASC', 'v.created_at DESC', 'v.version_id DESC']
    const { rows } = await translated(() =>
      this.db.query(`${MODEL_VERSION_SELECT} WHERE ${where} ORDER BY ${order.join(', ')} LIMIT ${params.add(page.limit + 1)} OFFSET ${params.add(page.offset)}`, params.values)
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
    conditions: readonly FilterCondition[],
    orderBy: readonly OrderClause[],
    page: PageRequest
  ): Promise<Page<LoggedModelRecord>> {
    const params = new Params()
    const where = compileWhere(conditions, LOGGED_MODEL_TARGET, params)
    const order = [...compileOrder(orderBy, LOGGED_MODEL_TARGET, params), 'lm.created_at DESC', 'lm.model_id']
    const { rows } = await translated(() =>
      this.db.query(
        `${LOGGED_MODEL_SELECT} WHERE lm.deleted_at IS NULL AND lm.experiment_id = ANY(${params.add(experimentIds)}::bigint[]) AND ${where}
         ORDER BY ${order.join(', ')} LIMIT ${params.add(page.limit + 1)} OFFSET ${params.add(page.offset)}`,
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

export type { Params as SqlParams }
