import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import type { TestCore } from '../support/test-env'
import { failure, startCoreWithSql, type CoreWithSql } from '../support/service-env'

/**
 * The registry operations the MLflow door needs, as ModelService rules: registered models apart
 * from their versions, MLflow's stage label (which never approves or deploys), deletion refused
 * while deployed, and MLflow 3's logged models.
 */

let env: TestCore
let sql: pg.Client
let counter = 0
const unique = (label: string): string => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
const models = () => env.core.services.models

let shared: CoreWithSql
beforeAll(async () => {
  shared = await startCoreWithSql()
  ;({ env, sql } = shared)
})
afterAll(() => shared?.close())

describe('registered models', () => {
  it('are created once, renamed everywhere their name is a key, and deleted with their versions unless deployed', async () => {
    const name = unique('model')
    await models().createRegisteredModel({ modelName: name, tags: { team: 'a' } })
    expect((await failure(() => models().createRegisteredModel({ modelName: name }))).code).toBe('conflict')

    const version = await models().registerLinkedVersion({ modelName: name, artifactUri: '/m/1', runLink: 'http://x', loggedModelId: null })
    await models().setAlias({ modelName: name, alias: 'champion', versionId: version.id })
    const renamed = unique('renamed')
    await models().renameRegisteredModel({ modelName: name, newName: renamed })
    expect((await models().getAlias({ modelName: renamed, alias: 'champion' })).versionId).toBe(version.id)
    expect((await models().getVersion(version.id)).modelName).toBe(renamed)

    await models().approve({ versionId: version.id })
    await models().deploy({ modelName: renamed, versionId: version.id })
    expect((await failure(() => models().deleteRegisteredModel(renamed))).code).toBe('conflict')
    expect((await failure(() => models().deleteVersion(version.id))).code).toBe('conflict')
    expect((await models().getVersion(version.id)).id).toBe(version.id)
  })
})

describe("MLflow's stage label", () => {
  it('moves without approving, and archives the others in that stage when asked', async () => {
    const name = unique('staged')
    const first = await models().registerVersion({ modelName: name, artifactUri: '/m/1' })
    const second = await models().registerVersion({ modelName: name, artifactUri: '/m/2' })
    await models().setVersionStage({ versionId: first.id, stage: 'Production' })
    await models().setVersionStage({ versionId: second.id, stage: 'Production', archiveOthers: true })
    const { rows } = await sql.query<{ version_id: string; stage: string; approval_status: string }>(
      'SELECT version_id, stage, approval_status FROM ml_model_version WHERE model_name = $1 ORDER BY version_id',
      [name]
    )
    expect(rows.map((row) => [row.stage, row.approval_status])).toEqual([
      ['Archived', 'pending'],
      ['Production', 'pending']
    ])
    expect((await failure(() => models().setVersionStage({ versionId: first.id, stage: 'None', archiveOthers: true }))).code).toBe('invalid_argument')
    expect((await failure(() => models().setVersionStage({ versionId: first.id, stage: 'Gold' }))).code).toBe('invalid_argument')
  })
})

describe('logged models', () => {
  it('are created with an m- id, updated and soft-deleted through the service', async () => {
    const experiment = await env.core.services.experiments.create({ name: unique('exp') })
    const modelId = await models().createLoggedModel({ experimentId: experiment.id, name: 'model', params: { a: '1' } })
    expect(modelId).toMatch(/^m-[0-9a-f]{32}$/)
    await models().updateLoggedModel({ modelId, status: 'LOGGED_MODEL_READY', setTags: { t: 'v' }, params: { b: '2' } })
    const { rows } = await sql.query('SELECT status, params, tags FROM ml_logged_model WHERE model_id = $1', [modelId])
    expect(rows[0]).toEqual({ status: 'LOGGED_MODEL_READY', params: { a: '1', b: '2' }, tags: { t: 'v' } })
    await models().deleteLoggedModel(modelId)
    expect((await failure(() => models().updateLoggedModel({ modelId, status: 'LOGGED_MODEL_READY' }))).code).toBe('not_found')
    expect((await failure(() => models().updateLoggedModel({ modelId, status: 'DONE' }))).code).toBe('invalid_argument')
  })
})
