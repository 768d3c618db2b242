import { describe, expect, it, vi } from 'vitest'
import type { MetricSeries } from '../../src/shared/domain'
import { lineOnAxis, movePanel, newPanel, parsePanels, plottedCsv, valueAtStep, type Sample } from '../../src/renderer/src/lib/chart-panels'
import { buildPanelPlot, dedupeX } from '../../src/renderer/src/lib/panel-plot'
import { RUN_PALETTE } from '../../src/renderer/src/lib/run-colors'
import { aggregateLines, aggregationGrid, groupByOptions, groupRuns, NO_VALUE_LABEL } from '../../src/renderer/src/lib/run-groups'
import { emaSmooth, gaussianSmooth, runningMean, smoothValues } from '../../src/renderer/src/lib/smoothing'
import { memoryStorage } from '../../src/renderer/src/lib/storage'
import { createExperimentChartsStore, PANEL_MAX_POINTS, seriesKey } from '../../src/renderer/src/stores/experiment-charts-store'
import { createExperimentsStore } from '../../src/renderer/src/stores/experiments-store'
import { createLeaderboardStore } from '../../src/renderer/src/stores/leaderboard-store'
import { connectLiveUpdates } from '../../src/renderer/src/stores/live-updates'
import { createRunPageStore } from '../../src/renderer/src/stores/run-page-store'
import { createRunsTableStore } from '../../src/renderer/src/stores/runs-table-store'
import { fakeApi, Refusal } from './ui-fake-api'

const row = (id: number, hyperparameters: Record<string, unknown>, tags: Record<string, string> = {}) => ({ id, hyperparameters, tags }) as never

describe('grouping runs', () => {
  it('offers every param and tag, params first', () => {
    expect(groupByOptions([row(1, { lr: 0.1, optimizer: 'adam' }, { arch: 'cnn' }), row(2, { depth: 3 }, {})])).toEqual(['params.depth', 'params.lr', 'params.optimizer', 'tags.arch'])
  })

  it('groups by value, numerically when every value is a number, runs without the value last, one palette colour each', () => {
    const rows = [row(1, { lr: 0.1 }), row(2, { lr: 0.01 }), row(3, {}), row(4, { lr: 0.1 }), row(5, { lr: 1 })]
    const groups = groupRuns(rows, 'params.lr')
    expect(groups.map((group) => [group.label, group.runIds])).toEqual([
      ['0.01', [2]],
      ['0.1', [1, 4]],
      ['1', [5]],
      [NO_VALUE_LABEL, [3]]
    ])
    expect(groups.map((group) => group.color)).toEqual(RUN_PALETTE.slice(0, 4))
    expect(groupRuns([row(1, {}, { arch: 'mlp' }), row(2, {}, { arch: 'cnn' })], 'tags.arch').map((group) => group.label)).toEqual(['cnn', 'mlp'])
  })
})

describe('aggregating a group over aligned steps', () => {
  it('gives mean, min, max and population std where the runs share steps', () => {
    const agg = aggregateLines([
      { x: [0, 1, 2], y: [1, 2, 3] },
      { x: [0, 1, 2], y: [3, 4, 5] },
      { x: [0, 1, 2], y: [2, 3, 7] }
    ])
    expect(agg.x).toEqual([0, 1, 2])
    expect(agg.mean).toEqual([2, 3, 5])
    expect(agg.min).toEqual([1, 2, 3])
    expect(agg.max).toEqual([3, 4, 7])
    expect(agg.std[0]).toBeCloseTo(Math.sqrt(2 / 3), 12)
    expect(agg.std[2]).toBeCloseTo(Math.sqrt(8 / 3), 12)
    expect(agg.count).toEqual([3, 3, 3])
  })

  it('interpolates a run between its own steps and leaves it out past its last step', () => {
    const agg = aggregateLines([
      { x: [0, 10], y: [0, 10] },
      { x: [0, 5], y: [4, 4] }
    ])
    expect(agg.x).toEqual([0, 5, 10])
    // At 5 the first run is interpolated (5); at 10 only the first run counts.
    expect(agg.mean).toEqual([2, 4.5, 10])
    expect(agg.count).toEqual([2, 2, 1])
    expect(agg.min).toEqual([0, 4, 10])
  })

  it('skips gaps and non-finite values, and puts many distinct steps on an even grid', () => {
    const agg = aggregateLines([{ x: [0, 1, 2], y: [1, null, 3] }, { x: [0, 1, 2], y: [Number.NaN, 5, 5] }])
    expect(agg.mean).toEqual([1, 3.5, 4]) // run 1 interpolated to 2 at step 1
    const lines = [{ x: Array.from({ length: 3000 }, (_, i) => i), y: Array.from({ length: 3000 }, (_, i) => i) }]
    const grid = aggregationGrid(lines, 100)
    expect(grid).toHaveLength(100)
    expect(grid[0]).toBe(0)
    expect(grid[99]).toBe(2999)
    expect(aggregateLines(lines, 100).mean[50]).toBeCloseTo(grid[50]!, 9)
  })
})

