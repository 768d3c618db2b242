import { existsSync, watch, type FSWatcher } from 'node:fs'
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Logger } from '../logging'
import { DomainError } from '../../shared/errors'
import {
  PLUGIN_API_VERSION,
  PluginError,
  type FloatVector,
  type KnnResult,
  type PluginErrorInfo,
  type PluginInfo,
  type PluginSource
} from '../../shared/plugins'
import type { HostRequest, HostResponse, PluginIdentity, PluginMethod } from './host-protocol'
import type { PluginHostExit, PluginHostProcess, PluginHostSpawner } from './host-spawner'
import { MANIFEST_FILE, readManifest, readVerifiedBinary, resolveBinary, type PluginManifest } from './manifest'
import { checkBinaryHeader, currentPlatformKey } from './platform'
import { toDomainError } from './plugin-errors'
import { PluginRuntimeCopies, type RuntimeCopy } from './runtime-copies'

export interface Disposable {
  dispose(): void
}

export interface PluginRegistryOptions {
  /** The app's bundled plugins (the repository's native/ folder, or its copy in the package). */
  bundledDir?: string | null
  /** `<dataDir>/plugins`: user-installed plugins, watched for changes (plugin:dev installs here). */
  userPluginsDir?: string | null
  /** Individual plugin folders to load as well (plugin:check). */
  pluginDirs?: string[]
  /**
   * Where the verified binaries are copied for their hosts to load (`<dataDir>/plugins-runtime`;
   * emptied at open). Without it, a temporary folder of the registry's own.
   */
  runtimeDir?: string | null
  /** The host entry: out/main/plugin-host.js in the app, src/main/plugins/plugin-host.ts in tests. */
  hostScript: string
  spawner: PluginHostSpawner
  logger: Logger
  /** Time budget of one call; past it the watchdog kills the host. Default 10 s. */
  callTimeoutMs?: number
  /** Time budget for spawning, loading and initialize. Default 20 s. */
  loadTimeoutMs?: number
  /** Per-plugin settings, merged over the manifest's `settings` and passed to initialize. */
  settings?: Record<string, Record<string, unknown>>
  /** Crashes within the window after which a plugin is disabled. Default 3 in 5 minutes. */
  crashLimit?: { count: number; windowMs: number }
  /** Watch userPluginsDir and reload plugins whose plugin.json changes. Default true. */
  watch?: boolean
}

const DEFAULT_CALL_TIMEOUT_MS = 10_000
const DEFAULT_LOAD_TIMEOUT_MS = 20_000
const SHUTDOWN_GRACE_MS = 2_000
const WATCH_DEBOUNCE_MS = 150

/** Written by the registry into userPluginsDir on every change; read by plugin:dev. */
export const REGISTRY_STATE_FILE = '.registry-state.json'

export interface RegistryStateFile {
  pid: number
  updatedAt: string
  plugins: PluginInfo[]
}

interface PluginLocation {
  dir: string
  source: PluginSource
}

interface HandleContext {
  options: Required<Pick<PluginRegistryOptions, 'callTimeoutMs' | 'loadTimeoutMs' | 'crashLimit'>> & PluginRegistryOptions
  logger: Logger
  runtime: PluginRuntimeCopies
  changed(): void
}

/** One live host process and its in-flight request (calls are serialised per plugin). */
class HostConnection {
  private pending: { id: number; resolve: (value: unknown) => void; reject: (error: Error) => void; timer?: NodeJS.Timeout } | undefined
  private nextId = 1
  private expectedExit = false
  private exited = false
  private readonly outputTail: string[] = []
  /** Set when the watchdog killed the host, so the exit is reported as a timeout. */
  killedFor: PluginError | undefined
  readonly ready: Promise<void>
  private loadWaiter: { resolve: (response: HostResponse) => void } | undefined

