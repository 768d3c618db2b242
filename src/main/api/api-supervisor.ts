import { join } from 'node:path'
import type { ApiDoorState } from '../../shared/domain'
import { isDomainError } from '../../shared/errors'
import { Emitter, type Disposable } from '../../shared/event'
import type { PluginInfo } from '../../shared/plugins'
import { readOrCreateApiToken, rotateApiToken } from '../http/api-token'
import type { Logger } from '../logging'
import { logsDir } from '../logging'
import type { PluginControl } from '../plugins/plugin-control'
import type { ChildProcessHandle, ChildSpawner } from '../process/child-process'
import type { HttpServer } from '../http/server'
import type { ApiChildMessage, ApiParentMessage, ApiProcessConfig } from './api-protocol'

/** What the window's side needs of the HTTP door, wherever it runs. */
export interface ApiDoor {
  readonly url: string | null
  readonly port: number | null
  readonly token: string
  state(): ApiDoorState
  readonly onDidChangeState: (listener: (state: ApiDoorState) => void) => Disposable
  /** Writes a new token to <dataDir>/api-token; the old one stops working at once. */
  rotateToken(): string
}

/** Crashes within this window count towards the limit. */
export const CRASH_WINDOW_MS = 5 * 60_000
export const MAX_CRASHES = 3
const RESTART_BASE_MS = 250
const RESTART_MAX_MS = 10_000
const START_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 10_000

export interface ApiSupervisorOptions {
  spawner: ChildSpawner
  /** The API process entry: out/main/api-process.js, or its .ts source under tests. */
  script: string
  config: Omit<ApiProcessConfig, 'port'> & { port?: number }
  logger: Logger
  /** The registry in this process, relayed to the API process's /v1/plugins routes. */
  plugins?: PluginControl & { onDidChangePlugins(listener: (plugins: PluginInfo[]) => void): Disposable }
}

/**
 * Runs the HTTP door in a child process and keeps it running: after a crash it is restarted
 * with backoff on the same port (so scripts reconnect to the URL they have); after
 * MAX_CRASHES within CRASH_WINDOW_MS it stays down and its state says why and where the log is.
 */
export class ApiSupervisor implements ApiDoor {
  private readonly didChangeState = new Emitter<ApiDoorState>()
  readonly onDidChangeState = this.didChangeState.event
  private child: ChildProcessHandle<ApiParentMessage, ApiChildMessage> | undefined
  private current: ApiDoorState
  private crashes: number[] = []
  private restartTimer: ReturnType<typeof setTimeout> | undefined
  private closing = false
  private boundPort: number
  private currentToken: string
  private readonly pluginSubscription: Disposable | undefined
  private readonly logFile: string

  private constructor(private readonly options: ApiSupervisorOptions) {
    this.boundPort = options.config.port ?? 0
    this.currentToken = readOrCreateApiToken(options.config.dataDir)
    this.logFile = join(logsDir(options.config.dataDir), 'api.log')
    this.current = { state: 'starting', url: null, pid: null, recentCrashes: 0, error: null, logFile: this.logFile }
    this.pluginSubscription = options.plugins?.onDidChangePlugins((plugins) => this.child?.send({ type: 'plugins', plugins }))
  }

  /** Starts the API process and resolves once it listens (or rejects with why it could not start). */
  static async start(options: ApiSupervisorOptions): Promise<ApiSupervisor> {
    const supervisor = new ApiSupervisor(options)
    try {
      await supervisor.spawn()
    } catch (error) {
      await supervisor.close()
      throw error
    }
    return supervisor
  }

  get url(): string | null {
    return this.current.url
  }

  get port(): number | null {
    return this.current.url ? this.boundPort : null
  }

  get token(): string {
    return this.currentToken
  }

  state(): ApiDoorState {
    return { ...this.current }
  }

  rotateToken(): string {
    this.currentToken = rotateApiToken(this.options.config.dataDir)
    this.child?.send({ type: 'reloadToken' })
    return this.currentToken
  }

  private setState(change: Partial<ApiDoorState>): void {
    this.current = { ...this.current, ...change }
    this.didChangeState.fire(this.state())
  }

