import { describe, expect, it, vi } from 'vitest'
import type { GroupedSeries, GroupedKeySeries } from '../../src/shared/grouped-series'
import { newPanel } from '../../src/renderer/src/lib/chart-panels'
import { chartsScope } from '../../src/renderer/src/lib/charts-scope'
import { buildGroupedStepPlot } from '../../src/renderer/src/lib/grouped-plot'
import { groupRuns } from '../../src/renderer/src/lib/run-groups'
import { createGroupedSeriesStore, GROUPED_MAX_BUCKETS } from '../../src/renderer/src/stores/grouped-series-store'
import { memoryStorage } from '../../src/renderer/src/lib/storage'
import { createExperimentsStore } from '../../src/renderer/src/stores/experiments-store'
import { createLeaderboardStore } from '../../src/renderer/src/stores/leaderboard-store'
import { connectLiveUpdates } from '../../src/renderer/src/stores/live-updates'
import { createRunPageStore } from '../../src/renderer/src/stores/run-page-store'
import { createRunsTableStore } from '../../src/renderer/src/stores/runs-table-store'
import { fakeApi, Refusal } from './ui-fake-api'

// Issue 13: grouped step-axis panels drawn from main's means and bands (runs.groupedSeries).

const row = (id: number, hyperparameters: Record<string, unknown>) => ({ id, hyperparameters, tags: {} }) as never

const keySeries = (key: string, steps: number[], mean: number[], spread: number): GroupedKeySeries => ({
  key,
  steps,
  fromSteps: steps,
  mean,
  min: mean.map((m) => m - spread),
  max: mean.map((m) => m + spread),
  std: mean.map(() => spread / 2),
  count: mean.map(() => 3)
})

/** Main's answer for two groups, listed in another order than the table's (the browser orders by its groups). */
const answer: GroupedSeries = {
  groupBy: 'params.lr',
  runCount: 5,
  bucketWidths: { loss: 1 },
  groups: [
    { key: '', label: '(not set)', runCount: 1, series: [keySeries('loss', [0, 1, 2], [5, 5, 5], 0)] },
    { key: '0.1', label: '0.1', runCount: 3, series: [keySeries('loss', [0, 1, 2], [-1, 2, 4], 1)] },
    { key: '0.01', label: '0.01', runCount: 1, series: [keySeries('loss', [], [], 0)] }
  ]
}
const tableGroups = groupRuns([row(1, { lr: 0.1 }), row(2, { lr: 0.01 }), row(3, {}), row(4, { lr: 0.1 }), row(5, { lr: 0.1 })], 'params.lr')

describe('a grouped step panel from main’s aggregates', () => {
  it('draws each group with data in the table’s order and colour: band lines then mean; a group without points draws nothing', () => {
    const plot = buildGroupedStepPlot(newPanel('p', ['loss']), tableGroups, answer)
    expect(plot.lines.map((line) => [line.label, line.role, line.color])).toEqual([
      ['0.1 max', 'hi', tableGroups[1]!.color],
      ['0.1 min', 'lo', tableGroups[1]!.color],
      ['0.1 mean', 'mean', tableGroups[1]!.color],
      ['(not set) max', 'hi', tableGroups[2]!.color],
      ['(not set) min', 'lo', tableGroups[2]!.color],
      ['(not set) mean', 'mean', tableGroups[2]!.color]
    ])
    expect(plot.lines[2]!.line).toEqual({ x: [0, 1, 2], y: [-1, 2, 4] })
    expect(plot.lines[0]!.line.y).toEqual([0, 3, 5])
    expect(plot.bands).toEqual([
      { upper: 0, lower: 1, color: tableGroups[1]!.color },
      { upper: 3, lower: 4, color: tableGroups[2]!.color }
    ])
    // The runs of the groups drawn (0.01's run has no point of loss).
    expect(plot.drawnRuns).toBe(4)
  })

  it('draws mean ± std for a std band, leaves values ≤ 0 out on a log axis, and smooths the mean and band lines with the raw mean behind', () => {
    const std = buildGroupedStepPlot({ ...newPanel('p', ['loss']), band: 'std', logY: true }, tableGroups, answer)
    expect(std.lines[0]!.label).toBe('0.1 +std')
    expect(std.lines[0]!.line.y).toEqual([null, 2.5, 4.5])
    expect(std.lines[1]!.line.y).toEqual([null, 1.5, 3.5])
    expect(std.lines[2]!.line.y).toEqual([null, 2, 4])

    const smoothed = buildGroupedStepPlot({ ...newPanel('p', ['loss']), smoothing: { method: 'ema', strength: 0.5 } }, tableGroups, answer)
    const roles = smoothed.lines.filter((line) => line.label.startsWith('0.1')).map((line) => line.role)
    expect(roles).toEqual(['hi', 'lo', 'raw', 'mean'])
    const raw = smoothed.lines.find((line) => line.label === '0.1 mean (raw)')!
    const mean = smoothed.lines.find((line) => line.label === '0.1 mean')!
    expect(raw.line.y).toEqual([-1, 2, 4])
    // Smoothed: the later points lag behind the raw rise.
    expect(mean.line.y[0]).toBe(-1)
    expect(mean.line.y[2]!).toBeLessThan(4)
    expect(mean.line.y[2]!).toBeGreaterThan(2)
  })
})

