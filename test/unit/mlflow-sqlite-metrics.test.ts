import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import initSqlJs from 'sql.js'
import { afterAll, describe, expect, it } from 'vitest'
import { readMlflowSqliteStore } from '../../src/main/import/mlflow-sql-store'

/**
 * The SQLite store's metrics are read without SQLite sorting them and with integers as numbers
 * (bench:import: 2–4× faster on 1M points). What that must not change: every run's points come
 * in the order (key, step, timestamp, value) as before, a step beyond 2^53 keeps every digit,
 * and NaN (stored as 0 with is_nan = 1) is NaN again, ordered by its stored 0.
 */

const fixture = join(import.meta.dirname, '..', 'fixtures', 'mlflow-stores', 'sqlite', 'mlflow.db')
const folder = mkdtempSync(join(tmpdir(), 'hypercube-sqlite-metrics-'))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

describe('the MLflow SQLite store reader', () => {
  it('gives each run its points in (key, step, timestamp, value) order, int64 steps exact and NaN restored', async () => {
    const path = join(folder, 'mlflow.db')
    copyFileSync(fixture, path)
    const SQL = await initSqlJs()
    const db = new SQL.Database(readFileSync(path))
    const runId = db.exec('SELECT run_uuid FROM runs ORDER BY run_uuid LIMIT 1')[0]!.values[0]![0] as string
    db.run("DELETE FROM metrics WHERE run_uuid = ? AND key LIKE 'zz_%'", [runId])
    const insert = db.prepare('INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)')
    // Inserted out of order; SQLite's rowid order is this order.
    const rows: Array<[string, number, number, bigint | number, number]> = [
      ['zz_b', 2, 10, 1, 0],
      ['zz_a', 5, 30, 2n ** 60n + 1n, 0],
      ['zz_a', 0, 20, 3, 1],
      ['zz_a', 7, 20, 3, 0],
      ['zz_a', -1, 20, 3, 0],
      ['zz_a', 4, 10, 3, 0],
      ['zz_a', 9, 5, -(2n ** 62n), 0]
    ]
    for (const [key, value, timestamp, step, isNan] of rows) insert.run([key, value, timestamp, runId, typeof step === 'bigint' ? step.toString() : step, isNan])
    insert.free()
    // A step given as text above is stored as INTEGER (the column's affinity): check it is.
    expect(db.exec("SELECT typeof(step) FROM metrics WHERE key = 'zz_a' AND timestamp = 30")[0]!.values[0]![0]).toBe('integer')
    writeFileSync(path, db.export())
    db.close()

    const snapshot = await readMlflowSqliteStore(path)
    const run = snapshot.experiments.flatMap((experiment) => experiment.runs).find((candidate) => candidate.runId === runId)!
    const added = run.metrics.filter((point) => point.key.startsWith('zz_'))
    expect(added.map((point) => [point.key, point.step, point.timestampMs, point.value])).toEqual([
      ['zz_a', -(2n ** 62n), 5, 9],
      ['zz_a', 3n, 10, 4],
      ['zz_a', 3n, 20, -1],
      ['zz_a', 3n, 20, NaN],
      ['zz_a', 3n, 20, 7],
      ['zz_a', 2n ** 60n + 1n, 30, 5],
      ['zz_b', 1n, 10, 2]
    ])
    // The run's other keys keep their order too.
    const keys = run.metrics.map((point) => point.key)
    expect(keys).toEqual([...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
  })
})