  private spawn(): Promise<void> {
    const child = this.options.spawner.spawn<ApiParentMessage, ApiChildMessage>({ script: this.options.script, serviceName: 'Hypercube API' })
    this.child = child
    const log = this.options.logger
    child.onOutput((line, stream) => log.info({ stream, pid: child.pid }, `api process: ${line}`))
    return new Promise<void>((resolve, reject) => {
      let started = false
      const timeout = setTimeout(() => {
        if (started) return
        reject(new Error(`the API process did not start within ${START_TIMEOUT_MS / 1000} s; see ${this.logFile}`))
        child.kill()
      }, START_TIMEOUT_MS)
      child.onMessage((message) => {
        switch (message.type) {
          case 'ready':
            started = true
            clearTimeout(timeout)
            this.boundPort = message.port
            this.setState({ state: 'running', url: message.url, pid: child.pid ?? null, error: null })
            log.info({ url: message.url, pid: child.pid }, 'API process ready')
            resolve()
            break
          case 'startFailed':
            if (started) break
            started = true
            clearTimeout(timeout)
            reject(new Error(`the API process could not start: ${message.message} (log: ${this.logFile})`))
            break
          case 'pluginAction':
            void this.runPluginAction(child, message.requestId, message.action, message.name)
            break
        }
      })
      child.onExit((exit) => {
        clearTimeout(timeout)
        if (this.child === child) this.child = undefined
        if (!started) {
          started = true
          reject(new Error(`the API process exited while starting (code ${exit.code}, signal ${exit.signal}); see ${this.logFile}`))
          return
        }
        if (this.closing) return
        this.onCrash(`exited unexpectedly (${exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`})`)
      })
      child.send({
        type: 'start',
        config: { ...this.options.config, port: this.boundPort },
        plugins: this.options.plugins ? this.options.plugins.list() : null
      })
    })
  }

  private onCrash(reason: string): void {
    const now = Date.now()
    this.crashes = [...this.crashes.filter((at) => now - at < CRASH_WINDOW_MS), now]
    const recentCrashes = this.crashes.length
    this.options.logger.error({ reason, recentCrashes }, 'API process crashed')
    if (recentCrashes >= MAX_CRASHES) {
      this.setState({
        state: 'failed',
        pid: null,
        recentCrashes,
        error: `the API process ${reason}`
      })
      return
    }
    this.setState({ state: 'restarting', pid: null, recentCrashes, error: `the API process ${reason}` })
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (recentCrashes - 1))
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined
      if (this.closing) return
      this.spawn().catch((error: unknown) => this.onCrash(`could not restart: ${(error as Error).message}`))
    }, delay)
  }

  private async runPluginAction(child: ChildProcessHandle<ApiParentMessage, ApiChildMessage>, requestId: number, action: 'reload' | 'enable' | 'disable', name: string): Promise<void> {
    try {
      if (!this.options.plugins) throw new Error('no plugins in this core')
      const plugin = await this.options.plugins[action](name)
      child.send({ type: 'pluginActionDone', requestId, result: { ok: true, plugin } })
    } catch (error) {
      const info = isDomainError(error) ? error.toJSON() : { code: 'internal' as const, message: (error as Error).message }
      child.send({ type: 'pluginActionDone', requestId, result: { ok: false, error: info } })
    }
  }

  /** Asks the API process to finish its requests and stop; kills it if it does not. */
  async close(): Promise<void> {
    this.closing = true
    if (this.restartTimer) clearTimeout(this.restartTimer)
    this.pluginSubscription?.dispose()
    const child = this.child
    if (child) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          child.kill()
          resolve()
        }, STOP_TIMEOUT_MS)
        child.onExit(() => {
          clearTimeout(timer)
          resolve()
        })
        child.send({ type: 'shutdown' })
      })
    }
    this.child = undefined
    this.setState({ state: 'stopped', url: this.current.url, pid: null })
    this.didChangeState.dispose()
  }
}

/** The HTTP door on the calling process's own thread (serve mode, tests): never restarts. */
export function inProcessDoor(http: HttpServer): ApiDoor {
  const state: ApiDoorState = { state: 'in-process', url: http.url, pid: process.pid, recentCrashes: 0, error: null, logFile: null }
  return {
    url: http.url,
    port: http.port,
    get token() {
      return http.token
    },
    state: () => ({ ...state }),
    onDidChangeState: () => ({ dispose: () => undefined }),
    rotateToken: () => http.rotateToken()
  }
}
