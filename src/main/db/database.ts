import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { finished } from 'node:stream/promises'
import { DomainError, insufficientStorage, isDomainError } from '../../shared/errors'
import type { Logger } from '../logging'
import { describeUrl } from './database-info'

/**
 * The only module that imports `pg`. Repositories see `Queryable` (a pool or a transaction)
 * and get rows back; they never hold a connection themselves.
 */
export interface QueryResult<Row> {
  rows: Row[]
  rowCount: number
}

export interface TransactionOptions {
  /**
   * The statement timeout for this transaction's statements, in ms (0: none), for the few long
   * analytic or bulk statements that opt out of the app-wide DEFAULT_STATEMENT_TIMEOUT_MS.
   */
  statementTimeoutMs?: number
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>
  /**
   * Runs `work` atomically: a transaction on the pool, a savepoint inside a transaction, so a
   * repository works the same whether or not its caller already opened one. A transaction that
   * hits a serialization failure or a deadlock runs again (see RETRYABLE_CODES), so `work` may
   * run more than once: it must not have effects outside the database.
   */
  withTransaction<T>(work: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T>
}

export interface Transaction extends Queryable {
  /** Streams pre-encoded COPY data (e.g. PostgreSQL's binary COPY format) into `copySql`. */
  copyIn(copySql: string, chunks: Iterable<Buffer>): Promise<void>
}

/**
 * Every statement of the app's connections is cancelled after this long (57014, reported as
 * `unavailable`), so one runaway query cannot hold a connection and its locks for ever; the
 * interactive reads take milliseconds and a million-point batch a few seconds. Long analytic or
 * bulk work opts out per transaction (TransactionOptions.statementTimeoutMs), migrations always.
 */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000

// 40001 serialization_failure and 40P01 deadlock_detected: the server rolled the transaction
// back because of a concurrent one, and running it again is the documented remedy. Retried
// here, in one place, a few times with a growing random pause so the two contenders part ways.
const RETRYABLE_CODES = new Set(['40001', '40P01'])
const MAX_ATTEMPTS = 6

export function isRetryableConflict(error: unknown): boolean {
  return error instanceof Error && !isDomainError(error) && RETRYABLE_CODES.has((error as { code?: unknown }).code as string)
}

function pauseBeforeRetry(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt))
}

/** Lowest PostgreSQL major the migrations and queries are written for. */
export const MIN_SERVER_VERSION_NUM = 140000

// The durability settings Hypercube relies on to keep what it acknowledged.
const REQUIRED_DURABILITY: Record<string, string> = { fsync: 'on', full_page_writes: 'on', synchronous_commit: 'on' }

// Socket errors and SQLSTATEs that mean the server went away (or is not there yet), not that
// the statement was wrong: 57P01 admin_shutdown (pg_terminate_backend, fast shutdown), 57P02
// crash_shutdown, 57P03 cannot_connect_now (starting up, shutting down, in recovery), and class
// 08, connection_exception.
const CONNECTION_LOSS_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03'
])
// pg and pg-pool report a lost or unusable connection by message only.
const CONNECTION_LOSS_MESSAGE =
  /^Connection terminated|is not queryable$|^timeout exceeded when trying to connect|^Cannot use a pool after calling end/

/** Whether `error` says the database is unreachable rather than that the statement failed. */
export function isConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error) || isDomainError(error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && (CONNECTION_LOSS_CODES.has(code) || code.startsWith('08'))) return true
  return CONNECTION_LOSS_MESSAGE.test(error.message)
}

// SQLSTATEs of class 22 (data exception) that a bound value raises: the caller's input, never a
// fault of ours. 22P02 invalid_text_representation ('1.5' as a bigint), 22003
// numeric_value_out_of_range, 22021 character_not_in_repertoire (a NUL in text), 22P05
// untranslatable_character (\u0000 in jsonb), 22023 invalid_parameter_value.
const INPUT_VALUE_CODES = new Set(['22P02', '22003', '22021', '22P05', '22023'])

/**
 * Whether the server ran out of disk: 53100 disk_full (what PostgreSQL reports for ENOSPC while
 * extending a table or writing a temp file), or the 53000 insufficient_resources family when its
 * message says the disk is the resource.
 */
