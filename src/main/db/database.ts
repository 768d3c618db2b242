import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { finished } from 'node:stream/promises'
import { DomainError } from '../../shared/errors'
import type { Logger } from '../logging'

/**
 * The only module that imports `pg`. Repositories see `Queryable` (a pool or a transaction)
 * and get rows back; they never hold a connection themselves.
 */
export interface QueryResult<Row> {
  rows: Row[]
  rowCount: number
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>
  /**
   * Runs `work` atomically: a transaction on the pool, a savepoint inside a transaction, so a
   * repository works the same whether or not its caller already opened one.
   */
  withTransaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>
}

export interface Transaction extends Queryable {
  /** Streams pre-encoded COPY data (e.g. PostgreSQL's binary COPY format) into `copySql`. */
  copyIn(copySql: string, chunks: Iterable<Buffer>): Promise<void>
}

/** Lowest PostgreSQL major the migrations and queries are written for. */
export const MIN_SERVER_VERSION_NUM = 140000

// The durability settings Hypercube relies on to keep what it acknowledged.
const REQUIRED_DURABILITY: Record<string, string> = { fsync: 'on', full_page_writes: 'on', synchronous_commit: 'on' }

export class Database implements Queryable {
  private constructor(
    private readonly pool: pg.Pool,
    readonly serverVersion: string,
    private readonly logger: Logger
  ) {}

  /**
   * Connects, then refuses servers that are too old or that would lose acknowledged commits.
   * synchronous_commit is also pinned per connection so a server-wide `off` cannot leak in.
   */
  static async connect(connectionString: string, logger: Logger, maxConnections = 10): Promise<Database> {
    const pool = new pg.Pool({
      connectionString,
      max: maxConnections,
      // extra_float_digits=3: doubles read as text come back exact whatever the server's default.
      options: '-c synchronous_commit=on -c extra_float_digits=3',
      application_name: 'hypercube',
      connectionTimeoutMillis: 15_000
    })
    // An idle client losing its server (e.g. PostgreSQL restarted) must not crash the app.
    pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection failed'))
    try {
      const version = await pool.query<{ server_version: string; server_version_num: string }>(
        "SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS server_version_num"
      )
      const { server_version: serverVersion, server_version_num: versionNum } = version.rows[0]!
      if (Number(versionNum) < MIN_SERVER_VERSION_NUM) {
        throw new DomainError('unavailable', `PostgreSQL ${serverVersion} is too old: Hypercube needs PostgreSQL 14 or newer`)
      }
      const settings = await pool.query<{ name: string; setting: string }>(
        'SELECT name, setting FROM pg_settings WHERE name = ANY($1)',
        [Object.keys(REQUIRED_DURABILITY)]
      )
      for (const { name, setting } of settings.rows) {
        if (setting !== REQUIRED_DURABILITY[name]) {
          throw new DomainError(
            'unavailable',
            `PostgreSQL has ${name}=${setting}; Hypercube needs ${name}=${REQUIRED_DURABILITY[name]} so that nothing it acknowledged can be lost`
          )
        }
      }
      logger.info({ serverVersion, durability: settings.rows }, 'database connected')
      return new Database(pool, serverVersion, logger)
    } catch (error) {
      await pool.end().catch(() => undefined)
      throw error
    }
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    const result = await this.pool.query(sql, params as unknown[] | undefined)
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 }
  }

  /** Runs `work` in one transaction on one checked-out connection; rolls back on any error. */
  async withTransaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    const tx = new PgTransaction(client)
    let broken = false
    try {
      await client.query('BEGIN')
      const result = await work(tx)
      await client.query('COMMIT')
      return result
    } catch (error) {
      try {
        await client.query('ROLLBACK')
      } catch (rollbackError) {
        broken = true
        this.logger.warn({ err: rollbackError }, 'rollback failed; discarding connection')
      }
      throw error
    } finally {
      client.release(broken)
    }
  }

  /** A dedicated connection for session-level work (advisory locks); always released. */
  async withConnection<T>(work: (connection: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    try {
      return await work(new PgTransaction(client))
    } finally {
      client.release()
    }
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}

class PgTransaction implements Transaction {
  private savepoints = 0

  constructor(private readonly client: pg.PoolClient) {}

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    const result = await this.client.query(sql, params as unknown[] | undefined)
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 }
  }

  async withTransaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const savepoint = `sp_${++this.savepoints}`
    await this.client.query(`SAVEPOINT ${savepoint}`)
    try {
      const result = await work(this)
      await this.client.query(`RELEASE SAVEPOINT ${savepoint}`)
      return result
    } catch (error) {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${savepoint}`)
      throw error
    }
  }

  async copyIn(copySql: string, chunks: Iterable<Buffer>): Promise<void> {
    const stream = this.client.query(copyFrom(copySql))
    const done = finished(stream)
    done.catch(() => undefined) // observed below; this keeps an early failure from counting as unhandled
    // Written directly rather than piped from a Readable: a pipeline's setup cost more than the
    // COPY itself for small batches. write() returning false means the socket is full: wait.
    for (const chunk of chunks) {
      if (!stream.write(chunk)) await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          stream.off('error', onError)
          resolve()
        }
        const onError = (error: Error): void => {
          stream.off('drain', onDrain)
          reject(error)
        }
        stream.once('drain', onDrain)
        stream.once('error', onError)
      })
    }
    stream.end()
    await done
  }
}

/** Fields of a PostgreSQL error that the repositories translate into domain errors. */
export interface PgErrorFields {
  code?: string
  column?: string
  constraint?: string
  message: string
}

export function pgErrorFields(error: unknown): PgErrorFields | undefined {
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') {
    return error as Error & PgErrorFields
  }
  return undefined
}
