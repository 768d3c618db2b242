import { describe, expect, it } from 'vitest'
import { parseRunFilter, parseRunOrder, type FilterExpression } from '../../src/shared/run-filter'

function parse(text: string): FilterExpression | null {
  const result = parseRunFilter(text)
  if (!result.ok) throw new Error(result.message)
  return result.expression
}

function errorOf(text: string): { message: string; position: number } {
  const result = parseRunFilter(text)
  if (result.ok) throw new Error(`expected ${text} to fail`)
  return result
}

describe('run filter language', () => {
  it('parses MLflow-style comparisons joined by and', () => {
    expect(parse("metrics.val_loss < 0.3 and params.lr = '0.001'")).toEqual({
      kind: 'and',
      items: [
        { kind: 'compare', field: { type: 'metric', key: 'val_loss' }, operator: '<', value: 0.3, negated: false, position: 0 },
        { kind: 'compare', field: { type: 'param', key: 'lr' }, operator: '=', value: '0.001', negated: false, position: 27 }
      ]
    })
  })

  it('gives AND precedence over OR, and honours parentheses', () => {
    const flat = parse("status = 'failed' or name = 'a' and tags.x = 'y'") as { kind: string; items: FilterExpression[] }
    expect(flat.kind).toBe('or')
    expect(flat.items[1]!.kind).toBe('and')
    const grouped = parse("(status = 'failed' or name = 'a') and tags.x = 'y'") as { kind: string; items: FilterExpression[] }
    expect(grouped.kind).toBe('and')
    expect(grouped.items[0]!.kind).toBe('or')
  })

  it('knows attributes, bare or prefixed, and their aliases', () => {
    expect(parse("attributes.status = 'RUNNING'")).toMatchObject({ field: { type: 'attribute', key: 'status' } })
    expect(parse("name LIKE 'bert%'")).toMatchObject({ field: { type: 'attribute', key: 'run_name' }, operator: 'LIKE' })
    expect(parse('attributes.start_time >= 1700000000000')).toMatchObject({ field: { type: 'attribute', key: 'start_time' }, value: 1_700_000_000_000 })
  })

  it('supports IN, NOT IN, ILIKE, NOT LIKE, != and <>', () => {
    expect(parse("tags.team IN ('a', 'b')")).toMatchObject({ kind: 'in', values: ['a', 'b'], negated: false })
    expect(parse("params.opt not in ('sgd')")).toMatchObject({ kind: 'in', negated: true })
    expect(parse("tags.owner ilike '%ANA%'")).toMatchObject({ operator: 'ILIKE', negated: false })
    expect(parse("name not like 'tmp%'")).toMatchObject({ operator: 'LIKE', negated: true })
    expect(parse('metrics.loss <> 1')).toMatchObject({ operator: '!=' })
  })

  it('reads quoted keys, dotted keys, negative and exponent numbers, and escaped quotes', () => {
    expect(parse('metrics.`val loss` > -1.5e-3')).toMatchObject({ field: { key: 'val loss' }, value: -0.0015 })
    expect(parse('metrics.train.loss < 2')).toMatchObject({ field: { type: 'metric', key: 'train.loss' } })
    expect(parse(`params."a b" = 'it''s'`)).toMatchObject({ field: { key: 'a b' }, value: "it's" })
  })

  it('treats an empty filter as match-all', () => {
    expect(parseRunFilter('   ')).toEqual({ ok: true, expression: null })
  })

  it('reports errors with the position where they are', () => {
    expect(errorOf("metrics.loss < 0.3 and").position).toBe(22)
    expect(errorOf('metrics.loss < 0.3 and').message).toMatch(/expected a field/)
    expect(errorOf("params.lr = '0.1").position).toBe(12)
    expect(errorOf("(status = 'a'").message).toMatch(/missing \)/)
    expect(errorOf("colour = 'red'")).toMatchObject({ position: 0 })
    expect(errorOf("metrics.loss = 'low'").message).toMatch(/metrics compare with numbers/)
    expect(errorOf('metrics.loss 0.3').message).toMatch(/expected an operator/)
    expect(errorOf("metrics.loss < 0.3 status = 'x'").message).toMatch(/expected AND, OR/)
  })

  it('parses order terms', () => {
    expect(parseRunOrder('metrics.loss DESC')).toEqual({ ok: true, order: { field: { type: 'metric', key: 'loss' }, descending: true } })
    expect(parseRunOrder('start_time')).toEqual({ ok: true, order: { field: { type: 'attribute', key: 'start_time' }, descending: false } })
    expect(parseRunOrder('bogus asc').ok).toBe(false)
  })
})
