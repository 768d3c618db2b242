import type { FilterExpression, FilterField, FilterValue, RunOrder } from '../../shared/run-filter'
import { invalidArgument } from '../../shared/errors'

/**
 * Compiles a parsed run filter to a SQL condition over `ml_run r`. Every key and value becomes
 * a bind parameter — user text never enters the SQL string. A run that lacks the metric, param
 * or tag a comparison names does not match it (as in MLflow).
 */
export class SqlParams {
  readonly values: unknown[] = []
  add(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
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

/** The SQL expression for a field, and whether it compares as a number or as text. */
function fieldSql(field: FilterField, params: SqlParams, numeric: boolean): string {
  switch (field.type) {
    case 'metric':
      return `(SELECT s.last_value FROM ml_metric_summary s WHERE s.run_id = r.run_id AND s.metric_name = ${params.add(field.key)})`
    case 'param': {
      const key = params.add(field.key)
      // Params may be JSON numbers (the /v1 API) or strings (MLflow); a numeric comparison
      // reads either, a text comparison reads the value as it was logged.
      return numeric ? `hypercube_numeric(r.hyperparameters ->> ${key})` : `(r.hyperparameters ->> ${key})`
    }
    case 'tag':
      return numeric ? `hypercube_numeric(r.tags ->> ${params.add(field.key)})` : `(r.tags ->> ${params.add(field.key)})`
    case 'attribute':
      switch (field.key) {
        case 'status':
          return 'r.status'
        case 'run_name':
          return 'r.run_name'
        case 'run_id':
          return 'r.run_uuid'
        case 'experiment_id':
          return 'r.experiment_id'
        case 'start_time':
          return '(extract(epoch FROM r.started_at) * 1000)'
        case 'end_time':
          return '(extract(epoch FROM r.completed_at) * 1000)'
      }
  }
  throw invalidArgument(`filter: unknown field ${field.type}.${field.key}`, 'filter')
}

function valueSql(field: FilterField, value: FilterValue, params: SqlParams): string {
  if (field.type === 'attribute' && field.key === 'status') return params.add(statusValue(value))
  if (field.type === 'attribute' && field.key === 'experiment_id') return `${params.add(String(value))}::bigint`
  return typeof value === 'number' ? `${params.add(value)}::float8` : params.add(value)
}

function isNumericField(field: FilterField, value: FilterValue): boolean {
  if (field.type === 'metric') return true
  if (field.type === 'attribute') return field.key === 'start_time' || field.key === 'end_time'
  return typeof value === 'number'
}

export function compileRunFilter(expression: FilterExpression | null, params: SqlParams): string {
  if (!expression) return 'true'
  switch (expression.kind) {
    case 'and':
    case 'or':
      return `(${expression.items.map((item) => compileRunFilter(item, params)).join(expression.kind === 'and' ? ' AND ' : ' OR ')})`
    case 'in': {
      const numeric = expression.values.every((value) => isNumericField(expression.field, value))
      const left = fieldSql(expression.field, params, numeric)
      const values = expression.values.map((value) => valueSql(expression.field, numeric ? value : String(value), params))
      return `(${left} ${expression.negated ? 'NOT IN' : 'IN'} (${values.join(', ')}))`
    }
    case 'compare': {
      const { field, operator, value } = expression
      if (operator === 'LIKE' || operator === 'ILIKE') {
        const like = `${fieldSql(field, params, false)} ${operator} ${valueSql(field, value, params)}`
        return expression.negated ? `(NOT ${like})` : `(${like})`
      }
      const numeric = isNumericField(field, value)
      if (field.type === 'attribute' && (field.key === 'start_time' || field.key === 'end_time') && typeof value !== 'number') {
        throw invalidArgument(`filter: ${field.key} compares with milliseconds since 1970 (a number)`, 'filter')
      }
      return `(${fieldSql(field, params, numeric)} ${operator === '!=' ? '<>' : operator} ${valueSql(field, value, params)})`
    }
  }
}

/** ORDER BY terms; runs without the value sort last either way. */
export function compileRunOrder(orders: readonly RunOrder[], params: SqlParams): string {
  const terms = orders.map(({ field, descending }) => {
    const numeric = field.type === 'metric' || (field.type === 'attribute' && (field.key === 'start_time' || field.key === 'end_time' || field.key === 'experiment_id'))
    return `${fieldSql(field, params, numeric)} ${descending ? 'DESC' : 'ASC'} NULLS LAST`
  })
  return [...terms, 'r.created_at DESC', 'r.run_id DESC'].join(', ')
}
