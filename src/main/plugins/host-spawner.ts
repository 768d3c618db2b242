import { fork } from 'node:child_process'
import { delimiter, dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import type { HostRequest, HostResponse } from './host-protocol'

export interface PluginHostExit {
  code: number | null
  /** The signal that killed it (SIGSEGV, SIGABRT, SIGKILL...), where the runtime reports it. */
  signal: string | null
}

/** One running plugin host process, whichever way it was started. */
export interface PluginHostProcess {
  readonly pid: number | undefined
  send(message: HostRequest): void
  onMessage(listener: (message: HostResponse) => void): void
  /** Output lines from the host's stdout/stderr (a native crash explains itself there). */
  onOutput(listener: (line: string, stream: 'stdout' | 'stderr') => void): void
  onExit(listener: (exit: PluginHostExit) => void): void
  /** Kills it at once (SIGKILL where there are signals): used by the watchdog and on close. */
  kill(): void
}

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
 * The environment a plugin host starts with. The plugin's folder goes on the library search
 * path so a plugin can ship the shared libraries it depends on beside its .node:
 * - Windows: PATH (LoadLibrary also searches the DLL's own folder, as Node loads addons with
 *   LOAD_WITH_ALTERED_SEARCH_PATH);
 * - Linux: LD_LIBRARY_PATH (plugins are also linked with an $ORIGIN rpath);
 * - macOS: DYLD_LIBRARY_PATH (plugins are also linked with an @loader_path rpath).
 * It has to be set when the process starts: the dynamic loader reads it once.
 */
export function pluginHostEnvironment(pluginDir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base }
  if (process.platform === 'win32') {
    const key = Object.keys(env).find((name) => name.toUpperCase() === 'PATH') ?? 'Path'
    env[key] = prependPath(env[key], pluginDir)
  } else if (process.platform === 'darwin') {
    env.DYLD_LIBRARY_PATH = prependPath(env.DYLD_LIBRARY_PATH, pluginDir)
  } else {
    env.LD_LIBRARY_PATH = prependPath(env.LD_LIBRARY_PATH, pluginDir)
  }
  env.HYPERCUBE_PLUGIN_DIR = pluginDir
  return env
}

export function splitLines(onLine: (line: string) => void): (chunk: Buffer) => void {
  let pending = ''
  return (chunk) => {
    pending += chunk.toString('utf8')
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) if (line.length > 0) onLine(line)
  }
}

function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url)
  return pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href
}

/**
 * Forks the host with Node's child_process. IPC uses `serialization: 'advanced'`, so typed
 * arrays travel as bytes. A .ts host script (tests, tsx-run scripts) is run through tsx.
 */
export class ForkPluginHostSpawner implements PluginHostSpawner {
  spawn(options: PluginHostSpawnOptions): PluginHostProcess {
    const execArgv = options.hostScript.endsWith('.ts') ? ['--import', tsxLoaderUrl()] : []
    const child = fork(options.hostScript, [options.pluginName], {
      execArgv,
      env: pluginHostEnvironment(options.pluginDir),
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc']
    })
    // A host that died between `connected` and the write makes send() fail with EPIPE; the
    // exit handler reports the death, so the write error itself is only noise.
    child.on('error', () => undefined)
    return {
      get pid() {
        return child.pid
      },
      send: (message) => {
        if (child.connected) child.send(message, (error) => void error)
      },
      onMessage: (listener) => child.on('message', (message) => listener(message as HostResponse)),
      onOutput: (listener) => {
        child.stdout?.on('data', splitLines((line) => listener(line, 'stdout')))
        child.stderr?.on('data', splitLines((line) => listener(line, 'stderr')))
      },
      onExit: (listener) => child.on('exit', (code, signal) => listener({ code, signal })),
      kill: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }
    }
  }
}
