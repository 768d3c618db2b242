import { describe, expect, it } from 'vitest'
import type { Deployment, MetricSeries, ModelVersion } from '../../src/shared/domain'
import { compareTableRows, runsInBrushes } from '../../src/renderer/src/lib/compare'
import { memoryStorage } from '../../src/renderer/src/lib/storage'
import { createCompareStore, COMPARE_MAX_POINTS } from '../../src/renderer/src/stores/compare-store'
import { createModelsStore, LEGAL_REVIEWS, legalDeploymentActions } from '../../src/renderer/src/stores/models-store'
import { selectionKey } from '../../src/renderer/src/stores/runs-table-store'
import { createSystemStore } from '../../src/renderer/src/stores/system-store'
import { fakeApi, Refusal, runRow } from './ui-fake-api'

const rows = [
  runRow(1, 7, { hyperparameters: { lr: 0.1, batch: 32 }, tags: { team: 'a' } }),
  runRow(2, 7, { hyperparameters: { lr: 0.01, batch: 32 }, tags: { team: 'a' } }),
  runRow(3, 7, { hyperparameters: { lr: '0.001', batch: 32 }, tags: { team: 'b' } })
]
const series = (runId: number, key: string): MetricSeries => ({ runId, key, totalPoints: 1, mode: 'raw', points: [], buckets: [] })

describe('the compare helpers', () => {
  it('keeps only differing rows on request and marks min and max (numbers in strings count)', () => {
    const all = compareTableRows(rows, false)
    expect(all.map((row) => row.dimension)).toContain('params.batch')
    const differing = compareTableRows(rows, true)
    expect(differing.map((row) => row.dimension)).not.toContain('params.batch')
    const lr = differing.find((row) => row.dimension === 'params.lr')!
    expect([lr.minIndex, lr.maxIndex]).toEqual([2, 0])
    // Tags differ but have no min/max.
    expect(differing.find((row) => row.dimension === 'tags.team')).toMatchObject({ minIndex: null, maxIndex: null })
  })

  it('filters runs by every brush; a run without a value is outside', () => {
    expect(runsInBrushes(rows, { 'params.lr': { min: 0.005, max: 1 } }).map((run) => run.id)).toEqual([1, 2])
    expect(runsInBrushes(rows, { 'params.lr': { min: 0.005, max: 1 }, 'params.missing': { min: 0, max: 1 } })).toEqual([])
  })
})

describe('the compare store', () => {
  function setup() {
    const storage = memoryStorage()
    storage.setItem(selectionKey(7), JSON.stringify([3, 1, 2]))
    const fake = fakeApi({
      'runs.rows': ({ runIds }) => rows.filter((row) => runIds.includes(row.id)),
      'runs.metricSeries': ({ runId, key }) => series(runId, key),
      'compare.nearestRuns': () => [{ runId: 9, distance: 0.5 }],
      'compare.distanceMatrix': ({ runIds }) => ({ runIds, keys: ['params.lr'], matrix: runIds.map(() => runIds.map(() => 1)) })
    })
    return { fake, storage, store: createCompareStore({ api: fake.api, storage }) }
  }

  it('opens the stored selection in its order and loads one overlay per metric key with the run page downsampling', async () => {
    const { store, fake } = setup()
    await store.getState().open(7)
    expect(store.getState().runs.map((run) => run.id)).toEqual([3, 1, 2])
    expect(Object.keys(store.getState().charts.loss!.series).map(Number).sort()).toEqual([1, 2, 3])
    expect(fake.callsOf('runs.metricSeries').every((call) => call.input.maxPoints === COMPARE_MAX_POINTS)).toBe(true)
  })

  it('writes the brushed runs back to the stored selection', async () => {
    const { store, storage } = setup()
    await store.getState().open(7)
    store.getState().setBrush('params.lr', { min: 1, max: 0.005 })
    expect(store.getState().brushes['params.lr']).toEqual({ min: 0.005, max: 1 })
    store.getState().keepBrushed()
    expect(JSON.parse(storage.getItem(selectionKey(7))!)).toEqual([1, 2])
    expect(store.getState().brushes).toEqual({})
  })

  it('asks the chosen plugin for similar runs (with names of runs outside the selection) and the matrix', async () => {
    const { store, fake } = setup()
    await store.getState().open(7)
    store.getState().setPlugin('cosine')
    await store.getState().findSimilar(1)
    expect(fake.callsOf('compare.nearestRuns')[0]!.input).toEqual({ experimentId: 7, runId: 1, plugin: 'cosine', k: 5 })
    expect(store.getState().similar).toEqual([{ runId: 9, distance: 0.5 }])
    await store.getState().loadMatrix()
    expect(store.getState().matrix!.matrix).toHaveLength(3)
  })
})