  constructor(
    readonly process: PluginHostProcess,
    private readonly logger: Logger,
    onExit: (exit: PluginHostExit, connection: HostConnection) => void
  ) {
    let markReady!: () => void
    this.ready = new Promise((resolvePromise) => (markReady = resolvePromise))
    process.onMessage((message) => {
      switch (message.type) {
        case 'ready':
          markReady()
          break
        case 'loaded':
        case 'load-failed':
          this.loadWaiter?.resolve(message)
          this.loadWaiter = undefined
          break
        case 'log':
          this.logger[message.level]({ fromPlugin: true }, message.message)
          break
        case 'result': {
          const pending = this.pending
          if (!pending || pending.id !== message.id) break
          this.pending = undefined
          clearTimeout(pending.timer)
          if (message.ok) pending.resolve(message.value)
          else pending.reject(new PluginError(message.error.code, message.error.message))
        }
      }
    })
    process.onOutput((line, stream) => {
      this.outputTail.push(line)
      if (this.outputTail.length > 20) this.outputTail.shift()
      this.logger[stream === 'stderr' ? 'warn' : 'info']({ stream }, line)
    })
    this.reportExit = (exit) => {
      if (this.exited) return
      this.exited = true
      onExit(exit, this)
    }
    process.onExit((exit) => this.reportExit(exit))
  }

  /** Reports the exit once: at the watchdog's kill (so no call reaches a dying host) or when the OS does. */
  private readonly reportExit: (exit: PluginHostExit) => void

  get isExpectedExit(): boolean {
    return this.expectedExit
  }

  get hasExited(): boolean {
    return this.exited
  }

  /** The last lines the host printed: a native crash's own explanation. */
  get lastOutput(): string {
    return this.outputTail.slice(-5).join(' | ')
  }

  load(request: Extract<HostRequest, { type: 'load' }>): Promise<HostResponse> {
    return new Promise((resolvePromise) => {
      this.loadWaiter = { resolve: resolvePromise }
      this.process.send(request)
    })
  }

  /** Resolves/rejects the in-flight call when the host dies. */
  failPending(error: Error): void {
    const pending = this.pending
    this.pending = undefined
    this.loadWaiter = undefined
    if (pending) {
      clearTimeout(pending.timer)
      pending.reject(error)
    }
  }

  call(method: PluginMethod, args: unknown[], timeoutMs: number, pluginName: string): Promise<unknown> {
    return new Promise((resolvePromise, reject) => {
      const id = this.nextId++
      this.pending = { id, resolve: resolvePromise, reject }
      this.pending.timer = setTimeout(() => {
        this.killFor(
          new PluginError('call_timeout', `plugin '${pluginName}' timed out after ${timeoutMs} ms in ${method}; its host was killed and restarts`)
        )
      }, timeoutMs)
      this.process.send({ type: 'call', id, method, args })
    })
  }

  /**
   * Kills the host for a fault it cannot be trusted after (a hang, a result of the wrong shape):
   * the call fails with `error` and the exit is reported as that fault, so the host restarts.
   */
  killFor(error: PluginError): void {
    this.killedFor = error
    this.failPending(error)
    this.process.kill()
    this.reportExit({ code: null, signal: 'SIGKILL' })
  }

  /** Asks the host to call the plugin's shutdown and exit; kills it if it does not. */
  async shutdown(): Promise<void> {
    this.expectedExit = true
    if (this.exited) return
    const exited = new Promise<void>((resolvePromise) => this.process.onExit(() => resolvePromise()))
    this.process.send({ type: 'shutdown' })
    const timer = setTimeout(() => this.process.kill(), SHUTDOWN_GRACE_MS)
    await exited
    clearTimeout(timer)
  }

  kill(): void {
    this.expectedExit = true
    this.process.kill()
  }
}

/** One plugin: its manifest, its host, its state. Unload/reload = host restart. */
class PluginHandle {
  info: PluginInfo
  private manifest: PluginManifest | undefined
  manifestText: string | undefined
  private host: HostConnection | undefined
  /**
   * Settles when the current (re)load attempt has finished, successfully or not. Until the
   * first load is queued (the registry loads in the background once the app is ready) it is
   * the gate below, so a call made meanwhile waits for that load instead of failing.
   */
  private loading: Promise<void>
  private releaseGate!: () => void
  /** Not loaded yet: the registry's next sync loads it. */
  awaitingFirstLoad = true
  /** Ends the load in progress at once (the registry is closing). */
  private abortLoad: (() => void) | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private crashTimes: number[] = []
  private closed = false

