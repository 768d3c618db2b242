import type pg from 'pg'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HypercubeClient } from '../../src/client/hypercube-client'
import { checkExactlyOnce, MetricLoad, startRuns, summarize } from './support/metric-load'
import { connectEmbedded, FaultScope, postmasterInfo, processAlive, requireBuild, sleep, type RunningServe } from './support/serve-process'

// Issue 11 item 2, from outside the process: PostgreSQL loses connections, or dies outright,
// while a load is being logged. The app must stay up, answer 503 (never 500, never a dropped
// connection) while the database is away, come back by itself, and have stored every
// acknowledged point exactly once.

const BATCHES = 30
const POINTS = 2_000
const RUNS = 2

interface Fault {
  /** Breaks the database once the load is under way; returns figures for the summary line. */
  inject: (server: RunningServe, admin: pg.Client) => Promise<Record<string, string | number>>
}

async function underLoad(scope: FaultScope, scenario: string, fault: Fault): Promise<MetricLoad> {
  const dataDir = scope.dataDir()
  const server = await scope.start(dataDir)
  const endpoint = { url: server.url, token: server.token }
  const runIds = await startRuns(endpoint, RUNS, scenario.replace(/\W+/g, '-'))
  let admin = await connectEmbedded(dataDir)
  try {
    // No 'network' among the retried outcomes: a dropped connection would mean the app went down.
    const load = new MetricLoad(() => endpoint, runIds, { batches: BATCHES, pointsPerBatch: POINTS, timeoutMs: 90_000 })
    const finished = load.run()
    await load.acknowledgedAtLeast(load.totalBatches / 3)
    load.markFault()
    const figures = await fault.inject(server, admin)
    await finished

    expect(server.alive(), server.output()).toBe(true)
    expect(load.unexpectedOutcomes(['200', '503'])).toEqual({})
    if (load.count('503') > 0) expect(load.messages.get('503')).toMatch(/database is unavailable/)
    // Recovered: requests succeed at the first attempt again.
    const client = new HypercubeClient(endpoint)
    for (let i = 0; i < 5; i++) await expect(client.logMetrics(runIds[0]!, { after: i }, { step: i })).resolves.toBeDefined()

    await admin.end()
    admin = await connectEmbedded(dataDir)
    const report = await checkExactlyOnce(admin, load)
    console.log(summarize(scenario, load, report, figures))
    expect(report).toEqual({ acknowledged: RUNS * BATCHES * POINTS, stored: RUNS * BATCHES * POINTS, duplicates: 0, missing: 0, unexpected: 0 })
    expect(await server.stop()).toBe(0)
    return load
  } finally {
    await admin.end().catch(() => undefined)
  }
}

/** The app's connections: every client backend on its database but the asking one. */
const APP_BACKENDS = `SELECT pid FROM pg_stat_activity
  WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
  ORDER BY (state = 'active') DESC, pid`

describe('PostgreSQL faults under load (serve, embedded PostgreSQL)', () => {
  const scope = new FaultScope()
  beforeAll(requireBuild)
  afterEach(() => scope.cleanup())

  it('kill -9 of the postmaster: the app stays up, answers 503 meanwhile, restarts PostgreSQL, and stores every acknowledged point exactly once', async () => {
    const load = await underLoad(scope, 'kill -9 of the postmaster', {
      inject: async (server) => {
        const before = postmasterInfo(server.dataDir)!
        const killedAt = Date.now()
        process.kill(before.pid, 'SIGKILL')
        // The app starts a new postmaster on the same port (a new pid in postmaster.pid).
        for (;;) {
          const now = postmasterInfo(server.dataDir)
          if (now && now.pid !== before.pid && processAlive(now.pid)) {
            expect(now.port).toBe(before.port)
            break
          }
          if (Date.now() - killedAt > 60_000) throw new Error(`PostgreSQL was not restarted within 60 s:\n${server.output()}`)
          await sleep(50)
        }
        const db = await connectEmbedded(server.dataDir)
        await db.end()
        return { 'postmaster restart (kill → accepting connections)': `${Date.now() - killedAt} ms` }
      }
    })
    expect(load.count('503')).toBeGreaterThan(0)
  })

  it('kill -9 of one backend: PostgreSQL resets every connection; the app answers 503 at most, recovers, and stores every acknowledged point exactly once', async () => {
    await underLoad(scope, 'kill -9 of one backend', {
      inject: async (server, admin) => {
        const postmaster = postmasterInfo(server.dataDir)!
        const { rows } = await admin.query<{ pid: number }>(APP_BACKENDS)
        expect(rows.length).toBeGreaterThan(0)
        const killedAt = Date.now()
        process.kill(rows[0]!.pid, 'SIGKILL')
        // The postmaster treats a backend killed this way as a crash: it ends all the others,
        // recovers, and accepts connections again — the same postmaster, no restart by the app.
        await sleep(200)
        const db = await connectEmbedded(server.dataDir)
        await db.end()
        expect(postmasterInfo(server.dataDir)?.pid).toBe(postmaster.pid)
        return { 'killed backend': rows[0]!.pid, 'crash recovery (kill → accepting connections)': `${Date.now() - killedAt} ms` }
      }
    })
  })

  it('pg_terminate_backend of the app’s connections: the app stays up, answers 503 meanwhile, recovers, and stores every acknowledged point exactly once', async () => {
    await underLoad(scope, 'pg_terminate_backend', {
      inject: async (_server, admin) => {
        let terminated = 0
        for (let round = 0; round < 5; round++) {
          const { rows } = await admin.query<{ terminated: boolean }>(`SELECT pg_terminate_backend(pid) AS terminated FROM (${APP_BACKENDS}) AS app`)
          terminated += rows.filter((row) => row.terminated).length
          await sleep(100 + round * 50)
        }
        expect(terminated).toBeGreaterThan(0)
        return { 'backends terminated': terminated }
      }
    })
  })
})
