import { describe, expect, it } from 'vitest'
import { quoteLargeIntegers } from '../../src/main/http/mlflow/mlflow-routes'
import { decodePageToken, encodePageToken, parseOrderBy, parseSearchFilter } from '../../src/main/services/mlflow-search'
import { parseRunFilter } from '../../src/shared/run-filter'

describe('MLflow search filters (experiments, registered models, model versions)', () => {
  it('parses what the mlflow client sends, backticked keys included', () => {
    expect(parseSearchFilter("name = 'smoke-model' AND tag.`mlflow.prompt.is_prompt` != 'true'")).toEqual([
      { entity: 'attribute', key: 'name', op: '=', value: 'smoke-model' },
      { entity: 'tag', key: 'mlflow.prompt.is_prompt', op: '!=', value: 'true' }
    ])
    expect(parseSearchFilter(`tags.team LIKE 'a%' and creation_time >= 17 and name NOT IN ("a", 'b')`)).toEqual([
      { entity: 'tag', key: 'team', op: 'LIKE', value: 'a%' },
      { entity: 'attribute', key: 'creation_time', op: '>=', value: 17 },
      { entity: 'attribute', key: 'name', op: 'NOT IN', value: ['a', 'b'] }
    ])
    expect(parseSearchFilter('')).toEqual([])
    expect(parseSearchFilter(undefined)).toEqual([])
  })

  it.each(["name = 'x' OR name = 'y'", "name = 'unterminated", 'name', "name ~ 'x'", "name IN 'x'"])('refuses %s as INVALID_PARAMETER_VALUE material', (filter) => {
    expect(() => parseSearchFilter(filter)).toThrow(/Invalid filter/)
  })

  it('parses order_by and round-trips page tokens, refusing forged ones', () => {
    expect(parseOrderBy(['metrics.loss DESC', 'name'])).toEqual([
      { entity: 'metric', key: 'loss', descending: true },
      { entity: 'attribute', key: 'name', descending: false }
    ])
    expect(decodePageToken(encodePageToken(2000))).toBe(2000)
    expect(decodePageToken(undefined)).toBe(0)
    expect(() => decodePageToken('not a token')).toThrow(/Invalid page token/)
    expect(() => decodePageToken(Buffer.from('{"offset":-5}').toString('base64'))).toThrow(/Invalid page token/)
  })
})

describe('runs/search uses the shared run filter: MLflow grammar plus OR and parentheses', () => {
  it('parses the trace filter and OR/parentheses', () => {
    expect(parseRunFilter("metrics.loss < 1 and params.lr = '0.01'")).toMatchObject({ ok: true, expression: { kind: 'and' } })
    expect(parseRunFilter("(params.lr = '0.1' or tags.team = 'b') and metrics.loss >= 0")).toMatchObject({
      ok: true,
      expression: { kind: 'and', items: [{ kind: 'or' }, { kind: 'compare' }] }
    })
  })
})

describe('int64-exact JSON input', () => {
  it('quotes integer literals past 2^53 outside strings and leaves everything else alone', () => {
    expect(quoteLargeIntegers('{"step": 9007199254740993, "v": 0.9801986733067553, "s": "12345678901234567890"}')).toBe(
      '{"step": "9007199254740993", "v": 0.9801986733067553, "s": "12345678901234567890"}'
    )
    expect(quoteLargeIntegers('{"step": -9223372036854775808}')).toBe('{"step": "-9223372036854775808"}')
    const ordinary = '{"timestamp": 1795684043451, "step": 9007199254740991, "value": 1e300}'
    expect(quoteLargeIntegers(ordinary)).toBe(ordinary)
  })
})
