import { describe, expect, it } from 'vitest'
import type { ExperimentSummary } from '../../src/shared/domain'
import { createExperimentsStore, visibleExperiments } from '../../src/renderer/src/stores/experiments-store'
import { fakeApi, Refusal } from './ui-fake-api'

function experiment(id: number, name: string, status: ExperimentSummary['status'] = 'active'): ExperimentSummary {
  return { id, name, description: '', modelConfig: {}, trainingConfig: {}, hyperparameters: {}, tags: {}, status, compositionId: null, createdBy: null, createdAt: '', updatedAt: '', runCount: 0, lastActivityAt: '' }
}

function setup() {
  const experiments = [experiment(1, 'a'), experiment(2, 'b', 'archived')]
  const fake = fakeApi({
    'experiments.list': () => experiments.map((item) => ({ ...item })),
    'experiments.create': ({ name }) => {
      if (experiments.some((item) => item.name === name)) return new Refusal({ code: 'conflict', message: `an experiment named ${name} exists`, field: 'name' })
      experiments.push(experiment(experiments.length + 1, name))
      return experiments.at(-1)
    },
    'experiments.update': ({ experimentId, name, status }) => {
      const target = experiments.find((item) => item.id === experimentId)!
      if (name === '') return new Refusal({ code: 'invalid_argument', message: 'name: must not be empty', field: 'name' })
      if (name !== undefined) target.name = name
      if (status !== undefined) target.status = status
      return target
    },
    'experiments.delete': ({ experimentId }) => Object.assign(experiments.find((item) => item.id === experimentId)!, { status: 'archived' as const }),
    'experiments.restore': ({ experimentId }) => Object.assign(experiments.find((item) => item.id === experimentId)!, { status: 'active' as const })
  })
  return { fake, store: createExperimentsStore(fake.api) }
}

describe('the experiments store', () => {
  it('hides archived experiments unless asked', async () => {
    const { store } = setup()
    await store.getState().load()
    expect(visibleExperiments(store.getState()).map((item) => item.name)).toEqual(['a'])
    store.getState().setShowArchived(true)
    expect(visibleExperiments(store.getState()).map((item) => item.name)).toEqual(['a', 'b'])
    store.getState().setQuery(' B ')
    expect(visibleExperiments(store.getState()).map((item) => item.name)).toEqual(['b'])
  })

  it('creates, and keeps a refusal for the form to show', async () => {
    const { store } = setup()
    expect(await store.getState().create('  c  ', '')).toBe(3)
    expect(store.getState().experiments.map((item) => item.name)).toContain('c')
    expect(await store.getState().create('a', '')).toBeUndefined()
    expect(store.getState().createError).toMatchObject({ code: 'conflict', field: 'name' })
  })

  it('renames, archives and restores, with errors kept on the row they belong to', async () => {
    const { store } = setup()
    await store.getState().load()
    expect(await store.getState().rename(1, 'renamed')).toBe(true)
    expect(await store.getState().rename(1, '')).toBe(false)
    expect(store.getState().rowErrors[1]?.message).toBe('name: must not be empty')
    expect(await store.getState().setArchived(1, true)).toBe(true)
    expect(store.getState().rowErrors[1]).toBeUndefined()
    expect(store.getState().experiments.find((item) => item.id === 1)).toMatchObject({ name: 'renamed', status: 'archived' })
    await store.getState().setArchived(1, false)
    expect(store.getState().experiments.find((item) => item.id === 1)?.status).toBe('active')
  })
})
