import { describe, expect, it, vi } from 'vitest'
import { memoryStorage } from '../../src/renderer/src/lib/storage'
import { availableColumns, columnsKey, createRunsTableStore, FIRST_SCREEN_ROWS, selectionKey, visibleColumns } from '../../src/renderer/src/stores/runs-table-store'
import { fakeApi, Refusal, runRow } from './ui-fake-api'

function setup(rows = [runRow(1, 7), runRow(2, 7)]) {
  const fake = fakeApi({
    'runs.list': () => rows,
    'runs.search': ({ filter }) =>
      filter.includes('unknown_thing') ? new Refusal({ code: 'invalid_argument', message: 'filter: unknown field "unknown_thing" (at position 4)', field: 'filter' }) : rows.slice(0, 1),
    'runs.rows': ({ runIds }) => runIds.map((id: number) => runRow(id, 7, { status: 'completed' }))
  })
  const storage = memoryStorage()
  const store = createRunsTableStore({ api: fake.api, storage })
  return { fake, storage, store }
}

describe('the runs table store', () => {
  it('loads an experiment’s runs', async () => {
    const { store } = setup()
    await store.getState().open(7)
    expect(store.getState().rows.map((row) => row.id)).toEqual([1, 2])
    expect(store.getState().loading).toBe(false)
  })

  it('finds a syntax error with its position without asking main', async () => {
    const { store, fake } = setup()
    await store.getState().open(7)
    store.getState().setFilterText('metrics.loss < and')
    await store.getState().applyFilter()
    expect(store.getState().filterError).toMatchObject({ position: 15 })
    expect(store.getState().filterError!.message).toMatch(/expected a value/)
    expect(fake.callsOf('runs.search')).toHaveLength(0)
    expect(store.getState().rows).toHaveLength(2)
  })

  it('searches with a valid filter, and shows main’s refusal at the position it names', async () => {
    const { store, fake } = setup()
    await store.getState().open(7)
    store.getState().setFilterText("metrics.loss < 0.6 or (params.lr = '0.1')")
    await store.getState().applyFilter()
    expect(fake.callsOf('runs.search')[0]!.input).toEqual({ experimentId: 7, filter: "metrics.loss < 0.6 or (params.lr = '0.1')", deleted: false })
    expect(store.getState().rows.map((row) => row.id)).toEqual([1])
    expect(store.getState().appliedFilter).toBe("metrics.loss < 0.6 or (params.lr = '0.1')")

    store.getState().setFilterText("tags.unknown_thing = 'x'")
    await store.getState().applyFilter()
    expect(store.getState().filterError).toEqual({ message: 'filter: unknown field "unknown_thing" (at position 4)', position: 4 })
  })

  it('patches changed runs in place and puts new runs of the experiment first', async () => {
    const { store, fake } = setup()
    await store.getState().open(7)
    await store.getState().refreshRows([2, 3])
    // Only runs in the state shown (active): one deleted elsewhere leaves the table.
    expect(fake.callsOf('runs.rows')[0]!.input).toEqual({ runIds: [2, 3], deleted: false })
    expect(store.getState().rows.map((row) => [row.id, row.status])).toEqual([
      [3, 'completed'],
      [1, 'running'],
      [2, 'completed']
    ])
  })

  it('searches again instead of patching while a filter is applied (only main knows what matches)', async () => {
    const { store, fake } = setup()
    await store.getState().open(7)
    store.getState().setFilterText('metrics.loss < 0.6')
    await store.getState().applyFilter()
    await store.getState().refreshRows([2])
    expect(fake.callsOf('runs.rows')).toHaveLength(0)
    expect(fake.callsOf('runs.search')).toHaveLength(2)
  })

  it('remembers chosen columns and the compare selection per experiment', async () => {
    const { store, storage, fake } = setup()
    await store.getState().open(7)
    const available = availableColumns(store.getState().rows)
    expect(available).toEqual(['params.lr', 'metrics.loss'])
    expect(visibleColumns(store.getState().chosenColumns, available)).toEqual(['params.lr', 'metrics.loss'])
    store.getState().toggleColumn('params.lr', available)
    store.getState().toggleSelected(2)
    store.getState().toggleSelected(1)
    store.getState().toggleSelected(2)
    expect(JSON.parse(storage.getItem(columnsKey(7))!)).toEqual(['metrics.loss'])
    expect(JSON.parse(storage.getItem(selectionKey(7))!)).toEqual([1])

    // Another store on the same storage (a reload) finds both again.
    const reloaded = createRunsTableStore({ api: fake.api, storage })
    await reloaded.getState().open(7)
    expect(reloaded.getState().chosenColumns).toEqual(['metrics.loss'])
    expect(reloaded.getState().selected).toEqual([1])
    await reloaded.getState().open(8)
    expect(reloaded.getState().chosenColumns).toBeNull()
    expect(reloaded.getState().selected).toEqual([])
  })

  it('drops an answer that arrives after a newer load started', async () => {
    let release!: () => void
    const slow = new Promise<void>((resolve) => (release = resolve))
    const fake = fakeApi({
      'runs.list': async ({ experimentId }) => {
        if (experimentId === 1) await slow
        return [runRow(experimentId * 10, experimentId)]
      }
    })
    const store = createRunsTableStore({ api: fake.api, storage: memoryStorage() })
    const first = store.getState().open(1)
    await store.getState().open(2)
    release()
    await first
    expect(store.getState().rows.map((row) => row.id)).toEqual([20])
  })

  describe('a large experiment opened afresh', () => {
    const many = Array.from({ length: FIRST_SCREEN_ROWS + 50 }, (_, i) => runRow(1000 - i, 7))
    function gated() {
      let release!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      const fake = fakeApi({
        'runs.list': async ({ limit }) => {
          if (limit !== undefined) return many.slice(0, limit)
          await gate
          return many
        }
      })
      return { fake, release, store: createRunsTableStore({ api: fake.api, storage: memoryStorage() }) }
    }

    it('shows its newest runs first, then all of them', async () => {
      const { fake, release, store } = gated()
      const opening = store.getState().open(7)
      await vi.waitFor(() => expect(store.getState().rows).toHaveLength(FIRST_SCREEN_ROWS))
      expect(store.getState().rows.map((row) => row.id)).toEqual(many.slice(0, FIRST_SCREEN_ROWS).map((row) => row.id))
      expect(store.getState()).toMatchObject({ loading: true, loadingRest: true })
      release()
      await opening
      expect(store.getState().rows.map((row) => row.id)).toEqual(many.map((row) => row.id))
      expect(store.getState()).toMatchObject({ loading: false, loadingRest: false })
      expect(fake.callsOf('runs.list').map((call) => call.input)).toEqual([
        { experimentId: 7, deleted: false, limit: FIRST_SCREEN_ROWS },
        { experimentId: 7, deleted: false }
      ])
    })

    it('asks once when the first screen holds every run', async () => {
      const fake = fakeApi({ 'runs.list': () => [runRow(1, 7), runRow(2, 7)] })
      const store = createRunsTableStore({ api: fake.api, storage: memoryStorage() })
      await store.getState().open(7)
      expect(fake.callsOf('runs.list')).toHaveLength(1)
      expect(store.getState()).toMatchObject({ loading: false, loadingRest: false })
    })

    it('loads everything at once when the address sorts, groups or searches (the first screen would not be the top of that table)', async () => {
      for (const url of [
        { filter: '', sort: [{ id: 'name', desc: false }], columns: null, selected: null },
        { filter: '', sort: [], columns: null, selected: null, group: 'params.lr' },
        { filter: '', sort: [], columns: null, selected: null, nameQuery: 'run-9' }
      ]) {
        const fake = fakeApi({ 'runs.list': () => many })
        const store = createRunsTableStore({ api: fake.api, storage: memoryStorage() })
        await store.getState().open(7, url)
        expect(fake.callsOf('runs.list').map((call) => call.input)).toEqual([{ experimentId: 7, deleted: false }])
      }
    })

    it('drops a first screen and its rest when another experiment is opened meanwhile', async () => {
      let release!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      const fake = fakeApi({
        'runs.list': async ({ experimentId, limit }) => {
          if (experimentId === 8) return [runRow(5, 8)]
          if (limit !== undefined) return many.slice(0, limit)
          await gate
          return many
        }
      })
      const store = createRunsTableStore({ api: fake.api, storage: memoryStorage() })
      const opening = store.getState().open(7)
      await vi.waitFor(() => expect(store.getState().loadingRest).toBe(true))
      await store.getState().open(8)
      release()
      await opening
      expect(store.getState()).toMatchObject({ experimentId: 8, loading: false, loadingRest: false })
      expect(store.getState().rows.map((row) => row.id)).toEqual([5])
    })
  })
})
