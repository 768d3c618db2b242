import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ModelVersion } from '../../src/shared/domain'
import type { TestCore } from '../support/test-env'
import { failure, startCoreWithSql, type CoreWithSql } from '../support/service-env'

let env: TestCore
let counter = 0

const unique = (label: string): string => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`

const models = () => env.core.services.models
const BLAKE3 = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'

async function register(modelName: string, extra: Record<string, unknown> = {}): Promise<ModelVersion> {
  return models().registerVersion({ modelName, artifactUri: `s3://bucket/${modelName}/${++counter}`, ...extra })
}

async function approved(modelName: string, extra: Record<string, unknown> = {}): Promise<ModelVersion> {
  const version = await register(modelName, extra)
  return models().approve({ versionId: version.id, actor: 'reviewer' })
}

async function newRunId(): Promise<number> {
  const experiment = await env.core.services.experiments.create({ name: unique('model-exp') })
  return (await env.core.services.runs.start({ experimentId: experiment.id })).id
}

let shared: CoreWithSql
beforeAll(async () => {
  shared = await startCoreWithSql()
  env = shared.env
})
afterAll(() => shared?.close())
const countRows = (table: string): Promise<number> => shared.countRows(table)

describe('registering versions', () => {
  it('registers a version with every field and reads it back', async () => {
    const modelName = unique('classifier')
    const runId = await newRunId()
    const version = await models().registerVersion({
      modelName,
      artifactUri: 's3://models/classifier/1',
      sourceRunId: runId,
      performanceMetrics: { accuracy: 0.93, f1: 0.91 },
      artifactBlake3: BLAKE3,
      artifactSizeBytes: 987_654_321,
      description: 'first cut',
      tags: { stage: 'dev' },
      createdBy: 'ana'
    })
    expect(version).toMatchObject({
      modelName,
      version: '1',
      parentVersionId: null,
      sourceRunId: runId,
      artifactUri: 's3://models/classifier/1',
      artifactSizeBytes: 987_654_321,
      artifactBlake3: BLAKE3,
      performanceMetrics: { accuracy: 0.93, f1: 0.91 },
      description: 'first cut',
      tags: { stage: 'dev' },
      approvalStatus: 'pending',
      approvalNotes: null,
      reviewedBy: null,
      reviewedAt: null,
      isDeployed: false,
      deploymentTarget: null,
      aliases: [],
      createdBy: 'ana'
    })
    expect(await models().getVersion(version.id)).toEqual(version)
  })

  it('numbers versions 1, 2, 3 per model, continues after an explicit number, and accepts explicit labels', async () => {
    const a = unique('auto-a')
    const b = unique('auto-b')
    expect((await register(a)).version).toBe('1')
    expect((await register(a)).version).toBe('2')
    expect((await register(b)).version).toBe('1') // independent per model
    expect((await register(a)).version).toBe('3')
    expect((await register(a, { version: '2024-05-rc1' })).version).toBe('2024-05-rc1')
    expect((await register(a)).version).toBe('4')
    expect((await register(a, { version: '10' })).version).toBe('10')
    expect((await register(a)).version).toBe('11')
    const listed = await models().listVersions(a)
    expect(listed.map((v) => v.version)).toEqual(['11', '10', '4', '2024-05-rc1', '3', '2', '1']) // newest first
    const summary = (await models().listModels()).find((m) => m.modelName === a)!
    expect(summary.versionCount).toBe(7)
  })

  it('numbers concurrent registrations without gaps or duplicates', async () => {
    const modelName = unique('concurrent')
    const versions = await Promise.all(Array.from({ length: 6 }, () => register(modelName)))
    expect(versions.map((v) => v.version).sort()).toEqual(['1', '2', '3', '4', '5', '6'])
  })

  it('refuses a duplicate version with conflict naming `version`, writing nothing', async () => {
    const modelName = unique('dup')
    await register(modelName, { version: 'v-a' })
    await register(modelName)
    const before = await countRows('ml_model_version')
    expect(await failure(() => register(modelName, { version: 'v-a' }))).toMatchObject({ code: 'conflict', field: 'version' })
    expect(await failure(() => register(modelName, { version: '1' }))).toMatchObject({ code: 'conflict', field: 'version' })
    expect(await countRows('ml_model_version')).toBe(before)
  })

  it('records lineage: the parent must exist and be a version of the same model', async () => {
    const modelName = unique('lineage')
    const v1 = await register(modelName)
    const v2 = await register(modelName, { parentVersionId: v1.id })
    expect(v2.parentVersionId).toBe(v1.id)
    const v3 = await register(modelName, { parentVersionId: v2.id })
    expect((await models().getVersion(v3.id)).parentVersionId).toBe(v2.id)

    const before = await countRows('ml_model_version')
    const missing = await failure(() => register(modelName, { parentVersionId: 99_999_999 }))
    expect(missing).toMatchObject({ code: 'not_found', field: 'parentVersionId' })
    const other = await register(unique('other-model'))
    const foreign = await failure(() => register(modelName, { parentVersionId: other.id }))
    expect(foreign).toMatchObject({ code: 'invalid_argument', field: 'parentVersionId' })
    expect(await countRows('ml_model_version')).toBe(before + 1)
  })

  it('the source run must exist', async () => {
    const modelName = unique('source')
    const before = await countRows('ml_model_version')
    const error = await failure(() => register(modelName, { sourceRunId: 99_999_999 }))
    expect(error).toMatchObject({ code: 'not_found', field: 'sourceRunId' })
    expect(await countRows('ml_model_version')).toBe(before)
    const runId = await newRunId()
    expect((await register(modelName, { sourceRunId: runId })).sourceRunId).toBe(runId)
  })

  it('refuses malformed registrations naming the field, writing nothing', async () => {
    const before = await countRows('ml_model_version')
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ modelName: 'a\0b', artifactUri: 'x' }, 'modelName'],
      [{ modelName: 'm'.repeat(257), artifactUri: 'x' }, 'modelName'],
      [{ modelName: unique('m'), artifactUri: '' }, 'artifactUri'],
      [{ modelName: unique('m'), artifactUri: 'x', version: 'v'.repeat(65) }, 'version'],
      [{ modelName: unique('m'), artifactUri: 'x', version: '' }, 'version'],
      [{ modelName: unique('m'), artifactUri: 'x', artifactBlake3: BLAKE3.toUpperCase() }, 'artifactBlake3'],
      [{ modelName: unique('m'), artifactUri: 'x', artifactSizeBytes: -1 }, 'artifactSizeBytes'],
      [{ modelName: unique('m'), artifactUri: 'x', description: 'd\0' }, 'description'],
      [{ modelName: unique('m'), artifactUri: 'x', approvalStatus: 'approved' }, 'approvalStatus']
    ]
    for (const [input, field] of cases) {
      const error = await failure(() => models().registerVersion(input))
      expect({ field: error.field, code: error.code }).toEqual({ field, code: 'invalid_argument' })
    }
    expect(await countRows('ml_model_version')).toBe(before)
  })

  it('unknown version ids are not_found naming versionId', async () => {
    expect(await failure(() => models().getVersion(99_999_999))).toMatchObject({ code: 'not_found', field: 'versionId' })
    for (const review of ['approve', 'reject', 'deprecate'] as const) {
      expect(await failure(() => models()[review]({ versionId: 99_999_999 }))).toMatchObject({ code: 'not_found', field: 'versionId' })
    }
  })
})