describe('smoothing', () => {
  const noisy = [1, 5, 1, 5, 1, 5, 1, 5]

  it('EMA is TensorBoard’s debiased average and keeps gaps', () => {
    expect(emaSmooth([2, 2, 2], 0.9)).toEqual([2, 2, 2].map((v) => expect.closeTo(v, 12)))
    const smoothed = emaSmooth([0, 10, null, 10], 0.5)
    expect(smoothed[0]).toBe(0)
    expect(smoothed[1]).toBeCloseTo((0.5 * 0 * 0.5 + 0.5 * 10) / (1 - 0.25), 12)
    expect(smoothed[2]).toBeNull()
  })

  it('running mean averages the last window of points', () => {
    expect(runningMean([1, 2, 3, 4, 5], 2)).toEqual([1, 1.5, 2.5, 3.5, 4.5])
    expect(runningMean([1, null, 3], 3)).toEqual([1, null, 2])
  })

  it('Gaussian is centred, keeps a constant line and flattens noise', () => {
    expect(gaussianSmooth([3, 3, 3, 3], 2).map((v) => Number(v!.toFixed(12)))).toEqual([3, 3, 3, 3])
    const smoothed = gaussianSmooth(noisy, 2) as number[]
    expect(Math.max(...smoothed) - Math.min(...smoothed)).toBeLessThan(1.5)
    // Centred: a symmetric bump stays where it is.
    const bump = gaussianSmooth([0, 0, 0, 9, 0, 0, 0], 1) as number[]
    expect(bump.indexOf(Math.max(...bump))).toBe(3)
    expect(bump[2]).toBeCloseTo(bump[4]!, 12)
  })

  it('every method leaves the line alone at strength 0 and differs from it above', () => {
    for (const method of ['ema', 'mean', 'gaussian'] as const) {
      expect(smoothValues(noisy, method, 0)).toEqual(noisy)
      expect(smoothValues(noisy, method, 0.6)).not.toEqual(noisy)
    }
  })
})

