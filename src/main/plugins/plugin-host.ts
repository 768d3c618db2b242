// The plugin host: a child process that loads one native plugin and answers calls to it.
// It runs as a forked Node process (serve, tests) or as an Electron utilityProcess (the app);
// a plugin that crashes or hangs takes only this process down.
//
// Kept free of dependencies beyond Node's own modules: it starts for every plugin (and again
// after every crash), so startup time matters.
import { constants } from 'node:os'
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

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}

const channel = openParentChannel<HostResponse, HostRequest>('plugin-host')
let plugin: GeometricPlugin | undefined

async function load(request: Extract<HostRequest, { type: 'load' }>): Promise<HostResponse> {
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
