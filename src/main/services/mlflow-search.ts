import { invalidArgument } from '../../shared/errors'

/**
 * MLflow's search filter for experiments, registered models and model versions: comparisons
 * joined by AND, e.g. `name = 'x' AND tag.\`mlflow.prompt.is_prompt\` != 'true'`. (Runs use the
 * shared run-filter grammar, which adds OR and parentheses.) Parsed into conditions that the
 * repository compiles to SQL with bound parameters; nothing from the filter is spliced into SQL.
 */

export type FilterEntity = 'attribute' | 'tag' | 'metric' | 'param'
export type FilterOperator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN'

export interface FilterCondition {
  entity: FilterEntity
  key: string
  op: FilterOperator
  value: string | number | string[]
}

const ENTITY_PREFIXES: Record<string, FilterEntity> = {
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  tag: 'tag',
  tags: 'tag',
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param'
}

interface Token {
  kind: 'identifier' | 'string' | 'number' | 'operator' | 'lparen' | 'rparen' | 'comma'
  text: string
}

function tokenize(filter: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  const fail = (why: string): never => {
    throw invalidArgument(`Invalid filter '${filter}': ${why} at position ${i}`, 'filter')
  }
  while (i < filter.length) {
    const c = filter[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === "'" || c === '"') {
      const end = filter.indexOf(c, i + 1)
      if (end < 0) fail('unterminated string')
      tokens.push({ kind: 'string', text: filter.slice(i + 1, end) })
      i = end + 1
      continue
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'comma', text: c })
      i++
      continue
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(filter.slice(i))
    if (op) {
      tokens.push({ kind: 'operator', text: op[1] === '<>' ? '!=' : op[1]! })
      i += op[1]!.length
      continue
    }
    const number = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(filter.slice(i))
    if (number) {
      tokens.push({ kind: 'number', text: number[0] })
      i += number[0].length
      continue
    }
    // An identifier: dotted segments, each plain or quoted with backticks (`mlflow.user`).
    let text = ''
    while (i < filter.length) {
      if (filter[i] === '`') {
        const end = filter.indexOf('`', i + 1)
        if (end < 0) fail('unterminated backtick')
        text += '`' + filter.slice(i + 1, end) + '`'
        i = end + 1
      } else if (/[\w.\-:/]/.test(filter[i]!)) {
        text += filter[i]
        i++
      } else break
    }
    if (text === '') fail(`unexpected character ${JSON.stringify(filter[i])}`)
    tokens.push({ kind: 'identifier', text })
  }
  return tokens
}

/** `tags.\`a.b\`` → { entity: 'tag', key: 'a.b' }; a bare `name` is an attribute. */
function splitIdentifier(identifier: string, filter: string): { entity: FilterEntity; key: string } {
  const dot = identifier.indexOf('.')
  const unquote = (key: string): string => (key.startsWith('`') && key.endsWith('`') ? key.slice(1, -1) : key)
  if (dot > 0) {
    const entity = ENTITY_PREFIXES[identifier.slice(0, dot).toLowerCase()]
    if (entity) {
      const key = unquote(identifier.slice(dot + 1))
      if (key === '') throw invalidArgument(`Invalid filter '${filter}': missing key after ${identifier.slice(0, dot)}.`, 'filter')
      return { entity, key }
    }
  }
  return { entity: 'attribute', key: unquote(identifier) }
}

export function parseSearchFilter(filter: string | undefined): FilterCondition[] {
  if (filter === undefined || filter.trim() === '') return []
  const tokens = tokenize(filter)
  const conditions: FilterCondition[] = []
  let i = 0
  const fail = (why: string): never => {
    throw invalidArgument(`Invalid filter '${filter}': ${why}`, 'filter')
  }
  while (i < tokens.length) {
    const subject = tokens[i++]
    if (!subject || subject.kind !== 'identifier') fail('expected an attribute, tag, metric or param name')
    const { entity, key } = splitIdentifier(subject!.text, filter)
    let opToken = tokens[i++]
    if (!opToken) fail(`expected an operator after ${subject!.text}`)
    let op: FilterOperator
    const word = opToken!.text.toUpperCase()
    if (opToken!.kind === 'operator') op = opToken!.text as FilterOperator
    else if (opToken!.kind === 'identifier' && (word === 'LIKE' || word === 'ILIKE' || word === 'IN')) op = word
    else if (opToken!.kind === 'identifier' && word === 'NOT' && tokens[i]?.text.toUpperCase() === 'IN') {
      i++
      op = 'NOT IN'
    } else op = fail(`unknown operator ${opToken!.text}`)
    let value: FilterCondition['value']
    if (op === 'IN' || op === 'NOT IN') {
      if (tokens[i++]?.kind !== 'lparen') fail(`${op} needs a parenthesised list`)
      const list: string[] = []
      while (true) {
        const item = tokens[i++]
        if (!item || (item.kind !== 'string' && item.kind !== 'number')) fail(`${op} list items must be strings`)
        list.push(item!.text)
        const next = tokens[i++]
        if (next?.kind === 'rparen') break
        if (next?.kind !== 'comma') fail(`expected , or ) in ${op} list`)
      }
      value = list
    } else {
      const literal = tokens[i++]
      if (!literal || (literal.kind !== 'string' && literal.kind !== 'number')) fail(`expected a value after ${op}`)
      value = literal!.kind === 'number' ? Number(literal!.text) : literal!.text
    }
    conditions.push({ entity, key, op, value })
    if (i < tokens.length) {
      const joiner = tokens[i++]!
      if (joiner.kind !== 'identifier' || joiner.text.toUpperCase() !== 'AND') fail(`expected AND, found ${joiner.text}`)
    }
  }
  return conditions
}

/** order_by entries: "name", "metrics.loss DESC", "attributes.start_time ASC". */
export interface OrderClause {
  entity: FilterEntity
  key: string
  descending: boolean
}

export function parseOrderBy(orderBy: readonly string[] | undefined): OrderClause[] {
  return (orderBy ?? []).map((entry) => {
    const match = /^\s*(.+?)(?:\s+(ASC|DESC))?\s*$/i.exec(entry)
    if (!match) throw invalidArgument(`Invalid order_by clause '${entry}'`, 'order_by')
    const { entity, key } = splitIdentifier(match[1]!.trim(), entry)
    return { entity, key, descending: match[2]?.toUpperCase() === 'DESC' }
  })
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

/** SQL LIKE with MLflow's meaning (the pattern as given, '%' and '_' as wildcards). */
export const SQL_COMPARISON: Record<Exclude<FilterOperator, 'IN' | 'NOT IN'>, string> = {
  '=': '=',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
  LIKE: 'LIKE',
  ILIKE: 'ILIKE'
}