  constructor(
    readonly location: PluginLocation,
    private readonly context: HandleContext
  ) {
    this.loading = new Promise((resolvePromise) => (this.releaseGate = resolvePromise))
    this.info = {
      name: location.dir.split(/[\\/]/).pop() ?? location.dir,
      version: '',
      description: '',
      kind: 'geometric_operation',
      isMetric: null,
      pluginApiVersion: 0,
      napiVersion: 0,
      source: location.source,
      dir: location.dir,
      platformKey: currentPlatformKey(),
      binaryPath: null,
      blake3: null,
      checksum: 'unchecked',
      state: 'stopped',
      hostPid: null,
      disabledBy: null,
      recentCrashes: 0,
      lastError: null,
      loadedAt: null
    }
  }

  get name(): string {
    return this.info.name
  }

  snapshot(): PluginInfo {
    const now = Date.now()
    this.crashTimes = this.crashTimes.filter((time) => now - time < this.context.options.crashLimit.windowMs)
    return { ...this.info, recentCrashes: this.crashTimes.length }
  }

  private update(patch: Partial<PluginInfo>): void {
    Object.assign(this.info, patch)
    this.context.changed()
  }

  private fail(error: PluginErrorInfo): void {
    this.context.logger.warn({ plugin: this.name, code: error.code }, error.message)
    this.update({ state: 'failed', lastError: { code: error.code, message: error.message } })
  }

  /** Reads the manifest only (discovery needs the name before anything loads). */
  async readManifest(): Promise<void> {
    try {
      const { manifest, text } = await readManifest(this.location.dir)
      this.manifest = manifest
      this.manifestText = text
      this.info = {
        ...this.info,
        name: manifest.name,
        version: manifest.version,
        description: manifest.description,
        kind: manifest.kind,
        pluginApiVersion: manifest.pluginApiVersion,
        napiVersion: manifest.napiVersion
      }
    } catch (error) {
      this.manifest = undefined
      this.manifestText = undefined
      this.fail(toErrorInfo(error))
    }
  }

  /** Listed as loading until the registry gets to it (a failed manifest stays failed). */
  markQueued(): void {
    if (this.manifest && this.info.state === 'stopped') this.update({ state: 'starting' })
  }

  /** (Re)starts the plugin: re-reads its manifest, re-verifies, restarts its host. */
  load(options: { rereadManifest: boolean }): Promise<void> {
    // The first attempt must not wait on the gate: it is what opens it.
    const previous = this.awaitingFirstLoad ? Promise.resolve() : this.loading
    this.awaitingFirstLoad = false
    const attempt = previous.then(() => this.loadNow(options))
    this.loading = attempt.catch(() => undefined)
    this.releaseGate()
    return this.loading
  }

  /** Waits until no load is in progress, including loads queued while waiting. */
  private async settled(): Promise<void> {
    let current: Promise<void>
    do {
      current = this.loading
      await current
    } while (current !== this.loading)
  }

  private async loadNow(options: { rereadManifest: boolean }): Promise<void> {
    await this.stopHost()
    if (this.closed || this.info.state === 'disabled') return
    if (options.rereadManifest || !this.manifest) await this.readManifest()
    const manifest = this.manifest
    if (!manifest) return
    this.update({ state: this.info.state === 'restarting' ? 'restarting' : 'starting', lastError: this.info.state === 'restarting' ? this.info.lastError : null })
    let copy: RuntimeCopy
    try {
      const napiSupported = Number(process.versions.napi ?? 0)
      if (manifest.napiVersion > napiSupported) {
        throw new PluginError(
          'napi_version_too_new',
          `plugin '${manifest.name}' needs Node-API ${manifest.napiVersion}, but this runtime provides ${napiSupported}`
        )
      }
      if (manifest.pluginApiVersion !== PLUGIN_API_VERSION) {
        throw new PluginError(
          'plugin_api_mismatch',
          `plugin '${manifest.name}' speaks plugin API ${manifest.pluginApiVersion}; this Hypercube speaks ${PLUGIN_API_VERSION}`
        )
      }
      // Only plugins that ship with the app (or that a developer named: plugin:check) may be
      // vouched for by a build record; an installed plugin must match its manifest.
      const binary = await resolveBinary(this.location.dir, manifest, this.info.platformKey, { trustBuildRecord: this.location.source !== 'user' })
      this.update({ binaryPath: binary.path, blake3: binary.blake3, checksum: 'unchecked' })
      let bytes: Uint8Array
      try {
        bytes = await readVerifiedBinary(binary, this.location.dir)
      } catch (error) {
        if (error instanceof PluginError && error.code === 'checksum_mismatch') this.update({ checksum: 'mismatch' })
        throw error
      }
      this.update({ checksum: 'verified' })
      const problem = checkBinaryHeader(bytes.subarray(0, 4096), binary.path)
      if (problem) throw new PluginError(problem.code, problem.message)
      copy = await this.context.runtime.write(manifest.name, binary.blake3, bytes)
    } catch (error) {
      this.fail(toErrorInfo(error))
      return
    }
    await this.startHost(manifest, copy)
  }

