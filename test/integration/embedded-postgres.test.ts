import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { EmbeddedPostgres, EmbeddedPostgresError, findFreePort } from '../../src/main/db/embedded-postgres'
import { createSilentLogger } from '../../src/main/logging'
import { startCore } from '../../src/main/core'
import { makeDataDir } from '../support/test-env'

const logger = createSilentLogger()
const isRoot = process.getuid?.() === 0
const running: EmbeddedPostgres[] = []
const folders: Array<() => void> = []

function options(dataDir: string, extra: Partial<Parameters<typeof EmbeddedPostgres.start>[0]> = {}) {
  return {
    clusterDir: join(dataDir, 'pg'),
    logFile: join(dataDir, 'logs', 'postgresql.log'),
    passwordFile: join(dataDir, 'pg-password'),
    logger,
    ...extra
  }
}

async function start(dataDir: string, extra: Partial<Parameters<typeof EmbeddedPostgres.start>[0]> = {}): Promise<EmbeddedPostgres> {
  const server = await EmbeddedPostgres.start(options(dataDir, extra))
  running.push(server)
  return server
}

function dataDir(): string {
  const folder = makeDataDir('hypercube-embedded-')
  folders.push(folder.remove)
  return folder.dir
}

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function waitForExit(pid: number): Promise<void> {
  for (let i = 0; i < 200 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50))
}

afterAll(async () => {
  for (const server of running) await server.stop().catch(() => undefined)
  for (const remove of folders) remove()
})

describe('embedded PostgreSQL', () => {
  it('starts on a free loopback port with durability on, and stops cleanly', async () => {
    const dir = dataDir()
    const server = await start(dir)
    const rows = await query(
      server.connectionString,
      "SELECT name, setting FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','listen_addresses') ORDER BY name"
    )
    expect(rows).toEqual([
      { name: 'fsync', setting: 'on' },
      { name: 'full_page_writes', setting: 'on' },
      { name: 'listen_addresses', setting: '127.0.0.1' },
      { name: 'synchronous_commit', setting: 'on' }
    ])
    expect(readFileSync(join(dir, 'logs', 'postgresql.log'), 'utf8')).toContain('database system is ready to accept connections')
    const pid = server.pid!
    await server.stop()
    expect(processAlive(pid)).toBe(false)
    expect(existsSync(join(dir, 'pg', 'postmaster.pid'))).toBe(false)
  })

  it.runIf(isRoot)('never runs the server as root: as root it runs as a non-root OS user', async () => {
    const server = await start(dataDir())
    const status = readFileSync(`/proc/${server.pid}/status`, 'utf8')
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)![1])
    expect(uid).not.toBe(0)
    const rows = await query(server.connectionString, 'SELECT 1 AS ok')
    expect(rows).toEqual([{ ok: 1 }])
  })

  it('recovers after the server was killed (stale postmaster.pid), keeping committed data', async () => {
    const dir = dataDir()
    const first = await start(dir)
    await query(first.connectionString, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)')
    const pid = first.pid!
    process.kill(pid, 'SIGKILL')
    await waitForExit(pid)
    expect(existsSync(join(dir, 'pg', 'postmaster.pid'))).toBe(true)
    const second = await start(dir)
    expect(await query(second.connectionString, 'SELECT x FROM kept')).toEqual([{ x: 42 }])
  })

  it('takes over a data folder whose server is still running from a killed app', async () => {
    const dir = dataDir()
    const orphan = await start(dir) // the app "dies" here without stopping it
    await query(orphan.connectionString, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)')
    const orphanPid = orphan.pid!
    const next = await start(dir)
    expect(processAlive(orphanPid)).toBe(false)
    expect(await query(next.connectionString, 'SELECT x FROM kept')).toEqual([{ x: 7 }])
  })

  it('ignores a postmaster.pid naming a live process that is not PostgreSQL (pid reuse)', async () => {
    const dir = dataDir()
    const first = await start(dir)
    await first.stop()
    const pidFile = join(dir, 'pg', 'postmaster.pid')
    writeFileSync(pidFile, `${process.pid}\n${join(dir, 'pg')}\n0\n5432\n\n127.0.0.1\n`)
    if (isRoot) spawnSync('chown', ['postgres', pidFile])
    const second = await start(dir)
    expect(await query(second.connectionString, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }])
  })

  it('re-initialises a cluster folder that initdb never finished, keeping the remains aside', async () => {
    const dir = dataDir()
    mkdirSync(join(dir, 'pg'), { recursive: true })
    writeFileSync(join(dir, 'pg', 'half-written'), 'x')
    const server = await start(dir)
    expect(await query(server.connectionString, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }])
    expect(readdirSync(dir).some((name) => name.startsWith('pg.incomplete-'))).toBe(true)
  })

  it('says clearly when the chosen port is taken', async () => {
    const port = await findFreePort()
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
    try {
      const attempt = EmbeddedPostgres.start(options(dataDir(), { port }))
      await expect(attempt).rejects.toBeInstanceOf(EmbeddedPostgresError)
      await expect(attempt).rejects.toMatchObject({ code: 'port_in_use', message: expect.stringContaining(`port ${port}`) })
    } finally {
      blocker.close()
    }
  })

  it('says clearly when the data folder cannot be created', async () => {
    const dir = dataDir()
    writeFileSync(join(dir, 'not-a-folder'), 'x')
    const attempt = EmbeddedPostgres.start({ ...options(dir), clusterDir: join(dir, 'not-a-folder', 'pg') })
    await expect(attempt).rejects.toMatchObject({ code: 'data_dir_unusable', message: expect.stringContaining('cannot create the database folder') })
  })

  it.runIf(isRoot)('as root, says clearly when the server user cannot reach the data folder', async () => {
    const dir = dataDir()
    const locked = join(dir, 'locked')
    mkdirSync(locked, { mode: 0o700 })
    chmodSync(locked, 0o700)
    const attempt = EmbeddedPostgres.start(options(join(locked, 'data')))
    await expect(attempt).rejects.toMatchObject({ code: 'data_dir_unusable', message: expect.stringContaining('cannot reach') })
  })

  it('runs the whole core in embedded mode, and again after a restart on the same folder', async () => {
    const dir = dataDir()
    const core = await startCore({ dataDir: dir, logger })
    expect(core.database.mode).toBe('embedded')
    expect(core.database.description).toMatch(/^embedded PostgreSQL \d+/)
    const experiment = await core.services.experiments.create({ name: 'survives-restart' })
    await core.close()
    const again = await startCore({ dataDir: dir, logger })
    expect((await again.services.experiments.get(experiment.id)).name).toBe('survives-restart')
    expect((await again.status()).counts.experiments).toBe(1)
    await again.close()
  })
})
