import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Database, Queryable } from './database'
import type { Logger } from '../logging'

export interface Migration {
  version: number
  name: string
  sql: string
  checksum: string
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MigrationError'
  }
}

const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/
// Any fixed 64-bit number works; this one spells "hypercube" loosely and is unlikely to clash.
const MIGRATION_LOCK_KEY = '7163636275626501'

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql).digest('hex')
}

/** Reads `NNNN_name.sql` files in order; a gap or a duplicate number is a packaging error. */
export function loadMigrations(directory: string): Migration[] {
  const migrations = readdirSync(directory)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = MIGRATION_FILE.exec(file)
      if (!match) throw new MigrationError(`migration file ${file} is not named NNNN_name.sql`)
      const sql = readFileSync(join(directory, file), 'utf8')
      return { version: Number(match[1]), name: file, sql, checksum: checksumOf(sql) }
    })
    .sort((a, b) => a.version - b.version)
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new MigrationError(`migrations must be numbered 0001, 0002, … without gaps; found ${migration.name} at position ${index + 1}`)
    }
  })
  return migrations
}

export interface MigrationReport {
  applied: string[]
  schemaVersion: number
}

/**
 * Applies pending migrations, one transaction each, under a session advisory lock so that two
 * app instances starting together cannot race. Refuses a database whose schema is newer than
 * this build, or whose applied migrations no longer match the files (edited after release).
 */
export async function migrate(database: Database, migrations: Migration[], logger: Logger): Promise<MigrationReport> {
  return database.withConnection(async (connection) => {
    await connection.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`)
    let report: MigrationReport
    try {
      report = await migrateLocked(connection, migrations, logger)
    } catch (error) {
      // Report why migrating failed, not a failed unlock: if the connection was lost, the
      // session and its lock are gone with it (and withConnection discards the client).
      await connection.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`).catch(() => undefined)
      throw error
    }
    await connection.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`)
    return report
  })
}

async function migrateLocked(connection: Queryable, migrations: Migration[], logger: Logger): Promise<MigrationReport> {
  await connection.query(`
    CREATE TABLE IF NOT EXISTS hypercube_schema_migrations (
      version     integer PRIMARY KEY,
      name        text        NOT NULL,
      checksum    text        NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`)
  const { rows: appliedRows } = await connection.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM hypercube_schema_migrations ORDER BY version'
  )
  const known = new Map(migrations.map((migration) => [migration.version, migration]))
  const newest = migrations.length
  for (const applied of appliedRows) {
    if (applied.version > newest) {
      throw new MigrationError(
        `the database schema is at version ${appliedRows[appliedRows.length - 1]!.version} (${applied.name}), newer than this Hypercube, which knows up to version ${newest}; update Hypercube or use another database`
      )
    }
    const migration = known.get(applied.version)!
    if (migration.checksum !== applied.checksum) {
      throw new MigrationError(
        `migration ${migration.name} was changed after it was applied to this database (checksum ${applied.checksum.slice(0, 12)}… recorded, ${migration.checksum.slice(0, 12)}… now); restore the original file`
      )
    }
  }
  const appliedVersions = new Set(appliedRows.map((row) => row.version))
  const appliedNow: string[] = []
  for (const migration of migrations) {
    if (appliedVersions.has(migration.version)) continue
    await connection.query('BEGIN')
    try {
      // A migration may rewrite every stored point (0014 does): no statement timeout for it.
      await connection.query('SET LOCAL statement_timeout = 0')
      await connection.query(migration.sql)
      await connection.query('INSERT INTO hypercube_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        migration.checksum
      ])
      await connection.query('COMMIT')
    } catch (error) {
      await connection.query('ROLLBACK')
      throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`)
    }
    logger.info({ migration: migration.name }, 'migration applied')
    appliedNow.push(migration.name)
  }
  return { applied: appliedNow, schemaVersion: newest }
}
