// Plugin domain types shared by main and (later) the renderer's plugins page.
// Pure TypeScript: no node:, no electron, no DOM.

/** The plugin API this build of Hypercube speaks (identity.pluginApiVersion must equal it). */
export const PLUGIN_API_VERSION = 1

export type PluginKind = 'geometric_operation'

/**
 * Every way loading or calling a plugin can fail, so the UI can explain it and tests can
 * assert on it. The message carries the specifics.
 */
export type PluginErrorCode =
  | 'manifest_invalid' // plugin.json missing, unparsable or not matching the schema
  | 'unsupported_platform' // the manifest lists no binary for this platform key
  | 'binary_missing' // the manifest names a binary file that does not exist
  | 'wrong_platform' // the binary is a library for another OS (PE / Mach-O / ELF)
  | 'wrong_arch' // the binary is for this OS but another CPU architecture
  | 'not_a_library' // the binary is not a loadable shared library / Node addon at all
  | 'checksum_missing' // no BLAKE3 recorded for the binary
  | 'checksum_mismatch' // the binary's BLAKE3 differs from the recorded one
  | 'napi_version_too_new' // built for a Node-API version this runtime lacks
  | 'plugin_api_mismatch' // identity.pluginApiVersion / kind is not one we speak
  | 'identity_mismatch' // identity.name differs from the manifest's name
  | 'missing_exports' // identity / distance / distances / knn absent or of the wrong type
  | 'initialize_failed' // initialize(context) threw
  | 'load_failed' // dlopen failed for another reason (e.g. a missing dependency)
  | 'load_timeout' // loading or initialize did not finish within the budget
  | 'host_crashed' // the host process died (segfault, abort, uncaught exception)
  | 'call_timeout' // a call overran its time budget; the watchdog killed the host
  | 'call_failed' // the plugin threw (e.g. a wrong dimension): the host is fine
  | 'invalid_result' // the plugin answered with the wrong shape (a string for a number, an index past the points); its host restarts
  | 'plugin_disabled' // disabled by the user or after repeated crashes
  | 'plugin_not_found'
  | 'plugin_unavailable' // not loaded (failed or stopped)
  | 'registry_closed'

export interface PluginErrorInfo {
  code: PluginErrorCode
  message: string
}

export class PluginError extends Error implements PluginErrorInfo {
  override readonly name = 'PluginError'
  constructor(
    readonly code: PluginErrorCode,
    message: string
  ) {
    super(message)
  }

  toJSON(): PluginErrorInfo {
    return { code: this.code, message: this.message }
  }
}

/**
 * `${process.platform}-${process.arch}`, with `-glibc` / `-musl` appended on Linux
 * because a binary linked against one C library does not load against the other.
 * Examples: linux-x64-glibc, linux-arm64-musl, win32-x64, darwin-arm64, darwin-x64.
 */
export type PlatformKey = string

export type PluginSource = 'bundled' | 'user' | 'explicit'

export type ChecksumState = 'verified' | 'mismatch' | 'missing' | 'unchecked'

/**
 * The host's lifecycle as the UI shows it:
 * - starting: the host is being spawned and the plugin loaded/initialised;
 * - running: ready for calls;
 * - restarting: the host died and is being brought back;
 * - disabled: not started until re-enabled (by the user, or after 3 crashes in 5 minutes);
 * - failed: loading failed with a classified error (lastError); reload after fixing it;
 * - stopped: shut down (registry closing).
 */
export type PluginHostState = 'starting' | 'running' | 'restarting' | 'disabled' | 'failed' | 'stopped'

export interface PluginInfo {
  name: string
  version: string
  description: string
  kind: PluginKind
  /** From the loaded binary's identity; null until it has loaded once. */
  isMetric: boolean | null
  pluginApiVersion: number
  napiVersion: number
  source: PluginSource
  dir: string
  platformKey: PlatformKey
  binaryPath: string | null
  /** The BLAKE3 the binary was verified against (hex), if any. */
  blake3: string | null
  checksum: ChecksumState
  state: PluginHostState
  /** The host process's id while one runs. */
  hostPid: number | null
  disabledBy: 'user' | 'crashes' | null
  /** Crashes (and watchdog kills) within the last 5 minutes. */
  recentCrashes: number
  lastError: PluginErrorInfo | null
  /** ISO time of the last successful load. */
  loadedAt: string | null
}

export interface KnnResult {
  /** Point indices, nearest first. */
  indices: Uint32Array
  distances: Float64Array
}

export type FloatVector = Float32Array | Float64Array