  private async startHost(manifest: PluginManifest, copy: RuntimeCopy): Promise<void> {
    const { options, logger, runtime } = this.context
    let host: HostConnection
    try {
      const child = options.spawner.spawn({ hostScript: options.hostScript, pluginName: manifest.name, pluginDir: this.location.dir })
      host = new HostConnection(child, logger.child({ plugin: manifest.name, pid: child.pid }), (exit, connection) =>
        this.onHostExit(exit, connection)
      )
    } catch (error) {
      void runtime.remove(copy)
      this.fail({ code: 'load_failed', message: `cannot start the plugin host: ${(error as Error).message}` })
      return
    }
    // The copy is needed until the host has gone (Windows cannot delete a loaded DLL).
    host.process.onExit(() => void runtime.remove(copy))
    this.host = host
    const settings = { ...manifest.settings, ...(options.settings?.[manifest.name] ?? {}) }
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<HostResponse>((resolvePromise) => {
      timer = setTimeout(
        () =>
          resolvePromise({
            type: 'load-failed',
            error: { code: 'load_timeout', message: `plugin '${manifest.name}' did not load and initialize within ${options.loadTimeoutMs} ms` }
          }),
        options.loadTimeoutMs
      )
    })
    const exited = new Promise<HostResponse>((resolvePromise) => {
      host.process.onExit((exit) =>
        resolvePromise({
          type: 'load-failed',
          error: { code: 'host_crashed', message: `the plugin host exited while loading (${describeExit(exit)})${tail(host)}` }
        })
      )
    })
    const aborted = new Promise<HostResponse>((resolvePromise) => {
      this.abortLoad = () => resolvePromise({ type: 'load-failed', error: { code: 'registry_closed', message: 'the plugin registry closed while the plugin was loading' } })
    })
    const response = await Promise.race([
      host.ready.then(() => host.load({ type: 'load', binaryPath: copy.path, sha256: copy.sha256, pluginDir: this.location.dir, settings })),
      timeout,
      exited,
      aborted
    ])
    clearTimeout(timer)
    this.abortLoad = undefined
    if (response.type !== 'loaded') {
      host.kill()
      this.host = undefined
      this.fail(response.type === 'load-failed' ? response.error : { code: 'load_failed', message: 'unexpected answer from the plugin host' })
      return
    }
    const identityProblem = checkIdentity(manifest, response.identity)
    if (identityProblem) {
      host.kill()
      this.host = undefined
      this.fail(identityProblem)
      return
    }
    const recovered = this.info.state === 'restarting'
    this.update({
      state: 'running',
      hostPid: host.process.pid ?? null,
      isMetric: response.identity.isMetric,
      loadedAt: new Date().toISOString(),
      lastError: recovered ? this.info.lastError : null
    })
    logger.info({ plugin: manifest.name, version: manifest.version, pid: host.process.pid, binary: this.info.binaryPath, copy: copy.path }, 'plugin loaded')
  }

