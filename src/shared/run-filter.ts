/**
 * The filter language, shared by the runs table (which shows errors at their position while
 * the user types), by /v1 run search and by the MLflow door (runs, experiments, registered
 * models, model versions, logged models), so all of them agree on what a filter means. One
 * parser, one AST; main compiles it to SQL in one place (repositories/run-filter-sql.ts). It is
 * MLflow's search grammar plus OR and parentheses:
 *
 *   metrics.val_loss < 0.3 and params.lr = '0.001'
 *   (status = 'failed' or tags.owner like 'ana%') and name != 'baseline'
 *   attributes.status IN ('RUNNING', 'FINISHED')
 *
 * Fields: metrics.<key>, params.<key>, tags.<key>, attributes.<name> or a bare attribute
 * (status, name / run_name, run_id, experiment_id, start_time, end_time, user_id, lifecycle_stage) or,
 * in the MLflow door's experiment and registry searches, that entity's attributes. Keys with spaces or
 * dots can be quoted: metrics.`val loss`, params."a.b". Operators: = != <> < <= > >= LIKE
 * ILIKE, [NOT] IN (…). Keywords are case-insensitive.
 */

export type FilterFieldType = 'metric' | 'param' | 'tag' | 'attribute'
export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE'
export type FilterValue = string | number

export interface FilterField {
  type: FilterFieldType
  /** For attributes, the canonical name the dialect gave it (e.g. run_name for `name`). */
  key: string
}

export type FilterExpression =
  | { kind: 'and' | 'or'; items: FilterExpression[] }
  | { kind: 'compare'; field: FilterField; operator: ComparisonOperator; value: FilterValue; negated: boolean; position: number }
  | { kind: 'in'; field: FilterField; values: FilterValue[]; negated: boolean; position: number }

export type FilterParseResult = { ok: true; expression: FilterExpression | null } | { ok: false; message: string; position: number }

export const RUN_ATTRIBUTES = ['status', 'run_name', 'run_id', 'experiment_id', 'start_time', 'end_time', 'user_id', 'lifecycle_stage'] as const
export type RunAttribute = (typeof RUN_ATTRIBUTES)[number]

/**
 * What a filter may name as an attribute: written name (case-insensitive) → canonical name.
 * Without `attributes`, any attribute name passes as written and the SQL target decides (the
 * MLflow door's experiment and registry searches, whose attributes differ per entity).
 */
export interface FilterDialect {
  attributes?: Readonly<Record<string, string>>
}

const RUN_ATTRIBUTE_ALIASES: Record<string, RunAttribute> = {
  status: 'status',
  name: 'run_name',
  run_name: 'run_name',
  run_id: 'run_id',
  run_uuid: 'run_id',
  id: 'run_id',
  experiment_id: 'experiment_id',
  start_time: 'start_time',
  created: 'start_time',
  end_time: 'end_time',
  user_id: 'user_id',
  lifecycle_stage: 'lifecycle_stage'
}

/** Runs: the runs table, /v1 run search and MLflow's runs/search. */
export const RUN_FILTER_DIALECT: FilterDialect = { attributes: RUN_ATTRIBUTE_ALIASES }
/** Any attribute name, as written (the SQL target knows which exist). */
export const OPEN_FILTER_DIALECT: FilterDialect = {}

const FIELD_PREFIXES: Record<string, FilterFieldType> = {
  metrics: 'metric',
  metric: 'metric',
  params: 'param',
  param: 'param',
  parameters: 'param',
  parameter: 'param',
  tags: 'tag',
  tag: 'tag',
  attributes: 'attribute',
  attribute: 'attribute',
  attr: 'attribute',
  run: 'attribute'
}

interface Token {
  type: 'word' | 'string' | 'number' | 'quoted-key' | 'op' | '(' | ')' | ',' | '.' | 'end'
  text: string
  position: number
}

class FilterSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number
  ) {
    super(message)
  }
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < input.length) {
    const char = input[i]!
    if (/\s/.test(char)) {
      i++
      continue
    }
    const start = i
    if (char === "'" || char === '"' || char === '`') {
      // '…' and "…" are string values; `…` quotes a key. Doubling the quote escapes it.
      let text = ''
      i++
      for (;;) {
        if (i >= input.length) throw new FilterSyntaxError(`unterminated ${char}…${char}`, start)
        if (input[i] === char) {
          if (input[i + 1] === char) {
            text += char
            i += 2
            continue
          }
          i++
          break
        }
        text += input[i]
        i++
      }
      tokens.push({ type: char === '`' ? 'quoted-key' : 'string', text, position: start })
      continue
    }
    const number = /^-?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?)/i.exec(input.slice(i))
    if (number && (char !== '-' || tokens.length === 0 || tokens[tokens.length - 1]!.type === 'op' || tokens[tokens.length - 1]!.type === '(' || tokens[tokens.length - 1]!.type === ',')) {
      tokens.push({ type: 'number', text: number[0], position: start })
      i += number[0].length
      continue
    }
    const op = /^(<=|>=|!=|<>|==|=|<|>)/.exec(input.slice(i))
    if (op) {
      tokens.push({ type: 'op', text: op[0] === '<>' ? '!=' : op[0] === '==' ? '=' : op[0], position: start })
      i += op[0].length
      continue
    }
    if (char === '(' || char === ')' || char === ',' || char === '.') {
      tokens.push({ type: char, text: char, position: start })
      i++
      continue
    }
    const word = /^[A-Za-z_][A-Za-z0-9_\-/:]*/.exec(input.slice(i))
    if (word) {
      tokens.push({ type: 'word', text: word[0], position: start })
      i += word[0].length
      continue
    }
    throw new FilterSyntaxError(`unexpected character ${JSON.stringify(char)}`, start)
  }
  tokens.push({ type: 'end', text: '', position: input.length })
  return tokens
}

class Parser {
  private index = 0
  constructor(
    private readonly tokens: Token[],
    private readonly dialect: FilterDialect
  ) {}

  private get token(): Token {
    return this.tokens[this.index]!
  }

  // A method, not the getter: TypeScript would otherwise narrow `this.token.type` across advance().
  private peekType(): Token['type'] {
    return this.token.type
  }

  private isKeyword(word: string): boolean {
    return this.token.type === 'word' && this.token.text.toUpperCase() === word
  }

  private advance(): Token {
    return this.tokens[this.index++]!
  }

  private fail(message: string, token: Token = this.token): never {
    throw new FilterSyntaxError(message, token.position)
  }

  parse(): FilterExpression {
    const expression = this.parseOr()
    if (this.token.type !== 'end') this.fail(`expected AND, OR or the end of the filter, found ${JSON.stringify(this.token.text)}`)
    return expression
  }

  private parseOr(): FilterExpression {
    const items = [this.parseAnd()]
    while (this.isKeyword('OR')) {
      this.advance()
      items.push(this.parseAnd())
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items }
  }

  private parseAnd(): FilterExpression {
    const items = [this.parsePrimary()]
    while (this.isKeyword('AND')) {
      this.advance()
      items.push(this.parsePrimary())
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items }
  }

  private parsePrimary(): FilterExpression {
    if (this.token.type === '(') {
      const open = this.advance()
      const inner = this.parseOr()
      if (this.peekType() !== ')') this.fail(`missing ) for the ( at position ${open.position}`)
      this.advance()
      return inner
    }
    return this.parseComparison()
  }

  private parseField(): FilterField {
    const start = this.token
    if (start.type !== 'word' && start.type !== 'quoted-key') this.fail('expected a field such as metrics.loss, params.lr, tags.owner or status')
    this.advance()
    const prefix = start.type === 'word' ? FIELD_PREFIXES[start.text.toLowerCase()] : undefined
    if (prefix && this.token.type === '.') {
      this.advance()
      const keyToken = this.token
      if (keyToken.type !== 'word' && keyToken.type !== 'quoted-key' && keyToken.type !== 'string' && keyToken.type !== 'number') {
        this.fail(`expected a key after ${start.text}.`)
      }
      this.advance()
      let key = keyToken.text
      // Unquoted keys may contain dots: metrics.train.loss
      while (keyToken.type === 'word' && this.token.type === '.' && this.tokens[this.index + 1]?.type === 'word') {
        this.advance()
        key += `.${this.advance().text}`
      }
      if (prefix === 'attribute') return { type: 'attribute', key: this.attribute(key, keyToken) }
      return { type: prefix, key }
    }
    if (start.type === 'word') return { type: 'attribute', key: this.attribute(start.text, start) }
    this.fail('a quoted key needs a prefix: metrics.`…`, params.`…` or tags.`…`', start)
  }

