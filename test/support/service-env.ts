import pg from 'pg'
import { DomainError } from '../../src/shared/errors'
import { startTestCore, type TestCore } from './test-env'

/** The DomainError a call fails with; the test fails if the call succeeds or throws anything else. */
export async function failure(work: () => unknown): Promise<DomainError> {
  try {
    await work()
  } catch (error) {
    if (error instanceof DomainError) return error
    throw error
  }
  throw new Error('expected the call to fail, but it succeeded')
}

/** A test core and a direct SQL connection to its database, to look behind the services. */
export interface CoreWithSql {
  env: TestCore
  sql: pg.Client
  /** Rows in a table, read directly (what a refused write must not have changed). */
  countRows(table: string): Promise<number>
  close(): Promise<void>
}

export async function startCoreWithSql(options: Parameters<typeof startTestCore>[0] = {}): Promise<CoreWithSql> {
  const env = await startTestCore(options)
  const sql = new pg.Client({ connectionString: env.databaseUrl })
  await sql.connect()
  return {
    env,
    sql,
    countRows: async (table) => Number((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n),
    close: async () => {
      await sql.end()
      await env.close()
    }
  }
}