  private onHostExit(exit: PluginHostExit, connection: HostConnection): void {
    if (connection !== this.host) return
    this.host = undefined
    this.info.hostPid = null
    if (connection.isExpectedExit || this.closed) {
      connection.failPending(new PluginError('plugin_unavailable', `plugin '${this.name}' was stopped`))
      return
    }
    if (this.info.state !== 'running') return // a load-time exit: startHost reports it
    const crash =
      connection.killedFor ??
      new PluginError('host_crashed', `plugin '${this.name}' crashed (${describeExit(exit)})${tail(connection)}; its host restarts`)
    connection.failPending(crash)
    const now = Date.now()
    const { count, windowMs } = this.context.options.crashLimit
    this.crashTimes = [...this.crashTimes.filter((time) => now - time < windowMs), now]
    this.context.logger.error({ plugin: this.name, code: crash.code, crashes: this.crashTimes.length }, crash.message)
    if (this.crashTimes.length >= count) {
      this.update({
        state: 'disabled',
        disabledBy: 'crashes',
        lastError: {
          code: crash.code,
          message: `${crash.message.replace(/; its host (was killed and )?(will )?restarts?$/, '')}; disabled after ${this.crashTimes.length} crashes in ${Math.round(windowMs / 60_000)} minutes — enable it to try again`
        }
      })
      return
    }
    this.update({ state: 'restarting', lastError: { code: crash.code, message: crash.message } })
    void this.load({ rereadManifest: false })
  }

  call(method: PluginMethod, args: unknown[]): Promise<unknown> {
    const run = async (): Promise<unknown> => {
      await this.settled()
      if (this.closed) throw new PluginError('registry_closed', 'the plugin registry is closed')
      if (this.info.state === 'disabled') {
        throw new PluginError('plugin_disabled', `plugin '${this.name}' is disabled${this.info.lastError ? `: ${this.info.lastError.message}` : ''}`)
      }
      const host = this.host
      if (this.info.state !== 'running' || !host) {
        throw new PluginError(
          'plugin_unavailable',
          `plugin '${this.name}' is ${this.info.state}${this.info.lastError ? `: [${this.info.lastError.code}] ${this.info.lastError.message}` : ''}`
        )
      }
      let value: unknown
      try {
        value = await host.call(method, args, this.context.options.callTimeoutMs, this.name)
      } catch (error) {
        // The plugin's own message ("query has 3 coordinates but dim is 4") does not say who spoke.
        if (error instanceof PluginError && error.code === 'call_failed') {
          throw new PluginError('call_failed', `plugin '${this.name}' refused ${method}: ${error.message}`)
        }
        throw error
      }
      const problem = checkResult(method, args, value)
      if (problem) {
        // A plugin that answers with the wrong shape may have corrupted its own state: restart it.
        const error = new PluginError('invalid_result', `plugin '${this.name}' returned an invalid result from ${method} (${problem}); its host restarts`)
        host.killFor(error)
        throw error
      }
      return value
    }
    const result = this.queue.then(run, run)
    this.queue = result.catch(() => undefined)
    return result
  }

  async disable(): Promise<void> {
    this.update({ state: 'disabled', disabledBy: 'user' })
    await this.stopHost()
  }

  async enable(): Promise<void> {
    if (this.info.state !== 'disabled') return
    this.crashTimes = []
    this.update({ state: 'stopped', disabledBy: null })
    await this.load({ rereadManifest: true })
  }

  private async stopHost(): Promise<void> {
    const host = this.host
    this.host = undefined
    this.info.hostPid = null
    if (host) await host.shutdown()
  }

  async close(): Promise<void> {
    this.closed = true
    // A plugin that hangs while loading must not hold up closing for the whole load budget.
    this.abortLoad?.()
    this.releaseGate()
    await this.settled()
    await this.stopHost()
    this.info.state = 'stopped'
  }
}

/**
 * What is wrong with a plugin's answer, or null. The callers index arrays with these values
 * (knn's indices pick runs), so a wrong length or an index past the points is refused here,
 * with the plugin named, instead of surfacing later as a confusing error or a wrong answer.
 */
