import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HypercubeClient } from '../../src/client/hypercube-client'
import { startCore, type Core } from '../../src/main/core'
import { createSilentLogger } from '../../src/main/logging'
import type { PushedEvent } from '../../src/shared/contract'
import { createTestDatabase, makeDataDir } from '../support/test-env'

/** Collects pushed events and waits for the one a test expects. */
function recorder(core: Core) {
  const seen: PushedEvent[] = []
  const subscription = core.contract.subscribe((event) => seen.push(event))
  return {
    seen,
    dispose: () => subscription.dispose(),
    async waitFor(predicate: (event: PushedEvent) => boolean, timeoutMs = 10_000): Promise<PushedEvent> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = seen.find(predicate)
        if (found) return found
        if (Date.now() > deadline) throw new Error(`no such event within ${timeoutMs} ms; seen: ${JSON.stringify(seen.map((event) => event.name))}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  }
}

/**
 * Events travel through PostgreSQL (NOTIFY in the writing transaction, LISTEN in each core), so
 * a UI subscribed to one Hypercube sees writes made through another sharing the server.
 */
describe('domain events through PostgreSQL', () => {
  let databaseUrl: string
  let dropDatabase: () => Promise<void>
  const folders: Array<() => void> = []
  let instanceA: Core
  let instanceB: Core
  let client: HypercubeClient

  beforeAll(async () => {
    const database = await createTestDatabase()
    databaseUrl = database.url
    dropDatabase = database.drop
    const start = async (): Promise<Core> => {
      const data = makeDataDir()
      folders.push(data.remove)
      return startCore({ dataDir: data.dir, databaseUrl, logger: createSilentLogger(), plugins: false, http: { port: 0 }, healthCheckIntervalMs: false })
    }
    instanceA = await start()
    instanceB = await start()
    client = new HypercubeClient({ url: instanceA.http!.url, token: instanceA.http!.token })
  })

  afterAll(async () => {
    await instanceA?.close()
    await instanceB?.close()
    await dropDatabase?.()
    folders.forEach((remove) => remove())
  })

  it('a run created through instance A appears live in a UI subscribed to instance B', async () => {
    const ui = recorder(instanceB)
    try {
      const experiment = await client.createExperiment({ name: 'shared-server' })
      const run = await client.startRun({ experiment_id: experiment.experiment_id, run_name: 'from-a' })
      const event = await ui.waitFor((e) => e.name === 'runs.changed' && e.payload.runId === run.run_id)
      expect(event.payload).toMatchObject({ runId: run.run_id, experimentId: experiment.experiment_id })
      await ui.waitFor((e) => e.name === 'experiments.changed' && e.payload.experimentId === experiment.experiment_id)
      // And B's UI can read the run it was told about.
      const rows = await instanceB.contract.dispatch('runs.rows', { runIds: [run.run_id] })
      expect(rows).toMatchObject({ ok: true, value: [{ id: run.run_id, name: 'from-a' }] })
    } finally {
      ui.dispose()
    }
  })

  it('an MLflow-shaped create → log → finish fires runs.changed, metrics.logged, runs.changed in that order', async () => {
    const ui = recorder(instanceB)
    const mlflow = async (path: string, body: unknown): Promise<Record<string, unknown> & { experiment_id?: string; run?: { info: { run_id: string } } }> => {
      const response = await fetch(`${instanceA.http!.url}/api/2.0/mlflow/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${instanceA.http!.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body)
      })
      const json = (await response.json()) as Record<string, unknown> & { experiment_id?: string; run?: { info: { run_id: string } } }
      expect(response.status, JSON.stringify(json)).toBe(200)
      return json
    }
    try {
      const { experiment_id } = await mlflow('experiments/create', { name: 'mlflow-events' })
      const { run } = await mlflow('runs/create', { experiment_id, start_time: Date.now(), run_name: 'mlflow-run' })
      const runUuid = run!.info.run_id
      await mlflow('runs/log-batch', { run_id: runUuid, metrics: [{ key: 'loss', value: 0.5, timestamp: Date.now(), step: 1 }] })
      await mlflow('runs/update', { run_id: runUuid, status: 'FINISHED', end_time: Date.now() })
      const finished = await ui.waitFor((e) => e.name === 'runs.changed' && e.payload.status === 'completed')
      const runId = (finished as Extract<PushedEvent, { name: 'runs.changed' }>).payload.runId
      const forRun = ui.seen.filter(
        (e) => (e.name === 'runs.changed' || e.name === 'metrics.logged') && e.payload.runId === runId
      )
      const firstRunning = forRun.findIndex((e) => e.name === 'runs.changed' && e.payload.status === 'running')
      const logged = forRun.findIndex((e) => e.name === 'metrics.logged')
      const completed = forRun.findIndex((e) => e.name === 'runs.changed' && e.payload.status === 'completed')
      expect(firstRunning, JSON.stringify(forRun)).toBeGreaterThanOrEqual(0)
      expect(logged).toBeGreaterThan(firstRunning)
      expect(completed).toBeGreaterThan(logged)
      expect(forRun[logged]).toMatchObject({ payload: { points: 1, keys: ['loss'] } })
    } finally {
      ui.dispose()
    }
  })

  it('announces a write only when it commits: a rolled-back insert fires nothing', async () => {
    const ui = recorder(instanceA)
    const raw = new pg.Client({ connectionString: databaseUrl })
    await raw.connect()
    try {
      await raw.query('BEGIN')
      const { rows } = await raw.query<{ experiment_id: string }>("SELECT create_ml_experiment('rolled-back') AS experiment_id")
      const rolledBackId = Number(rows[0]!.experiment_id)
      await raw.query('ROLLBACK')
      const committed = await client.createExperiment({ name: 'committed' })
      await ui.waitFor((e) => e.name === 'experiments.changed' && e.payload.experimentId === committed.experiment_id)
      expect(ui.seen.some((e) => e.name === 'experiments.changed' && e.payload.experimentId === rolledBackId)).toBe(false)
    } finally {
      ui.dispose()
      await raw.end()
    }
  })

  it('drops a malformed notification and keeps delivering the next ones', async () => {
    const ui = recorder(instanceA)
    const raw = new pg.Client({ connectionString: databaseUrl })
    await raw.connect()
    try {
      await raw.query(`SELECT pg_notify('hypercube_events', 'not json'), pg_notify('hypercube_events', '{"name":"runs.changed","runId":"x"}')`)
      const experiment = await client.createExperiment({ name: 'after-garbage' })
      await ui.waitFor((e) => e.name === 'experiments.changed' && e.payload.experimentId === experiment.experiment_id)
    } finally {
      ui.dispose()
      await raw.end()
    }
  })

  it('after its event connection is cut, a core reconnects, says events may be missed, and hears new ones', async () => {
    const ui = recorder(instanceB)
    const raw = new pg.Client({ connectionString: databaseUrl })
    await raw.connect()
    try {
      await raw.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hypercube-events' AND datname = current_database()`)
      await ui.waitFor((e) => e.name === 'events.resync')
      const experiment = await client.createExperiment({ name: 'after-reconnect' })
      await ui.waitFor((e) => e.name === 'experiments.changed' && e.payload.experimentId === experiment.experiment_id)
      // Both instances still answer: a cut LISTEN connection crashed neither.
      expect((await instanceA.contract.dispatch('system.status', {})).ok).toBe(true)
    } finally {
      ui.dispose()
      await raw.end()
    }
  })
})
