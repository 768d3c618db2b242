import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { HypercubeClient, type MetricPointInput } from '../../src/client/hypercube-client'
import { CRASH_WINDOW_MS, MAX_CRASHES } from '../../src/main/api/api-supervisor'
import type { Core } from '../../src/main/core'
import type { PushedEvent } from '../../src/shared/contract'
import type { ApiDoorState } from '../../src/shared/domain'
import { startTestCore } from '../support/test-env'

/**
 * The desktop app runs the HTTP door in a child process (a utilityProcess there; fork here,
 * through the same injected spawner), so ingest never runs on the thread that answers the window.
 */
describe('the HTTP door in its own process', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!()
  })

  async function startSplitCore(options: { plugins?: boolean } = {}): Promise<{ core: Core; dataDir: string; client: () => HypercubeClient }> {
    const testCore = await startTestCore({ apiProcess: true, plugins: options.plugins })
    cleanups.push(testCore.close)
    const core = testCore.core
    // The token may be rotated by a test: a client always reads the current one.
    return { core, dataDir: testCore.dataDir, client: () => new HypercubeClient({ url: core.api!.url!, token: core.api!.token }) }
  }

  const pid = (core: Core): number => core.api!.state().pid!

  async function waitForState(core: Core, wanted: ApiDoorState['state'], timeoutMs = 30_000): Promise<ApiDoorState> {
    const deadline = Date.now() + timeoutMs
    while (core.api!.state().state !== wanted) {
      if (Date.now() > deadline) throw new Error(`API door still ${core.api!.state().state}, wanted ${wanted}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    return core.api!.state()
  }

  it('serves /v1 and MLflow from a child process, and its writes reach the window as events', async () => {
    const { core, client } = await startSplitCore()
    expect(core.api!.state()).toMatchObject({ state: 'running' })
    expect(pid(core)).not.toBe(process.pid)
    expect(core.http).toBeUndefined()

    const seen: PushedEvent[] = []
    const subscription = core.contract.subscribe((event) => seen.push(event))
    cleanups.push(() => subscription.dispose())
    const experiment = await client().createExperiment({ name: 'split' })
    const run = await client().startRun({ experiment_id: experiment.experiment_id })
    await client().logMetrics(run.run_id, { loss: 0.25 }, { step: 1 })
    const deadline = Date.now() + 10_000
    while (!seen.some((event) => event.name === 'metrics.logged' && event.payload.runId === run.run_id)) {
      if (Date.now() > deadline) throw new Error(`no metrics.logged event; seen ${JSON.stringify(seen)}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(seen.some((event) => event.name === 'runs.changed' && event.payload.runId === run.run_id)).toBe(true)

    // The window's own calls answer from main's services on the same database.
    const rows = await core.contract.dispatch('runs.rows', { runIds: [run.run_id] })
    expect(rows).toMatchObject({ ok: true, value: [{ id: run.run_id, experimentId: experiment.experiment_id }] })
    const status = await core.contract.dispatch('system.status', {})
    expect(status).toMatchObject({ ok: true, value: { api: { state: 'running', pid: pid(core) } } })
    const mlflow = await fetch(`${core.api!.url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=split`, {
      headers: { authorization: `Bearer ${core.api!.token}` }
    })
    expect(mlflow.status).toBe(200)
  })

  it("/v1/plugins in the API process answers from main's registry, and its actions run there", async () => {
    const { core } = await startSplitCore({ plugins: true })
    const headers = { authorization: `Bearer ${core.api!.token}` }
    const listed = await fetch(`${core.api!.url}/v1/plugins`, { headers })
    expect(listed.status).toBe(200)
    const { plugins } = (await listed.json()) as { plugins: Array<{ name: string; state: string }> }
    expect(plugins.map((plugin) => plugin.name).sort()).toEqual(core.services.plugins!.list().map((plugin) => plugin.name).sort())
    expect(plugins.length).toBeGreaterThan(0)

    const name = plugins[0]!.name
    const disabled = await fetch(`${core.api!.url}/v1/plugins/${name}/disable`, { method: 'POST', headers })
    expect(disabled.status).toBe(200)
    expect(await disabled.json()).toMatchObject({ name, state: 'disabled' })
    // Main's registry did it, and the API process hears the new state.
    expect(core.services.plugins!.get(name)).toMatchObject({ state: 'disabled' })
    const deadline = Date.now() + 5_000
    for (;;) {
      const again = (await (await fetch(`${core.api!.url}/v1/plugins`, { headers })).json()) as { plugins: Array<{ name: string; state: string }> }
      if (again.plugins.find((plugin) => plugin.name === name)?.state === 'disabled') break
      if (Date.now() > deadline) throw new Error('the API process never heard the plugin was disabled')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const unknown = await fetch(`${core.api!.url}/v1/plugins/no-such-plugin/reload`, { method: 'POST', headers })
    expect(unknown.status).toBe(404)
  })

  it('rotating the token in Settings takes effect in the API process at once', async () => {
    const { core, dataDir, client } = await startSplitCore()
    const before = core.api!.token
    const settings = await core.contract.dispatch('settings.rotateToken', {})
    expect(settings.ok).toBe(true)
    const after = core.api!.token
    expect(after).not.toBe(before)
    expect(readFileSync(`${dataDir}/api-token`, 'utf8').trim()).toBe(after)
    const old = await fetch(`${core.api!.url}/v1/ml/experiments`, { headers: { authorization: `Bearer ${before}` } })
    expect(old.status).toBe(401)
    expect(await client().listExperiments()).toEqual([])
  })

  it('killed with SIGKILL mid-ingest, it is restarted on the same URL; every acknowledged point is stored once', async () => {
    const { core, client } = await startSplitCore()
    const url = core.api!.url
    const experiment = await client().createExperiment({ name: 'ingest-crash' })
    const run = await client().startRun({ experiment_id: experiment.experiment_id })
    const firstPid = pid(core)

    const BATCHES = 60
    const POINTS = 2_000
    const acknowledged: number[] = []
    let retries = 0
    let killed = false
    for (let batch = 0; batch < BATCHES; batch++) {
      const points: MetricPointInput[] = Array.from({ length: POINTS }, (_, i) => ({ key: 'loss', value: batch + i / POINTS, step: batch * POINTS + i }))
      if (batch === 20 && !killed) {
        killed = true
        // Mid-ingest: a batch is in flight when the process dies.
        const inFlight = client().logBatch(run.run_id, points, `batch-${batch}`).catch(() => undefined)
        process.kill(firstPid, 'SIGKILL')
        await inFlight
      }
      // A client that reconnects: retries the same batch under the same idempotency key until it is acknowledged.
      for (;;) {
        try {
          await client().logBatch(run.run_id, points, `batch-${batch}`)
          acknowledged.push(batch)
          break
        } catch {
          retries++
          if (retries > 400) throw new Error('the API never came back')
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    }
    expect(killed).toBe(true)
    expect(retries).toBeGreaterThan(0)
    expect(core.api!.state()).toMatchObject({ state: 'running', url, recentCrashes: 1 })
    expect(pid(core)).not.toBe(firstPid)
    expect(acknowledged).toHaveLength(BATCHES)

    const series = await core.contract.dispatch('runs.get', { runId: run.run_id })
    expect(series.ok).toBe(true)
    const loss = (series as { ok: true; value: { metrics: Array<{ key: string; count: number }> } }).value.metrics.find((metric) => metric.key === 'loss')
    expect(loss?.count).toBe(BATCHES * POINTS)
  })

  it(`after ${MAX_CRASHES} crashes in ${CRASH_WINDOW_MS / 60_000} minutes it stays down, and the window is told why and where the log is`, async () => {
    const { core } = await startSplitCore()
    const pushed: ApiDoorState[] = []
    const subscription = core.contract.subscribe((event) => {
      if (event.name === 'api.stateChanged') pushed.push(event.payload)
    })
    cleanups.push(() => subscription.dispose())
    for (let crash = 1; crash <= MAX_CRASHES; crash++) {
      await waitForState(core, 'running')
      process.kill(pid(core), 'SIGKILL')
      await waitForState(core, crash < MAX_CRASHES ? 'restarting' : 'failed')
    }
    const state = core.api!.state()
    expect(state).toMatchObject({ state: 'failed', recentCrashes: MAX_CRASHES, pid: null })
    expect(state.error).toBe('the API process exited unexpectedly (signal SIGKILL)')
    expect(state.logFile).toMatch(/logs[/\\]api\.log$/)
    expect(pushed.at(-1)).toEqual(state)
    const status = await core.contract.dispatch('system.status', {})
    expect(status).toMatchObject({ ok: true, value: { api: { state: 'failed', logFile: state.logFile } } })
    // The window itself keeps answering.
    expect((await core.contract.dispatch('experiments.list', {})).ok).toBe(true)
  })
})