describe('approval workflow', () => {
  it('pending → approved → deprecated, recording who, when and why', async () => {
    const version = await register(unique('approve'))
    const ok = await models().approve({ versionId: version.id, notes: 'beats baseline', actor: 'lead' })
    expect(ok).toMatchObject({ approvalStatus: 'approved', approvalNotes: 'beats baseline', reviewedBy: 'lead' })
    expect(ok.reviewedAt).not.toBeNull()
    const old = await models().deprecate({ versionId: version.id, notes: 'superseded', actor: 'ops' })
    expect(old).toMatchObject({
      approvalStatus: 'deprecated',
      deprecationNotes: 'superseded',
      deprecatedBy: 'ops',
      approvalNotes: 'beats baseline',
      reviewedBy: 'lead'
    })
    expect(old.deprecatedAt).not.toBeNull()
    expect(await models().getVersion(version.id)).toEqual(old)
  })

  it('pending → rejected', async () => {
    const version = await register(unique('reject'))
    const no = await models().reject({ versionId: version.id, notes: 'overfits', actor: 'lead' })
    expect(no).toMatchObject({ approvalStatus: 'rejected', approvalNotes: 'overfits', reviewedBy: 'lead' })
  })

  it('refuses illegal moves with conflict naming approvalStatus and changes nothing', async () => {
    const modelName = unique('illegal')
    const rejected = await models().reject({ versionId: (await register(modelName)).id })
    const pending = await register(modelName)
    const approvedVersion = await approved(modelName)
    const deprecated = await models().deprecate({ versionId: (await approved(modelName)).id })
    const moves: Array<[string, ModelVersion, 'approve' | 'reject' | 'deprecate']> = [
      ['approve rejected', rejected, 'approve'],
      ['reject rejected', rejected, 'reject'],
      ['deprecate rejected', rejected, 'deprecate'],
      ['deprecate pending', pending, 'deprecate'],
      ['approve twice', approvedVersion, 'approve'],
      ['reject approved', approvedVersion, 'reject'],
      ['approve deprecated', deprecated, 'approve'],
      ['reject deprecated', deprecated, 'reject'],
      ['deprecate twice', deprecated, 'deprecate']
    ]
    for (const [label, version, move] of moves) {
      const error = await failure(() => models()[move]({ versionId: version.id, notes: 'x', actor: 'y' }))
      expect({ label, code: error.code, field: error.field }).toEqual({ label, code: 'conflict', field: 'approvalStatus' })
      expect(await models().getVersion(version.id)).toEqual(version)
    }
  })
})

