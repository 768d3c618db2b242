// The plugin host: a child process that loads one native plugin and answers calls to it.
// It runs as a forked Node process (serve, tests) or as an Electron utilityProcess (the app);
// a plugin that crashes or hangs takes only this process down.
//
// Kept free of dependencies beyond Node's own modules: it starts for every plugin (and again
// after every crash), so startup time matters.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { constants } from 'node:os'
import { Worker } from 'node:worker_threads'
import { openParentChannel } from '../process/parent-channel'
import { classifyLoadError, type HostRequest, type HostResponse, type PluginIdentity, type PluginMethod } from './host-protocol'

interface GeometricPlugin {
  identity: PluginIdentity
  distance: (...args: unknown[]) => unknown
  distances: (...args: unknown[]) => unknown
  knn: (...args: unknown[]) => unknown
  initialize?: (context: unknown) => unknown
  shutdown?: () => unknown
}

const REQUIRED_FUNCTIONS: PluginMethod[] = ['distance', 'distances', 'knn']

/** How often the watchdog looks for the parent. */
const PARENT_CHECK_MS = 500

/**
 * Exits when the process that started this host is gone (the app was killed with SIGKILL, or
 * crashed): orphaned hosts were seen spinning at ~90% CPU. The IPC channel's 'disconnect'
 * (openParentChannel) covers an idle host, but a plugin stuck in a native call holds this
 * thread, so no event is ever handled. Hence a worker thread, whose own event loop keeps
 * running: it polls the parent (Linux has PR_SET_PDEATHSIG, but Node offers no prctl) and
 * kills the whole process, which a worker's process.exit() would not.
 *
 * On POSIX an orphan is re-parented, so a changed ppid means the parent is gone; on Windows
 * ppid never changes, so the parent's pid is probed instead.
 */
function watchForParentDeath(): void {
  const source = `
    const { workerData } = require('node:worker_threads')
    const parentGone = () => {
      if (process.ppid !== workerData.ppid) return true
      try {
        process.kill(workerData.ppid, 0)
        return false
      } catch (error) {
        return error.code === 'ESRCH'
      }
    }
    setInterval(() => {
      if (parentGone()) process.kill(workerData.pid, 'SIGKILL')
    }, workerData.intervalMs)
  `
  const worker = new Worker(source, { eval: true, workerData: { ppid: process.ppid, pid: process.pid, intervalMs: PARENT_CHECK_MS } })
  // The watchdog alone must not keep the host alive once its work is done.
  worker.unref()
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}

const channel = openParentChannel<HostResponse, HostRequest>('plugin-host')
watchForParentDeath()
let plugin: GeometricPlugin | undefined

/**
 * The copy is in a folder only this user can enter; checking it once more here narrows what a
 * process of this same user could change between the registry's write and dlopen.
 */
function checkCopy(request: Extract<HostRequest, { type: 'load' }>): HostResponse | null {
  let actual: string
  try {
    actual = createHash('sha256').update(readFileSync(request.binaryPath)).digest('hex')
  } catch (error) {
    return { type: 'load-failed', error: { code: 'binary_missing', message: `cannot read the private copy ${request.binaryPath}: ${describeError(error)}` } }
  }
  if (actual === request.sha256) return null
  return {
    type: 'load-failed',
    error: {
      code: 'checksum_mismatch',
      message: `the private copy ${request.binaryPath} changed after it was verified (SHA-256 ${actual}, expected ${request.sha256}); not loaded`
    }
  }
}

