import { mkdtempSync, chmodSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { EmbeddedPostgres } from '../../src/main/db/embedded-postgres'
import { createSilentLogger } from '../../src/main/logging'
import { ensureBundledPluginsBuilt, ensureFaultFixturesBuilt } from '../fixtures/plugins/fixtures'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server for tests: each test file makes its own database on it. */
    adminDatabaseUrl: string
    /** 'embedded' when this run started the server itself, 'external' for HYPERCUBE_TEST_DATABASE_URL. */
    databaseMode: 'embedded' | 'external'
  }
}

interface SharedServer {
  adminDatabaseUrl: string
  databaseMode: 'embedded' | 'external'
  users: number
  stop: () => Promise<void>
}

/**
 * The server of this run, shared by every project that asks for it (integration and e2e both
 * list this file; vitest loads it once per project, in the same process): the first starts it,
 * the last teardown stops it.
 */
const SHARED = Symbol.for('hypercube.test-postgres')
type WithShared = typeof globalThis & { [SHARED]?: Promise<SharedServer> }

/**
 * One real PostgreSQL for the whole run. By default an embedded server started here (the same
 * code the app uses); with HYPERCUBE_TEST_DATABASE_URL, a server someone else started (CI runs
 * the suite a second time against Debian's PostgreSQL this way).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const holder = globalThis as WithShared
  holder[SHARED] ??= startServer()
  // Native fixtures are built here, once, before the files that use them run side by side.
  if (project.name === 'integration') await Promise.all([ensureBundledPluginsBuilt(), ensureFaultFixturesBuilt()])
  const server = await holder[SHARED]
  server.users += 1
  project.provide('adminDatabaseUrl', server.adminDatabaseUrl)
  project.provide('databaseMode', server.databaseMode)
  return async () => {
    server.users -= 1
    if (server.users > 0) return
    delete holder[SHARED]
    await server.stop()
  }
}

async function startServer(): Promise<SharedServer> {
  const external = process.env.HYPERCUBE_TEST_DATABASE_URL
  if (external) return { adminDatabaseUrl: external, databaseMode: 'external', users: 0, stop: async () => undefined }
  const root = mkdtempSync(join(tmpdir(), 'hypercube-test-pg-'))
  chmodSync(root, 0o755) // when root, the server's OS user must reach the cluster folder
  const server = await EmbeddedPostgres.start({
    clusterDir: join(root, 'pg'),
    logFile: join(root, 'postgresql.log'),
    passwordFile: join(root, 'pg-password'),
    logger: createSilentLogger()
  })
  return {
    adminDatabaseUrl: server.connectionString,
    databaseMode: 'embedded',
    users: 0,
    stop: async () => {
      await server.stop()
      rmSync(root, { recursive: true, force: true })
    }
  }
}
