// The API process: the HTTP door (/v1 and the MLflow adapter, with their body parsing and COPY
// ingest) in a process of its own, so a training script posting large batches never delays
// the window's IPC answers in main. It runs as an Electron utilityProcess in the app and as a
// forked Node process in tests; the services and SQL are the same ones main uses, on this
// process's own pool. Events reach main through PostgreSQL (NOTIFY in the writing transaction).
import { DomainError, isDomainError, type ErrorInfo } from '../../shared/errors'
import type { PluginInfo } from '../../shared/plugins'
import { composeServices, startDoorHttp } from '../compose-door'
import { Database } from '../db/database'
import { createFileLogger, type Logger } from '../logging'
import type { PluginControl } from '../plugins/plugin-control'
import { openParentChannel, type ParentChannel } from '../process/parent-channel'
import type { HttpServer } from '../http/server'
import type { ApiChildMessage, ApiParentMessage, ApiProcessConfig, PluginAction } from './api-protocol'

/** The plugins as main's registry last reported them; actions are run there. */
class PluginRelay implements PluginControl {
  private nextRequestId = 1
  private readonly pending = new Map<number, { resolve: (plugin: PluginInfo) => void; reject: (error: Error) => void }>()

  constructor(
    private plugins: PluginInfo[],
    private readonly channel: ParentChannel<ApiChildMessage, ApiParentMessage>
  ) {}

  update(plugins: PluginInfo[]): void {
    this.plugins = plugins
  }

  settle(requestId: number, result: { ok: true; plugin: PluginInfo } | { ok: false; error: ErrorInfo }): void {
    const waiting = this.pending.get(requestId)
    if (!waiting) return
    this.pending.delete(requestId)
    if (result.ok) waiting.resolve(result.plugin)
    else waiting.reject(new DomainError(result.error.code, result.error.message, result.error.field))
  }

  list(): PluginInfo[] {
    return this.plugins
  }

  get(name: string): PluginInfo | undefined {
    return this.plugins.find((plugin) => plugin.name === name)
  }

  reload(name: string): Promise<PluginInfo> {
    return this.run('reload', name)
  }

  enable(name: string): Promise<PluginInfo> {
    return this.run('enable', name)
  }

  disable(name: string): Promise<PluginInfo> {
    return this.run('disable', name)
  }

  private run(action: PluginAction, name: string): Promise<PluginInfo> {
    const requestId = this.nextRequestId++
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject })
      this.channel.send({ type: 'pluginAction', requestId, action, name })
    })
  }
}

const channel = openParentChannel<ApiChildMessage, ApiParentMessage>('api-process', () => void shutdown(0))
let logger: Logger | undefined
let database: Database | undefined
let http: HttpServer | undefined
let relay: PluginRelay | undefined
let stopping = false

async function start(config: ApiProcessConfig, plugins: PluginInfo[] | null): Promise<void> {
  logger = createFileLogger(config.dataDir, 'api', { level: config.logLevel })
  logger.info({ pid: process.pid }, 'API process starting')
  // An unexpected error is logged and ends the process: main restarts it with backoff.
  process.on('uncaughtException', (error) => {
    logger?.fatal({ err: error }, 'uncaught exception in the API process')
    logger?.flush()
    process.exit(70)
  })
  database = await Database.connect(config.databaseUrl, logger.child({ component: 'db' }), undefined, config.databaseStorage)
  const { services } = composeServices(database, config.dataDir)
  if (plugins) {
    relay = new PluginRelay(plugins, channel)
    services.plugins = relay
  }
  http = await startDoorHttp({
    database,
    services,
    dataDir: config.dataDir,
    logger,
    port: config.port,
    host: config.host,
    mlflowDefaultArtifactRoot: config.mlflowDefaultArtifactRoot
  })
  logger.info({ url: http.url }, 'API process listening')
  channel.send({ type: 'ready', url: http.url, port: http.port })
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return
  stopping = true
  try {
    await http?.close()
    await database?.close()
    logger?.info('API process stopped')
    logger?.flush()
  } finally {
    process.exit(code)
  }
}

channel.onMessage((message) => {
  switch (message.type) {
    case 'start':
      start(message.config, message.plugins).catch((error: unknown) => {
        const text = isDomainError(error) || error instanceof Error ? error.message : String(error)
        logger?.error({ err: error }, 'API process failed to start')
        channel.send({ type: 'startFailed', message: text })
        void shutdown(1)
      })
      break
    case 'reloadToken':
      http?.reloadToken()
      break
    case 'plugins':
      relay?.update(message.plugins)
      break
    case 'pluginActionDone':
      relay?.settle(message.requestId, message.result)
      break
    case 'shutdown':
      void shutdown(0)
      break
  }
})
process.on('SIGTERM', () => void shutdown(0))
