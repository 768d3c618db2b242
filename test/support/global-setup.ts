import { mkdtempSync, chmodSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { EmbeddedPostgres } from '../../src/main/db/embedded-postgres'
import { createSilentLogger } from '../../src/main/logging'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server for tests: each test file makes its own database on it. */
    adminDatabaseUrl: string
    /** 'embedded' when this run started the server itself, 'external' for HYPERCUBE_TEST_DATABASE_URL. */
    databaseMode: 'embedded' | 'external'
  }
}

/**
 * One real PostgreSQL for the whole run. By default an embedded server started here (the same
 * code the app uses); with HYPERCUBE_TEST_DATABASE_URL, a server someone else started (CI runs
 * the suite a second time against Debian's PostgreSQL this way).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.HYPERCUBE_TEST_DATABASE_URL
  if (external) {
    project.provide('adminDatabaseUrl', external)
    project.provide('databaseMode', 'external')
    return async () => undefined
  }
  const root = mkdtempSync(join(tmpdir(), 'hypercube-test-pg-'))
  chmodSync(root, 0o755) // when root, the server's OS user must reach the cluster folder
  const server = await EmbeddedPostgres.start({
    clusterDir: join(root, 'pg'),
    logFile: join(root, 'postgresql.log'),
    passwordFile: join(root, 'pg-password'),
    logger: createSilentLogger()
  })
  project.provide('adminDatabaseUrl', server.connectionString)
  project.provide('databaseMode', 'embedded')
  return async () => {
    await server.stop()
    rmSync(root, { recursive: true, force: true })
  }
}
