import { mkdtempSync, writeFileSync, cpSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Database } from '../../src/main/db/database'
import { loadMigrations, migrate, MigrationError, type Migration } from '../../src/main/db/migrator'
import { createSilentLogger } from '../../src/main/logging'
import { migrationsDir } from '../../src/main/paths'
import { createTestDatabase } from '../support/test-env'

const logger = createSilentLogger()

function fakeMigrations(...sqls: string[]): Migration[] {
  const dir = mkdtempSync(join(tmpdir(), 'hypercube-migrations-'))
  sqls.forEach((sql, index) => writeFileSync(join(dir, `${String(index + 1).padStart(4, '0')}_step_${index + 1}.sql`), sql))
  return loadMigrations(dir)
}

describe('migrator', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup()
  })

  async function freshDatabase(): Promise<Database> {
    return (await freshDatabaseWithUrl()).database
  }

  async function freshDatabaseWithUrl(): Promise<{ database: Database; url: string }> {
    const { url, drop } = await createTestDatabase()
    const database = await Database.connect(url, logger)
    cleanups.push(async () => {
      await database.close()
      await drop()
    })
    return { database, url }
  }

  it('applies the real migrations in order, once, and records their checksums', async () => {
    const database = await freshDatabase()
    const migrations = loadMigrations(migrationsDir())
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1))
    const first = await migrate(database, migrations, logger)
    expect(first.applied).toEqual(migrations.map((m) => m.name))
    const second = await migrate(database, migrations, logger)
    expect(second.applied).toEqual([])
    const { rows } = await database.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM hypercube_schema_migrations ORDER BY version'
    )
    expect(rows).toEqual(migrations.map((m) => ({ version: m.version, checksum: m.checksum })))
  })

  it('creates the seven seed tables and seven seed functions', async () => {
    const database = await freshDatabase()
    await migrate(database, loadMigrations(migrationsDir()), logger)
    const { rows: tables } = await database.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
    )
    const tableNames = tables.map((t) => t.table_name)
    for (const table of ['ml_experiment', 'ml_run', 'ml_model_version', 'ml_model_registry', 'ml_metric_chunk', 'ml_artifact', 'ml_checkpoint']) {
      expect(tableNames).toContain(table)
    }
    const { rows: functions } = await database.query<{ proname: string }>(
      "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
    )
    const functionNames = functions.map((f) => f.proname)
    for (const fn of [
      'create_ml_experiment',
      'start_ml_run',
      'complete_ml_run',
      'log_ml_metric',
      'register_ml_model_version',
      'deploy_ml_model',
      'get_experiment_leaderboard'
    ]) {
      expect(functionNames).toContain(fn)
    }
  })

  it('rolls back a failing migration completely and applies nothing after it', async () => {
    const database = await freshDatabase()
    const migrations = fakeMigrations('CREATE TABLE a (x int);', 'CREATE TABLE b (x int); SELECT no_such_function();', 'CREATE TABLE c (x int);')
    await expect(migrate(database, migrations, logger)).rejects.toThrow(/0002_step_2\.sql failed/)
    const { rows } = await database.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('a','b','c') ORDER BY 1"
    )
    expect(rows.map((r) => r.name)).toEqual(['a'])
    const { rows: applied } = await database.query('SELECT version FROM hypercube_schema_migrations')
    expect(applied).toEqual([{ version: 1 }])
  })

  it('refuses a migration edited after it was applied', async () => {
    const database = await freshDatabase()
    await migrate(database, fakeMigrations('CREATE TABLE a (x int);'), logger)
    const edited = fakeMigrations('CREATE TABLE a (x bigint);')
    await expect(migrate(database, edited, logger)).rejects.toThrow(MigrationError)
    await expect(migrate(database, edited, logger)).rejects.toThrow(/0001_step_1\.sql was changed after it was applied/)
  })

  it('refuses a database whose schema is newer than the app', async () => {
    const database = await freshDatabase()
    await migrate(database, fakeMigrations('CREATE TABLE a (x int);', 'CREATE TABLE b (x int);'), logger)
    await expect(migrate(database, fakeMigrations('CREATE TABLE a (x int);'), logger)).rejects.toThrow(
      /schema is at version 2 .*newer than this Hypercube, which knows up to version 1/
    )
  })

  it('lets two instances start at once: the advisory lock serialises them and each migration runs once', async () => {
    const { database, url } = await freshDatabaseWithUrl()
    // A second pool on the same database: a second app instance.
    const other = await Database.connect(url, logger)
    cleanups.unshift(() => other.close())
    // pg_sleep makes the first migration slow, so the two really overlap.
    const migrations = fakeMigrations('SELECT pg_sleep(0.5); CREATE TABLE once_only (x int);', 'CREATE TABLE second (x int);')
    const [a, b] = await Promise.all([migrate(database, migrations, logger), migrate(other, migrations, logger)])
    expect([...a.applied, ...b.applied].sort()).toEqual(['0001_step_1.sql', '0002_step_2.sql'])
    expect(a.applied.length === 0 || b.applied.length === 0).toBe(true)
  })

  it('refuses migration files with gaps in their numbering', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hypercube-migrations-'))
    cpSync(migrationsDir(), dir, { recursive: true })
    writeFileSync(join(dir, '0042_far_future.sql'), 'SELECT 1;')
    expect(() => loadMigrations(dir)).toThrow(/without gaps/)
  })
})