export function isDiskFull(error: unknown): boolean {
  if (!(error instanceof Error) || isDomainError(error)) return false
  const code = (error as { code?: unknown }).code
  return code === '53100' || (code === '53000' && /no space left|disk/i.test(error.message))
}

/**
 * The one place database failures that are not bugs become domain errors: a lost database is
 * `unavailable` (HTTP 503, MLflow's TEMPORARILY_UNAVAILABLE; the pool opens new connections on
 * demand, so the same request works again once the server is back), a full disk
 * `insufficient_storage` naming where the data lives (507), and a value the column cannot hold
 * `invalid_argument` (400). Anything else is returned unchanged (repositories translate
 * constraint violations themselves, naming the field).
 */
export function asDomainError(error: unknown, storage: string): unknown {
  if (isConnectionLoss(error)) {
    return new DomainError('unavailable', `the database is unavailable (${(error as Error).message}); Hypercube reconnects when it is back, so retry shortly`)
  }
  if (isDiskFull(error)) return insufficientStorage(storage)
  if (error instanceof Error && (error as { code?: unknown }).code === '57014' && /statement timeout/.test(error.message)) {
    return new DomainError('unavailable', 'the database took too long to answer (statement timeout); retry, or narrow the request')
  }
  const code = error instanceof Error && !isDomainError(error) ? (error as { code?: unknown }).code : undefined
  if (typeof code === 'string' && INPUT_VALUE_CODES.has(code)) return new DomainError('invalid_argument', `a value cannot be stored: ${(error as Error).message}`)
  return error
}

/** Where the database keeps its files when it does not say better: its server. */
export function databaseStorage(connectionString: string): string {
  return `the database at ${describeUrl(connectionString)}`
}

async function guarded<T>(work: () => Promise<T>, storage: string): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw asDomainError(error, storage)
  }
}

// Checked-out clients whose connection failed: released with an error so the pool discards them.
const lostClients = new WeakSet<pg.ClientBase>()

export interface PoolConnections {
  /** Open connections, idle or checked out. */
  total: number
  idle: number
  /** Callers waiting for a connection. */
  waiting: number
}

export class Database implements Queryable {
  private constructor(
    private readonly pool: pg.Pool,
    readonly serverVersion: string,
    private readonly logger: Logger,
    /** Where the database's files are, named when its disk is full: `the data folder /x`. */
    private readonly storage: string
  ) {}