describe('deployment', () => {
  it('deploys only approved versions (pending, rejected, deprecated → conflict naming versionId)', async () => {
    const modelName = unique('only-approved')
    const pending = await register(modelName)
    const rejected = await models().reject({ versionId: (await register(modelName)).id })
    const deprecated = await models().deprecate({ versionId: (await approved(modelName)).id })
    const before = await countRows('ml_model_registry')
    const eventsBefore = await countRows('ml_deployment_event')
    for (const version of [pending, rejected, deprecated]) {
      const error = await failure(() => models().deploy({ modelName, versionId: version.id }))
      expect({ status: version.approvalStatus, code: error.code, field: error.field }).toEqual({
        status: version.approvalStatus,
        code: 'conflict',
        field: 'versionId'
      })
      expect((await models().getVersion(version.id)).isDeployed).toBe(false)
    }
    expect(await countRows('ml_model_registry')).toBe(before)
    expect(await countRows('ml_deployment_event')).toBe(eventsBefore)
    expect(await failure(() => models().getDeployment({ modelName }))).toMatchObject({ code: 'not_found', field: 'target' })
  })

  it('deploys with each strategy and records SLA targets and health URL', async () => {
    for (const strategy of ['blue-green', 'canary', 'rolling', 'shadow'] as const) {
      const modelName = unique(`strategy-${strategy}`)
      const version = await approved(modelName)
      const deployment = await models().deploy({
        modelName,
        versionId: version.id,
        target: 'prod-eu',
        strategy,
        canaryTrafficPercent: strategy === 'canary' ? 12.5 : null,
        sla: { latencyP99Ms: 120, throughputRps: 500, availabilityPercent: 99.9 },
        healthUrl: 'http://127.0.0.1:8080/health',
        actor: 'ops'
      })
      expect(deployment).toMatchObject({
        modelName,
        target: 'prod-eu',
        currentVersionId: version.id,
        previousVersionId: null,
        strategy,
        canaryTrafficPercent: strategy === 'canary' ? 12.5 : null,
        sla: { latencyP99Ms: 120, throughputRps: 500, availabilityPercent: 99.9 },
        health: { url: 'http://127.0.0.1:8080/health', status: 'unknown', checkedAt: null },
        deployedBy: 'ops'
      })
      expect(await models().getDeployment({ modelName, target: 'prod-eu' })).toEqual(deployment)
      expect(await models().getVersion(version.id)).toMatchObject({ isDeployed: true, deploymentTarget: 'prod-eu' })
    }
  })

  it('defaults to blue-green on production', async () => {
    const modelName = unique('defaults')
    const version = await approved(modelName)
    const deployment = await models().deploy({ modelName, versionId: version.id })
    expect(deployment).toMatchObject({ target: 'production', strategy: 'blue-green', canaryTrafficPercent: null })
    expect((await models().listDeployments(modelName)).map((d) => d.id)).toEqual([deployment.id])
  })

  it('a canary needs a traffic share and only a canary has one', async () => {
    const modelName = unique('canary')
    const version = await approved(modelName)
    const cases: Array<Record<string, unknown>> = [
      { strategy: 'canary' },
      { strategy: 'canary', canaryTrafficPercent: null },
      { strategy: 'canary', canaryTrafficPercent: 0 },
      { strategy: 'canary', canaryTrafficPercent: 100.5 },
      { strategy: 'rolling', canaryTrafficPercent: 10 }
    ]
    for (const extra of cases) {
      const error = await failure(() => models().deploy({ modelName, versionId: version.id, ...extra }))
      expect({ extra, code: error.code, field: error.field }).toEqual({ extra, code: 'invalid_argument', field: 'canaryTrafficPercent' })
    }
    expect(await countRows(`ml_model_registry WHERE model_name = '${modelName}'`)).toBe(0)
    const full = await models().deploy({ modelName, versionId: version.id, strategy: 'canary', canaryTrafficPercent: 100 })
    expect(full.canaryTrafficPercent).toBe(100)
  })

  it('refuses other bad deploy input naming the field', async () => {
    const modelName = unique('bad-deploy')
    const version = await approved(modelName)
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ strategy: 'big-bang' }, 'invalid_argument', 'strategy'],
      [{ target: '' }, 'invalid_argument', 'target'],
      [{ target: 't'.repeat(65) }, 'invalid_argument', 'target'],
      [{ target: 'a\0b' }, 'invalid_argument', 'target'],
      [{ sla: { latencyP99Ms: -5 } }, 'invalid_argument', 'sla.latencyP99Ms'],
      [{ sla: { availabilityPercent: 101 } }, 'invalid_argument', 'sla.availabilityPercent'],
      [{ healthUrl: 'file:///etc/passwd' }, 'invalid_argument', 'healthUrl'],
      [{ versionId: 99_999_999 }, 'not_found', 'versionId']
    ]
    for (const [extra, code, field] of cases) {
      const error = await failure(() => models().deploy({ modelName, versionId: version.id, ...extra }))
      expect({ extra, code: error.code, field: error.field }).toEqual({ extra, code, field })
    }
    // A version of another model cannot be deployed under this model's name.
    const other = await approved(unique('other'))
    expect(await failure(() => models().deploy({ modelName, versionId: other.id }))).toMatchObject({
      code: 'invalid_argument',
      field: 'versionId'
    })
    expect(await models().listDeployments(modelName)).toEqual([])
  })

  it('deploying v2 after v1 makes v1 previous; versions follow the registry', async () => {
    const modelName = unique('v2-after-v1')
    const v1 = await approved(modelName)
    const v2 = await approved(modelName)
    await models().deploy({ modelName, versionId: v1.id, sla: { latencyP99Ms: 50 } })
    const second = await models().deploy({ modelName, versionId: v2.id, strategy: 'rolling' })
    expect(second).toMatchObject({ currentVersionId: v2.id, previousVersionId: v1.id, strategy: 'rolling' })
    expect(second.sla.latencyP99Ms).toBe(50) // kept when not given again
    expect(await models().getVersion(v1.id)).toMatchObject({ isDeployed: false, deploymentTarget: null })
    expect(await models().getVersion(v2.id)).toMatchObject({ isDeployed: true, deploymentTarget: 'production' })

    // Deploying the live version again only updates how it is rolled out.
    const again = await models().deploy({ modelName, versionId: v2.id, strategy: 'shadow' })
    expect(again).toMatchObject({ currentVersionId: v2.id, previousVersionId: v1.id, strategy: 'shadow' })
  })

  it('a version live on two targets stays deployed until it leaves both', async () => {
    const modelName = unique('two-targets')
    const v1 = await approved(modelName)
    const v2 = await approved(modelName)
    await models().deploy({ modelName, versionId: v1.id, target: 'production' })
    await models().deploy({ modelName, versionId: v1.id, target: 'staging' })
    expect((await models().listDeployments(modelName)).map((d) => [d.target, d.currentVersionId])).toEqual([
      ['production', v1.id],
      ['staging', v1.id]
    ])
    await models().deploy({ modelName, versionId: v2.id, target: 'production' })
    expect(await models().getVersion(v1.id)).toMatchObject({ isDeployed: true, deploymentTarget: 'staging' })
    expect(await models().getVersion(v2.id)).toMatchObject({ isDeployed: true, deploymentTarget: 'production' })
    await models().deploy({ modelName, versionId: v2.id, target: 'staging' })
    expect(await models().getVersion(v1.id)).toMatchObject({ isDeployed: false, deploymentTarget: null })
  })

  it('rollback swaps current and previous, and can be rolled back again', async () => {
    const modelName = unique('rollback')
    const v1 = await approved(modelName)
    const v2 = await approved(modelName)
    await models().deploy({ modelName, versionId: v1.id })
    await models().deploy({ modelName, versionId: v2.id, strategy: 'canary', canaryTrafficPercent: 5 })
    const back = await models().rollback({ modelName, actor: 'oncall', notes: 'latency regression' })
    expect(back).toMatchObject({ currentVersionId: v1.id, previousVersionId: v2.id, deployedBy: 'oncall' })
    expect(await models().getVersion(v1.id)).toMatchObject({ isDeployed: true, deploymentTarget: 'production' })
    expect(await models().getVersion(v2.id)).toMatchObject({ isDeployed: false, deploymentTarget: null })
    const forward = await models().rollback({ modelName })
    expect(forward).toMatchObject({ currentVersionId: v2.id, previousVersionId: v1.id })
    expect(await models().getVersion(v2.id)).toMatchObject({ isDeployed: true })
  })

  it('rollback with no previous version is a conflict; on an undeployed model it is not_found', async () => {
    const modelName = unique('no-previous')
    const v1 = await approved(modelName)
    const deployment = await models().deploy({ modelName, versionId: v1.id })
    const events = await countRows('ml_deployment_event')
    const error = await failure(() => models().rollback({ modelName }))
    expect(error).toMatchObject({ code: 'conflict', field: 'previousVersionId' })
    expect(await models().getDeployment({ modelName })).toEqual(deployment)
    expect(await countRows('ml_deployment_event')).toBe(events)

    const missing = await failure(() => models().rollback({ modelName, target: 'nowhere' }))
    expect(missing).toMatchObject({ code: 'not_found', field: 'target' })
  })

  it('rollback refuses to put a version that is no longer approved back live', async () => {
    const modelName = unique('rollback-deprecated')
    const v1 = await approved(modelName)
    const v2 = await approved(modelName)
    await models().deploy({ modelName, versionId: v1.id })
    const deployment = await models().deploy({ modelName, versionId: v2.id })
    await models().deprecate({ versionId: v1.id, notes: 'data leak' })
    const events = await countRows('ml_deployment_event')
    const error = await failure(() => models().rollback({ modelName }))
    expect(error).toMatchObject({ code: 'conflict', field: 'previousVersionId' })
    expect(await models().getDeployment({ modelName })).toEqual(deployment)
    expect(await models().getVersion(v1.id)).toMatchObject({ isDeployed: false, approvalStatus: 'deprecated' })
    expect(await countRows('ml_deployment_event')).toBe(events)
  })

  it('deployment history lists deploys, updates and rollbacks, newest first', async () => {
    const modelName = unique('history')
    const v1 = await approved(modelName)
    const v2 = await approved(modelName)
    await models().deploy({ modelName, versionId: v1.id, actor: 'a' })
    await models().deploy({ modelName, versionId: v2.id, strategy: 'canary', canaryTrafficPercent: 10, actor: 'b' })
    await models().deploy({ modelName, versionId: v2.id, strategy: 'blue-green', actor: 'b' })
    await models().rollback({ modelName, actor: 'c', notes: 'errors up' })
    await models().deploy({ modelName, versionId: v1.id, target: 'staging', actor: 'd' })

    const history = await models().deploymentHistory({ modelName, target: 'production' })
    expect(history.map((e) => [e.action, e.fromVersionId, e.toVersionId, e.strategy, e.canaryTrafficPercent, e.actor])).toEqual([
      ['rollback', v2.id, v1.id, 'blue-green', null, 'c'],
      ['update', null, v2.id, 'blue-green', null, 'b'],
      ['deploy', v1.id, v2.id, 'canary', 10, 'b'],
      ['deploy', null, v1.id, 'blue-green', null, 'a']
    ])
    expect(history[0]!.notes).toBe('errors up')
    expect(history.every((e) => e.modelName === modelName && e.target === 'production')).toBe(true)
    const ids = history.map((e) => e.id)
    expect([...ids].sort((a, b) => b - a)).toEqual(ids)
    for (let i = 1; i < history.length; i++) {
      expect(Date.parse(history[i - 1]!.occurredAt)).toBeGreaterThanOrEqual(Date.parse(history[i]!.occurredAt))
    }

    const all = await models().deploymentHistory({ modelName })
    expect(all).toHaveLength(5)
    expect(all[0]).toMatchObject({ action: 'deploy', target: 'staging', toVersionId: v1.id, actor: 'd' })
    expect(await models().deploymentHistory({ modelName: unique('never-deployed') })).toEqual([])
  })
})

