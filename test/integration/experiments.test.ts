import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestCore } from '../support/test-env'
import { failure, startCoreWithSql, type CoreWithSql } from '../support/service-env'

let env: TestCore
let counter = 0

/** A name no other test in this file uses. */
const unique = (label: string): string => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`

/** The DomainError that `work` rejects (or throws) with; fails the test if it succeeds. */
let shared: CoreWithSql
beforeAll(async () => {
  shared = await startCoreWithSql()
  env = shared.env
})
afterAll(() => shared?.close())
const countRows = (table: string): Promise<number> => shared.countRows(table)

const experiments = () => env.core.services.experiments
const runs = () => env.core.services.runs

describe('experiments: create and read', () => {
  it('creates an experiment with every field and reads it back by id and by name', async () => {
    const name = unique('resnet')
    const created = await experiments().create({
      name,
      description: 'image classification baseline',
      modelConfig: { arch: 'resnet50', layers: [3, 4, 6, 3] },
      trainingConfig: { optimizer: 'adamw', amp: true },
      hyperparameters: { lr: 0.001, batch: 256 },
      tags: { team: 'vision', owner: 'ana' },
      createdBy: 'ana'
    })
    expect(created.id).toBeGreaterThan(0)
    expect(created).toMatchObject({
      name,
      description: 'image classification baseline',
      modelConfig: { arch: 'resnet50', layers: [3, 4, 6, 3] },
      trainingConfig: { optimizer: 'adamw', amp: true },
      hyperparameters: { lr: 0.001, batch: 256 },
      tags: { team: 'vision', owner: 'ana' },
      status: 'active',
      compositionId: null,
      createdBy: 'ana'
    })
    expect(Date.parse(created.createdAt)).not.toBeNaN()
    expect(Date.parse(created.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.createdAt))

    expect(await experiments().get(created.id)).toEqual(created)
    expect(await experiments().findByName(name)).toEqual(created)
  })

  it('fills defaults for optional fields', async () => {
    const name = unique('minimal')
    const created = await experiments().create({ name })
    expect(created).toMatchObject({
      name,
      description: '',
      modelConfig: {},
      trainingConfig: {},
      hyperparameters: {},
      tags: {},
      status: 'active',
      createdBy: null
    })
  })

  it('findByName returns undefined for an unknown name; get of an unknown id is not_found', async () => {
    expect(await experiments().findByName(unique('nobody'))).toBeUndefined()
    const error = await failure(() => experiments().get(987_654_321))
    expect(error.code).toBe('not_found')
    expect(error.field).toBe('experimentId')
  })

  it('refuses a malformed id with invalid_argument naming experimentId (0 is MLflow\'s Default experiment, a valid id)', async () => {
    for (const bad of [-1, 1.5, 'abc', null]) {
      const error = await failure(() => experiments().get(bad))
      expect(error.code).toBe('invalid_argument')
      expect(error.field).toBe('experimentId')
    }
  })
})

describe('experiments: list', () => {
  it('lists active experiments or all of them, with run counts and last activity', async () => {
    const active = await experiments().create({ name: unique('list-active') })
    const archived = await experiments().create({ name: unique('list-archived') })
    const run1 = await runs().start({ experimentId: active.id, name: 'r1' })
    await runs().start({ experimentId: active.id, name: 'r2' })
    await runs().start({ experimentId: archived.id, name: 'r3' })
    await experiments().update({ experimentId: archived.id, status: 'archived' })

    const all = await experiments().list()
    const activeOnly = await experiments().listActive()
    const byStatus = await experiments().list({ statuses: ['archived'] })

    expect(all.map((e) => e.id)).toEqual(expect.arrayContaining([active.id, archived.id]))
    expect(activeOnly.map((e) => e.id)).toContain(active.id)
    expect(activeOnly.map((e) => e.id)).not.toContain(archived.id)
    expect(activeOnly.every((e) => e.status === 'active')).toBe(true)
    expect(byStatus.map((e) => e.id)).toContain(archived.id)
    expect(byStatus.every((e) => e.status === 'archived')).toBe(true)

    const activeSummary = all.find((e) => e.id === active.id)!
    const archivedSummary = all.find((e) => e.id === archived.id)!
    expect(activeSummary.runCount).toBe(2)
    expect(archivedSummary.runCount).toBe(1)
    expect(archivedSummary.status).toBe('archived')

    // Last activity follows the runs: finishing a run moves it forward past the experiment's own update.
    const before = Date.parse(activeSummary.lastActivityAt)
    expect(before).toBeGreaterThanOrEqual(Date.parse(run1.updatedAt))
    await new Promise((resolve) => setTimeout(resolve, 15))
    const finished = await runs().complete({ runId: run1.id, status: 'completed' })
    const after = (await experiments().list()).find((e) => e.id === active.id)!
    expect(after.lastActivityAt).toBe(finished.updatedAt)
    expect(Date.parse(after.lastActivityAt)).toBeGreaterThan(before)
    // Experiment's own updated_at did not move: the activity came from the run.
    expect(Date.parse(after.updatedAt)).toBeLessThan(Date.parse(after.lastActivityAt))
  })

  it('an experiment without runs has runCount 0 and last activity = its own update', async () => {
    const lonely = await experiments().create({ name: unique('lonely') })
    const summary = (await experiments().list()).find((e) => e.id === lonely.id)!
    expect(summary.runCount).toBe(0)
    expect(summary.lastActivityAt).toBe(lonely.updatedAt)
  })

  it('orders by last activity, newest first', async () => {
    const first = await experiments().create({ name: unique('order-a') })
    await new Promise((resolve) => setTimeout(resolve, 10))
    const second = await experiments().create({ name: unique('order-b') })
    let ids = (await experiments().list()).map((e) => e.id)
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id))
    await new Promise((resolve) => setTimeout(resolve, 10))
    await runs().start({ experimentId: first.id, name: 'bump' })
    ids = (await experiments().list()).map((e) => e.id)
    expect(ids.indexOf(first.id)).toBeLessThan(ids.indexOf(second.id))
    const listed = await experiments().list()
    for (let i = 1; i < listed.length; i++) {
      expect(Date.parse(listed[i - 1]!.lastActivityAt)).toBeGreaterThanOrEqual(Date.parse(listed[i]!.lastActivityAt))
    }
  })

  it('refuses an unknown status filter', async () => {
    const error = await failure(() => experiments().list({ statuses: ['deleted'] }))
    expect(error.code).toBe('invalid_argument')
    expect(error.field).toBe('statuses[0]')
  })
})

describe('experiments: update', () => {
  it('renames, redescribes, retags', async () => {
    const original = await experiments().create({ name: unique('rename-me'), tags: { a: '1' } })
    const newName = unique('renamed')
    const updated = await experiments().update({
      experimentId: original.id,
      name: newName,
      description: 'now described',
      tags: { b: '2' }
    })
    expect(updated).toMatchObject({ id: original.id, name: newName, description: 'now described', tags: { b: '2' }, status: 'active' })
    expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(original.updatedAt))
    expect(await experiments().findByName(original.name)).toBeUndefined()
    expect((await experiments().findByName(newName))?.id).toBe(original.id)
  })

  it('archives and restores; every documented status is accepted', async () => {
    const experiment = await experiments().create({ name: unique('status') })
    for (const status of ['archived', 'active', 'completed', 'failed', 'active'] as const) {
      const updated = await experiments().update({ experimentId: experiment.id, status })
      expect(updated.status).toBe(status)
      expect((await experiments().get(experiment.id)).status).toBe(status)
    }
    const viaSetStatus = await experiments().setStatus(experiment.id, 'archived')
    expect(viaSetStatus.status).toBe('archived')
  })

  it('refuses an unknown status naming `status`, and changes nothing', async () => {
    const experiment = await experiments().create({ name: unique('bad-status') })
    const error = await failure(() => experiments().update({ experimentId: experiment.id, status: 'deleted' }))
    expect(error.code).toBe('invalid_argument')
    expect(error.field).toBe('status')
    expect(await experiments().get(experiment.id)).toEqual(experiment)
  })

  it('refuses renaming onto an existing name with conflict naming `name`', async () => {
    const a = await experiments().create({ name: unique('taken') })
    const b = await experiments().create({ name: unique('other') })
    const error = await failure(() => experiments().update({ experimentId: b.id, name: a.name }))
    expect(error.code).toBe('conflict')
    expect(error.field).toBe('name')
    expect((await experiments().get(b.id)).name).toBe(b.name)
  })

  it('updating an unknown experiment is not_found', async () => {
    const error = await failure(() => experiments().update({ experimentId: 99_999_999, description: 'x' }))
    expect(error.code).toBe('not_found')
    expect(error.field).toBe('experimentId')
  })

  it('refuses a NUL byte or an over-long name in an update', async () => {
    const experiment = await experiments().create({ name: unique('update-nul') })
    const nul = await failure(() => experiments().update({ experimentId: experiment.id, description: 'a\0b' }))
    expect(nul).toMatchObject({ code: 'invalid_argument', field: 'description' })
    const long = await failure(() => experiments().update({ experimentId: experiment.id, name: 'x'.repeat(257) }))
    expect(long).toMatchObject({ code: 'invalid_argument', field: 'name' })
    expect(await experiments().get(experiment.id)).toEqual(experiment)
  })
})

describe('experiments: rejections', () => {
  it('refuses a duplicate name with conflict naming `name`, writing nothing', async () => {
    const name = unique('dup')
    await experiments().create({ name })
    const before = await countRows('ml_experiment')
    const error = await failure(() => experiments().create({ name, description: 'second' }))
    expect(error.code).toBe('conflict')
    expect(error.field).toBe('name')
    expect(error.message).toContain(name)
    expect(await countRows('ml_experiment')).toBe(before)
    expect((await experiments().findByName(name))?.description).toBe('')
  })

  it('refuses a NUL byte in name or description naming the field, writing nothing', async () => {
    for (const [field, input] of [
      ['name', { name: `bad\0name-${unique('n')}` }],
      ['description', { name: unique('nul-desc'), description: 'before\0after' }]
    ] as const) {
      const before = await countRows('ml_experiment')
      const error = await failure(() => experiments().create(input))
      expect(error.code).toBe('invalid_argument')
      expect(error.field).toBe(field)
      expect(error.message).toMatch(/NUL/)
      expect(await countRows('ml_experiment')).toBe(before)
    }
  })

  it('refuses a NUL byte inside JSON config and tags, naming the path', async () => {
    const before = await countRows('ml_experiment')
    const inConfig = await failure(() => experiments().create({ name: unique('nul-json'), modelConfig: { arch: 'a\0b' } }))
    expect(inConfig).toMatchObject({ code: 'invalid_argument', field: 'modelConfig.arch' })
    const inTag = await failure(() => experiments().create({ name: unique('nul-tag'), tags: { team: 'x\0' } }))
    expect(inTag).toMatchObject({ code: 'invalid_argument', field: 'tags.team' })
    expect(await countRows('ml_experiment')).toBe(before)
  })

  it('accepts a 256-character name and refuses 257 naming `name`', async () => {
    const ok = 'n'.repeat(250) + Math.random().toString(36).slice(2, 8).padEnd(6, '0')
    expect(ok).toHaveLength(256)
    expect((await experiments().create({ name: ok })).name).toBe(ok)
    const before = await countRows('ml_experiment')
    const error = await failure(() => experiments().create({ name: 'm'.repeat(257) }))
    expect(error.code).toBe('invalid_argument')
    expect(error.field).toBe('name')
    expect(await countRows('ml_experiment')).toBe(before)
  })

  it('refuses an empty name and a missing name', async () => {
    expect(await failure(() => experiments().create({ name: '' }))).toMatchObject({ code: 'invalid_argument', field: 'name' })
    expect(await failure(() => experiments().create({}))).toMatchObject({ code: 'invalid_argument', field: 'name' })
  })

  it('refuses an unknown field', async () => {
    const before = await countRows('ml_experiment')
    const error = await failure(() => experiments().create({ name: unique('extra'), colour: 'blue' }))
    expect(error.code).toBe('invalid_argument')
    expect(error.field).toBe('colour')
    expect(error.message).toContain('colour')
    const onUpdate = await failure(() => experiments().update({ experimentId: 1, colour: 'blue' }))
    expect(onUpdate.code).toBe('invalid_argument')
    expect(onUpdate.field).toBe('colour')
    expect(onUpdate.message).toContain('colour')
    expect(await countRows('ml_experiment')).toBe(before)
  })

  it('refuses a status on create (new experiments are active) and a non-object input', async () => {
    const error = await failure(() => experiments().create({ name: unique('with-status'), status: 'archived' }))
    expect(error.code).toBe('invalid_argument')
    expect((await failure(() => experiments().create('just a string'))).code).toBe('invalid_argument')
    expect((await failure(() => experiments().create(null))).code).toBe('invalid_argument')
  })

  it('refuses to start a run in an archived experiment (conflict), and accepts again once restored', async () => {
    const experiment = await experiments().create({ name: unique('archived-runs') })
    await experiments().update({ experimentId: experiment.id, status: 'archived' })
    const before = await countRows('ml_run')
    const error = await failure(() => runs().start({ experimentId: experiment.id, name: 'late' }))
    expect(error.code).toBe('conflict')
    expect(error.field).toBe('experimentId')
    expect(await countRows('ml_run')).toBe(before)

    await experiments().update({ experimentId: experiment.id, status: 'active' })
    const run = await runs().start({ experimentId: experiment.id, name: 'after-restore' })
    expect(run.experimentId).toBe(experiment.id)
    expect(run.status).toBe('running')
  })

  it('refuses a run in a completed or failed experiment too', async () => {
    for (const status of ['completed', 'failed'] as const) {
      const experiment = await experiments().create({ name: unique(`exp-${status}`) })
      await experiments().setStatus(experiment.id, status)
      expect(await failure(() => runs().start({ experimentId: experiment.id }))).toMatchObject({ code: 'conflict', field: 'experimentId' })
    }
  })
})
