import { describe, expect, it } from 'vitest'
import { pythonJsonDumps } from '../../src/shared/python-json'

describe("json.dumps as Python writes it (MLflow's mlflow.modelVersions tag)", () => {
  it('separates with ", " and ": " and escapes all but printable ASCII', () => {
    expect(pythonJsonDumps([{ name: 'model', version: 1 }, { name: 'model', version: 2 }])).toBe('[{"name": "model", "version": 1}, {"name": "model", "version": 2}]')
    expect(pythonJsonDumps({ name: 'größe "x"\n\u007f😀', empty: [], none: null, yes: true })).toBe(
      '{"name": "gr\\u00f6\\u00dfe \\"x\\"\\n\\u007f\\ud83d\\ude00", "empty": [], "none": null, "yes": true}'
    )
  })
})
