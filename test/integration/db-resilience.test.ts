import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HypercubeApiError, HypercubeClient } from '../../src/client/hypercube-client'
import { startCore, type Core } from '../../src/main/core'
import { Database } from '../../src/main/db/database'
import { createSilentLogger } from '../../src/main/logging'
import { isDomainError } from '../../src/shared/errors'
import { createTestDatabase, makeDataDir, startTestCore, type TestCore } from '../support/test-env'

// The test process hosts the core: if a dropped connection crashed it, this file would die
// with it rather than fail one assertion.

const TERMINATE_OTHERS = 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()'

/** A plain connection to the test's database, for killing backends and counting rows. */
async function adminClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => undefined)
  await client.connect()
  return client
}

/** Waits until PostgreSQL reports no backend with this pid (it has sent its FATAL and exited). */
async function backendGone(admin: pg.Client, pid: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])
    if (!rowCount) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`backend ${pid} did not exit`)
}

// In-process (serve) and in its own process (the desktop app's API process, which a crash
// would restart: its pid must not change).
describe.each([
  { door: 'in-process', options: { http: true } },
  { door: 'API process', options: { apiProcess: true } }
])('PostgreSQL dropping connections under load ($door door)', ({ options }) => {
  let env: TestCore
  let admin: pg.Client

  beforeAll(async () => {
    env = await startTestCore(options)
    admin = await adminClient(env.databaseUrl)
  })
  afterAll(async () => {
    await admin?.end()
    await env?.close()
  })

  it('stays up, answers 503 (never 500) while backends are terminated, recovers, and stores every acknowledged batch exactly once', async () => {
    const api = env.core.api!
    const doorPid = api.state().pid
    const client = new HypercubeClient({ url: api.url!, token: api.token })
    const experiment = await client.createExperiment({ name: `resilience-${Date.now()}` })
    const WORKERS = 3
    const BATCHES = 30
    const POINTS = 100
    const runs = await Promise.all(
      Array.from({ length: WORKERS }, (_, worker) => client.startRun({ experiment_id: experiment.experiment_id, run_name: `w${worker}` }))
    )
    const statuses = new Map<number, number>()
    const note = (status: number): void => void statuses.set(status, (statuses.get(status) ?? 0) + 1)
    // Per run: the steps of every batch the server acknowledged (each batch sent until it is).
    const acknowledged = runs.map(() => [] as number[])
    let firstAck!: () => void
    const started = new Promise<void>((resolve) => (firstAck = resolve))

    const worker = async (index: number): Promise<void> => {
      const runId = runs[index]!.run_id
      for (let batch = 0; batch < BATCHES; batch++) {
        const steps = Array.from({ length: POINTS }, (_, i) => batch * POINTS + i)
        const points = steps.map((step) => ({ key: 'loss', value: 1 / (step + 1), step }))
        // A client that retries what it was told to retry; the key makes a retry apply once
        // even when the first attempt committed and only its answer was lost.
        for (let attempt = 0; ; attempt++) {
          try {
            await client.logBatch(runId, points, `run-${runId}-batch-${batch}`)
            note(200)
            acknowledged[index]!.push(...steps)
            firstAck()
            break
          } catch (error) {
            if (!(error instanceof HypercubeApiError)) throw error
            note(error.status)
            if (error.status !== 503 || attempt > 50) throw error
            expect(error.message).toMatch(/database is unavailable/)
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
        }
      }
    }

    const killer = async (): Promise<number> => {
      await started
      let killed = 0
      for (let round = 0; round < 5; round++) {
        const { rows } = await admin.query<{ pg_terminate_backend: boolean }>(TERMINATE_OTHERS)
        killed += rows.filter((row) => row.pg_terminate_backend).length
        await new Promise((resolve) => setTimeout(resolve, 60 + round * 30))
      }
      return killed
    }

    const [killed] = await Promise.all([killer(), ...runs.map((_, index) => worker(index))])
    expect(killed).toBeGreaterThan(0)
    expect([...statuses.keys()].filter((status) => status !== 200 && status !== 503)).toEqual([])

    expect(api.state()).toMatchObject({ pid: doorPid, recentCrashes: 0 })

    // Afterwards every request succeeds at the first attempt.
    for (let i = 0; i < 5; i++) {
      await expect(client.logMetrics(runs[0]!.run_id, { after: i }, { step: i })).resolves.toBeDefined()
    }

    for (const [index, run] of runs.entries()) {
      const { rows } = await admin.query<{ step: string; n: string }>(
        "SELECT step::text, count(*)::text AS n FROM ml_metric_point WHERE run_id = $1 AND metric_name = 'loss' GROUP BY step",
        [run.run_id]
      )
      const counts = new Map(rows.map((row) => [Number(row.step), Number(row.n)]))
      expect(acknowledged[index]!.length).toBe(BATCHES * POINTS)
      expect(acknowledged[index]!.filter((step) => counts.get(step) !== 1)).toEqual([])
      expect(rows.filter((row) => row.n !== '1')).toEqual([])
      expect(counts.size).toBe(BATCHES * POINTS)
    }
  })
})

describe('a transaction whose connection is terminated', () => {
  let database: Database
  let admin: pg.Client
  let drop: () => Promise<void>

  beforeAll(async () => {
    const created = await createTestDatabase()
    drop = created.drop
    database = await Database.connect(created.url, createSilentLogger(), 4)
    admin = await adminClient(created.url)
  })
  afterAll(async () => {
    await database?.close()
    await admin?.end()
    await drop?.()
  })

  it('fails with unavailable, discards the client and leaves the pool usable', async () => {
    const outcome = await database
      .withTransaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
        const pid = rows[0]!.pid
        await admin.query('SELECT pg_terminate_backend($1)', [pid])
        await backendGone(admin, pid)
        // The FATAL arrives while the transaction holds the client between statements.
        await new Promise((resolve) => setTimeout(resolve, 50))
        await tx.query('SELECT 1')
        return 'committed'
      })
      .catch((error: unknown) => error)
    expect(isDomainError(outcome) && outcome.code).toBe('unavailable')
    expect((outcome as Error).message).toMatch(/database is unavailable/)
    expect(database.connections()).toMatchObject({ total: 0, idle: 0, waiting: 0 })
    expect((await database.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    expect(database.connections()).toMatchObject({ total: 1, idle: 1 })
  })

  it('answers unavailable for a query on a connection killed while idle, and the pool reconnects', async () => {
    await database.query('SELECT 1')
    await admin.query(TERMINATE_OTHERS)
    // The idle client is dropped by the pool (its error is logged, not thrown) …
    for (let attempt = 0; attempt < 200 && database.connections().total > 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(database.connections().total).toBe(0)
    // … and the next query gets a fresh one.
    expect((await database.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  })

  it('a COPY cut off by a terminated backend fails with unavailable and the client is discarded', async () => {
    await database.query('CREATE TABLE IF NOT EXISTS copy_target (n int)')
    const outcome = await database
      .withTransaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid])
        await backendGone(admin, rows[0]!.pid)
        await tx.copyIn('COPY copy_target FROM STDIN', [Buffer.from('1\n2\n')])
      })
      .catch((error: unknown) => error)
    expect(isDomainError(outcome) && outcome.code).toBe('unavailable')
    expect(database.connections().total).toBe(0)
    expect((await database.query('SELECT count(*)::int AS n FROM copy_target')).rows).toEqual([{ n: 0 }])
  })
})

