import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { inject } from 'vitest'
import { startCore, type Core, type CoreOptions } from '../../src/main/core'
import { createSilentLogger } from '../../src/main/logging'
import { ForkChildSpawner } from '../../src/main/process/child-process'

/** A fresh data folder per test, reachable by the PostgreSQL OS user when tests run as root. */
export function makeDataDir(prefix = 'hypercube-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(dir, 0o755)
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Creates an empty database on the test server and returns its URL. `icuLocale` gives it that
 * ICU collation (e.g. 'en-US', as a user's own server may have) instead of the server's default.
 */
export async function createTestDatabase(options: { icuLocale?: 'en-US' } = {}): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = inject('adminDatabaseUrl')
  const name = `hypercube_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  const collation = options.icuLocale ? ` TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale}' LOCALE 'C'` : ''
  await admin.query(`CREATE DATABASE ${name}${collation}`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await client.end()
    }
  }
}

export interface TestCore {
  core: Core
  dataDir: string
  databaseUrl: string
  close: () => Promise<void>
}

export type TestPluginOptions = Exclude<CoreOptions['plugins'], false | undefined> & {
  /** Resolve before the plugins (which load in the background once the core is ready) are up. */
  dontWaitForLoad?: boolean
}

/**
 * A core on its own database and data folder, on the shared test server (URL mode). Plugin
 * hosts are left out unless asked for: most tests don't need three child processes each; when
 * asked for, they have loaded (or failed) by the time this resolves, unless dontWaitForLoad.
 * `beforeStart` prepares the data folder (installs plugins, say) before the core starts.
 */
export async function startTestCore(
  options: {
    plugins?: boolean | TestPluginOptions
    http?: boolean
    apiProcess?: boolean | { ui: true }
    beforeStart?: (dataDir: string) => Promise<void>
    /** The database's ICU collation, where a test needs one other than the server's C. */
    icuLocale?: 'en-US'
    /** serve's --default-artifact-root (CoreOptions.mlflowDefaultArtifactRoot). */
    mlflowDefaultArtifactRoot?: string
    /** The desktop app's "where to save" for exports (CoreOptions.chooseExportPath). */
    chooseExportPath?: CoreOptions['chooseExportPath']
  } = {}
): Promise<TestCore> {
  const data = makeDataDir()
  const database = await createTestDatabase({ icuLocale: options.icuLocale })
  await options.beforeStart?.(data.dir)
  const { dontWaitForLoad, ...pluginOptions } = typeof options.plugins === 'object' ? options.plugins : {}
  const core = await startCore({
    dataDir: data.dir,
    databaseUrl: database.url,
    logger: createSilentLogger(),
    plugins: options.plugins ? pluginOptions : false,
    mlflowDefaultArtifactRoot: options.mlflowDefaultArtifactRoot,
    chooseExportPath: options.chooseExportPath,
    // apiProcess: the HTTP door in a forked child, as the desktop app runs it in a utilityProcess.
    // ui: the browser UI served by this process on a port of its own (serve --api-process).
    http: options.apiProcess
      ? { port: 0, process: { spawner: new ForkChildSpawner(), ui: options.apiProcess === true ? undefined : { port: 0 } } }
      : options.http
        ? { port: 0 }
        : false
  })
  if (core.services.plugins && !dontWaitForLoad) await core.services.plugins.start()
  return {
    core,
    dataDir: data.dir,
    databaseUrl: database.url,
    close: async () => {
      await core.close()
      await database.drop()
      data.remove()
    }
  }
}
