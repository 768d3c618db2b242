import type { RunKeys } from '../../../shared/domain'
import { parseRunFilter, type FilterExpression } from '../../../shared/run-filter'

/**
 * The filter box's help while typing: completions of the word at the caret (a field such as
 * metrics.val_loss, an operator after a field, and/or after a value), and the keys a filter
 * names that no run of the experiment has ("no run has metrics.acuracy"), with the closest key
 * that exists. Pure, so the unit tests and the view share it.
 */

export interface Suggestion {
  /** What the list shows and what replaces the word being typed. */
  label: string
  kind: 'field' | 'operator' | 'keyword'
  insert: string
}

export interface Suggestions {
  /** The span of the text the chosen suggestion replaces. */
  from: number
  to: number
  items: Suggestion[]
}

const MAX_SUGGESTIONS = 50
/** Attributes as the filter names them (shared/run-filter.ts), offered after the experiment's keys. */
const ATTRIBUTES = ['status', 'name', 'attributes.start_time', 'attributes.end_time', 'attributes.run_id', 'attributes.user_id']
const OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'LIKE', 'ILIKE', 'IN', 'NOT IN']

/** Every field the filter may name for these keys, keys first. */
export function filterFields(keys: RunKeys | null): string[] {
  if (!keys) return ATTRIBUTES
  return [
    ...keys.metrics.map((key) => `metrics.${fieldKey(key)}`),
    ...keys.params.map((key) => `params.${fieldKey(key)}`),
    ...keys.tags.map((key) => `tags.${fieldKey(key)}`),
    ...ATTRIBUTES
  ]
}

/** A key as the filter writes it: quoted in backticks when it has characters a bare key cannot. */
function fieldKey(key: string): string {
  return /^[A-Za-z_][\w.-]*$/.test(key) && !key.endsWith('.') ? key : `\`${key.replace(/`/g, '')}\``
}

const FIELD_AT_END = /(?:^|[\s(])((?:metrics?|params?|tags?|attributes?)\.(?:`[^`]*`|[\w.-]+)|status|name|run_name)$/i
const VALUE_AT_END = /(?:'[^']*'|"[^"]*"|-?\d+(?:\.\d+)?(?:e-?\d+)?|\))$/i

export function suggest(text: string, caret: number, keys: RunKeys | null): Suggestions {
  const before = text.slice(0, caret)
  const word = /[\w.`-]*$/.exec(before)![0]
  const from = caret - word.length
  // The rest of the word after the caret is replaced too, so completing in the middle of a key works.
  const to = caret + /^[\w.`-]*/.exec(text.slice(caret))![0].length
  const prev = before.slice(0, from).trimEnd()
  const lowered = word.toLowerCase()

  if (prev === '' || prev.endsWith('(') || /(?:^|\s)(?:and|or)$/i.test(prev)) {
    const items = filterFields(keys)
      .filter((field) => {
        const candidate = field.toLowerCase()
        if (lowered === '') return true
        // "acc" finds metrics.accuracy as well as "metrics.acc" does.
        return candidate.startsWith(lowered) || candidate.slice(candidate.indexOf('.') + 1).startsWith(lowered)
      })
      .filter((field) => field.toLowerCase() !== lowered)
      .slice(0, MAX_SUGGESTIONS)
      .map((field): Suggestion => ({ label: field, kind: 'field', insert: `${field} ` }))
    return { from, to, items }
  }
  if (FIELD_AT_END.test(prev) && /^[a-z]*$/i.test(word)) {
    const items = OPERATORS.filter((operator) => lowered === '' || operator.toLowerCase().startsWith(lowered)).map(
      (operator): Suggestion => ({ label: operator, kind: 'operator', insert: `${operator} ` })
    )
    return { from, to, items }
  }
  if (VALUE_AT_END.test(prev) && /^[a-z]+$/i.test(word)) {
    const items = ['and', 'or']
      .filter((keyword) => keyword.startsWith(lowered) && keyword !== lowered)
      .map((keyword): Suggestion => ({ label: keyword, kind: 'keyword', insert: `${keyword} ` }))
    return { from, to, items }
  }
  return { from, to, items: [] }
}

/** The text with a suggestion put in place of the word it completes, and where the caret goes. */
export function applySuggestion(text: string, suggestions: Suggestions, item: Suggestion): { text: string; caret: number } {
  const after = text.slice(suggestions.to).replace(/^ /, '')
  return { text: text.slice(0, suggestions.from) + item.insert + after, caret: suggestions.from + item.insert.length }
}

export interface UnknownKey {
  /** As the filter names it, e.g. metrics.acuracy. */
  field: string
  /** The closest key of that kind some run has, if one is close. */
  closest: string | null
}

/** The metric, param and tag keys a filter names that no run of the experiment has. */
export function unknownKeys(filter: string, keys: RunKeys | null): UnknownKey[] {
  if (!keys || filter.trim() === '') return []
  const parsed = parseRunFilter(filter)
  if (!parsed.ok || !parsed.expression) return []
  const found: UnknownKey[] = []
  const seen = new Set<string>()
  const visit = (expression: FilterExpression): void => {
    if ('items' in expression) {
      for (const item of expression.items) visit(item)
      return
    }
    const { type, key } = expression.field
    if (type === 'attribute') return
    const kind: keyof RunKeys = type === 'metric' ? 'metrics' : type === 'param' ? 'params' : 'tags'
    const field = `${kind}.${key}`
    if (keys[kind].includes(key) || seen.has(field)) return
    seen.add(field)
    const near = closestKey(key, keys[kind])
    found.push({ field, closest: near === null ? null : `${kind}.${near}` })
  }
  visit(parsed.expression)
  return found
}

/** The candidate nearest by edit distance, when it is near enough to be a likely misspelling. */
export function closestKey(key: string, candidates: readonly string[]): string | null {
  let best: string | null = null
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  // Up to a third of the key's length: acuracy → accuracy, not loss → accuracy.
  return best !== null && bestDistance <= Math.max(2, Math.ceil(key.length / 3)) ? best : null
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}