function checkResult(method: PluginMethod, args: unknown[], value: unknown): string | null {
  if (method === 'distance') return typeof value === 'number' ? null : `expected a number, got ${describeValue(value)}`
  const [, points, dim] = args as [unknown, { length: number }, number]
  const count = Math.floor(points.length / dim)
  if (method === 'distances') {
    if (!(value instanceof Float64Array)) return `expected a Float64Array, got ${describeValue(value)}`
    return value.length === count ? null : `${value.length} distances for ${count} points`
  }
  const k = args[3] as number
  const result = value as Partial<KnnResult> | null
  if (typeof result !== 'object' || result === null || !(result.indices instanceof Uint32Array) || !(result.distances instanceof Float64Array)) {
    return `expected { indices: Uint32Array, distances: Float64Array }, got ${describeValue(value)}`
  }
  if (result.indices.length !== k || result.distances.length !== k) {
    return `${result.indices.length} indices and ${result.distances.length} distances for k = ${k}`
  }
  const outside = result.indices.find((index) => index >= count)
  return outside === undefined ? null : `index ${outside} is past the ${count} points`
}

function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (ArrayBuffer.isView(value)) return value.constructor.name
  return typeof value
}

function describeExit(exit: PluginHostExit): string {
  if (exit.signal) return `signal ${exit.signal}`
  return `exit code ${exit.code}`
}

function tail(connection: HostConnection): string {
  const output = connection.lastOutput
  return output ? `; last output: ${output}` : ''
}

function checkIdentity(manifest: PluginManifest, identity: PluginIdentity): PluginErrorInfo | null {
  if (identity.name !== manifest.name) {
    return { code: 'identity_mismatch', message: `the binary calls itself '${identity.name}' but plugin.json names '${manifest.name}'` }
  }
  if (identity.kind !== 'geometric_operation') {
    return { code: 'plugin_api_mismatch', message: `plugin '${manifest.name}' has kind '${identity.kind}'; only geometric_operation is supported` }
  }
  if (identity.pluginApiVersion !== PLUGIN_API_VERSION) {
    return {
      code: 'plugin_api_mismatch',
      message: `plugin '${manifest.name}' was built for plugin API ${identity.pluginApiVersion}; this Hypercube speaks ${PLUGIN_API_VERSION}`
    }
  }
  return null
}

function toErrorInfo(error: unknown): PluginErrorInfo {
  if (error instanceof PluginError) return { code: error.code, message: error.message }
  return { code: 'load_failed', message: (error as Error)?.message ?? String(error) }
}

async function listPluginFolders(root: string | null | undefined): Promise<string[]> {
  if (!root) return []
  const entries = await readdir(root, { withFileTypes: true }).catch(() => [])
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && existsSync(join(root, entry.name, MANIFEST_FILE)))
    .map((entry) => resolve(root, entry.name))
    .sort()
}

/**
 * Finds, verifies and loads geometric plugins, each in its own host process, and routes
 * calls to them. Built by the composition root; closed last-in-first-out with the core.
 */
export class PluginRegistry {
  private readonly handles = new Map<string, PluginHandle>()
  private readonly listeners = new Set<(plugins: PluginInfo[]) => void>()
  private watcher: FSWatcher | undefined
  private watchTimer: NodeJS.Timeout | undefined
  private syncing: Promise<void> = Promise.resolve()
  private stateWrite: Promise<void> = Promise.resolve()
  private closed = false
  /** Whether discovered plugins load (start() was called), or only show as queued. */
  private started = false
  private startup: Promise<void> | undefined
  private readonly context: HandleContext

  private constructor(
    private readonly options: PluginRegistryOptions,
    runtime: PluginRuntimeCopies
  ) {
    this.context = {
      options: {
        ...options,
        callTimeoutMs: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
        loadTimeoutMs: options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS,
        crashLimit: options.crashLimit ?? { count: 3, windowMs: 5 * 60_000 }
      },
      logger: options.logger.child({ component: 'plugins' }),
      runtime,
      changed: () => this.emitChange()
    }
  }

  /**
   * Finds the plugins without loading any: each is listed as `starting` until start() loads
   * it. The app does this before it is ready and starts loading after, so a plugin that hangs
   * while loading never delays the app (it fails with load_timeout in the background).
   */
  static async create(options: PluginRegistryOptions): Promise<PluginRegistry> {
    const registry = new PluginRegistry(options, await PluginRuntimeCopies.open(options.runtimeDir))
    if (options.userPluginsDir) await mkdir(options.userPluginsDir, { recursive: true })
    await registry.sync()
    return registry
  }

