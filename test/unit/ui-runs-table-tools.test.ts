import { describe, expect, it } from 'vitest'
import { applySuggestion, closestKey, suggest, unknownKeys } from '../../src/renderer/src/lib/filter-suggest'
import { runsToCsv, runsToJson } from '../../src/renderer/src/lib/runs-export'
import { memoryStorage } from '../../src/renderer/src/lib/storage'
import { parseRoute, routeHash } from '../../src/renderer/src/stores/app-store'
import { createRunsTableStore, widthsKey } from '../../src/renderer/src/stores/runs-table-store'
import { fakeApi, runRow } from './ui-fake-api'

/** The runs table's tools (issue 13): filter completions and key check, export, column order and widths, deleted runs. */

const KEYS = { params: ['batch_size', 'lr'], metrics: ['accuracy', 'val_loss'], tags: ['team'] }
const labels = (text: string, caret = text.length): string[] => suggest(text, caret, KEYS).items.map((item) => item.label)

describe('filter completions', () => {
  it('offers fields at the start, after and/or and after (, by prefix or by key alone', () => {
    expect(labels('')).toEqual(['metrics.accuracy', 'metrics.val_loss', 'params.batch_size', 'params.lr', 'tags.team', 'status', 'name', 'attributes.start_time', 'attributes.end_time', 'attributes.run_id', 'attributes.user_id'])
    expect(labels('metrics.v')).toEqual(['metrics.val_loss'])
    expect(labels('acc')).toEqual(['metrics.accuracy'])
    expect(labels("status = 'completed' and (par")).toEqual(['params.batch_size', 'params.lr'])
    expect(labels('lr = 1 OR te')).toEqual(['tags.team'])
  })

  it('offers operators after a field, and and/or after a value', () => {
    expect(labels('metrics.accuracy ')).toEqual(['=', '!=', '<', '<=', '>', '>=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'])
    expect(labels('name l')).toEqual(['LIKE'])
    expect(labels('metrics.accuracy > 0.9 o')).toEqual(['or'])
    expect(labels("tags.team = 'nlp' a")).toEqual(['and'])
    // Nothing while a value is being typed.
    expect(labels('metrics.accuracy > 0.')).toEqual([])
  })

  it('replaces the whole word at the caret, also in the middle of the text', () => {
    const text = 'metrics.acc > 0.9'
    const suggestions = suggest(text, 'metrics.ac'.length, KEYS)
    expect(suggestions.items.map((item) => item.label)).toEqual(['metrics.accuracy'])
    expect(applySuggestion(text, suggestions, suggestions.items[0]!)).toEqual({ text: 'metrics.accuracy > 0.9', caret: 'metrics.accuracy '.length })
  })
})

describe('keys no run has', () => {
  it('names each misspelled key once, with the closest existing key of its kind', () => {
    expect(unknownKeys("metrics.acuracy > 0.9 and (params.lr = 0.1 or params.lrr = 2) and metrics.acuracy < 1", KEYS)).toEqual([
      { field: 'metrics.acuracy', closest: 'metrics.accuracy' },
      { field: 'params.lrr', closest: 'params.lr' }
    ])
    expect(unknownKeys("tags.completely_different = 'x'", KEYS)).toEqual([{ field: 'tags.completely_different', closest: null }])
  })

  it('flags nothing for known keys, attributes, invalid filters or before the keys are loaded', () => {
    expect(unknownKeys("metrics.accuracy > 0.9 and status = 'completed' and name like 'a%'", KEYS)).toEqual([])
    expect(unknownKeys('metrics.nope <', KEYS)).toEqual([])
    expect(unknownKeys('metrics.nope < 1', null)).toEqual([])
  })

  it('takes a close key only', () => {
    expect(closestKey('val_los', ['accuracy', 'val_loss'])).toBe('val_loss')
    expect(closestKey('loss', ['accuracy'])).toBeNull()
  })
})

describe('export', () => {
  const rows = [
    { name: 'a, "quoted"', loss: 0.123456789, params: { depth: 3 } },
    { name: 'b', loss: Number.NaN, params: undefined }
  ]
  const columns = [
    { id: 'name', value: (index: number) => rows[index]!.name },
    { id: 'metrics.loss', value: (index: number) => rows[index]!.loss },
    { id: 'params.arch', value: (index: number) => rows[index]!.params }
  ]

  it('writes CSV as RFC 4180 with values at full precision', () => {
    expect(runsToCsv(columns, 2)).toBe('name,metrics.loss,params.arch\r\n"a, ""quoted""",0.123456789,"{""depth"":3}"\r\nb,NaN,\r\n')
  })

  it('writes JSON with one object per row, keys in column order, NaN and missing as null', () => {
    expect(JSON.parse(runsToJson(columns, 2))).toEqual([
      { name: 'a, "quoted"', 'metrics.loss': 0.123456789, 'params.arch': { depth: 3 } },
      { name: 'b', 'metrics.loss': null, 'params.arch': null }
    ])
  })
})