describe('the embedded PostgreSQL dying', () => {
  // Its own embedded server in its own data folder, not the shared test server.
  const folder = makeDataDir('hypercube-resilience-')
  let core: Core | undefined
  afterAll(async () => {
    await core?.close()
    folder.remove()
  })

  it('answers 503 while it is down, restarts it, and serves what was stored before', async () => {
    core = await startCore({ dataDir: folder.dir, logger: createSilentLogger(), plugins: false, http: { port: 0 }, healthCheckIntervalMs: false })
    const http = core.http!
    const client = new HypercubeClient({ url: http.url, token: http.token })
    const experiment = await client.createExperiment({ name: 'before-the-crash' })
    const run = await client.startRun({ experiment_id: experiment.experiment_id, run_name: 'r' })
    await client.logBatch(run.run_id, [{ key: 'loss', value: 0.5, step: 1 }], 'before')

    const postmasterPid = Number(readFileSync(join(folder.dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0])
    process.kill(postmasterPid, 'SIGKILL')
    // Its backends outlive it for a moment (and may still answer); then calls get 503 until a new
    // postmaster is up on the same port and the pool reconnects by itself.
    let unavailable: HypercubeApiError | undefined
    let recovered = false
    for (let attempt = 0; attempt < 1500 && !recovered; attempt++) {
      try {
        await client.getRun(run.run_id)
        recovered = unavailable !== undefined
      } catch (error) {
        if (!(error instanceof HypercubeApiError) || error.status !== 503) throw error
        unavailable ??= error
      }
      if (!recovered) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(unavailable?.message).toMatch(/database is unavailable/)
    expect(recovered).toBe(true)
    const newPid = Number(readFileSync(join(folder.dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0])
    expect(newPid).not.toBe(postmasterPid)
    await client.logBatch(run.run_id, [{ key: 'loss', value: 0.25, step: 2 }], 'after')
    expect((await client.metricHistory(run.run_id, 'loss')).points.map((point) => Number(point.step))).toEqual([1, 2])
  })
})