  private attribute(name: string, token: Token): string {
    const aliases = this.dialect.attributes
    if (!aliases) return name
    const attribute = aliases[name.toLowerCase()]
    if (!attribute) this.fail(`unknown field ${JSON.stringify(name)}: use metrics.<key>, params.<key>, tags.<key> or one of ${Object.keys(aliases).join(', ')}`, token)
    return attribute
  }

  private parseValue(): FilterValue {
    const token = this.token
    if (token.type === 'string') {
      this.advance()
      return token.text
    }
    if (token.type === 'number') {
      this.advance()
      return Number(token.text)
    }
    this.fail(token.type === 'end' ? 'expected a value at the end of the filter' : `expected a value ('text' or a number), found ${JSON.stringify(token.text)}`)
  }

  private parseComparison(): FilterExpression {
    const position = this.token.position
    const field = this.parseField()
    let negated = false
    if (this.isKeyword('NOT')) {
      this.advance()
      negated = true
      if (!this.isKeyword('IN') && !this.isKeyword('LIKE') && !this.isKeyword('ILIKE')) this.fail('expected IN, LIKE or ILIKE after NOT')
    }
    if (this.isKeyword('IN')) {
      this.advance()
      if (this.token.type !== '(') this.fail('expected ( after IN')
      this.advance()
      const values = [this.parseValue()]
      while (this.peekType() === ',') {
        this.advance()
        values.push(this.parseValue())
      }
      if (this.peekType() !== ')') this.fail('expected , or ) in the IN list')
      this.advance()
      return { kind: 'in', field, values, negated, position }
    }
    let operator: ComparisonOperator
    if (this.isKeyword('LIKE') || this.isKeyword('ILIKE')) {
      operator = this.advance().text.toUpperCase() as ComparisonOperator
    } else if (this.token.type === 'op') {
      operator = this.advance().text as ComparisonOperator
    } else {
      this.fail(this.token.type === 'end' ? 'expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN) at the end of the filter' : `expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN), found ${JSON.stringify(this.token.text)}`)
    }
    const valueToken = this.token
    const value = this.parseValue()
    if ((operator === 'LIKE' || operator === 'ILIKE') && typeof value !== 'string') this.fail(`${operator} needs a 'pattern' in quotes`, valueToken)
    if (field.type === 'metric' && typeof value !== 'number') this.fail(`metrics compare with numbers: metrics.${field.key} ${operator} 0.5`, valueToken)
    // negated is only ever true for NOT LIKE / NOT ILIKE.
    return { kind: 'compare', field, operator, value, negated, position }
  }

  /** A whole input that is one field (for ORDER BY). */
  parseFieldOnly(): FilterField {
    const field = this.parseField()
    if (this.token.type !== 'end') this.fail(`unexpected ${JSON.stringify(this.token.text)} after the field`)
    return field
  }
}

/** Parses a run filter; an empty filter matches every run (expression null). */
export function parseRunFilter(input: string): FilterParseResult {
  return parseFilter(input, RUN_FILTER_DIALECT)
}

/** Parses a filter in a dialect; an empty filter matches everything (expression null). */
export function parseFilter(input: string, dialect: FilterDialect): FilterParseResult {
  if (input.trim() === '') return { ok: true, expression: null }
  try {
    return { ok: true, expression: new Parser(tokenize(input), dialect).parse() }
  } catch (error) {
    if (error instanceof FilterSyntaxError) return { ok: false, message: `${error.message} (at position ${error.position})`, position: error.position }
    throw error
  }
}

export interface RunOrder {
  field: FilterField
  descending: boolean
}

/** "metrics.loss DESC", "start_time", "params.lr asc" → RunOrder. */
export function parseRunOrder(input: string): { ok: true; order: RunOrder } | { ok: false; message: string; position: number } {
  return parseOrder(input, RUN_FILTER_DIALECT)
}

/** An ORDER BY term in a dialect: a field and ASC (the default) or DESC. */
export function parseOrder(input: string, dialect: FilterDialect): { ok: true; order: RunOrder } | { ok: false; message: string; position: number } {
  const match = /^\s*(.+?)(?:\s+(ASC|DESC))?\s*$/i.exec(input)
  if (!match) return { ok: false, message: 'empty order', position: 0 }
  try {
    const field = new Parser(tokenize(match[1]!), dialect).parseFieldOnly()
    return { ok: true, order: { field, descending: (match[2] ?? 'ASC').toUpperCase() === 'DESC' } }
  } catch (error) {
    if (error instanceof FilterSyntaxError) return { ok: false, message: error.message, position: error.position }
    throw error
  }
}