describe('the address carries widths, the name search and the deleted view', () => {
  it('round-trips them, keeping ids with colons and dropping absurd widths', () => {
    const table = { filter: '', sort: [], columns: null, selected: null, widths: { name: 300, 'tags.a:b': 90 }, nameQuery: 'base', deleted: true }
    const hash = routeHash({ page: 'experiment', experimentId: 3, tab: 'runs', table })
    expect(parseRoute(hash)).toEqual({ page: 'experiment', experimentId: 3, tab: 'runs', table })
    expect(parseRoute('#/experiments/3?w=9999:name&w=10:status&w=x:y')).toMatchObject({ table: { filter: '' } })
    expect((parseRoute('#/experiments/3?w=9999:name') as { table: object }).table).not.toHaveProperty('widths')
  })
})

describe('runs table store: column order and widths, deleted runs', () => {
  function setup() {
    const fake = fakeApi({
      'runs.list': ({ deleted }) => (deleted ? [runRow(9, 7)] : [runRow(1, 7), runRow(2, 7)]),
      'runs.rows': ({ runIds, deleted }) => (deleted === false ? runIds.filter((id: number) => id !== 2).map((id: number) => runRow(id, 7)) : [])
    })
    const storage = memoryStorage()
    const hashes: string[] = []
    const store = createRunsTableStore({ api: fake.api, storage, navigate: (hash) => void hashes.push(hash) })
    return { fake, storage, store, hashes }
  }

  it('moves a column by the picker’s buttons and by a drop before another, and publishes the order', async () => {
    const { store, hashes } = setup()
    await store.getState().open(7)
    const available = ['params.a', 'params.b', 'metrics.c']
    store.getState().moveColumn('metrics.c', -1, available)
    expect(store.getState().chosenColumns).toEqual(['params.a', 'metrics.c', 'params.b'])
    store.getState().placeColumn('params.a', null, available)
    expect(store.getState().chosenColumns).toEqual(['metrics.c', 'params.b', 'params.a'])
    store.getState().placeColumn('params.a', 'metrics.c', available)
    expect(store.getState().chosenColumns).toEqual(['params.a', 'metrics.c', 'params.b'])
    expect(hashes.at(-1)).toBe('#/experiments/7?col=params.a&col=metrics.c&col=params.b')
  })

  it('remembers a dragged width once the drag ends, within bounds', async () => {
    const { store, storage, hashes } = setup()
    await store.getState().open(7)
    store.getState().setColumnWidth('name', 320, false)
    expect(storage.getItem(widthsKey(7))).toBeNull()
    const published = hashes.length
    store.getState().setColumnWidth('name', 5, true)
    expect(store.getState().columnWidths).toEqual({ name: 48 })
    expect(JSON.parse(storage.getItem(widthsKey(7))!)).toEqual({ name: 48 })
    expect(hashes.length).toBe(published + 1)
  })

  it('forgets the keys and the last bulk outcome of another experiment', async () => {
    const fake = fakeApi({
      'runs.list': ({ experimentId }) => [runRow(experimentId, experimentId)],
      'runs.keys': ({ experimentId }) => ({ params: [], metrics: [`m${experimentId}`], tags: [] }),
      'runs.deleteMany': ({ runIds }) => ({ runIds })
    })
    const store = createRunsTableStore({ api: fake.api, storage: memoryStorage() })
    await store.getState().open(7)
    await store.getState().loadKeys()
    store.getState().setSelected([7])
    await store.getState().deleteSelected()
    expect(store.getState().bulkOutcome?.message).toMatch(/^Deleted 1 run;/)
    expect(store.getState().keys?.metrics).toEqual(['m7'])
    await store.getState().open(8)
    const loading = store.getState().loadKeys()
    expect(store.getState().keys).toBeNull()
    expect(store.getState().bulkOutcome).toBeNull()
    await loading
    expect(store.getState().keys?.metrics).toEqual(['m8'])
  })

  it('shows the deleted runs on request, and a live refresh drops a run that left the state shown', async () => {
    const { store, fake } = setup()
    await store.getState().open(7)
    await store.getState().refreshRows([2])
    expect(store.getState().rows.map((row) => row.id)).toEqual([1])
    await store.getState().setShowDeleted(true)
    expect(fake.callsOf('runs.list').at(-1)!.input).toEqual({ experimentId: 7, deleted: true })
    expect(store.getState().rows.map((row) => row.id)).toEqual([9])
  })
})
