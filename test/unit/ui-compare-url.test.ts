import { describe, expect, it } from 'vitest'
import { lineOnAxis, newPanel, seriesSamples } from '../../src/renderer/src/lib/chart-panels'
import { overlayPanel, stepRangeOnAxis } from '../../src/renderer/src/lib/compare'
import { memoryStorage } from '../../src/renderer/src/lib/storage'
import { parseRoute, routeHash, type Route } from '../../src/renderer/src/stores/app-store'
import { createCompareStore } from '../../src/renderer/src/stores/compare-store'
import { selectionKey } from '../../src/renderer/src/stores/runs-table-store'
import { fakeApi, runRow } from './ui-fake-api'

describe('the compare view and chart panels in the address', () => {
  it('round-trips the compared runs (in their order) and the scatter, axes and log settings', () => {
    const route: Route = {
      page: 'compare',
      experimentId: 4,
      compare: { runs: [12, 3, 9], scatterX: 'params.lr', scatterY: 'metrics.loss', axes: ['params.lr', 'metrics.a,b'], logScales: { 'params.lr': false, 'metrics.loss': true } }
    }
    expect(parseRoute(routeHash(route))).toEqual(route)
    const zoomed: Route = { page: 'compare', experimentId: 4, compare: { runs: [1, 2], zoom: { 'val:loss-1': { fromStep: 10n, toStep: 12_000_000_000n } } } }
    expect(parseRoute(routeHash(zoomed))).toEqual(zoomed)
    expect(parseRoute('#/experiments/4/compare?zoom=9-3%3Aloss&zoom=x%3Aloss')).toEqual({ page: 'compare', experimentId: 4, compare: { runs: null } })
    expect(routeHash({ page: 'compare', experimentId: 4, compare: { runs: null } })).toBe('#/experiments/4/compare')
    expect(parseRoute('#/experiments/4/compare')).toEqual({ page: 'compare', experimentId: 4, compare: { runs: null } })
    // Hand-edited ids: junk and repeats dropped.
    expect(parseRoute('#/experiments/4/compare?runs=5,x,5,-1,7')).toMatchObject({ compare: { runs: [5, 7] } })
  })

  it('round-trips chart panels beside the table state, and ignores a mangled charts term', () => {
    const panel = { ...newPanel('p1', ['loss', 'accuracy']), xAxis: 'relative' as const, logY: true, yMax: 5, smoothing: { method: 'gaussian' as const, strength: 0.4 } }
    const route: Route = { page: 'experiment', experimentId: 7, tab: 'runs', table: { filter: 'metrics.loss < 1', sort: [], columns: null, selected: null }, charts: [panel] }
    expect(parseRoute(routeHash(route))).toEqual(route)
    expect(parseRoute('#/experiments/7?charts=%7Bnot-json')).not.toHaveProperty('charts')
  })

  it('opens the runs the address names (making them the selection), and publishes the user’s changes', async () => {
    const storage = memoryStorage()
    const rows = [runRow(3, 4), runRow(9, 4), runRow(12, 4)]
    const fake = fakeApi({ 'runs.rows': () => rows, 'runs.metricSeries': () => ({ runId: 3, key: 'loss', mode: 'raw', totalPoints: 0, points: [] }) as never })
    const navigations: Array<[string, string]> = []
    const store = createCompareStore({ api: fake.api, storage, navigate: (hash, mode) => void navigations.push([hash, mode]) })
    await store.getState().open(4, { runs: [12, 3], scatterX: 'params.lr' })
    expect(store.getState().runs.map((run) => run.id)).toEqual([12, 3])
    expect(store.getState().scatterX).toBe('params.lr')
    expect(storage.getItem(selectionKey(4))).toBe('[12,3]')
    expect(navigations).toEqual([])
    store.getState().setScatter('y', 'metrics.loss')
    store.getState().setLogScale('params.lr', false)
    expect(navigations).toEqual([
      ['#/experiments/4/compare?runs=12%2C3&sx=params.lr&sy=metrics.loss', 'push'],
      ['#/experiments/4/compare?runs=12%2C3&sx=params.lr&sy=metrics.loss&lin=params.lr', 'push']
    ])

    // Without runs in the address: the remembered selection, put in the address in place.
    navigations.length = 0
    storage.setItem(selectionKey(5), '[9,3]')
    await store.getState().open(5, { runs: null })
    expect(navigations).toEqual([['#/experiments/5/compare?runs=9%2C3', 'replace']])
  })
})

