import { delimiter } from 'node:path'
import { ForkChildSpawner, type ChildExit, type ChildProcessHandle, type ChildSpawner } from '../process/child-process'
import type { HostRequest, HostResponse } from './host-protocol'

/** How a plugin host ended. */
export type PluginHostExit = ChildExit

/** One running plugin host process, whichever way it was started. */
export type PluginHostProcess = ChildProcessHandle<HostRequest, HostResponse>

export interface PluginHostSpawnOptions {
  hostScript: string
  pluginName: string
  /** The plugin's folder: put on the library search path of the new process. */
  pluginDir: string
}

/** Starts plugin hosts: a forked Node process under serve and tests, a utilityProcess in Electron. */
export interface PluginHostSpawner {
  spawn(options: PluginHostSpawnOptions): PluginHostProcess
}

function prependPath(variable: string | undefined, dir: string): string {
  return variable ? `${dir}${delimiter}${variable}` : dir
}

/**
 * What a host inherits from the app's environment: what finding programs and libraries, the
 * temporary folder, the locale and the time zone need, and on Windows what the system itself
 * needs to start a process. Nothing else: the app's environment holds secrets
 * (HYPERCUBE_DATABASE_URL with its password, tokens, cloud keys) that a plugin has no use for.
 */
const INHERITED_POSIX = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LANGUAGE', 'TZ', 'LD_LIBRARY_PATH', 'DYLD_LIBRARY_PATH']
const INHERITED_WINDOWS = [
  'PATH',
  'PATHEXT',
  'SYSTEMROOT',
  'SYSTEMDRIVE',
  'WINDIR',
  'COMSPEC',
  'TEMP',
  'TMP',
  'USERPROFILE',
  'LOCALAPPDATA',
  'APPDATA',
  'PROGRAMDATA',
  'NUMBER_OF_PROCESSORS',
  'PROCESSOR_ARCHITECTURE'
]

function inherited(name: string): boolean {
  if (process.platform === 'win32') return INHERITED_WINDOWS.includes(name.toUpperCase())
  return INHERITED_POSIX.includes(name) || name.startsWith('LC_')
}

/**
 * The environment a plugin host starts with: the few variables above, and the plugin's folder
 * on the library search path so a plugin can ship the shared libraries it depends on beside
 * its .node:
 * - Windows: PATH (LoadLibrary also searches the DLL's own folder, as Node loads addons with
 *   LOAD_WITH_ALTERED_SEARCH_PATH);
 * - Linux: LD_LIBRARY_PATH (plugins are also linked with an $ORIGIN rpath);
 * - macOS: DYLD_LIBRARY_PATH (plugins are also linked with an @loader_path rpath).
 * It has to be set when the process starts: the dynamic loader reads it once.
 */
export function pluginHostEnvironment(pluginDir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(base)) if (value !== undefined && inherited(name)) env[name] = value
  if (process.platform === 'win32') {
    const key = Object.keys(env).find((name) => name.toUpperCase() === 'PATH') ?? 'Path'
    env[key] = prependPath(env[key], pluginDir)
  } else if (process.platform === 'darwin') {
    env.DYLD_LIBRARY_PATH = prependPath(env.DYLD_LIBRARY_PATH, pluginDir)
  } else {
    env.LD_LIBRARY_PATH = prependPath(env.LD_LIBRARY_PATH, pluginDir)
  }
  return env
}

/** Plugin hosts as children of any kind: the plugin's folder on their library search path. */
export class ChildPluginHostSpawner implements PluginHostSpawner {
  constructor(private readonly children: ChildSpawner) {}

  spawn(options: PluginHostSpawnOptions): PluginHostProcess {
    return this.children.spawn<HostRequest, HostResponse>({
      script: options.hostScript,
      args: [options.pluginName],
      env: pluginHostEnvironment(options.pluginDir),
      serviceName: `Hypercube plugin: ${options.pluginName}`
    })
  }
}

/** Plugin hosts as forked Node processes (serve, tests, scripts). */
export class ForkPluginHostSpawner extends ChildPluginHostSpawner {
  constructor() {
    super(new ForkChildSpawner())
  }
}