async function load(request: Extract<HostRequest, { type: 'load' }>): Promise<HostResponse> {
  const refused = checkCopy(request)
  if (refused) return refused
  const module: { exports: Record<string, unknown> } = { exports: {} }
  try {
    // RTLD_NOW: an unresolved symbol fails here, at load, with a message, instead of
    // crashing the host on the first call that needs it. Windows has no dlopen flags.
    const flags = constants.dlopen?.RTLD_NOW
    if (flags !== undefined) process.dlopen(module, request.binaryPath, flags)
    else process.dlopen(module, request.binaryPath)
  } catch (error) {
    return { type: 'load-failed', error: classifyLoadError((error as Error).message) }
  }
  const exports = module.exports
  const missing: string[] = []
  const identity = exports.identity as PluginIdentity | undefined
  if (typeof identity !== 'object' || identity === null || typeof identity.name !== 'string') missing.push('identity')
  for (const name of REQUIRED_FUNCTIONS) if (typeof exports[name] !== 'function') missing.push(`${name}()`)
  if (missing.length > 0) {
    return {
      type: 'load-failed',
      error: { code: 'missing_exports', message: `the plugin does not export ${missing.join(', ')} (exports: ${Object.keys(exports).join(', ') || 'none'})` }
    }
  }
  const loaded = exports as unknown as GeometricPlugin
  if (typeof loaded.initialize === 'function') {
    const context = {
      settings: request.settings,
      log: (level: unknown, message: unknown) => {
        const known = ['debug', 'info', 'warn', 'error'] as const
        const safeLevel = known.find((candidate) => candidate === level) ?? 'info'
        channel.send({ type: 'log', level: safeLevel, message: String(message) })
      }
    }
    try {
      await loaded.initialize(context)
    } catch (error) {
      return { type: 'load-failed', error: { code: 'initialize_failed', message: `initialize threw ${describeError(error)}` } }
    }
  }
  plugin = loaded
  return {
    type: 'loaded',
    identity: {
      name: identity!.name,
      version: String(identity!.version),
      pluginApiVersion: Number(identity!.pluginApiVersion),
      kind: String(identity!.kind),
      isMetric: identity!.isMetric === true,
      napiVersion: identity!.napiVersion === undefined ? undefined : Number(identity!.napiVersion)
    }
  }
}

let scratchOutput = new Float64Array(0)

/**
 * distances() into a reused buffer: the result is copied into the IPC message anyway, and a
 * fresh Float64Array per call would pay page faults for every megabyte of it.
 */
function withReusedOutput(request: Extract<HostRequest, { type: 'call' }>): unknown[] {
  const [, points, dim] = request.args
  if (request.method !== 'distances' || request.args.length !== 3) return request.args
  if (!(points instanceof Float32Array || points instanceof Float64Array) || typeof dim !== 'number') return request.args
  const count = points.length / dim
  if (!Number.isInteger(count) || count < 1) return request.args // let the plugin explain the error
  if (scratchOutput.length !== count) scratchOutput = new Float64Array(count)
  return [...request.args, scratchOutput]
}

function call(request: Extract<HostRequest, { type: 'call' }>): HostResponse {
  if (!plugin) {
    return { type: 'result', id: request.id, ok: false, error: { code: 'plugin_unavailable', message: 'no plugin is loaded in this host' } }
  }
  if (!REQUIRED_FUNCTIONS.includes(request.method)) {
    return { type: 'result', id: request.id, ok: false, error: { code: 'call_failed', message: `unknown method ${String(request.method)}` } }
  }
  try {
    const value = plugin[request.method](...withReusedOutput(request))
    return { type: 'result', id: request.id, ok: true, value }
  } catch (error) {
    return { type: 'result', id: request.id, ok: false, error: { code: 'call_failed', message: describeError(error) } }
  }
}

channel.onMessage((request) => {
  switch (request.type) {
    case 'load':
      void load(request).then((response) => channel.send(response))
      break
    case 'call':
      try {
        channel.send(call(request))
      } catch (error) {
        // The plugin returned something that cannot cross the process boundary.
        channel.send({ type: 'result', id: request.id, ok: false, error: { code: 'call_failed', message: `result cannot be sent: ${describeError(error)}` } })
      }
      break
    case 'shutdown':
      try {
        plugin?.shutdown?.()
      } finally {
        process.exit(0)
      }
  }
})

channel.send({ type: 'ready', pid: process.pid })
