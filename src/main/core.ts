import { chmodSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CallOutcome, PushedEvent } from '../shared/contract'
import type { SystemStatus } from '../shared/domain'
import type { Disposable } from '../shared/event'
import { ApiSupervisor, inProcessDoor, type ApiDoor } from './api/api-supervisor'
import { APP_VERSION, composeServices, startDoorHttp } from './compose-door'
import { createContractHandlers, dispatchCall, subscribeToEvents, type ContractContext } from './contract-handlers'
import { makeDataFolderPrivate } from './data-folder'
import { InstanceLock } from './instance-lock'
import { Database, databaseStorage } from './db/database'
import { describeUrl, type DatabaseInfo } from './db/database-info'
import { EmbeddedPostgres } from './db/embedded-postgres'
import { loadMigrations, migrate } from './db/migrator'
import { NotificationListener } from './db/notification-listener'
import { apiTokenFile } from './http/api-token'
import { startHttpServer, type HttpServer } from './http/server'
import { serveUi } from './http/serve-ui/serve-ui'
import { UiSessions } from './http/serve-ui/ui-sessions'
import { createFileLogger, logsDir, type Logger } from './logging'
import { appLayout, builtEntry, migrationsDir } from './paths'
import { ForkPluginHostSpawner, type PluginHostSpawner } from './plugins/host-spawner'
import { PluginRegistry } from './plugins/plugin-registry'
import type { ChildSpawner } from './process/child-process'
import type { CoreServices } from './services/core-services'
import { DomainEvents } from './services/domain-events'
import { metricFolder, metricPurger } from './services/metric-maintenance'
import { HealthMonitor } from './services/health-monitor'
import { ModelComparisonService } from './services/model-comparison-service'
import { MlflowService } from './services/mlflow-service'
import { PgMlflowRepository } from './repositories/mlflow-repository'
import { SimilarRunsService } from './services/similar-runs'
import { readSettings } from './settings'
import { readOnlyServices } from './bundle/read-only-services'
import type { ReviewSession } from './bundle/review-session'
import { BundleTransfers, type ChooseExportPath } from './bundle/bundle-transfers'
import { ReviewHost } from './bundle/review-host'
import { WorkspaceBundles } from './bundle/workspace-bundles'

export { APP_VERSION } from './compose-door'

/** How long a metric batch's idempotency key is remembered. */
const IDEMPOTENCY_KEY_DAYS = 7

export type { CoreServices } from './services/core-services'
export type { DatabaseInfo } from './db/database-info'

export interface ApiProcessOptions {
  spawner: ChildSpawner
  /** The API process entry (default: the one beside this code). */
  script?: string
  /**
   * Also serve the browser UI, from this process on a port of its own (`serve --api-process`):
   * the UI stays responsive while the door ingests, and it shows the door's state.
   */
  ui?: { port?: number }
}