describe('aliases', () => {
  it('set, get, move and delete an alias; versions list their aliases', async () => {
    const modelName = unique('alias')
    const v1 = await register(modelName)
    const v2 = await register(modelName)
    const set = await models().setAlias({ modelName, alias: 'champion', versionId: v1.id })
    expect(set).toMatchObject({ modelName, alias: 'champion', versionId: v1.id })
    expect(await models().getAlias({ modelName, alias: 'champion' })).toEqual(set)
    await models().setAlias({ modelName, alias: 'challenger', versionId: v2.id })
    expect((await models().getVersion(v1.id)).aliases).toEqual(['champion'])

    const moved = await models().setAlias({ modelName, alias: 'champion', versionId: v2.id })
    expect(moved.versionId).toBe(v2.id)
    expect(Date.parse(moved.updatedAt)).toBeGreaterThanOrEqual(Date.parse(set.updatedAt))
    expect((await models().getVersion(v1.id)).aliases).toEqual([])
    expect((await models().getVersion(v2.id)).aliases).toEqual(['challenger', 'champion'])
    expect((await models().listAliases(modelName)).map((a) => [a.alias, a.versionId])).toEqual([
      ['challenger', v2.id],
      ['champion', v2.id]
    ])

    await models().deleteAlias({ modelName, alias: 'champion' })
    expect(await failure(() => models().getAlias({ modelName, alias: 'champion' }))).toMatchObject({ code: 'not_found', field: 'alias' })
    expect(await failure(() => models().deleteAlias({ modelName, alias: 'champion' }))).toMatchObject({ code: 'not_found', field: 'alias' })
    expect((await models().getVersion(v2.id)).aliases).toEqual(['challenger'])
  })

  it('the same alias name is independent per model', async () => {
    const a = unique('alias-a')
    const b = unique('alias-b')
    const va = await register(a)
    const vb = await register(b)
    await models().setAlias({ modelName: a, alias: 'prod', versionId: va.id })
    await models().setAlias({ modelName: b, alias: 'prod', versionId: vb.id })
    expect((await models().getAlias({ modelName: a, alias: 'prod' })).versionId).toBe(va.id)
    expect((await models().getAlias({ modelName: b, alias: 'prod' })).versionId).toBe(vb.id)
  })

  it('enforces the alias format', async () => {
    const modelName = unique('alias-format')
    const version = await register(modelName)
    for (const ok of ['champion', 'Staging_2', 'a-b-c', 'v1a', 'V', 'x'.repeat(255)]) {
      expect((await models().setAlias({ modelName, alias: ok, versionId: version.id })).alias).toBe(ok)
    }
    for (const bad of ['latest', 'LATEST', 'v1', 'v42', '', 'has space', 'dots.not.allowed', 'slash/no', 'x'.repeat(256), 'nul\0']) {
      const error = await failure(() => models().setAlias({ modelName, alias: bad, versionId: version.id }))
      expect({ bad, code: error.code, field: error.field }).toEqual({ bad, code: 'invalid_argument', field: 'alias' })
    }
    expect((await models().listAliases(modelName)).map((a) => a.alias).sort()).toEqual(
      ['champion', 'Staging_2', 'a-b-c', 'v1a', 'V', 'x'.repeat(255)].sort()
    )
  })

  it("refuses an alias to another model's version or to a missing version, writing nothing", async () => {
    const modelName = unique('alias-own')
    const mine = await register(modelName)
    const theirs = await register(unique('alias-theirs'))
    await models().setAlias({ modelName, alias: 'best', versionId: mine.id })
    const before = await countRows('ml_model_alias')
    const foreign = await failure(() => models().setAlias({ modelName, alias: 'best', versionId: theirs.id }))
    expect(foreign).toMatchObject({ code: 'invalid_argument', field: 'versionId' })
    const fresh = await failure(() => models().setAlias({ modelName, alias: 'other', versionId: theirs.id }))
    expect(fresh).toMatchObject({ code: 'invalid_argument', field: 'versionId' })
    const missing = await failure(() => models().setAlias({ modelName, alias: 'ghost', versionId: 99_999_999 }))
    expect(missing).toMatchObject({ code: 'not_found', field: 'versionId' })
    expect(await countRows('ml_model_alias')).toBe(before)
    expect((await models().getAlias({ modelName, alias: 'best' })).versionId).toBe(mine.id)
  })
})