describe('the charts’ scope line', () => {
  const base = { maxRuns: 100, plotted: 100, candidates: 250, selected: false, groups: 3, browserPanels: 0, groupedError: null }
  it('gives the true run count of grouped charts, and says which panels cover only the first 100 runs', () => {
    expect(chartsScope({ ...base, groupBy: null })).toBe('100 runs (the first 100 of 250)')
    expect(chartsScope({ ...base, groupBy: 'params.lr' })).toBe('250 runs in 3 groups by params.lr')
    expect(chartsScope({ ...base, groupBy: 'params.lr', browserPanels: 1 })).toBe('250 runs in 3 groups by params.lr; on a time or metric x axis, bands of the first 100 runs')
    expect(chartsScope({ ...base, plotted: 40, candidates: 40, groupBy: 'params.lr', browserPanels: 1 })).toBe('40 runs in 3 groups by params.lr')
    expect(chartsScope({ ...base, groupBy: 'params.lr', groupedError: 'database unavailable' })).toBe(
      "250 runs in 3 groups by params.lr; bands of the first 100 runs (main's could not be read: database unavailable)"
    )
  })
})

describe('the grouped series store', () => {
  const request = { experimentId: 7, runIds: [1, 2, 3], groupBy: 'params.lr', keys: ['loss'] }
  it('asks main once per request, with every run id, and keeps only the answer to the latest request', async () => {
    let release: (() => void) | null = null
    const fake = fakeApi({
      'runs.groupedSeries': async (input) => {
        if (input.groupBy === 'params.slow') await new Promise<void>((resolve) => (release = resolve))
        return { ...answer, groupBy: input.groupBy }
      }
    })
    const store = createGroupedSeriesStore(fake.api)
    await store.getState().load(request)
    await store.getState().load(request)
    expect(fake.callsOf('runs.groupedSeries').map((call) => call.input)).toEqual([{ ...request, maxBuckets: GROUPED_MAX_BUCKETS }])
    expect(store.getState().data?.groupBy).toBe('params.lr')

    // A slow answer to an older request does not replace the newer one's.
    const slow = store.getState().load({ ...request, groupBy: 'params.slow' })
    expect(store.getState()).toMatchObject({ loading: true, data: null })
    await store.getState().load({ ...request, groupBy: 'tags.opt' })
    release!()
    await slow
    expect(store.getState().data?.groupBy).toBe('tags.opt')
  })

  it('keeps main’s refusal to show it, and asks again for the same request later', async () => {
    let refuse = true
    const fake = fakeApi({ 'runs.groupedSeries': () => (refuse ? new Refusal({ code: 'not_found', message: 'experiment 7 does not exist', field: 'experimentId' }) : answer) })
    const store = createGroupedSeriesStore(fake.api)
    await store.getState().load(request)
    expect(store.getState()).toMatchObject({ loading: false, data: null, error: { code: 'not_found', field: 'experimentId' } })
    refuse = false
    await store.getState().load(request)
    expect(store.getState()).toMatchObject({ loading: false, error: null, data: answer })
  })
})

describe('live updates of the grouped bands', () => {
  it('re-reads main’s answer at most once a second when runs of the request log metrics, keeping the old answer drawn meanwhile', async () => {
    vi.useFakeTimers()
    try {
      let version = 0
      const fake = fakeApi({ 'runs.groupedSeries': () => ({ ...answer, runCount: version }), 'experiments.list': () => [] })
      const groupedSeries = createGroupedSeriesStore(fake.api)
      const disconnect = connectLiveUpdates(
        fake.api,
        {
          experiments: createExperimentsStore(fake.api),
          runsTable: createRunsTableStore({ api: fake.api, storage: memoryStorage() }),
          runPage: createRunPageStore(fake.api),
          leaderboard: createLeaderboardStore(fake.api),
          groupedSeries
        },
        250
      )
      await groupedSeries.getState().load({ experimentId: 7, runIds: [1, 2, 3], groupBy: 'params.lr', keys: ['loss'] })
      expect(fake.callsOf('runs.groupedSeries')).toHaveLength(1)
      version = 1
      for (let i = 0; i < 20; i++) fake.push({ name: 'metrics.logged', payload: { runId: 2, experimentId: 7, keys: ['loss'], count: 1 } } as never)
      // A run outside the request asks nothing.
      fake.push({ name: 'metrics.logged', payload: { runId: 9, experimentId: 7, keys: ['loss'], count: 1 } } as never)
      await vi.advanceTimersByTimeAsync(500)
      expect(fake.callsOf('runs.groupedSeries')).toHaveLength(1)
      expect(groupedSeries.getState().data?.runCount).toBe(0)
      await vi.advanceTimersByTimeAsync(1_000)
      expect(fake.callsOf('runs.groupedSeries')).toHaveLength(2)
      expect(groupedSeries.getState()).toMatchObject({ loading: false, data: { runCount: 1 } })
      fake.push({ name: 'metrics.logged', payload: { runId: 9, experimentId: 7, keys: ['loss'], count: 1 } } as never)
      await vi.advanceTimersByTimeAsync(1_500)
      expect(fake.callsOf('runs.groupedSeries')).toHaveLength(2)
      disconnect()
    } finally {
      vi.useRealTimers()
    }
  })
})