  /**
   * Connects, then refuses servers that are too old or that would lose acknowledged commits.
   * synchronous_commit is also pinned per connection so a server-wide `off` cannot leak in.
   */
  static async connect(
    connectionString: string,
    logger: Logger,
    maxConnections = 10,
    storage = databaseStorage(connectionString),
    statementTimeoutMs = DEFAULT_STATEMENT_TIMEOUT_MS
  ): Promise<Database> {
    const pool = new pg.Pool({
      connectionString,
      max: maxConnections,
      // extra_float_digits=3: doubles read as text come back exact whatever the server's default.
      options: `-c synchronous_commit=on -c extra_float_digits=3 -c statement_timeout=${statementTimeoutMs}`,
      application_name: 'hypercube',
      connectionTimeoutMillis: 15_000
    })
    // An idle client losing its server (e.g. PostgreSQL restarted) must not crash the app; the
    // pool drops it.
    pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection failed'))
    // Nor may a checked-out one: pg emits 'error' on the client when its connection ends, also
    // between statements of a transaction, and an 'error' nobody listens to exits the process.
    // The pool listens only while a client is idle, so every client gets a listener of its own
    // for its whole life; its holder sees the failure on its next statement.
    pool.on('connect', (client) => {
      client.on('error', (error) => {
        if (lostClients.has(client)) return
        lostClients.add(client)
        logger.warn({ err: error }, 'database connection lost')
      })
    })
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
      return new Database(pool, serverVersion, logger, storage)
    } catch (error) {
      await pool.end().catch(() => undefined)
      throw error
    }
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    // pool.query checks a client out, listens to it and discards it on error by itself. A single
    // statement is its own transaction, so a deadlock or serialization failure retries it whole.
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.pool.query(sql, params as unknown[] | undefined)
        return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 }
      } catch (error) {
        if (attempt < MAX_ATTEMPTS && isRetryableConflict(error)) {
          this.logger.debug({ code: (error as { code?: string }).code, attempt }, 'statement retried after a concurrency conflict')
          await pauseBeforeRetry(attempt)
          continue
        }
        throw asDomainError(error, this.storage)
      }
    }
  }

  /**
   * Runs `work` in one transaction on one checked-out connection; rolls back on any error, and
   * runs it again after a serialization failure or deadlock (up to MAX_ATTEMPTS in all). A
   * connection lost on the way is discarded, and the caller gets `unavailable` — also when
   * COMMIT itself was cut off, whose outcome the client then cannot know (an idempotency key
   * makes the retry safe).
   */
  async withTransaction<T>(work: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactionOnce(work, options)
      } catch (error) {
        if (attempt < MAX_ATTEMPTS && isRetryableConflict(error)) {
          this.logger.debug({ code: (error as { code?: string }).code, attempt }, 'transaction retried after a concurrency conflict')
          await pauseBeforeRetry(attempt)
          continue
        }
        throw asDomainError(error, this.storage)
      }
    }
  }

  /** One attempt of withTransaction; throws the raw error so the caller can tell a conflict. */
  private async transactionOnce<T>(work: (tx: Transaction) => Promise<T>, options: TransactionOptions): Promise<T> {
    const client = await guarded(() => this.pool.connect(), this.storage)
    const tx = new PgTransaction(client, this.storage)
    let broken = false
    try {
      await tx.query('BEGIN')
      if (options.statementTimeoutMs !== undefined) {
        await tx.query(`SET LOCAL statement_timeout = ${Math.max(0, Math.floor(options.statementTimeoutMs))}`)
      }
      const result = await work(tx)
      await tx.query('COMMIT')
      return result
    } catch (error) {
      if (lostClients.has(client) || isConnectionLoss(error)) {
        broken = true
      } else {
        try {
          await client.query('ROLLBACK')
        } catch (rollbackError) {
          broken = true
          this.logger.warn({ err: rollbackError }, 'rollback failed; discarding connection')
        }
      }
      throw error
    } finally {
      client.release(broken || lostClients.has(client))
    }
  }

  /** A dedicated connection for session-level work (advisory locks); always released. */
  async withConnection<T>(work: (connection: Queryable) => Promise<T>): Promise<T> {
    const client = await guarded(() => this.pool.connect(), this.storage)
    let broken = false
    try {
      return await work(new PgTransaction(client, this.storage))
    } catch (error) {
      broken = isConnectionLoss(error)
      throw asDomainError(error, this.storage)
    } finally {
      // A session that failed may still hold session state (advisory locks): only a healthy
      // connection goes back to the pool.
      client.release(broken || lostClients.has(client))
    }
  }

  /** The pool's connections right now (for status and tests). */
  connections(): PoolConnections {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount }
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}

class PgTransaction implements Transaction {
  private savepoints = 0

  constructor(
    private readonly client: pg.PoolClient,
    private readonly storage: string
  ) {}

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    const result = await guarded(() => this.client.query(sql, params as unknown[] | undefined), this.storage)
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 }
  }

  async withTransaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const savepoint = `sp_${++this.savepoints}`
    await this.query(`SAVEPOINT ${savepoint}`)
    try {
      const result = await work(this)
      await this.query(`RELEASE SAVEPOINT ${savepoint}`)
      return result
    } catch (error) {
      // A lost connection has no savepoint to return to: report the loss, not the failed ROLLBACK.
      if (!lostClients.has(this.client)) await this.query(`ROLLBACK TO SAVEPOINT ${savepoint}`)
      throw error
    }
  }

  copyIn(copySql: string, chunks: Iterable<Buffer>): Promise<void> {
    return guarded(() => this.copyInUnguarded(copySql, chunks), this.storage)
  }

  private async copyInUnguarded(copySql: string, chunks: Iterable<Buffer>): Promise<void> {
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