export interface CoreOptions {
  dataDir: string
  /** A PostgreSQL server to use instead of the embedded one. */
  databaseUrl?: string
  /**
   * Always the data folder's own embedded server, whatever HYPERCUBE_DATABASE_URL or settings
   * say (a review's throwaway folder: those would name the user's workspace).
   */
  embeddedDatabase?: true
  /** Fixed port for the embedded server (default: a free one). */
  embeddedPort?: number
  logger?: Logger
  /**
   * Geometric plugins: hosted by forked Node processes unless another spawner is given (the
   * Electron shell passes its utilityProcess spawner); `false` starts the core without them.
   * They load in the background once the core is ready (see startCore). The time budgets and
   * crash limit default to the registry's own (10 s a call, 20 s to load, 3 crashes in 5 min).
   */
  plugins?:
    | false
    | {
        spawner?: PluginHostSpawner
        bundledDir?: string
        hostScript?: string
        callTimeoutMs?: number
        loadTimeoutMs?: number
        crashLimit?: { count: number; windowMs: number }
      }
  /**
   * The HTTP door (tracking API, MLflow compatibility); `false` for none. In-process by default,
   * with the serve-mode UI on the same server. With `process`, it runs in a child process of
   * its own (the desktop app: a utilityProcess) so ingest never delays the window's calls; the
   * serve-mode UI is then not served (the window has IPC).
   */
  http?: false | { port?: number; host?: string; process?: ApiProcessOptions }
  /**
   * MLflow's --default-artifact-root, made absolute (resolveUriIfLocal): an experiment created
   * through the MLflow door without artifact_location keeps its artifacts at <root>/<id>, where
   * the client writes them itself. Absent: this server's store (mlflow-artifacts:/<id>).
   */
  mlflowDefaultArtifactRoot?: string
  /** Interval of deployment health checks (default 30 s); `false` turns the monitor off. */
  healthCheckIntervalMs?: number | false
  /**
   * A review of a bundle (`hypercube review`): every write through the services — the window's
   * calls, /v1 and the MLflow door alike — answers read_only, and the window shows the banner
   * and "Import into my workspace". Needs the HTTP door in this process.
   */
  review?: ReviewSession
  /**
   * Asks the user where to save a bundle exported from the window (bundles.saveExport): the
   * desktop shell's save dialog. Absent (serve mode), the browser downloads the export instead.
   */
  chooseExportPath?: ChooseExportPath
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
  /** MLflow's view of the same services (the door's), for in-process callers such as the MLflow importer. */
  readonly mlflow: MlflowService
  /** The HTTP door, in this process or in its own; absent with `http: false`. */
  readonly api?: ApiDoor
  /**
   * This process's HTTP server: the door with the serve-mode UI (in-process), or the UI alone
   * (door in its own process with `ui`); absent otherwise.
   */
  readonly http?: HttpServer
  /** The serve-mode UI's login link, where this process serves the UI. */
  readonly ui?: { loginUrl(): string }
  /** The domain's events as heard from PostgreSQL (whichever process or instance wrote). */
  readonly events: DomainEvents
  /** The renderer↔main contract, for a shell to carry (Electron IPC; serve-mode UI uses it too). */
  readonly contract: UiContract
  /**
   * Reviews of bundles opened from this app (File → Open Review Bundle, serve's "Open review
   * bundle…"), each served read-only by a core of its own; absent in a review itself.
   */
  readonly reviews?: ReviewHost
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
  // One app per data folder, taken before anything touches the folder or its PostgreSQL.
  const instanceLock = InstanceLock.acquire(options.dataDir)
  const logger = options.logger ?? createFileLogger(options.dataDir)
  // Private modes on the data folder, logs and artifacts; unfinished uploads removed (data-folder.ts).
  const dataFolderRepair = makeDataFolderPrivate(options.dataDir, logger)
  const closers: Array<() => Promise<void> | void> = [() => instanceLock.release(), () => dataFolderRepair.dispose()]
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
    // Named when the database's disk is full: the data folder for the embedded server (its files
    // are in <dataDir>/pg), the server itself for one given by URL.
    let storage: string
    // Command line / env first; then what the user saved in Settings (applied on the next start).
    const databaseUrl = options.embeddedDatabase ? undefined : (options.databaseUrl ?? process.env.HYPERCUBE_DATABASE_URL ?? readSettings(options.dataDir).databaseUrl ?? undefined)
    if (databaseUrl) {
      connectionString = databaseUrl
      mode = 'external'
      where = describeUrl(databaseUrl)
      storage = databaseStorage(databaseUrl)
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
        logger: logger.child({ component: 'embedded-postgres' }),
        restartIfDied: true
      })
      closers.push(() => server.stop())
      connectionString = server.connectionString
      mode = 'embedded'
      where = `127.0.0.1:${server.port}, data in ${join(options.dataDir, 'pg')}`
      storage = `the data folder ${options.dataDir}`
    }

    const database = await Database.connect(connectionString, logger.child({ component: 'db' }), undefined, storage)
    closers.push(() => database.close())
    await migrate(database, loadMigrations(migrationsDir()), logger.child({ component: 'migrator' }))

    // LISTEN before anything can write, so no event of this core's lifetime is missed.
    const listener = await NotificationListener.start(connectionString, logger.child({ component: 'events' }))
    closers.push(() => listener.dispose())
    const events = new DomainEvents(listener, (payload) => logger.warn({ payload: payload.slice(0, 200) }, 'ignored a malformed event notification'))
    closers.push(() => events.dispose())

    const { repositories, services: doorServices } = composeServices(database, options.dataDir)
    if (options.review && options.http && options.http.process) throw new Error('a review runs the HTTP door in its own process only: not with an API process')
    const services: CoreServices = options.review
      ? readOnlyServices(doorServices, options.review.readOnlyMessage)
      : { experiments: doorServices.experiments, runs: doorServices.runs, models: doorServices.models, artifacts: doorServices.artifacts }
    // Idempotency keys only need to outlive a client's retries; a week is generous. Not awaited:
    // start-up need not wait for it, and a failure only means the keys stay a while longer.
    void repositories.idempotentIngest
      .pruneOlderThan(IDEMPOTENCY_KEY_DAYS)
      .catch((error: unknown) => logger.warn({ err: error }, 'could not prune idempotency keys'))

    services.metricPurger = metricPurger(repositories.metrics, logger.child({ component: 'metric-purge' }))
    services.metricPurger.start()
    closers.push(() => services.metricPurger!.dispose())
    // Runs deleted while the app was closed (or by another instance) are purged from start-up on.
    void services.metricPurger.drain().catch((error: unknown) => logger.warn({ err: error }, 'could not purge deleted runs\' metric points'))
    services.metricFolder = metricFolder(repositories.metrics, logger.child({ component: 'rollup-fold' }))
    services.metricFolder.start()
    closers.push(() => services.metricFolder!.dispose())

    services.healthMonitor = new HealthMonitor({
      models: services.models,
      logger: logger.child({ component: 'health' }),
      intervalMs: options.healthCheckIntervalMs || undefined
    })
    if (options.healthCheckIntervalMs !== false) services.healthMonitor.start()
    closers.push(() => services.healthMonitor!.dispose())

    if (options.plugins !== false) {
      const pluginOptions = options.plugins ?? {}
      // Found now (listed as starting), loaded once the core is ready: see the end of startCore.
      const registry = await PluginRegistry.create({
        bundledDir: pluginOptions.bundledDir ?? appLayout().bundledPluginsDir,
        userPluginsDir: join(options.dataDir, 'plugins'),
        runtimeDir: join(options.dataDir, 'plugins-runtime'),
        hostScript: pluginOptions.hostScript ?? defaultPluginHostScript(),
        spawner: pluginOptions.spawner ?? new ForkPluginHostSpawner(),
        callTimeoutMs: pluginOptions.callTimeoutMs,
        loadTimeoutMs: pluginOptions.loadTimeoutMs,
        crashLimit: pluginOptions.crashLimit,
        logger
      })
      closers.push(() => registry.close())
      services.plugins = registry
      services.similarRuns = new SimilarRunsService({
        registry,
        loadRuns: async (experimentId) =>
          (await repositories.runs.listByExperiment(experimentId)).map((run) => ({
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
    // A comparison still running when the core closes is cancelled (its worker thread ends).
    closers.push(() => services.modelComparison?.dispose())

    let http: HttpServer | undefined
    let api: ApiDoor | undefined
    const status = async (): Promise<SystemStatus> => {
      const [experiments, runs, metricPoints] = await Promise.all([repositories.experiments.count(), repositories.runs.count(), repositories.metrics.count()])
      return { database: databaseInfo, counts: { experiments, runs, metricPoints }, dataDir: options.dataDir, api: api?.state() ?? null, review: options.review?.info ?? null }
    }
    // MLflow's view of the services (the door's service; the UI's MLflow import uses it too).
    let mlflow: MlflowService | undefined
    // Review bundles from the window: uploads and exports in a private temporary folder, and
    // reviews opened from this app (each a read-only core of its own, started with startCore).
    const bundleTransfers = new BundleTransfers()
    closers.push(() => bundleTransfers.dispose())
    // In a review these are its read-only services: an export reads, an import is refused.
    const bundles = new WorkspaceBundles(services, () => mlflow!, bundleTransfers)
    const reviews = options.review
      ? undefined
      : new ReviewHost({
          workspace: services,
          workspaceName: `this app's workspace (${mode === 'embedded' ? `data folder ${options.dataDir}` : `the database ${where}`})`,
          logger: logger.child({ component: 'reviews' }),
          startLoadingCore: (dataDir) => startCore({ dataDir, embeddedDatabase: true, http: false, plugins: false, healthCheckIntervalMs: false }),
          startReviewServer: async (dataDir, session) => {
            // On loopback, on a free port: the one-time login URL is the way in.
            const review = await startCore({ dataDir, embeddedDatabase: true, http: { port: 0, host: '127.0.0.1' }, plugins: false, healthCheckIntervalMs: false, review: session })
            if (!review.ui || !review.http) {
              await review.close()
              throw new Error('the review core serves no UI')
            }
            const ui = review.ui
            return { origin: review.http.url, loginUrl: () => ui.loginUrl(), close: () => review.close() }
          }
        })
    if (reviews) closers.push(() => reviews.closeAll())
    // The renderer↔main contract: carried by Electron IPC, or to a browser by the serve-mode UI plugin.
    const contract: ContractContext = {
      services,
      mlflow: () => mlflow!,
      logger,
      status,
      dataDir: options.dataDir,
      database: databaseInfo,
      review: options.review,
      bundles,
      reviews,
      chooseExportPath: options.chooseExportPath,
      api: () => api,
      apiInfo: () => ({ apiUrl: api?.url ? `${api.url}/v1` : null, token: api?.token ?? null, tokenFile: apiTokenFile(options.dataDir) })
    }
    const contractHandlers = createContractHandlers(contract)
    const uiContract: UiContract = {
      dispatch: (name, input) => dispatchCall(contractHandlers, name, input, logger, options.dataDir),
      subscribe: (send) => subscribeToEvents({ events, plugins: services.plugins, reviews, api: () => api }, send)
    }
    const uiSessions = new UiSessions()
    const uiPlugin = () =>
      serveUi({
        rendererDir: appLayout().rendererDir,
        sessions: uiSessions,
        ...uiContract,
        artifacts: services.artifacts,
        bundleExports: bundleTransfers,
        logger: logger.child({ component: 'serve-ui' })
      })
    if (options.http !== false) {
      const port = options.http?.port ?? readSettings(options.dataDir).apiPort ?? undefined
      const ownProcess = options.http?.process
      if (ownProcess) {
        const supervisor = await ApiSupervisor.start({
          spawner: ownProcess.spawner,
          script: ownProcess.script ?? defaultApiProcessScript(),
          config: {
            dataDir: options.dataDir,
            databaseUrl: connectionString,
            databaseStorage: storage,
            port,
            host: options.http?.host,
            logLevel: logger.level,
            mlflowDefaultArtifactRoot: options.mlflowDefaultArtifactRoot
          },
          logger: logger.child({ component: 'api-supervisor' }),
          plugins: services.plugins
        })
        closers.push(() => supervisor.close())
        api = supervisor
        if (ownProcess.ui) {
          const uiServer = await startHttpServer({
            dataDir: options.dataDir,
            logger,
            routes: [],
            port: ownProcess.ui.port ?? 0,
            host: options.http?.host,
            version: APP_VERSION,
            plugins: [uiPlugin()]
          })
          closers.push(() => uiServer.close())
          http = uiServer
        }
      } else {
        const server = await startDoorHttp({
          database,
          services,
          dataDir: options.dataDir,
          logger,
          port,
          host: options.http?.host,
          mlflowDefaultArtifactRoot: options.mlflowDefaultArtifactRoot,
          plugins: [uiPlugin()]
        })
        closers.push(() => server.close())
        http = server
        api = inProcessDoor(server)
      }
      instanceLock.setApiUrl(api.url)
      logger.info({ url: api.url, state: api.state().state }, 'HTTP API listening')
    }

    logger.info({ database: databaseInfo }, 'core started')
    // In the background: a plugin that hangs while loading must not delay "ready" (it fails
    // with load_timeout on its own). Until each is up it is listed as starting; the registry's
    // onDidChangePlugins tells the windows (plugins.changed) and the API process as each
    // becomes ready, and a call to one waits for its load.
    if (services.plugins) {
      const loading = services.plugins.start()
      void loading.then(() => logger.info({ plugins: services.plugins!.list().map(({ name, state }) => ({ name, state })) }, 'plugins loaded'))
    }

    let closed: Promise<void> | undefined
    return {
      dataDir: options.dataDir,
      logger,
      database: databaseInfo,
      services,
      mlflow: (mlflow = new MlflowService(new PgMlflowRepository(database), services.experiments, services.runs, services.models, options.mlflowDefaultArtifactRoot ?? null)),
      events,
      api,
      http,
      ui: http && { loginUrl: () => `${http!.url}/?login=${uiSessions.createLoginToken()}` },
      status,
      contract: uiContract,
      reviews,
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

/** The API process entry next to the running code (built, or the .ts source under tests). */
function defaultApiProcessScript(): string {
  const here = fileURLToPath(import.meta.url)
  if (here.endsWith('.ts')) return join(dirname(here), 'api', 'api-process.ts')
  return builtEntry('api-process')
}

/**
 * The plugin host entry next to the running code: the built out/main/plugin-host.js, or the
 * TypeScript source when the core itself runs from source (tests, tsx scripts).
 */
function defaultPluginHostScript(): string {
  const here = fileURLToPath(import.meta.url)
  if (here.endsWith('.ts')) return join(dirname(here), 'plugins', 'plugin-host.ts')
  return builtEntry('plugin-host')
}
