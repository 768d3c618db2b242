import { describe, expect, it } from 'vitest'
import { memoryStorage } from '../../src/renderer/src/lib/storage'
import { runMetricKeys, runMetricValue } from '../../src/renderer/src/lib/run-metrics'
import { formatIdRanges, parseIdRanges, parseRoute, routeHash, type Route } from '../../src/renderer/src/stores/app-store'
import { createRunsTableStore, selectionKey } from '../../src/renderer/src/stores/runs-table-store'
import { fakeApi, runRow } from './ui-fake-api'

describe('the runs table in the address', () => {
  it('round-trips filter, sort, columns and selection through the hash', () => {
    const route: Route = {
      page: 'experiment',
      experimentId: 7,
      tab: 'runs',
      table: { filter: "metrics.loss < 0.3 and params.lr = '0.001' & x#?", sort: [{ id: 'name', desc: true }, { id: 'metrics.a,b', desc: false }], columns: ['params.lr', 'metrics.loss'], selected: [9, 3, 4, 5, 12] }
    }
    const hash = routeHash(route)
    expect(hash.startsWith('#/experiments/7?')).toBe(true)
    expect(parseRoute(hash)).toEqual({ ...route, table: { ...route.table!, selected: [3, 4, 5, 9, 12] } })
  })

  it('tells "no columns chosen" from "columns not named", and reads a bare address as the empty state', () => {
    const none = routeHash({ page: 'experiment', experimentId: 2, tab: 'runs', table: { filter: '', sort: [], columns: [], selected: null } })
    expect(parseRoute(none)).toMatchObject({ table: { columns: [] } })
    expect(routeHash({ page: 'experiment', experimentId: 2, tab: 'runs', table: { filter: '', sort: [], columns: null, selected: [] } })).toBe('#/experiments/2')
    expect(parseRoute('#/experiments/2')).toEqual({ page: 'experiment', experimentId: 2, tab: 'runs', table: { filter: '', sort: [], columns: null, selected: null } })
    expect(parseRoute('#/experiments/2/leaderboard')).toEqual({ page: 'experiment', experimentId: 2, tab: 'leaderboard' })
  })

  it('writes run ids as ranges, and reads hand-edited ones without building huge lists', () => {
    expect(formatIdRanges([5, 1, 2, 3, 3, 9, 10])).toBe('1-3,5,9-10')
    expect(parseIdRanges('1-3,5,9-10')).toEqual([1, 2, 3, 5, 9, 10])
    expect(parseIdRanges('x,4,-2,7-6')).toEqual([4])
    expect(parseIdRanges('1-999999999')).toHaveLength(100_000)
  })
})

describe('the runs table store and the address', () => {
  function setup() {
    const rows = [runRow(1, 7), runRow(2, 7), runRow(3, 7)]
    const fake = fakeApi({ 'runs.list': () => rows, 'runs.search': () => rows.slice(0, 1) })
    const storage = memoryStorage()
    const navigations: Array<[string, 'push' | 'replace']> = []
    const store = createRunsTableStore({ api: fake.api, storage, navigate: (hash, mode) => navigations.push([hash, mode]) })
    return { fake, storage, store, navigations }
  }

  it('applies the state the address names; loads again only for another filter', async () => {
    const { store, fake, storage } = setup()
    await store.getState().open(7, { filter: 'metrics.loss < 1', sort: [{ id: 'name', desc: true }], columns: ['metrics.loss'], selected: [2, 3] })
    expect(store.getState()).toMatchObject({ filterText: 'metrics.loss < 1', appliedFilter: 'metrics.loss < 1', sorting: [{ id: 'name', desc: true }], chosenColumns: ['metrics.loss'], selected: [2, 3] })
    expect(JSON.parse(storage.getItem(selectionKey(7))!)).toEqual([2, 3]) // where the compare view reads it
    expect(fake.callsOf('runs.search')).toHaveLength(1)

    // Back to an entry with another sort: no new load.
    await store.getState().open(7, { filter: 'metrics.loss < 1', sort: [], columns: ['metrics.loss'], selected: [2, 3] }, false)
    expect(store.getState().sorting).toEqual([])
    expect(fake.callsOf('runs.search')).toHaveLength(1)
    // Back to an entry without the filter: loaded again, unfiltered.
    await store.getState().open(7, { filter: '', sort: [], columns: null, selected: null }, false)
    expect(fake.callsOf('runs.list')).toHaveLength(1)
    expect(store.getState().appliedFilter).toBe('')
    expect(store.getState().selected).toEqual([2, 3]) // not in the address: the remembered selection
  })

  it('publishes filter, sort and columns as history entries and the selection in place', async () => {
    const { store, navigations } = setup()
    await store.getState().open(7, null)
    store.getState().setFilterText('metrics.loss < 1')
    await store.getState().applyFilter()
    store.getState().setSorting([{ id: 'name', desc: false }])
    store.getState().toggleColumn('params.lr', ['params.lr', 'metrics.loss'])
    store.getState().toggleSelected(3)
    expect(navigations.map(([, mode]) => mode)).toEqual(['push', 'push', 'push', 'replace'])
    expect(parseRoute(navigations.at(-1)![0])).toEqual({
      page: 'experiment',
      experimentId: 7,
      tab: 'runs',
      table: { filter: 'metrics.loss < 1', sort: [{ id: 'name', desc: false }], columns: ['metrics.loss'], selected: [3] }
    })
  })

  it('keeps what the user is typing when the address changes only the selection', async () => {
    const { store } = setup()
    await store.getState().open(7, null)
    store.getState().setFilterText('metrics.lo')
    await store.getState().open(7, { filter: '', sort: [], columns: null, selected: [1] }, false)
    expect(store.getState().filterText).toBe('metrics.lo')
  })
})

describe("a run's metric value", () => {
  it('is the final value when the run reported one, else the latest logged; keys from both', () => {
    const both = runRow(1, 7, { finalMetrics: { loss: 0.2, acc: 0.9 } })
    const logged = runRow(2, 7)
    expect(runMetricValue(both, 'loss')).toBe(0.2)
    expect(runMetricValue(logged, 'loss')).toBe(0.5)
    expect(runMetricValue(logged, 'acc')).toBeUndefined()
    expect(runMetricKeys([both, logged])).toEqual(['acc', 'loss'])
  })
})
