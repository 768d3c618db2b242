import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeUrl } from '../src/main/db/database-info'
import { Database } from '../src/main/db/database'
import { EmbeddedPostgres } from '../src/main/db/embedded-postgres'
import { loadMigrations, migrate } from '../src/main/db/migrator'
import { createSilentLogger } from '../src/main/logging'
import { migrationsDir } from '../src/main/paths'
import { PgExperimentRepository } from '../src/main/repositories/experiment-repository'
import { PgMetricRepository } from '../src/main/repositories/metric-repository'
import { PgRunRepository } from '../src/main/repositories/run-repository'
import type { MetricPoint } from '../src/shared/domain'

export function makeBenchDataDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'hypercube-bench-'))
  chmodSync(dir, 0o755) // when root, the PostgreSQL OS user must reach it
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * A migrated database with the repositories on it: an embedded server in a throwaway folder,
 * or HYPERCUBE_DATABASE_URL (an empty database) to measure another server.
 */
export async function startBenchDatabase() {
  const logger = createSilentLogger()
  const data = makeBenchDataDir()
  let server: EmbeddedPostgres | undefined
  let url = process.env.HYPERCUBE_DATABASE_URL
  if (!url) {
    server = await EmbeddedPostgres.start({
      clusterDir: join(data.dir, 'pg'),
      logFile: join(data.dir, 'postgresql.log'),
      passwordFile: join(data.dir, 'pg-password'),
      logger
    })
    url = server.connectionString
  }
  const database = await Database.connect(url, logger)
  await migrate(database, loadMigrations(migrationsDir()), logger)
  return {
    database,
    /** The database's URL (to start a core on the same database). */
    url,
    /** The throwaway folder (the embedded server's data is in pg/ under it). */
    dataDir: data.dir,
    description: `${server ? 'embedded' : 'external'} PostgreSQL ${database.serverVersion} at ${describeUrl(url)}`,
    experiments: new PgExperimentRepository(database),
    runs: new PgRunRepository(database),
    metrics: new PgMetricRepository(database),
    close: async () => {
      await database.close()
      await server?.stop()
      data.remove()
    }
  }
}

/** Training-like points: `keys` metrics per step, steps counting up from `firstStep`. */
export function makePoints(count: number, keys: string[], firstStep = 0): MetricPoint[] {
  const points = new Array<MetricPoint>(count)
  const now = Date.now()
  for (let i = 0; i < count; i++) {
    const step = firstStep + Math.floor(i / keys.length)
    points[i] = {
      key: keys[i % keys.length]!,
      value: Math.exp(-step / 50_000) + Math.random() * 0.01,
      step: BigInt(step),
      epoch: Math.floor(step / 10_000),
      timestamp: now + step,
      kind: 'train'
    }
  }
  return points
}

export function formatRate(points: number, ms: number): string {
  return `${Math.round((points / ms) * 1000).toLocaleString('en-US')} points/s`
}