describe('the compare view’s overlay chart settings (chart panels, one per metric)', () => {
  it('round-trips the charts’ settings in the compare address, beside the zoom, and drops a mangled charts term', () => {
    const loss = { ...overlayPanel('loss', undefined), xAxis: 'metric:lr' as const, logY: true, yMin: 0.01, smoothing: { method: 'gaussian' as const, strength: 0.5 } }
    const route: Route = { page: 'compare', experimentId: 4, compare: { runs: [2, 1], zoom: { loss: { fromStep: 5n, toStep: 50n } }, charts: [loss] } }
    expect(parseRoute(routeHash(route))).toEqual(route)
    expect(parseRoute('#/experiments/4/compare?runs=1,2&charts=%5Bnope')).toEqual({ page: 'compare', experimentId: 4, compare: { runs: [1, 2] } })
  })

  it('keeps one metric per chart, its id the metric, whatever the address says', () => {
    const handEdited = { ...newPanel('x', ['accuracy', 'loss']), logY: true }
    expect(overlayPanel('loss', handEdited)).toEqual({ ...newPanel('loss', ['loss']), logY: true })
    expect(overlayPanel('loss', undefined)).toEqual(newPanel('loss', ['loss']))
  })

  it('publishes a changed chart (a history entry; a smoothing slider’s drag replaces it) and applies an address’s charts on open and on back/forward', async () => {
    const storage = memoryStorage()
    const rows = [runRow(3, 4), runRow(9, 4)]
    const fake = fakeApi({ 'runs.rows': () => rows, 'runs.metricSeries': () => ({ runId: 3, key: 'loss', mode: 'raw', totalPoints: 0, points: [] }) as never })
    const navigations: Array<[string, string]> = []
    const store = createCompareStore({ api: fake.api, storage, navigate: (hash, mode) => void navigations.push([hash, mode]) })
    await store.getState().open(4, { runs: [3, 9] })
    expect(store.getState().panels).toEqual({})

    store.getState().setPanel('loss', { logY: true })
    const logged = { ...newPanel('loss', ['loss']), logY: true }
    expect(store.getState().panels).toEqual({ loss: logged })
    expect(navigations.at(-1)).toEqual([routeHash({ page: 'compare', experimentId: 4, compare: { runs: [3, 9], charts: [logged] } }), 'push'])
    store.getState().setPanel('loss', { smoothing: { method: 'ema', strength: 0.3 } })
    expect(navigations.at(-1)?.[1]).toBe('replace')
    expect(parseRoute(navigations.at(-1)![0])).toMatchObject({ compare: { charts: [{ id: 'loss', logY: true, smoothing: { method: 'ema', strength: 0.3 } }] } })

    // Back to an address without settings (the same runs): the charts go back to the defaults, without reloading the runs.
    const rowCalls = fake.callsOf('runs.rows').length
    await store.getState().open(4, { runs: [3, 9] })
    expect(store.getState().panels).toEqual({})
    // Forward again, or a shared link: the address's settings.
    await store.getState().open(4, { runs: [3, 9], charts: [{ ...logged, yMax: 2 }] })
    expect(store.getState().panels).toEqual({ loss: { ...logged, yMax: 2 } })
    expect(fake.callsOf('runs.rows').length).toBe(rowCalls)
  })
})

