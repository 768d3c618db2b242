import type { FilterExpression, FilterField, FilterValue, RunOrder } from '../../shared/run-filter'
import { invalidArgument } from '../../shared/errors'

/**
 * The one compiler of the filter language (shared/run-filter.ts) to SQL: run search for /v1 and
 * the UI, and every MLflow search (runs, experiments, registered models, model versions, logged
 * models), each over its own FilterTarget. Every key and value becomes a bind parameter — user
 * text never enters the SQL string. A row that lacks the metric, param or tag a comparison
 * names does not match it (as in MLflow).
 */
export class SqlParams {
  readonly values: unknown[] = []
  add(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}

/**
 * How an attribute compares: as text, as a number (times in ms since 1970, version numbers), as
 * a run status (Hypercube's or MLflow's names), as a bigint id, or as a run's uuid (text that a
 * number can never equal).
 */
export type AttributeKind = 'text' | 'number' | 'status' | 'id' | 'uuid'

export interface FilterTarget {
  attributes: Readonly<Record<string, { sql: string; kind: AttributeKind }>>
  /** SQL of the tags jsonb. */
  tags: string
  /** SQL of the params jsonb, where the entity has params. */
  params?: string
  /** The latest value of a metric key (`key` is its bound parameter), where the entity has metrics. */
  metric?: (key: string) => string
  /** MLflow's registry counts a model without the tag as "!=" (so prompts can be excluded). */
  tagNotEqualMatchesMissing?: boolean
}

/** A timestamp column as milliseconds since 1970, as filters compare times. */
export const epochMsSql = (column: string): string => `(extract(epoch FROM ${column}) * 1000)`

/** Runs (`ml_run r`): /v1 and the UI, and MLflow's runs/search (its attribute names map here). */
export const RUN_FILTER_TARGET: FilterTarget = {
  attributes: {
    status: { sql: 'r.status', kind: 'status' },
    run_name: { sql: 'r.run_name', kind: 'text' },
    run_id: { sql: 'r.run_uuid', kind: 'uuid' },
    experiment_id: { sql: 'r.experiment_id', kind: 'id' },
    start_time: { sql: epochMsSql('r.started_at'), kind: 'number' },
    end_time: { sql: epochMsSql('r.completed_at'), kind: 'number' },
    user_id: { sql: "coalesce(r.user_id, '')", kind: 'text' },
    lifecycle_stage: { sql: "CASE WHEN r.deleted_at IS NULL THEN 'active' ELSE 'deleted' END", kind: 'text' }
  },
  tags: 'r.tags',
  params: 'r.hyperparameters',
  // A run's value of metrics.<key> is the final value it reported at completion, else the
  // latest value it logged: the same rule as the leaderboard (get_experiment_leaderboard in
  // migrations/0003) and the runs table's columns, so one run has one number per key.
  metric: (key) =>
    `coalesce(CASE WHEN jsonb_typeof(r.final_metrics -> ${key}) = 'number' THEN (r.final_metrics ->> ${key})::float8 END, ` +
    `(SELECT s.last_value FROM ml_metric_summary s WHERE s.run_id = r.run_id AND s.metric_name = ${key}))`
}

// MLflow's run statuses, accepted beside Hypercube's own in filters.
const STATUS_ALIASES: Record<string, string> = {
  running: 'running',
  scheduled: 'pending',
  pending: 'pending',
  finished: 'completed',
  completed: 'completed',
  failed: 'failed',
  killed: 'killed'
}

function statusValue(value: FilterValue): string {
  const status = typeof value === 'string' ? STATUS_ALIASES[value.toLowerCase()] : undefined
  if (!status) throw invalidArgument(`filter: unknown status ${JSON.stringify(value)} (use running, pending, completed, failed or killed)`, 'filter')
  return status
}

interface Column {
  sql: (numeric: boolean) => string
  /** A fixed kind for attributes; undefined: numeric when the filter gives a number (params, tags). */
  kind: AttributeKind | 'metric' | undefined
}

function column(field: FilterField, target: FilterTarget, params: SqlParams): Column {
  switch (field.type) {
    case 'metric': {
      if (!target.metric) throw invalidArgument('filter: metrics are not searchable here', 'filter')
      const sql = target.metric(params.add(field.key))
      return { sql: () => sql, kind: 'metric' }
    }
    case 'param':
    case 'tag': {
      const json = field.type === 'param' ? target.params : target.tags
      if (json === undefined) throw invalidArgument('filter: params are not searchable here', 'filter')
      const key = params.add(field.key)
      // Params may be JSON numbers (the /v1 API) or strings (MLflow); a numeric comparison
      // reads either, a text comparison reads the value as it was logged.
      return { sql: (numeric) => (numeric ? `hypercube_numeric(${json} ->> ${key})` : `(${json} ->> ${key})`), kind: undefined }
    }
    case 'attribute': {
      const attribute = target.attributes[field.key]
      if (!attribute) {
        throw invalidArgument(`filter: invalid attribute key '${field.key}'. Valid keys are '${Object.keys(target.attributes).join("', '")}'`, 'filter')
      }
      return { sql: () => attribute.sql, kind: attribute.kind }
    }
  }
}

function numberValue(value: FilterValue, field: FilterField): number {
  const number = typeof value === 'number' ? value : value.trim() === '' ? NaN : Number(value)
  if (Number.isNaN(number) && value !== 'NaN') throw invalidArgument(`filter: ${field.key} compares with a number, not ${JSON.stringify(value)}`, 'filter')
  return number
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * An id as the bigint column holds it: a whole number within int64, checked here so that
 * `experiment_id > 1.5` or an id past int64 is the caller's mistake named as such, not a
 * PostgreSQL cast error. A number literal past 2^53 lost digits when it was read, so such an
 * id must come in quotes.
 */
function idValue(value: FilterValue, field: FilterField): string {
  const text = typeof value === 'number' ? (Number.isInteger(value) ? BigInt(value).toString() : String(value)) : value.trim()
  if (!/^-?\d+$/.test(text)) throw invalidArgument(`filter: ${field.key} compares with whole numbers, not ${JSON.stringify(value)}`, 'filter')
  const id = BigInt(text)
  if (id < INT64_MIN || id > INT64_MAX) {
    throw invalidArgument(`filter: ${field.key} ${text} is out of range: ids are whole numbers from ${INT64_MIN} to ${INT64_MAX}`, 'filter')
  }
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw invalidArgument(`filter: ${field.key} ${text} is past 2^53 and lost digits as a number: write it in quotes ('${text}')`, 'filter')
  }
  return text
}

/** The bound value, cast as the column compares. */
function valueSql(kind: Column['kind'], numeric: boolean, value: FilterValue, field: FilterField, params: SqlParams): string {
  if (kind === 'status') return params.add(statusValue(value))
  if (kind === 'id') return `${params.add(idValue(value, field))}::bigint`
  if (kind === 'uuid' && typeof value === 'number') {
    throw invalidArgument(`filter: ${field.key} compares with a run id in quotes (32 hex digits, e.g. ${field.key} = '0f3c…'), not ${value}`, 'filter')
  }
  if (numeric) return `${params.add(numberValue(value, field))}::float8`
  return params.add(String(value))
}

function isNumeric(kind: Column['kind'], value: FilterValue): boolean {
  if (kind === 'metric' || kind === 'number') return true
  if (kind === undefined) return typeof value === 'number'
  return false
}

export function compileFilter(expression: FilterExpression | null, target: FilterTarget, params: SqlParams): string {
  if (!expression) return 'true'
  switch (expression.kind) {
    case 'and':
    case 'or':
      return `(${expression.items.map((item) => compileFilter(item, target, params)).join(expression.kind === 'and' ? ' AND ' : ' OR ')})`
    case 'in': {
      const { field } = expression
      const col = column(field, target, params)
      const numeric = expression.values.every((value) => isNumeric(col.kind, value))
      const left = col.sql(numeric)
      // Ids and run ids check the value as written (a number is refused or checked for digits).
      const asWritten = numeric || col.kind === 'id' || col.kind === 'uuid'
      const values = expression.values.map((value) => valueSql(col.kind, numeric, asWritten ? value : String(value), field, params))
      return `(${left} ${expression.negated ? 'NOT IN' : 'IN'} (${values.join(', ')}))`
    }
    case 'compare': {
      const { field, operator, value } = expression
      const col = column(field, target, params)
      if (operator === 'LIKE' || operator === 'ILIKE') {
        if (col.kind === 'metric' || col.kind === 'number' || col.kind === 'status') {
          throw invalidArgument(`filter: ${operator} does not apply to ${field.key}`, 'filter')
        }
        const left = col.kind === 'id' ? `${col.sql(false)}::text` : col.sql(false)
        const like = `${left} ${operator} ${params.add(String(value))}`
        return expression.negated ? `(NOT ${like})` : `(${like})`
      }
      const numeric = isNumeric(col.kind, value)
      const left = col.sql(numeric)
      const right = valueSql(col.kind, numeric, value, field, params)
      if (field.type === 'tag' && operator === '!=' && target.tagNotEqualMatchesMissing) return `(${left} IS DISTINCT FROM ${right})`
      return `(${left} ${operator === '!=' ? '<>' : operator} ${right})`
    }
  }
}

/**
 * Text sorts byte-wise ('Abc' < 'Default' < 'a' < 'ab'), as MLflow's stores sort it, whatever
 * collation the database was created with: the embedded cluster is C already, a server of the
 * user's own (en_US.UTF-8, ICU) would otherwise sort case-insensitively.
 */
export const BYTEWISE = 'COLLATE "C"'

/** ORDER BY terms (rows without the value sort last either way), then the tie-breakers. */
export function compileOrder(orders: readonly RunOrder[], target: FilterTarget, params: SqlParams, tieBreakers: readonly string[]): string {
  const terms = orders.map(({ field, descending }) => {
    // Params and tags sort as text (as MLflow sorts them); metrics, times and ids as numbers.
    const col = column(field, target, params)
    const text = col.kind === 'text' || col.kind === 'uuid' || col.kind === undefined
    return `${col.sql(false)}${text ? ` ${BYTEWISE}` : ''} ${descending ? 'DESC' : 'ASC'} NULLS LAST`
  })
  return [...terms, ...tieBreakers].join(', ')
}

export function compileRunFilter(expression: FilterExpression | null, params: SqlParams): string {
  return compileFilter(expression, RUN_FILTER_TARGET, params)
}

/** Run ORDER BY: the given terms, then newest first. */
export function compileRunOrder(orders: readonly RunOrder[], params: SqlParams): string {
  return compileOrder(orders, RUN_FILTER_TARGET, params, ['r.created_at DESC', 'r.run_id DESC'])
}