describe('panel lines', () => {
  const samples = (values: Array<[number, number, number]>): Sample[] => values.map(([step, value, time]) => ({ step, value, time }))
  const loss = samples([
    [0, 4, 1_000],
    [1, 2, 3_000],
    [2, 1, 7_000]
  ])

  it('puts points on step, relative or wall time, and drops what a log axis cannot draw', () => {
    expect(lineOnAxis(loss, 'step', false)).toEqual({ x: [0, 1, 2], y: [4, 2, 1] })
    expect(lineOnAxis(loss, 'relative', false).x).toEqual([0, 2, 6])
    expect(lineOnAxis(loss, 'wall', false).x).toEqual([1, 3, 7])
    expect(lineOnAxis(samples([[0, 0, 0], [1, 10, 0]]), 'step', true).y).toEqual([null, 10])
  })

  it('plots a metric against another at the same steps (interpolated between the other’s steps)', () => {
    const accuracy = samples([
      [0, 0.5, 0],
      [2, 0.9, 0]
    ])
    expect(valueAtStep(accuracy, 1)).toBeCloseTo(0.7, 12)
    expect(valueAtStep(accuracy, 3)).toBeNull()
    const line = lineOnAxis(loss, 'metric:accuracy', false, accuracy)
    expect(line.x.map((x) => Number(x.toFixed(9)))).toEqual([0.5, 0.7, 0.9])
    expect(line.y).toEqual([4, 2, 1])
  })

  it('draws a group as its band edges and mean in the group colour, with the raw mean behind smoothing', () => {
    const groups = groupRuns([row(1, { opt: 'adam' }), row(2, { opt: 'adam' })], 'params.opt')
    const data: Record<number, Sample[]> = { 1: samples([[0, 1, 0], [1, 1, 0]]), 2: samples([[0, 3, 0], [1, 3, 0]]) }
    const config = { ...newPanel('p', ['loss']), smoothing: { method: 'ema' as const, strength: 0 } }
    const plot = buildPanelPlot(config, [], groups, (runId) => data[runId] ?? null)
    expect(plot.lines.map((line) => [line.role, line.color, line.line.y])).toEqual([
      ['hi', RUN_PALETTE[0], [3, 3]],
      ['lo', RUN_PALETTE[0], [1, 1]],
      ['mean', RUN_PALETTE[0], [2, 2]]
    ])
    expect(plot.bands).toEqual([{ upper: 0, lower: 1, color: RUN_PALETTE[0] }])
    const std = buildPanelPlot({ ...config, band: 'std' }, [], groups, (runId) => data[runId] ?? null)
    expect(std.lines.slice(0, 2).map((line) => line.line.y)).toEqual([
      [3, 3],
      [1, 1]
    ])
    const smoothed = buildPanelPlot({ ...config, smoothing: { method: 'mean', strength: 0.5 } }, [], groups, (runId) => data[runId] ?? null)
    expect(smoothed.lines.map((line) => line.role)).toEqual(['hi', 'lo', 'raw', 'mean'])
  })

  it('keeps one value per x when points share a timestamp', () => {
    expect(dedupeX({ x: [1, 1, 2], y: [5, 6, 7] })).toEqual({ x: [1, 2], y: [6, 7] })
  })
})

describe('panel settings', () => {
  it('reorders panels and reads back only well-formed stored panels', () => {
    const panels = [newPanel('a', ['loss']), newPanel('b', ['acc']), newPanel('c', ['lr'])]
    expect(movePanel(panels, 'c', -1).map((panel) => panel.id)).toEqual(['a', 'c', 'b'])
    expect(movePanel(panels, 'a', -5).map((panel) => panel.id)).toEqual(['a', 'b', 'c'])
    expect(parsePanels(JSON.parse(JSON.stringify([...panels, { id: 'x', metrics: [] }, 'junk'])))).toEqual(panels)
    expect(parsePanels([{ ...panels[0], height: 5000 }])![0]!.height).toBe(800)
    expect(parsePanels('nope')).toBeNull()
  })

  it('writes the plotted columns as CSV, empty where a line has no point', () => {
    expect(plottedCsv(['step', 'run "a"', 'b'], [[0, 1], [1.5, null], [undefined, 2]])).toBe('step,"run ""a""",b\n0,1.5,\n1,,2\n')
  })
})

