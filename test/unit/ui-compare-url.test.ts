import { describe, expect, it } from 'vitest'
import { newPanel } from '../../src/renderer/src/lib/chart-panels'
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