describe('the step range behind a zoom on an overlay chart’s x axis', () => {
  const samples = [0, 1, 2, 3, 4].map((step) => ({ step, value: 10 - step, time: 1_000_000 + step * 2_000 }))
  it('is the range itself on the step axis', () => {
    expect(stepRangeOnAxis([{ samples }], 'step', 0.4, 3.2)).toEqual({ fromStep: 1n, toStep: 3n })
    expect(stepRangeOnAxis([{ samples }], 'step', 1.2, 1.8)).toBeNull()
  })
  it('is the steps of the points drawn inside it on time and metric axes', () => {
    // Relative time: step s is at 2·s seconds.
    expect(stepRangeOnAxis([{ samples }], 'relative', 1.5, 6.5)).toEqual({ fromStep: 1n, toStep: 3n })
    expect(stepRangeOnAxis([{ samples }], 'wall', 1_002, 1_004)).toEqual({ fromStep: 1n, toStep: 2n })
    // Against another metric (its value at step s is 100 − 10·s): x from 65 to 85 holds steps 2 and 3.
    const xSamples = samples.map((sample) => ({ ...sample, value: 100 - 10 * sample.step }))
    expect(stepRangeOnAxis([{ samples, xSamples }], 'metric:other', 65, 85)).toEqual({ fromStep: 2n, toStep: 3n })
    // Over several runs: the union.
    const later = samples.map((sample) => ({ ...sample, step: sample.step + 10 }))
    expect(stepRangeOnAxis([{ samples }, { samples: later }], 'relative', 7, 9)).toEqual({ fromStep: 4n, toStep: 14n })
    expect(stepRangeOnAxis([{ samples }], 'relative', 20, 30)).toBeNull()
  })
})

describe('relative time on a zoomed overlay chart', () => {
  it('counts from the run’s first point, not from the first point of the zoomed range', async () => {
    const storage = memoryStorage()
    // The run's loss: a point a second from t = 1,000 s, steps 0..99.
    const points = Array.from({ length: 100 }, (_, step) => ({ step: BigInt(step), value: step, timestamp: 1_000_000 + step * 1000 }))
    const fake = fakeApi({
      'runs.rows': () => [runRow(3, 4), runRow(9, 4)],
      'runs.metricSeries': (input) => {
        const from = BigInt(input.fromStep ?? 0)
        const to = BigInt(input.toStep ?? 99)
        return { runId: input.runId, key: 'loss', mode: 'raw', totalPoints: 100, points: points.filter((point) => point.step >= from && point.step <= to) } as never
      }
    })
    const store = createCompareStore({ api: fake.api, storage })
    // Opened zoomed (a shared link): the runs' starts are read from their whole series as well.
    await store.getState().open(4, { runs: [3, 9], zoom: { loss: { fromStep: 40n, toStep: 60n } } })
    expect(store.getState().charts.loss!.origins).toEqual({ 3: 1_000_000, 9: 1_000_000 })
    const ranged = fake.callsOf('runs.metricSeries').filter((call) => call.input.fromStep === 40n)
    expect(ranged).toHaveLength(2)
    const samples = seriesSamples(store.getState().charts.loss!.series[3]!)
    expect(samples[0]!.step).toBe(40)
    expect(lineOnAxis(samples, 'relative', false, undefined, store.getState().charts.loss!.origins[3]).x.slice(0, 2)).toEqual([40, 41])
    // Without the origin, relative time would restart at the zoomed range.
    expect(lineOnAxis(samples, 'relative', false).x[0]).toBe(0)
    // The step range behind a drag on that axis is found with the same origin.
    expect(stepRangeOnAxis([{ samples, origin: 1_000_000 }], 'relative', 44.5, 50.5)).toEqual({ fromStep: 45n, toStep: 50n })

    // A further zoom does not ask for the starts again.
    const before = fake.callsOf('runs.metricSeries').length
    await store.getState().setZoom('loss', { fromStep: 45n, toStep: 50n })
    expect(fake.callsOf('runs.metricSeries').length - before).toBe(2)
    expect(store.getState().charts.loss!.origins).toEqual({ 3: 1_000_000, 9: 1_000_000 })
  })
})