  /** create() and start(), awaited: every plugin has loaded or failed (scripts, tests). */
  static async open(options: PluginRegistryOptions): Promise<PluginRegistry> {
    const registry = await PluginRegistry.create(options)
    await registry.start()
    return registry
  }

  /**
   * Loads the plugins found and starts watching the user plugins folder. Settles when every
   * load has finished (each plugin running or failed); onDidChangePlugins reports each one as
   * it gets there. A call to a plugin made before then waits for that plugin's load.
   */
  start(): Promise<void> {
    if (this.startup) return this.startup
    this.started = true
    const { userPluginsDir, watch } = this.options
    if (userPluginsDir && watch !== false && !this.closed) this.watchUserPlugins(userPluginsDir)
    this.startup = this.sync()
    return this.startup
  }

  list(): PluginInfo[] {
    return [...this.handles.values()].map((handle) => handle.snapshot()).sort((a, b) => a.name.localeCompare(b.name))
  }

  get(name: string): PluginInfo | undefined {
    return this.handles.get(name)?.snapshot()
  }

  onDidChangePlugins(listener: (plugins: PluginInfo[]) => void): Disposable {
    this.listeners.add(listener)
    return { dispose: () => this.listeners.delete(listener) }
  }

  async distance(pluginName: string, a: FloatVector, b: FloatVector): Promise<number> {
    return (await this.call(pluginName, 'distance', [a, b])) as number
  }

  /**
   * Distances from `query` to each of the N points in `points` (N × dim values). `out`, if
   * given, must be a Float64Array(N): it is validated by the plugin and filled with the result
   * (through the host the values arrive in a new array and are copied into it).
   */
  async distances(pluginName: string, query: FloatVector, points: FloatVector, dim: number, out?: Float64Array): Promise<Float64Array> {
    const result = (await this.call(pluginName, 'distances', out ? [query, points, dim, out] : [query, points, dim])) as Float64Array
    if (out && result !== out) {
      out.set(result)
      return out
    }
    return result
  }

  async knn(pluginName: string, query: FloatVector, points: FloatVector, dim: number, k: number): Promise<KnnResult> {
    return (await this.call(pluginName, 'knn', [query, points, dim, k])) as KnnResult
  }

  // The three actions are what the doors (UI, /v1) call: their errors are DomainErrors, so
  // each door reports them with their code (not_found, conflict) instead of as a bug.

  /** Restarts a plugin's host after re-reading and re-verifying it; finds new plugins too. */
  async reload(name: string): Promise<PluginInfo> {
    try {
      if (!this.handles.has(name)) await this.sync()
      const handle = this.requireHandle(name)
      if (handle.info.state === 'disabled') throw new DomainError('conflict', `plugin '${name}' is disabled; enable it first`, 'name')
      await handle.load({ rereadManifest: true })
      return handle.snapshot()
    } catch (error) {
      throw toDomainError(error)
    }
  }

  async enable(name: string): Promise<PluginInfo> {
    try {
      const handle = this.requireHandle(name)
      await handle.enable()
      return handle.snapshot()
    } catch (error) {
      throw toDomainError(error)
    }
  }

  async disable(name: string): Promise<PluginInfo> {
    try {
      const handle = this.requireHandle(name)
      await handle.disable()
      return handle.snapshot()
    } catch (error) {
      throw toDomainError(error)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.watcher?.close()
    clearTimeout(this.watchTimer)
    // Closing the handles first ends any load in progress, which the sync below may be waiting on.
    const closing = [...this.handles.values()].map((handle) => handle.close())
    await this.syncing
    await Promise.all([...closing, ...[...this.handles.values()].map((handle) => handle.close())])
    await this.stateWrite
    await this.context.runtime.dispose()
    this.listeners.clear()
  }

  private call(name: string, method: PluginMethod, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new PluginError('registry_closed', 'the plugin registry is closed'))
    const handle = this.handles.get(name)
    if (!handle) return Promise.reject(new PluginError('plugin_not_found', `no plugin named '${name}' (known: ${[...this.handles.keys()].join(', ') || 'none'})`))
    return handle.call(method, args)
  }

  private requireHandle(name: string): PluginHandle {
    const handle = this.handles.get(name)
    if (!handle) throw new PluginError('plugin_not_found', `no plugin named '${name}'`)
    return handle
  }

