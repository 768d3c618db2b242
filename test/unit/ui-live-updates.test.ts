import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { memoryStorage } from '../../src/renderer/src/lib/storage'
import { createExperimentsStore } from '../../src/renderer/src/stores/experiments-store'
import { createLeaderboardStore } from '../../src/renderer/src/stores/leaderboard-store'
import { connectLiveUpdates } from '../../src/renderer/src/stores/live-updates'
import { createRunPageStore } from '../../src/renderer/src/stores/run-page-store'
import { createRunsTableStore } from '../../src/renderer/src/stores/runs-table-store'
import { createSystemStore } from '../../src/renderer/src/stores/system-store'
import { fakeApi, runRow } from './ui-fake-api'

describe('live updates', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  function setup() {
    const fake = fakeApi({
      'runs.list': () => [runRow(1, 7), runRow(2, 7)],
      'runs.rows': ({ runIds }) => runIds.map((id: number) => runRow(id, 7)),
      'runs.get': () => ({ ...runRow(1, 7), logs: null, stackTrace: null, errorMessage: null }),
      'runs.isDeleted': () => false,
      'runs.checkpoints': () => [],
      'artifacts.list': () => [],
      'runs.metricSeries': ({ key }) => ({ runId: 1, key, totalPoints: 1, mode: 'raw', points: [], buckets: [] }),
      'experiments.list': () => []
    })
    const stores = {
      experiments: createExperimentsStore(fake.api),
      runsTable: createRunsTableStore({ api: fake.api, storage: memoryStorage() }),
      runPage: createRunPageStore(fake.api),
      leaderboard: createLeaderboardStore(fake.api)
    }
    const disconnect = connectLiveUpdates(fake.api, stores, 250)
    return { fake, stores, disconnect }
  }

  it('gathers a burst of pushed events into one refresh per view per interval', async () => {
    const { fake, stores } = setup()
    await stores.runsTable.getState().open(7)
    await stores.runPage.getState().open(1)
    const seriesBefore = fake.callsOf('runs.metricSeries').length
    for (let i = 0; i < 50; i++) {
      fake.push({ name: 'metrics.logged', payload: { runId: 1, points: 10, keys: ['loss'] } })
      fake.push({ name: 'metrics.logged', payload: { runId: 2, points: 10, keys: ['loss'] } })
    }
    // Another experiment's run is none of this table's business.
    fake.push({ name: 'runs.changed', payload: { runId: 99, experimentId: 8, status: 'running' } })
    expect(fake.callsOf('runs.rows')).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(260)
    expect(fake.callsOf('runs.rows').map((call) => call.input.runIds)).toEqual([[1, 2]])
    expect(fake.callsOf('runs.metricSeries').length - seriesBefore).toBe(1)
  })

  it('adds a run started in the open experiment', async () => {
    const { fake, stores } = setup()
    await stores.runsTable.getState().open(7)
    fake.push({ name: 'runs.changed', payload: { runId: 3, experimentId: 7, status: 'running' } })
    await vi.advanceTimersByTimeAsync(260)
    expect(stores.runsTable.getState().rows.map((row) => row.id)).toEqual([3, 1, 2])
  })

  it('reads everything again after the transport reconnects, and stops listening when disconnected', async () => {
    const { fake, stores, disconnect } = setup()
    await stores.runsTable.getState().open(7)
    fake.push({ name: 'transport.reconnected', payload: {} })
    await vi.advanceTimersByTimeAsync(0)
    expect(fake.callsOf('runs.list')).toHaveLength(2)
    expect(fake.callsOf('experiments.list')).toHaveLength(1)
    disconnect()
    fake.push({ name: 'runs.changed', payload: { runId: 4, experimentId: 7, status: 'running' } })
    await vi.advanceTimersByTimeAsync(1000)
    expect(fake.callsOf('runs.rows')).toHaveLength(0)
  })

  it("re-queries every chart of the open run when a batch's keys were too many to name", async () => {
    const { fake, stores } = setup()
    await stores.runPage.getState().open(1)
    const charted = Object.keys(stores.runPage.getState().charts)
    expect(charted.length).toBeGreaterThan(0)
    const before = fake.callsOf('runs.metricSeries').length
    fake.push({ name: 'metrics.logged', payload: { runId: 1, points: 5_000, keys: null } })
    await vi.advanceTimersByTimeAsync(260)
    expect(fake.callsOf('runs.metricSeries').slice(before).map((call) => call.input.key).sort()).toEqual([...charted].sort())
  })

  it("reads everything again when main's event feed from PostgreSQL was interrupted", async () => {
    const { fake, stores } = setup()
    await stores.runsTable.getState().open(7)
    fake.push({ name: 'events.resync', payload: {} })
    await vi.advanceTimersByTimeAsync(0)
    expect(fake.callsOf('runs.list')).toHaveLength(2)
    expect(fake.callsOf('experiments.list')).toHaveLength(1)
  })

  it('keeps the state of the HTTP door that is pushed, for the banner', async () => {
    const fake = fakeApi({})
    const system = createSystemStore(fake.api)
    const stores = {
      experiments: createExperimentsStore(fake.api),
      runsTable: createRunsTableStore({ api: fake.api, storage: memoryStorage() }),
      runPage: createRunPageStore(fake.api),
      leaderboard: createLeaderboardStore(fake.api),
      system
    }
    connectLiveUpdates(fake.api, stores, 250)
    const failed = { state: 'failed' as const, url: null, pid: null, recentCrashes: 3, error: 'the API process exited unexpectedly, 3 times in 5 minutes', logFile: '/data/logs/api.log' }
    fake.push({ name: 'api.stateChanged', payload: failed })
    expect(system.getState().apiState).toEqual(failed)
  })
})
