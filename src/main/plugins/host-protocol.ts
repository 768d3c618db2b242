// Messages between the registry (main) and a plugin host process. Carried by Node's IPC with
// `serialization: 'advanced'` (fork) or Electron's structured clone (utilityProcess): both
// move typed arrays as raw bytes, never as JSON arrays of numbers.
import type { PluginErrorInfo } from '../../shared/plugins'

export type PluginMethod = 'distance' | 'distances' | 'knn'

export type HostRequest =
  /** binaryPath is the registry's private copy of the verified bytes; sha256 is theirs. */
  | { type: 'load'; binaryPath: string; sha256: string; pluginDir: string; settings: Record<string, unknown> }
  | { type: 'call'; id: number; method: PluginMethod; args: unknown[] }
  | { type: 'shutdown' }

export interface PluginIdentity {
  name: string
  version: string
  pluginApiVersion: number
  kind: string
  isMetric: boolean
  napiVersion?: number
}

export type HostResponse =
  | { type: 'ready'; pid: number }
  | { type: 'loaded'; identity: PluginIdentity }
  | { type: 'load-failed'; error: PluginErrorInfo }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: PluginErrorInfo }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string }

/** Maps dlopen's message to a classified error (the registry has already checked headers). */
export function classifyLoadError(message: string): PluginErrorInfo {
  if (/invalid ELF header|file too short|not a valid Win32 application|not a mach-o file|slice is not valid mach-o|unknown file type/i.test(message)) {
    return { code: 'not_a_library', message: `not a loadable library: ${message}` }
  }
  if (/wrong ELF class|incompatible architecture|machine type|ELF file's OS ABI|mach-o, but wrong architecture/i.test(message)) {
    return { code: 'wrong_arch', message: `built for another architecture: ${message}` }
  }
  if (/Module did not self-register|no Node-API module|Module has no declared entry point/i.test(message)) {
    return { code: 'not_a_library', message: `a shared library but not a Node addon: ${message}` }
  }
  if (/Node-API version|NODE_MODULE_VERSION/i.test(message)) {
    return { code: 'napi_version_too_new', message }
  }
  return { code: 'load_failed', message: `dlopen failed: ${message}` }
}

