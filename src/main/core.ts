import { chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { SystemStatus } from '../shared/domain'
import { describeUrl, type DatabaseInfo } from './db/database-info'
import type { CoreServices } from './services/core-services'
import { Database } from './db/database'
import { EmbeddedPostgres } from './db/embedded-postgres'
import { loadMigrations, migrate } from './db/migrator'
import { createFileLogger, logsDir, type Logger } from './logging'
import { appRoot, migrationsDir } from './paths'
import { fileURLToPath } from 'node:url'
import { startHttpServer, type HttpServer } from './http/server'
import { v1Routes } from './http/routes/v1-routes'
import { mlflowPlugin } from './http/mlflow/mlflow-routes'
import { PgMlflowRepository } from './repositories/mlflow-repository'
import { MlflowService } from './services/mlflow-service'
import { serveUi } from './http/serve-ui/serve-ui'
import { UiSessions } from './http/serve-ui/ui-sessions'
import { createContractHandlers, dispatchCall, subscribeToEvents, type ContractContext } from './contract-handlers'
import { apiTokenFile } from './http/api-token'
import { readSettings } from './settings'
import type { CallOutcome, PushedEvent } from '../shared/contract'
import type { Disposable } from '../shared/event'

/** Shown in the OpenAPI document; kept in step with package.json by the release process. */
export const APP_VERSION = '0.1.0'

/** How long a metric batch's idempotency key is remembered. */
const IDEMPOTENCY_KEY_DAYS = 7
import { dirname } from 'node:path'
import { PgArtifactRepository } from './repositories/artifact-repository'
import { PgExperimentRepository } from './repositories/experiment-repository'
import { PgIdempotentIngestRepository } from './repositories/ingest-idempotency-repository'
import { PgMetricRepository } from './repositories/metric-repository'
import { PgModelRepository } from './repositories/model-repository'
import { PgRunRepository } from './repositories/run-repository'
import { ArtifactStore } from './artifacts/artifact-store'
import { ArtifactService } from './services/artifact-service'
import { ExperimentService } from './services/experiment-service'
import { ModelService } from './services/model-service'
import { RunService } from './services/run-service'
import { HealthMonitor } from './services/health-monitor'
import { ModelComparisonService } from './services/model-comparison-service'
import { SimilarRunsService } from './services/similar-runs'
import { PluginRegistry } from './plugins/plugin-registry'
import { ForkPluginHostSpawner, type PluginHostSpawner } from './plugins/host-spawner'

export type { CoreServices } from './services/core-services'
export type { DatabaseInfo } from './db/database-info'

export interface CoreOptions {
  dataDir: string
  /** A PostgreSQL server to use instead of the embedded one. */
  databaseUrl?: string
  /** Fixed port for the embedded server (default: a free one). */
  embeddedPort?: number
  logger?: Logger
  /**
   * Geometric plugins: hosted by forked Node processes unless another spawner is given (the
   * Electron shell passes its utilityProcess spawner); `false` starts the core without them.
   */
  plugins?: false | { spawner?: PluginHostSpawner; bundledDir?: string; hostScript?: string }
  /** The HTTP API (tracking API, MLflow compatibility, serve-mode UI); `false` for none. */
  http?: false | { port?: number; host?: string }
  /** Interval of deployment health checks (default 30 s); `false` turns the monitor off. */
  healthCheckIntervalMs?: number | false
}

export interface UiContract {
  /** Validates an untrusted call and runs it; errors come back as data. */
  dispatch(name: unknown, input: unknown): Promise<CallOutcome<unknown>>
  /** Forwards pushed events to one renderer until disposed. */
  subscribe(send: (event: PushedEvent) => void): Disposable
}

export interface Core {
  readonly dataDir: string
  readonly logger: Logger
  readonly database: DatabaseInfo
  readonly services: CoreServices
  /** Present unless the core was started with `http: false`. */
  readonly http?: HttpServer
  /** The serve-mode UI on the HTTP server (absent with `http: false`). */
  readonly ui?: { loginUrl(): string }
  /** The renderer↔main contract, for a shell to carry (Electron IPC; serve-mode UI uses it too). */
  readonly contract: UiContract
  status(): Promise<SystemStatus>
  /** Closes everything in reverse order of start; safe to call twice. */
  close(): Promise<void>
}

/**
 * The composition root: database → migrations → repositories → services. Both shells (the
 * Electron main process and `hypercube serve`) start exactly this.
 */
export async function startCore(options: CoreOptions): Promise<Core> {
  mkdirSync(options.dataDir, { recursive: true })
  const logger = options.logger ?? createFileLogger(options.dataDir)
  const closers: Array<() => Promise<void> | void> = []
  const closeAll = async (): Promise<void> => {
    while (closers.length > 0) {
      const close = closers.pop()!
      try {
        await close()
      } catch (error) {
        logger.error({ err: error }, 'error while closing')
      }
    }
  }

  try {
    let connectionString: string
    let mode: DatabaseInfo['mode']
    let where: string
    // Command line / env first; then what the user saved in Settings (applied on the next start).
    const databaseUrl = options.databaseUrl ?? process.env.HYPERCUBE_DATABASE_URL ?? readSettings(options.dataDir).databaseUrl ?? undefined
    if (databaseUrl) {
      connectionString = databaseUrl
      mode = 'external'
      where = describeUrl(databaseUrl)
    } else {
      if (process.getuid?.() === 0) {
        // The server runs as a non-root user (see embedded-postgres.ts) that must reach <dataDir>/pg.
        chmodSync(options.dataDir, 0o711)
      }
      const server = await EmbeddedPostgres.start({
        clusterDir: join(options.dataDir, 'pg'),
        logFile: join(logsDir(options.dataDir), 'postgresql.log'),
        passwordFile: join(options.dataDir, 'pg-password'),
        port: options.embeddedPort,
        logger: logger.child({ component: 'embedded-postgres' })
      })
      closers.push(() => server.stop())
      connectionString = server.connectionString
      mode = 'embedded'
      where = `127.0.0.1:${server.port}, data in ${join(options.dataDir, 'pg')}`
    }

    const database = await Database.connect(connectionString, logger.child({ component: 'db' }))
    closers.push(() => database.close())
    await migrate(database, loadMigrations(migrationsDir()), logger.child({ component: 'migrator' }))

    const experimentRepository = new PgExperimentRepository(database)
    const runRepository = new PgRunRepository(database)
    const metricRepository = new PgMetricRepository(database)
    const modelRepository = new PgModelRepository(database)

    const idempotentIngest = new PgIdempotentIngestRepository(database)
    // Idempotency keys only need to outlive a client's retries; a week is generous. Not awaited:
    // start-up need not wait for it, and a failure only means the keys stay a while longer.
    void idempotentIngest.pruneOlderThan(IDEMPOTENCY_KEY_DAYS).catch((error: unknown) => logger.warn({ err: error }, 'could not prune idempotency keys'))

    const services: CoreServices = {
      experiments: new ExperimentService(experimentRepository),
      runs: new RunService(runRepository, metricRepository, idempotentIngest),
      models: new ModelService(modelRepository),
      artifacts: new ArtifactService(new PgArtifactRepository(database), runRepository, new ArtifactStore(join(options.dataDir, 'artifacts')))
    }
    closers.push(() => {
      services.experiments.dispose()
      services.runs.dispose()
      services.models.dispose()
    })

    services.healthMonitor = new HealthMonitor({
      models: services.models,
      logger: logger.child({ component: 'health' }),
      intervalMs: options.healthCheckIntervalMs || undefined
    })
    if (options.healthCheckIntervalMs !== false) services.healthMonitor.start()
    closers.push(() => services.healthMonitor!.dispose())

    if (options.plugins !== false) {
      const pluginOptions = options.plugins ?? {}
      const registry = await PluginRegistry.open({
        bundledDir: pluginOptions.bundledDir ?? join(appRoot(), 'native'),
        userPluginsDir: join(options.dataDir, 'plugins'),
        hostScript: pluginOptions.hostScript ?? defaultPluginHostScript(),
        spawner: pluginOptions.spawner ?? new ForkPluginHostSpawner(),
        logger
      })
      closers.push(() => registry.close())
      services.plugins = registry
      services.similarRuns = new SimilarRunsService({
        registry,
        loadRuns: async (experimentId) =>
          (await runRepository.listByExperiment(experimentId)).map((run) => ({
            runId: run.id,
            params: run.hyperparameters,
            metrics: Object.fromEntries(run.metrics.map((metric) => [metric.key, metric.lastValue]))
          }))
      })
    }

    const databaseInfo: DatabaseInfo = {
      mode,
      serverVersion: database.serverVersion,
      description: `${mode === 'embedded' ? 'embedded' : 'external'} PostgreSQL ${database.serverVersion} (${where})`
    }
    services.modelComparison = new ModelComparisonService(services.models, services.plugins)

    let http: HttpServer | undefined
    const status = async (): Promise<SystemStatus> => {
      const [experiments, runs, metricPoints] = await Promise.all([experimentRepository.count(), runRepository.count(), metricRepository.count()])
      return { database: databaseInfo, counts: { experiments, runs, metricPoints }, dataDir: options.dataDir }
    }
    // The renderer↔main contract, carried to a browser by the serve-mode UI plugin.
    const contract: ContractContext = {
      services,
      logger,
      status,
      dataDir: options.dataDir,
      database: databaseInfo,
      http: () => http,
      apiInfo: () => ({ apiUrl: http ? `${http.url}/v1` : null, token: http?.token ?? null, tokenFile: apiTokenFile(options.dataDir) })
    }
    const contractHandlers = createContractHandlers(contract)
    const uiContract: UiContract = {
      dispatch: (name, input) => dispatchCall(contractHandlers, name, input, logger),
      subscribe: (send) => subscribeToEvents(services, send)
    }
    const uiSessions = new UiSessions()
    const uiPlugin = serveUi({
      rendererDir: join(appRoot(), 'out', 'renderer'),
      sessions: uiSessions,
      ...uiContract,
      logger: logger.child({ component: 'serve-ui' })
    })
    if (options.http !== false) {
      http = await startHttpServer({
        plugins: [
          uiPlugin,
          mlflowPlugin({
            mlflow: new MlflowService(new PgMlflowRepository(database), services.experiments, services.runs, services.models),
            artifacts: services.artifacts,
            store: new ArtifactStore(join(options.dataDir, 'artifacts'))
          })
        ],
        dataDir: options.dataDir,
        logger,
        routes: v1Routes(services),
        port: options.http?.port ?? readSettings(options.dataDir).apiPort ?? undefined,
        host: options.http?.host,
        version: APP_VERSION
      })
      closers.push(() => http!.close())
      logger.info({ url: http.url }, 'HTTP API listening')
    }

    logger.info({ database: databaseInfo }, 'core started')

    let closed: Promise<void> | undefined
    return {
      dataDir: options.dataDir,
      logger,
      database: databaseInfo,
      services,
      http,
      ui: http && { loginUrl: () => `${http!.url}/?login=${uiSessions.createLoginToken()}` },
      status,
      contract: uiContract,
      close() {
        closed ??= closeAll().then(() => logger.info('core stopped'))
        return closed
      }
    }
  } catch (error) {
    logger.error({ err: error }, 'core failed to start')
    await closeAll()
    throw error
  }
}

/**
 * The plugin host entry next to the running code: the built out/main/plugin-host.js, or the
 * TypeScript source when the core itself runs from source (tests, tsx scripts).
 */
function defaultPluginHostScript(): string {
  const here = fileURLToPath(import.meta.url)
  if (here.endsWith('.ts')) return join(dirname(here), 'plugins', 'plugin-host.ts')
  return join(appRoot(), 'out', 'main', 'plugin-host.js')
}
