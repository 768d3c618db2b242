import { invalidArgument } from '../../shared/errors'
import {
  OPEN_FILTER_DIALECT,
  parseFilter,
  parseOrder,
  type FilterDialect,
  type FilterExpression,
  type FilterFieldType,
  type RunOrder
} from '../../shared/run-filter'

/**
 * MLflow's side of search: its AND-only filters for experiments, registered models, model
 * versions and logged models, its order_by lists and its page tokens. The grammar is the one
 * shared filter language (shared/run-filter.ts: one parser, one AST; runs/search takes all of
 * it, OR and parentheses too); here it is only held to MLflow's AND-only form and its errors
 * worded as MLflow's. SQL is built in one place (repositories/run-filter-sql.ts).
 */

export type FilterEntity = FilterFieldType
export type FilterOperator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'NOT LIKE' | 'NOT ILIKE' | 'IN' | 'NOT IN'

/** One comparison of an AND-only filter (MLflow's own search form). */
export interface FilterCondition {
  entity: FilterEntity
  key: string
  op: FilterOperator
  value: string | number | string[]
}

/** An AND-only filter as its comparisons; an empty filter has none. */
export function parseSearchFilter(filter: string | undefined, dialect: FilterDialect = OPEN_FILTER_DIALECT): FilterCondition[] {
  if (filter === undefined || filter.trim() === '') return []
  const parsed = parseFilter(filter, dialect)
  if (!parsed.ok) throw invalidArgument(`Invalid filter '${filter}': ${parsed.message}`, 'filter')
  const conditions: FilterCondition[] = []
  const collect = (node: FilterExpression): void => {
    switch (node.kind) {
      case 'or':
        throw invalidArgument(`Invalid filter '${filter}': only AND is supported here (OR and parentheses are for runs/search)`, 'filter')
      case 'and':
        node.items.forEach(collect)
        return
      case 'in':
        conditions.push({ entity: node.field.type, key: node.field.key, op: node.negated ? 'NOT IN' : 'IN', value: node.values.map(String) })
        return
      case 'compare':
        conditions.push({
          entity: node.field.type,
          key: node.field.key,
          op: node.negated ? (`NOT ${node.operator}` as FilterOperator) : node.operator,
          value: node.value
        })
    }
  }
  collect(parsed.expression!)
  return conditions
}

/** Comparisons joined by AND, as the shared AST (what the SQL builder compiles). */
export function searchExpression(conditions: readonly FilterCondition[]): FilterExpression | null {
  const items = conditions.map((condition): FilterExpression => {
    const field = { type: condition.entity, key: condition.key }
    const { op, value } = condition
    if (op === 'IN' || op === 'NOT IN') {
      return { kind: 'in', field, values: Array.isArray(value) ? value : [value], negated: op === 'NOT IN', position: 0 }
    }
    if (Array.isArray(value)) throw invalidArgument(`${op} needs a single value`, 'filter')
    const negated = op === 'NOT LIKE' || op === 'NOT ILIKE'
    const operator = negated ? (op.slice(4) as 'LIKE' | 'ILIKE') : (op as Exclude<FilterOperator, 'NOT LIKE' | 'NOT ILIKE' | 'IN' | 'NOT IN'>)
    return { kind: 'compare', field, operator, value, negated, position: 0 }
  })
  if (items.length === 0) return null
  return items.length === 1 ? items[0]! : { kind: 'and', items }
}

/** order_by entries: "name", "metrics.loss DESC", "attributes.start_time ASC". */
export interface OrderClause {
  entity: FilterEntity
  key: string
  descending: boolean
}

export function parseOrderBy(orderBy: readonly string[] | undefined, dialect: FilterDialect = OPEN_FILTER_DIALECT): OrderClause[] {
  return (orderBy ?? []).map((entry) => {
    const parsed = parseOrder(entry, dialect)
    if (!parsed.ok) throw invalidArgument(`Invalid order_by clause '${entry}': ${parsed.message}`, 'order_by')
    return { entity: parsed.order.field.type, key: parsed.order.field.key, descending: parsed.order.descending }
  })
}

export function orderTerms(clauses: readonly OrderClause[]): RunOrder[] {
  return clauses.map((clause) => ({ field: { type: clause.entity, key: clause.key }, descending: clause.descending }))
}

/** Page tokens are opaque to clients: base64 of the offset of the next page. */
export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64')
}

export function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0
  try {
    const offset = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown }).offset
    if (typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) return offset
  } catch {
    // fall through to the error below
  }
  throw invalidArgument(`Invalid page token '${token}'`, 'page_token')
}