const version = (id: number, approvalStatus: ModelVersion['approvalStatus']): ModelVersion =>
  ({ id, modelName: 'm', version: String(id), approvalStatus, parentVersionId: null, aliases: [], tags: {}, performanceMetrics: {} }) as unknown as ModelVersion

describe('the models store', () => {
  it('offers only the legal approval moves and deployment actions', () => {
    expect(LEGAL_REVIEWS.pending).toEqual(['approve', 'reject'])
    expect(LEGAL_REVIEWS.rejected).toEqual([])
    const versions = [version(1, 'approved'), version(2, 'approved'), version(3, 'deprecated')]
    const canary = { strategy: 'canary', canaryTrafficPercent: 10, previousVersionId: 1 } as Deployment
    expect(legalDeploymentActions(canary, versions)).toEqual(['promote', 'abort'])
    // A first canary has nothing to go back to: promote only.
    expect(legalDeploymentActions({ ...canary, previousVersionId: null }, versions)).toEqual(['promote'])
    // Promoted: the canary takes all traffic, so only a rollback is left.
    expect(legalDeploymentActions({ ...canary, canaryTrafficPercent: 100 }, versions)).toEqual(['rollback'])
    // Main never returns to a version that is no longer approved.
    expect(legalDeploymentActions({ strategy: 'blue-green', canaryTrafficPercent: null, previousVersionId: 3 } as Deployment, versions)).toEqual([])
    expect(legalDeploymentActions({ strategy: 'blue-green', canaryTrafficPercent: null, previousVersionId: null } as Deployment, versions)).toEqual([])
  })

  it('shows main’s refusal of a deploy and keeps the progress of its own comparison only', async () => {
    let release: () => void = () => undefined
    const fake = fakeApi({
      'models.versions': () => [version(1, 'rejected')],
      'deployments.list': () => [],
      'deployments.history': () => [],
      'models.list': () => [],
      'deployments.deploy': () => new Refusal({ code: 'conflict', message: 'm version 1 is rejected; only an approved version can be deployed', field: 'approval_status' }),
      'models.compare': () => new Promise((resolve) => (release = () => resolve({ tensors: null }))) 
    })
    const store = createModelsStore(fake.api)
    await store.getState().openModel('m')
    expect(await store.getState().deploy({ versionId: 1, strategy: 'blue-green' })).toBe(false)
    expect(store.getState().actionError).toMatchObject({ code: 'conflict', field: 'approval_status' })

    const running = store.getState().compare(1, 2)
    const requestId = store.getState().comparisonRequest!
    store.getState().onComparisonProgress({ requestId: 'someone-else', bytesDone: 5, bytesTotal: 10, tensor: 'x' })
    expect(store.getState().comparisonProgress).toBeNull()
    store.getState().onComparisonProgress({ requestId, bytesDone: 4, bytesTotal: 10, tensor: 'w' })
    expect(store.getState().comparisonProgress).toEqual({ bytesDone: 4, bytesTotal: 10, tensor: 'w' })
    release()
    await running
    expect(store.getState().comparing).toBe(false)
  })
})

describe('the system store', () => {
  it('replaces a plugin after an action and keeps a refused database URL out of the settings', async () => {
    const fake = fakeApi({
      'plugins.list': () => [{ name: 'cosine', state: 'running' }],
      'plugins.disable': ({ name }) => ({ name, state: 'disabled' }),
      'settings.setDatabase': () => new Refusal({ code: 'invalid_argument', message: 'cannot use this server: connection refused', field: 'url' })
    })
    const store = createSystemStore(fake.api)
    await store.getState().loadPlugins()
    await store.getState().pluginAction('disable', 'cosine')
    expect(store.getState().plugins).toEqual([{ name: 'cosine', state: 'disabled' }])
    await store.getState().saveDatabase('postgresql://x@127.0.0.1:1/db')
    expect(store.getState().databaseError).toMatchObject({ field: 'url' })
    expect(store.getState().databaseSaved).toBe(false)
  })
})
