import { describe, expect, it } from 'vitest'
import type { MetricSeries } from '../../src/shared/domain'
import { createRunPageStore } from '../../src/renderer/src/stores/run-page-store'
import { fakeApi, Refusal, runRow } from './ui-fake-api'

const series = (key: string, totalPoints: number): MetricSeries => ({ runId: 5, key, totalPoints, mode: 'raw', points: [], buckets: [] })

function setup(options: { artifactsFail?: boolean } = {}) {
  let total = 100
  const run = { ...runRow(5, 1), logs: 'hello', stackTrace: null, errorMessage: null, metrics: [{ key: 'loss', lastValue: 1, lastStep: 9n, lastTimestamp: 0, min: 0, max: 1, count: 10 }] }
  const fake = fakeApi({
    'runs.get': () => run,
    'runs.isDeleted': () => false,
    'runs.checkpoints': () => [],
    'artifacts.list': () =>
      options.artifactsFail
        ? new Refusal({ code: 'unavailable', message: 'artifact folder unreadable' })
        : [{ id: 3, runId: 5, modelVersionId: null, kind: 'model', path: 'model.pt', uri: null, sizeBytes: 10, blake3: 'a'.repeat(64), metadata: {}, createdAt: '', verifiedAt: null }],
    'artifacts.verify': ({ artifactId }) => ({
      artifact: { id: artifactId, runId: 5, modelVersionId: null, kind: 'model', path: 'model.pt', uri: null, sizeBytes: 10, blake3: 'a'.repeat(64), metadata: {}, createdAt: '', verifiedAt: '2026-01-01T00:00:00Z' },
      verified: true,
      expectedBlake3: 'a'.repeat(64),
      actualBlake3: 'a'.repeat(64),
      expectedSizeBytes: 10,
      actualSizeBytes: 10
    }),
    'runs.metricSeries': ({ key }) => series(key, (total += 50))
  })
  return { fake, store: createRunPageStore(fake.api) }
}

describe('the run page store', () => {
  it('opens a run with its checkpoints, artifacts and one chart per metric key', async () => {
    const { store, fake } = setup()
    await store.getState().open(5)
    const state = store.getState()
    expect(state.run?.name).toBe('run-5')
    expect(state.artifacts.map((artifact) => artifact.path)).toEqual(['model.pt'])
    expect(Object.keys(state.charts)).toEqual(['loss'])
    expect(state.charts.loss!.series!.totalPoints).toBe(150)
    expect(fake.callsOf('runs.metricSeries')[0]!.input).toEqual({ runId: 5, key: 'loss', maxPoints: 2000 })
  })

  it('re-queries a zoomed step range, keeps it on live refreshes, and drops it on reset', async () => {
    const { store, fake } = setup()
    await store.getState().open(5)
    await store.getState().zoom('loss', { fromStep: 900n, toStep: 100n })
    expect(fake.callsOf('runs.metricSeries').at(-1)!.input).toMatchObject({ fromStep: 100n, toStep: 900n })
    await store.getState().refreshSeries(['loss', 'accuracy'])
    const refreshes = fake.callsOf('runs.metricSeries').slice(-2).map((call) => call.input)
    expect(refreshes).toContainEqual({ runId: 5, key: 'loss', maxPoints: 2000, fromStep: 100n, toStep: 900n })
    expect(refreshes).toContainEqual({ runId: 5, key: 'accuracy', maxPoints: 2000 })
    expect(Object.keys(store.getState().charts).sort()).toEqual(['accuracy', 'loss'])
    await store.getState().resetZoom('loss')
    expect(store.getState().charts.loss!.zoom).toBeNull()
    expect(fake.callsOf('runs.metricSeries').at(-1)!.input).toEqual({ runId: 5, key: 'loss', maxPoints: 2000 })
  })

  it('shows the run even when its artifacts cannot be listed', async () => {
    const { store } = setup({ artifactsFail: true })
    await store.getState().open(5)
    expect(store.getState().run).not.toBeNull()
    expect(store.getState().artifactsError?.message).toBe('artifact folder unreadable')
  })

  it('verifies an artifact and records the result on its row', async () => {
    const { store } = setup()
    await store.getState().open(5)
    const pending = store.getState().verify(3)
    expect(store.getState().verifying[3]).toBe(true)
    await pending
    expect(store.getState().verifying[3]).toBe(false)
    expect(store.getState().verifications[3]).toMatchObject({ verified: true })
    expect(store.getState().artifacts[0]!.verifiedAt).toBe('2026-01-01T00:00:00Z')
  })

  it('keeps the smoothing weight within 0..0.99', () => {
    const { store } = setup()
    store.getState().setSmoothing(5)
    expect(store.getState().smoothing).toBe(0.99)
    store.getState().setSmoothing(-1)
    expect(store.getState().smoothing).toBe(0)
  })
})
