import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The MLflow door translates; it does not write. Its SQL (MLflow's projections for reads) must
 * hold no INSERT, UPDATE or DELETE: every write goes through the services and their SQL, the
 * same rule path as /v1 and the UI (README: "One rule path").
 */

const ROOT = join(__dirname, '..', '..')
const MLFLOW_FILES = [
  'src/main/repositories/mlflow-repository.ts',
  'src/main/services/mlflow-service.ts',
  'src/main/services/mlflow-search.ts',
  ...readdirSync(join(ROOT, 'src/main/http/mlflow')).map((file) => `src/main/http/mlflow/${file}`)
]
const WRITE_SQL = /\b(INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|TRUNCATE|ON\s+CONFLICT)\b/i

describe('the MLflow door', () => {
  it.each(MLFLOW_FILES)('%s holds no SQL that writes', (file) => {
    const source = readFileSync(join(ROOT, file), 'utf8')
    const writes = source.split('\n').filter((line) => WRITE_SQL.test(line))
    expect(writes).toEqual([])
  })

  it('builds no repository of its own inside a transaction (writes go through the services)', () => {
    const service = readFileSync(join(ROOT, 'src/main/services/mlflow-service.ts'), 'utf8')
    expect(service).not.toMatch(/new PgMlflowRepository\(/)
  })
})