describe('the experiment charts store', () => {
  const seriesOf = (runId: number, key: string): MetricSeries => ({ runId, key, totalPoints: 1, mode: 'raw', points: [], buckets: [] })

  it('asks each run × key once, downsampled, a few at a time, and applies the answers in batches', async () => {
    let inFlight = 0
    let most = 0
    const fake = fakeApi({
      'runs.metricSeries': async (input) => {
        inFlight++
        most = Math.max(most, inFlight)
        await new Promise((resolve) => setTimeout(resolve, 2))
        inFlight--
        return input.runId === 3 && input.key === 'acc' ? new Refusal({ code: 'not_found', message: 'gone' }) : seriesOf(input.runId, input.key)
      }
    })
    const store = createExperimentChartsStore({ api: fake.api, storage: memoryStorage() })
    store.getState().open(7)
    let updates = 0
    store.subscribe(() => updates++)
    const runs = Array.from({ length: 10 }, (_, i) => i + 1)
    await Promise.all([store.getState().ensureSeries(runs, ['loss', 'acc']), store.getState().ensureSeries(runs, ['loss', 'acc'])])
    expect(fake.callsOf('runs.metricSeries')).toHaveLength(20)
    expect(fake.callsOf('runs.metricSeries')[0]!.input).toEqual({ runId: 1, key: 'loss', maxPoints: PANEL_MAX_POINTS })
    expect(most).toBeLessThanOrEqual(6)
    expect(updates).toBeLessThan(10)
    expect(store.getState().series[seriesKey(4, 'acc')]).toEqual({ series: seriesOf(4, 'acc'), loading: false, error: null })
    expect(store.getState().series[seriesKey(3, 'acc')]!.error!.message).toBe('gone')
    // A failed series is asked again; loaded ones are not.
    await store.getState().ensureSeries(runs, ['loss', 'acc'])
    expect(fake.callsOf('runs.metricSeries')).toHaveLength(21)
  })

  it('keeps the panels per experiment: defaults until the user changes them, then the user’s order', () => {
    const storage = memoryStorage()
    const store = createExperimentChartsStore({ api: fakeApi({}).api, storage })
    store.getState().open(7)
    const defaults = store.getState().effectivePanels(['acc', 'loss', 'lr'])
    expect(defaults.map((panel) => panel.metrics)).toEqual([['acc'], ['loss'], ['lr']])
    store.getState().movePanel(defaults[0]!.id, 2, defaults)
    const again = createExperimentChartsStore({ api: fakeApi({}).api, storage })
    again.getState().open(7)
    expect(again.getState().effectivePanels(['acc', 'loss', 'lr']).map((panel) => panel.metrics)).toEqual([['loss'], ['lr'], ['acc']])
    again.getState().open(8)
    expect(again.getState().effectivePanels(['x']).map((panel) => panel.metrics)).toEqual([['x']])
  })
})

describe('live updates of the chart panels', () => {
  it('re-reads the loaded series of a run that logged metrics, at most once a second, keeping the old line until then', async () => {
    vi.useFakeTimers()
    try {
      let version = 0
      const fake = fakeApi({
        'runs.metricSeries': ({ runId, key }) => ({ runId, key, totalPoints: version, mode: 'raw', points: [], buckets: [] }),
        'experiments.list': () => []
      })
      const charts = createExperimentChartsStore({ api: fake.api, storage: memoryStorage() })
      const stores = {
        experiments: createExperimentsStore(fake.api),
        runsTable: createRunsTableStore({ api: fake.api, storage: memoryStorage() }),
        runPage: createRunPageStore(fake.api),
        leaderboard: createLeaderboardStore(fake.api),
        experimentCharts: charts
      }
      const disconnect = connectLiveUpdates(fake.api, stores, 250)
      charts.getState().open(7)
      const loading = charts.getState().ensureSeries([1, 2], ['loss', 'acc'])
      await vi.runAllTimersAsync()
      await loading
      expect(fake.callsOf('runs.metricSeries')).toHaveLength(4)
      version = 1
      for (let i = 0; i < 20; i++) fake.push({ name: 'metrics.logged', payload: { runId: 1, experimentId: 7, keys: ['loss'], count: 1 } } as never)
      // A run no panel draws asks nothing.
      fake.push({ name: 'metrics.logged', payload: { runId: 9, experimentId: 7, keys: ['loss'], count: 1 } } as never)
      await vi.advanceTimersByTimeAsync(500)
      expect(fake.callsOf('runs.metricSeries')).toHaveLength(4)
      expect(charts.getState().series[seriesKey(1, 'loss')]!.series!.totalPoints).toBe(0)
      await vi.advanceTimersByTimeAsync(1_000)
      const asked = fake.callsOf('runs.metricSeries').slice(4).map((call) => [call.input.runId, call.input.key])
      expect(asked.sort()).toEqual([
        [1, 'acc'],
        [1, 'loss']
      ])
      expect(charts.getState().series[seriesKey(1, 'loss')]).toMatchObject({ loading: false, series: { totalPoints: 1 } })
      expect(charts.getState().series[seriesKey(2, 'loss')]!.series!.totalPoints).toBe(0)
      disconnect()
    } finally {
      vi.useRealTimers()
    }
  })
})
