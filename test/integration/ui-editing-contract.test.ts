import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallName, CallResults } from '../../src/shared/contract'
import { createContractHandlers, dispatchCall, type ContractHandlers } from '../../src/main/contract-handlers'
import { gecosFullName, osUserFullName } from '../../src/main/reviewer-name'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * Issue 14's editing and deployment calls through the contract as the renderer makes them
 * (parsed at the boundary, then the services): run and experiment edits with MLflow's
 * lifecycle, aliases, the reviewer name, and health checks that reset per deployed version
 * and name the SLA target they missed.
 */
describe('editing and deployments through the contract', () => {
  let test: TestCore
  let handlers: ContractHandlers
  let server: Server
  let probe = { status: 200, delayMs: 0, throughput: 50 as number | null }
  let healthUrl: string

  async function invoke<Name extends CallName>(name: Name, input: unknown): Promise<CallResults[Name]> {
    const outcome = await dispatchCall(handlers, name, input, test.core.logger, test.dataDir)
    if (!outcome.ok) throw Object.assign(new Error(outcome.error.message), outcome.error)
    return outcome.value as CallResults[Name]
  }

  beforeAll(async () => {
    test = await startTestCore({ http: false })
    handlers = createContractHandlers({
      services: test.core.services,
      logger: test.core.logger,
      status: () => Promise.reject(new Error('not needed')),
      apiInfo: () => ({ apiUrl: null, token: null, tokenFile: '' }),
      dataDir: test.dataDir,
      database: { mode: 'external', description: 'test', serverVersion: '' },
      api: () => undefined
    })
    server = createServer((_request, response) => {
      setTimeout(() => {
        response.statusCode = probe.status
        response.setHeader('Content-Type', 'application/json')
        response.end(JSON.stringify(probe.throughput === null ? { status: 'ok' } : { throughput_rps: probe.throughput }))
      }, probe.delayMs)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    healthUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`
  }, 120_000)

  afterAll(async () => {
    server?.close()
    await test?.close()
  })

  it('renames a run, sets and removes tags and its Markdown note, deletes and restores it', async () => {
    const experiment = await invoke('experiments.create', { name: 'editing' })
    const run = await test.core.services.runs.start({ experimentId: experiment.id, name: 'first-name' })
    expect((await invoke('runs.rename', { runId: run.id, name: 'second-name' })).name).toBe('second-name')
    await expect(invoke('runs.rename', { runId: run.id, name: '' })).rejects.toMatchObject({ code: 'invalid_argument', field: 'name' })
    const tagged = await invoke('runs.setTags', { runId: run.id, tags: { team: 'vision', 'mlflow.note.content': '# Why\n**lr** halved' } })
    expect(tagged.tags).toMatchObject({ team: 'vision', 'mlflow.note.content': '# Why\n**lr** halved' })
    expect((await invoke('runs.deleteTag', { runId: run.id, key: 'team' })).tags.team).toBeUndefined()

    expect(await invoke('runs.delete', { runId: run.id })).toEqual({ runId: run.id, deleted: true })
    expect(await invoke('runs.isDeleted', { runId: run.id })).toBe(true)
    expect((await invoke('runs.list', { experimentId: experiment.id })).map((row) => row.id)).not.toContain(run.id)
    // A deleted run takes no writes (MLflow's rule, migration 0010), and says so.
    await expect(invoke('runs.rename', { runId: run.id, name: 'third' })).rejects.toMatchObject({ code: expect.stringMatching(/conflict|invalid_argument/) })
    expect(await invoke('runs.restore', { runId: run.id })).toEqual({ runId: run.id, deleted: false })
    expect((await invoke('runs.list', { experimentId: experiment.id })).map((row) => row.name)).toContain('second-name')
  })

  it('edits an experiment’s description and tags, deletes and restores it by the rule the MLflow door uses', async () => {
    const experiment = await invoke('experiments.create', { name: 'to-edit' })
    await invoke('experiments.update', { experimentId: experiment.id, description: 'baseline sweep' })
    await invoke('experiments.setTag', { experimentId: experiment.id, key: 'owner', value: 'ana' })
    expect(await invoke('experiments.get', { experimentId: experiment.id })).toMatchObject({ description: 'baseline sweep', tags: { owner: 'ana' } })
    expect((await invoke('experiments.deleteTag', { experimentId: experiment.id, key: 'owner' })).tags).toEqual({})

    expect((await invoke('experiments.delete', { experimentId: experiment.id })).status).toBe('archived')
    expect((await invoke('experiments.list', { statuses: ['active'] })).map((item) => item.id)).not.toContain(experiment.id)
    expect((await invoke('experiments.restore', { experimentId: experiment.id })).status).toBe('active')
    // The default experiment stays (ExperimentService.delete, which MLflow's experiments/delete calls too).
    await test.core.services.experiments.ensureDefault()
    await expect(invoke('experiments.delete', { experimentId: 0 })).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('default experiment') })
  })

  it('sets, moves and removes an alias', async () => {
    const { models } = test.core.services
    const v1 = await models.registerVersion({ modelName: 'aliased', artifactUri: 'file:///a/1' })
    const v2 = await models.registerVersion({ modelName: 'aliased', artifactUri: 'file:///a/2' })
    expect(await invoke('models.setAlias', { modelName: 'aliased', alias: 'champion', versionId: v1.id })).toMatchObject([{ alias: 'champion', versionId: v1.id }])
    expect(await invoke('models.setAlias', { modelName: 'aliased', alias: 'champion', versionId: v2.id })).toMatchObject([{ alias: 'champion', versionId: v2.id }])
    expect((await invoke('models.version', { versionId: v2.id })).aliases).toEqual(['champion'])
    expect(await invoke('models.deleteAlias', { modelName: 'aliased', alias: 'champion' })).toEqual([])
    await expect(invoke('models.setAlias', { modelName: 'aliased', alias: 'bad alias!', versionId: v1.id })).rejects.toMatchObject({ code: 'invalid_argument', field: 'alias' })
  })

  it('records reviews as the reviewer named in settings, else the OS user’s full name', async () => {
    expect(gecosFullName('ana:x:1000:1000:Ana Lima,Room 4,,:/home/ana:/bin/bash')).toBe('Ana Lima')
    expect(gecosFullName('svc:x:999:999::/:/usr/sbin/nologin')).toBeNull()
    const settings = await invoke('settings.get', {})
    expect(settings.reviewer).toEqual({ name: osUserFullName(), saved: null, osDefault: osUserFullName() })
    expect((await invoke('settings.setReviewerName', { name: '  Grace Hopper ' })).reviewer.name).toBe('Grace Hopper')
    const version = await test.core.services.models.registerVersion({ modelName: 'reviewed', artifactUri: 'file:///r/1' })
    expect((await invoke('models.review', { versionId: version.id, decision: 'approve', notes: null })).reviewedBy).toBe('Grace Hopper')
    expect((await invoke('settings.setReviewerName', { name: null })).reviewer).toMatchObject({ saved: null, name: osUserFullName() })
  })

  it('judges health per deployed version, names the missed SLA target, and a rollback takes all traffic', async () => {
    const { models, healthMonitor } = test.core.services
    const ids: number[] = []
    for (const n of [1, 2]) {
      const version = await models.registerVersion({ modelName: 'served', artifactUri: `file:///s/${n}` })
      await models.approve({ versionId: version.id })
      ids.push(version.id)
    }
    const [v1, v2] = ids as [number, number]
    const sla = { latencyP99Ms: 150, throughputRps: 20, availabilityPercent: 90 }
    await invoke('deployments.deploy', { modelName: 'served', versionId: v1, healthUrl, sla })
    probe = { status: 200, delayMs: 250, throughput: 10 }
    await healthMonitor!.checkAll()
    const [slow] = await invoke('deployments.healthChecks', { modelName: 'served', target: 'production' })
    expect(slow).toMatchObject({ versionId: v1, status: 'degraded', breachedTargets: ['latency_p99', 'throughput'], throughputRps: 10 })
    expect(slow!.latencyP99Ms).toBeGreaterThan(150)

    await invoke('deployments.deploy', { modelName: 'served', versionId: v2, strategy: 'canary', canaryTrafficPercent: 10 })
    // The canary's history starts empty: v1's breaches are not v2's.
    expect(await invoke('deployments.healthChecks', { modelName: 'served', target: 'production' })).toEqual([])
    probe = { status: 200, delayMs: 0, throughput: 40 }
    await healthMonitor!.checkAll()
    const canaryChecks = await invoke('deployments.healthChecks', { modelName: 'served', target: 'production' })
    expect(canaryChecks).toMatchObject([{ versionId: v2, status: 'healthy', breachedTargets: [] }])
    await invoke('deployments.promote', { modelName: 'served', target: 'production' })
    // Promote keeps v2 deployed, so its history goes on.
    expect(await invoke('deployments.healthChecks', { modelName: 'served', target: 'production' })).toHaveLength(1)

    const rolledBack = await invoke('deployments.rollback', { modelName: 'served', target: 'production' })
    expect(rolledBack).toMatchObject({ currentVersionId: v1, previousVersionId: v2, strategy: 'blue-green', canaryTrafficPercent: null })
    expect(rolledBack.health.status).toBe('unknown')
    // v1 went out again: its earlier slow checks belong to its earlier deployment.
    expect(await invoke('deployments.healthChecks', { modelName: 'served', target: 'production' })).toEqual([])
    probe = { status: 200, delayMs: 0, throughput: null }
    await healthMonitor!.checkAll()
    const fresh = await invoke('deployments.healthChecks', { modelName: 'served', target: 'production' })
    expect(fresh).toMatchObject([{ versionId: v1, status: 'healthy', breachedTargets: [], throughputRps: null, availabilityPercent: 100 }])
  })
})
