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

  it('binds ids as whole numbers within int64 and refuses the rest naming the filter, not as a database cast error', () => {
    expect(compile(expression(parseRunFilter('experiment_id IN (3, 9007199254740991)'))).values).toEqual(['3', '9007199254740991'])
    expect(compile(expression(parseRunFilter("experiment_id = '9223372036854775807'"))).values).toEqual(['9223372036854775807'])
    for (const [filter, message] of [
      ['experiment_id > 1.5', /^filter: experiment_id compares with whole numbers, not 1\.5$/],
      ["experiment_id = 'seven'", /experiment_id compares with whole numbers, not "seven"/],
      ['experiment_id = 99999999999999999999', /experiment_id 100000000000000000000 is out of range: ids are whole numbers from -9223372036854775808 to 9223372036854775807/],
      ["experiment_id = '9223372036854775808'", /out of range/],
      ['experiment_id = 9007199254740993', /past 2\^53 and lost digits as a number: write it in quotes/],
      ['run_id >= 0.5', /run_id compares with a run id in quotes/],
      ['run_id IN (1, 2)', /run_id compares with a run id in quotes/]
    ] as const) {
      expect(() => compile(expression(parseRunFilter(filter))), filter).toThrow(message)
      try {
        compile(expression(parseRunFilter(filter)))
      } catch (error) {
        expect(error, filter).toMatchObject({ code: 'invalid_argument', field: 'filter' })
      }
    }
  })

  it('orders by the given terms, then the tie-breakers', () => {
    const params = new SqlParams()
    expect(compileOrder([{ field: { type: 'metric', key: 'loss' }, descending: true }], RUN_FILTER_TARGET, params, ['r.run_id DESC'])).toMatch(
      /^coalesce\(.*final_metrics.*\$1.*\(SELECT .*\$1\)\) DESC NULLS LAST, r\.run_id DESC$/
    )
  })
})
