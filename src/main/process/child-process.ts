import { fork } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

export interface ChildExit {
  code: number | null
  /** The signal that killed it (SIGSEGV, SIGKILL...), where the runtime reports it. */
  signal: string | null
}

/** One running Node child with a message channel, whichever way it was started. */
export interface ChildProcessHandle<Outgoing, Incoming> {
  readonly pid: number | undefined
  send(message: Outgoing): void
  onMessage(listener: (message: Incoming) => void): void
  /** Output lines from the child's stdout/stderr. */
  onOutput(listener: (line: string, stream: 'stdout' | 'stderr') => void): void
  onExit(listener: (exit: ChildExit) => void): void
  /** Kills it at once (SIGKILL where there are signals). */
  kill(): void
}

export interface ChildSpawnOptions {
  script: string
  args?: string[]
  env?: NodeJS.ProcessEnv
  /** Shown by the OS / Electron's task manager where the runtime supports it. */
  serviceName?: string
}

/**
 * Starts Node children: child_process.fork under Node (serve, tests), an Electron
 * utilityProcess in the app. Injected, so the logic above it is tested here without Electron.
 */
export interface ChildSpawner {
  spawn<Outgoing, Incoming>(options: ChildSpawnOptions): ChildProcessHandle<Outgoing, Incoming>
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
 * child_process.fork with `serialization: 'advanced'`, so typed arrays travel as bytes. A .ts
 * script (tests, tsx-run scripts) is run through tsx.
 */
export class ForkChildSpawner implements ChildSpawner {
  spawn<Outgoing, Incoming>(options: ChildSpawnOptions): ChildProcessHandle<Outgoing, Incoming> {
    const execArgv = options.script.endsWith('.ts') ? ['--import', tsxLoaderUrl()] : []
    const child = fork(options.script, options.args ?? [], {
      execArgv,
      env: options.env ?? process.env,
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc']
    })
    // A child that died between `connected` and the write makes send() fail with EPIPE; the
    // exit handler reports the death, so the write error itself is only noise.
    child.on('error', () => undefined)
    return {
      get pid() {
        return child.pid
      },
      send: (message) => {
        if (child.connected) child.send(message as object, (error) => void error)
      },
      onMessage: (listener) => child.on('message', (message) => listener(message as Incoming)),
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
