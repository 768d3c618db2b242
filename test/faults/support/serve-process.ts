import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { makeDataDir } from '../../support/test-env'

/**
 * `hypercube serve` as a real process, for the fault suite: the built CLI (`npm run build`
 * first), its ready lines parsed, its embedded PostgreSQL found through the cluster's
 * postmaster.pid, and everything it started stopped afterwards.
 */

const repoRoot = join(import.meta.dirname, '..', '..', '..')
const bin = join(repoRoot, 'bin', 'hypercube.js')
const builtCli = join(repoRoot, 'out', 'main', 'cli.js')

export function requireBuild(): void {
  if (!existsSync(builtCli)) throw new Error('out/main/cli.js is missing: run `npm run build` first (the fault suite drives the built CLI)')
}

export interface ServeProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly dataDir: string
  output(): string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  alive(): boolean
}

export interface RunningServe extends ServeProcess {
  /** e.g. http://127.0.0.1:41895 (no /v1). */
  readonly url: string
  readonly port: number
  readonly token: string
  /** The one-time UI login link. */
  readonly uiLoginUrl: string | undefined
  /** Ctrl-C, as a user stops it; SIGKILL if it has not exited after `graceMs`. Returns the exit code. */
  stop(graceMs?: number): Promise<number | null>
  /** kill -9 of the app process alone (its PostgreSQL is left behind, as after a crash). */
  kill9(): Promise<void>
}

export function spawnServe(dataDir: string, args: string[] = []): ServeProcess {
  const child = spawn(process.execPath, [bin, 'serve', '--data-dir', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal }))
  )
  if (child.pid === undefined) throw new Error('could not spawn hypercube serve')
  return {
    child,
    pid: child.pid,
    dataDir,
    output: () => output,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null
  }
}

export async function waitForOutput(server: ServeProcess, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const match = pattern.exec(server.output())
    if (match) return match
    if (!server.alive()) throw new Error(`serve exited before printing ${pattern}:\n${server.output()}`)
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${server.output()}`)
    await sleep(50)
  }
}

/** Starts serve on the folder and waits for its ready lines (and the UI line with `ui`). */
export async function startServe(dataDir: string, options: { args?: string[]; ui?: boolean } = {}): Promise<RunningServe> {
  const server = spawnServe(dataDir, ['--port', '0', ...(options.args ?? [])])
  try {
    await waitForOutput(server, /^Hypercube ready/m)
    const [, url] = await waitForOutput(server, /^API: (http:\/\/\S+)\/v1 /m)
    const uiLoginUrl = options.ui ? (await waitForOutput(server, /^UI: (\S+)$/m))[1] : undefined
    const token = readFileSync(join(dataDir, 'api-token'), 'utf8').trim()
    return {
      ...server,
      url: url!,
      port: Number(new URL(url!).port),
      token,
      uiLoginUrl,
      stop: async (graceMs = 30_000) => {
        if (!server.alive()) return (await server.exited).code
        server.child.kill('SIGINT')
        const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs)
        const { code } = await server.exited
        clearTimeout(timer)
        return code
      },
      kill9: async () => {
        server.child.kill('SIGKILL')
        await server.exited
      }
    }
  } catch (error) {
    server.child.kill('SIGKILL')
    await server.exited
    throw error
  }
}

/** The embedded cluster's postmaster.pid: line 1 the pid, line 4 the port. */
export function postmasterInfo(dataDir: string): { pid: number; port: number } | undefined {
  try {
    const lines = readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')
    const pid = Number(lines[0])
    const port = Number(lines[3])
    return Number.isInteger(pid) && pid > 0 && Number.isInteger(port) && port > 0 ? { pid, port } : undefined
  } catch {
    return undefined
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A superuser connection to the folder's embedded PostgreSQL (user and database `hypercube`,
 * the password the app keeps in `<dataDir>/pg-password`), retried until `timeoutMs`: after a
 * crash the server may still be coming back.
 */
export async function connectEmbedded(dataDir: string, timeoutMs = 30_000): Promise<pg.Client> {
  const password = readFileSync(join(dataDir, 'pg-password'), 'utf8').trim()
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const info = postmasterInfo(dataDir)
    if (info) {
      const client = new pg.Client({ host: '127.0.0.1', port: info.port, user: 'hypercube', password, database: 'hypercube' })
      // A fault test kills this connection's server too: an unhandled 'error' would end the test process.
      client.on('error', () => undefined)
      try {
        await client.connect()
        return client
      } catch (error) {
        await client.end().catch(() => undefined)
        if (Date.now() > deadline) throw error
      }
    } else if (Date.now() > deadline) {
      throw new Error(`no postmaster.pid in ${join(dataDir, 'pg')} within ${timeoutMs} ms`)
    }
    await sleep(100)
  }
}

/** The descriptors a process has open (Linux). */
export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/**
 * After a test: whatever is still running from the folder goes — the app (if a test left it up)
 * and an embedded PostgreSQL orphaned by a kill -9 of the app (SIGQUIT: immediate shutdown,
 * its backends with it).
 */
export async function stopEverything(dataDir: string, servers: ServeProcess[]): Promise<void> {
  for (const server of servers) {
    if (!server.alive()) continue
    server.child.kill('SIGINT')
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 20_000)
    await server.exited
    clearTimeout(timer)
  }
  const info = postmasterInfo(dataDir)
  if (info && processAlive(info.pid)) {
    process.kill(info.pid, 'SIGQUIT')
    const deadline = Date.now() + 10_000
    while (processAlive(info.pid) && Date.now() < deadline) await sleep(50)
    if (processAlive(info.pid)) process.kill(info.pid, 'SIGKILL')
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * What a fault test started, stopped and removed afterwards whatever happened: data folders
 * (fresh per test, reachable by PostgreSQL's OS user when root), serve processes and the
 * PostgreSQL servers they left, and any clean-up the test adds (an unmount).
 */
export class FaultScope {
  private readonly folders: Array<{ dir: string; remove: () => void }> = []
  private readonly servers: ServeProcess[] = []
  private readonly finalizers: Array<() => void | Promise<void>> = []

  dataDir(): string {
    const made = makeDataDir('hypercube-fault-')
    this.folders.push(made)
    return made.dir
  }

  async start(dataDir: string, options: { args?: string[]; ui?: boolean } = {}): Promise<RunningServe> {
    const server = await startServe(dataDir, options)
    this.servers.push(server)
    return server
  }

  spawn(dataDir: string, args: string[] = []): ServeProcess {
    const server = spawnServe(dataDir, args)
    this.servers.push(server)
    return server
  }

  /** Runs before the folders are removed (after the processes stop), last added first. */
  onCleanup(finalizer: () => void | Promise<void>): void {
    this.finalizers.push(finalizer)
  }

  async cleanup(): Promise<void> {
    for (const { dir } of this.folders) await stopEverything(dir, this.servers.filter((server) => server.dataDir === dir))
    while (this.finalizers.length > 0) await this.finalizers.pop()!()
    for (const folder of this.folders.splice(0)) folder.remove()
    this.servers.splice(0)
  }
}