  /**
   * Brings the loaded set in line with the folders: new plugins load, removed ones stop,
   * those whose plugin.json changed reload. A user plugin wins over a bundled one of the
   * same name (so a developer can work on a bundled plugin through plugin:dev).
   */
  private sync(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) return
      const locations: PluginLocation[] = [
        ...(await listPluginFolders(this.options.bundledDir)).map((dir) => ({ dir, source: 'bundled' as const })),
        ...(this.options.pluginDirs ?? []).map((dir) => ({ dir: resolve(dir), source: 'explicit' as const })),
        ...(await listPluginFolders(this.options.userPluginsDir)).map((dir) => ({ dir, source: 'user' as const }))
      ]
      const wanted = new Map<string, PluginHandle>()
      const toLoad: PluginHandle[] = []
      for (const location of locations) {
        const existing = [...this.handles.values()].find((handle) => handle.location.dir === location.dir)
        if (existing) {
          const previousText = existing.manifestText
          const previousName = existing.name
          await existing.readManifest()
          if (existing.manifestText !== previousText || existing.name !== previousName) toLoad.push(existing)
          wanted.set(existing.name, existing)
          continue
        }
        const handle = new PluginHandle(location, this.context)
        await handle.readManifest()
        const shadowed = wanted.get(handle.name)
        if (shadowed) this.context.logger.info({ plugin: handle.name, dir: location.dir, over: shadowed.location.dir }, 'plugin overrides another of the same name')
        wanted.set(handle.name, handle)
        toLoad.push(handle)
      }
      // Never loaded yet (found before start()): loaded by the first sync after it.
      for (const handle of wanted.values()) if (handle.awaitingFirstLoad && !toLoad.includes(handle)) toLoad.push(handle)
      const removed = [...this.handles.values()].filter((handle) => wanted.get(handle.name) !== handle)
      this.handles.clear()
      for (const [name, handle] of wanted) this.handles.set(name, handle)
      await Promise.all(removed.map((handle) => handle.close()))
      const loading = toLoad.filter((handle) => wanted.get(handle.name) === handle)
      if (this.closed) return
      if (!this.started) {
        for (const handle of loading) handle.markQueued()
        this.emitChange()
        return
      }
      await Promise.all(loading.map((handle) => handle.load({ rereadManifest: false })))
      this.emitChange()
    }
    this.syncing = this.syncing.then(run, run)
    return this.syncing
  }

  private watchUserPlugins(dir: string): void {
    const schedule = (filename: string | null): void => {
      // Our own state file changes on every event: ignore it and other dotfiles.
      if (filename && filename.split(/[\\/]/).some((part) => part.startsWith('.'))) return
      clearTimeout(this.watchTimer)
      this.watchTimer = setTimeout(() => void this.sync(), WATCH_DEBOUNCE_MS)
    }
    try {
      this.watcher = watch(dir, { recursive: true }, (_event, filename) => schedule(filename))
    } catch {
      this.watcher = watch(dir, (_event, filename) => schedule(filename))
    }
    this.watcher.on('error', (error) => this.context.logger.warn({ err: error }, 'plugin folder watch failed'))
  }

  private emitChange(): void {
    if (this.listeners.size === 0 && !this.options.userPluginsDir) return
    const plugins = this.list()
    for (const listener of this.listeners) {
      try {
        listener(plugins)
      } catch (error) {
        this.context.logger.error({ err: error }, 'onDidChangePlugins listener threw')
      }
    }
    this.writeStateFile(plugins)
  }

  /** Lets tools outside the process (plugin:dev) see reload results without an API. */
  private writeStateFile(plugins: PluginInfo[]): void {
    const dir = this.options.userPluginsDir
    if (!dir) return
    const state: RegistryStateFile = { pid: process.pid, updatedAt: new Date().toISOString(), plugins }
    const file = join(dir, REGISTRY_STATE_FILE)
    const temporary = `${file}.${process.pid}.tmp`
    this.stateWrite = this.stateWrite
      .then(async () => {
        await writeFile(temporary, JSON.stringify(state, null, 2))
        await rename(temporary, file)
      })
      .catch((error) => this.context.logger.warn({ err: error }, 'cannot write the plugin state file'))
  }
}
