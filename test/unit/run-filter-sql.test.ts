import { describe, expect, it } from 'vitest'
import { compileFilter, compileOrder, compileRunFilter, RUN_FILTER_TARGET, SqlParams, type FilterTarget } from '../../src/main/repositories/run-filter-sql'
import { searchExpression, parseSearchFilter } from '../../src/main/services/mlflow-search'
import { OPEN_FILTER_DIALECT, parseFilter, parseRunFilter, type FilterExpression } from '../../src/shared/run-filter'

/**
 * One parser and one SQL builder for every filter: /v1 run search, the runs table and all of the
 * MLflow door's searches. Filter text only ever reaches the SQL as bound parameters.
 */

function expression(result: ReturnType<typeof parseFilter>): FilterExpression | null {
  if (!result.ok) throw new Error(result.message)
  return result.expression
}

function compile(filter: FilterExpression | null, target: FilterTarget = RUN_FILTER_TARGET): { sql: string; values: unknown[] } {
  const params = new SqlParams()
  return { sql: compileFilter(filter, target, params), values: params.values }
}

const REGISTRY: FilterTarget = {
  attributes: { name: { sql: 'm.model_name', kind: 'text' }, creation_time: { sql: 'm.created_ms', kind: 'number' } },
  tags: 'm.tags',
  tagNotEqualMatchesMissing: true
}

describe('one parser, two dialects', () => {
  it('maps run attribute names (MLflow and Hypercube spellings) and refuses unknown ones in the run dialect', () => {
    expect(expression(parseRunFilter("attributes.run_uuid = 'x' and user_id = 'ana' and lifecycle_stage = 'active'"))).toMatchObject({
      items: [{ field: { key: 'run_id' } }, { field: { key: 'user_id' } }, { field: { key: 'lifecycle_stage' } }]
    })
    expect(parseRunFilter('creation_time > 1').ok).toBe(false)
  })

  it('passes any attribute through in the open dialect (the MLflow entity searches), where the target decides', () => {
    expect(expression(parseFilter('creation_time > 1', OPEN_FILTER_DIALECT))).toMatchObject({ field: { type: 'attribute', key: 'creation_time' } })
    expect(() => compile(expression(parseFilter("colour = 'red'", OPEN_FILTER_DIALECT)), REGISTRY)).toThrow(/invalid attribute key 'colour'/)
  })

  it("gives MLflow's AND-only searches the same AST the parser gives", () => {
    const text = "name = 'm' AND tags.`mlflow.prompt.is_prompt` != 'true' AND name NOT IN ('a', 'b') AND name NOT LIKE 'x%'"
    // Positions are for the runs table's error marks; the door's conditions do not keep them.
    const withoutPositions = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'position' ? undefined : v)))
    expect(withoutPositions(searchExpression(parseSearchFilter(text)))).toEqual(withoutPositions(expression(parseFilter(text, OPEN_FILTER_DIALECT))))
  })
})

describe('one SQL builder', () => {
  it('binds every key and value; no filter text in the SQL', () => {
    const { sql, values } = compile(expression(parseRunFilter("(params.lr = '0.1' or tags.`x'; DROP TABLE ml_run; --` = 'y') and metrics.loss < 1")))
    expect(sql).not.toMatch(/DROP|0\.1|'y'/)
    expect(values).toEqual(['lr', '0.1', "x'; DROP TABLE ml_run; --", 'y', 'loss', 1])
  })

  it("reads MLflow's status names as Hypercube's", () => {
    expect(compile(expression(parseRunFilter("attributes.status IN ('FINISHED', 'SCHEDULED')"))).values).toEqual(['completed', 'pending'])
  })

  it("counts a registry row without the tag as != (MLflow's registry), runs not", () => {
    const filter = expression(parseFilter("tags.t != 'v'", OPEN_FILTER_DIALECT))
    expect(compile(filter, REGISTRY).sql).toContain('IS DISTINCT FROM')
    expect(compile(filter).sql).toContain('<>')
  })

  it('compares times as numbers and refuses LIKE on them', () => {
    expect(compile(expression(parseFilter("creation_time >= '17'", OPEN_FILTER_DIALECT)), REGISTRY).values).toEqual([17])
    expect(() => compile(expression(parseFilter("creation_time LIKE '1%'", OPEN_FILTER_DIALECT)), REGISTRY)).toThrow(/LIKE does not apply/)
    expect(() => compileRunFilter(expression(parseRunFilter("start_time > 'soon'")), new SqlParams())).toThrow(/compares with a number/)
  })

  it('orders by the given terms, then the tie-breakers', () => {
    const params = new SqlParams()
    expect(compileOrder([{ field: { type: 'metric', key: 'loss' }, descending: true }], RUN_FILTER_TARGET, params, ['r.run_id DESC'])).toMatch(
      /^\(SELECT .*\$1\) DESC NULLS LAST, r\.run_id DESC$/
    )
  })
})
