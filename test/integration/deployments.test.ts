import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'

describe('canary promotion and abort', () => {
  let test: TestCore
  beforeAll(async () => {
    test = await startTestCore()
  })
  afterAll(async () => test?.close())

  async function approvedVersions(modelName: string, count: number): Promise<number[]> {
    const { models } = test.core.services
    const ids: number[] = []
    for (let i = 0; i < count; i++) {
      const version = await models.registerVersion({ modelName, artifactUri: `file:///models/${modelName}/${i}` })
      await models.approve({ versionId: version.id, actor: 'ana' })
      ids.push(version.id)
    }
    return ids
  }

  it('promotes a canary to all traffic, and records it', async () => {
    const { models } = test.core.services
    const [v1, v2] = await approvedVersions('ranker', 2)
    await models.deploy({ modelName: 'ranker', versionId: v1 })
    const canary = await models.deploy({ modelName: 'ranker', versionId: v2, strategy: 'canary', canaryTrafficPercent: 10 })
    expect(canary).toMatchObject({ currentVersionId: v2, previousVersionId: v1, strategy: 'canary', canaryTrafficPercent: 10 })
    const promoted = await models.promoteCanary({ modelName: 'ranker', actor: 'bo' })
    expect(promoted).toMatchObject({ currentVersionId: v2, strategy: 'canary', canaryTrafficPercent: 100 })
    const history = await models.deploymentHistory({ modelName: 'ranker' })
    expect(history[0]).toMatchObject({ action: 'promote', toVersionId: v2, actor: 'bo' })
    await expect(models.promoteCanary({ modelName: 'ranker' })).rejects.toMatchObject({ code: 'conflict', field: 'strategy' })
  })

  it('aborts a canary back to the version it was tested against', async () => {
    const { models } = test.core.services
    const [v1, v2] = await approvedVersions('scorer', 2)
    await models.deploy({ modelName: 'scorer', versionId: v1, target: 'staging' })
    await models.deploy({ modelName: 'scorer', versionId: v2, target: 'staging', strategy: 'canary', canaryTrafficPercent: 25 })
    const aborted = await models.abortCanary({ modelName: 'scorer', target: 'staging', notes: 'p99 regressed' })
    expect(aborted).toMatchObject({ currentVersionId: v1, previousVersionId: v2, strategy: 'blue-green', canaryTrafficPercent: null })
    expect((await models.getVersion(v2)).isDeployed).toBe(false)
    expect((await models.getVersion(v1)).deploymentTarget).toBe('staging')
    expect((await models.deploymentHistory({ modelName: 'scorer', target: 'staging' }))[0]).toMatchObject({ action: 'abort', notes: 'p99 regressed' })
    await expect(models.abortCanary({ modelName: 'scorer', target: 'staging' })).rejects.toMatchObject({ code: 'conflict' })
    await expect(models.abortCanary({ modelName: 'scorer', target: 'nowhere' })).rejects.toMatchObject({ code: 'not_found', field: 'target' })
  })
})

describe('deployment health checks', () => {
  let test: TestCore
  let server: Server
  let behaviour: { status: number; delayMs: number } = { status: 200, delayMs: 0 }
  let healthUrl: string

  beforeAll(async () => {
    test = await startTestCore()
    server = createServer((_request, response) => {
      setTimeout(() => {
        response.statusCode = behaviour.status
        response.end('ok')
      }, behaviour.delayMs)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    healthUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`
  })
  afterAll(async () => {
    server?.close()
    await test?.close()
  })

  it('records status and latency against the SLA: healthy, degraded on breach, unhealthy on failure', async () => {
    const { models, healthMonitor } = test.core.services
    const version = await models.registerVersion({ modelName: 'health-model', artifactUri: 'file:///m' })
    await models.approve({ versionId: version.id })
    await models.deploy({ modelName: 'health-model', versionId: version.id, healthUrl, sla: { latencyP99Ms: 200, availabilityPercent: 50 } })

    await healthMonitor!.checkAll()
    let deployment = await models.getDeployment({ modelName: 'health-model' })
    expect(deployment.health.status).toBe('healthy')
    expect(deployment.health.latencyMs).toBeGreaterThan(0)
    expect(deployment.health.availabilityPercent).toBe(100)

    behaviour = { status: 200, delayMs: 300 }
    await healthMonitor!.checkAll()
    deployment = await models.getDeployment({ modelName: 'health-model' })
    expect(deployment.health.status).toBe('degraded') // p99 latency above the 200 ms SLA

    behaviour = { status: 503, delayMs: 0 }
    await healthMonitor!.checkAll()
    deployment = await models.getDeployment({ modelName: 'health-model' })
    expect(deployment.health.status).toBe('unhealthy')
    expect(deployment.health.availabilityPercent).toBeCloseTo(66.67, 1)

    const checks = await models.listHealthChecks({ modelName: 'health-model' })
    expect(checks.map((check) => check.status)).toEqual(['unhealthy', 'degraded', 'healthy'])
    expect(checks[0]).toMatchObject({ ok: false, statusCode: 503, error: 'HTTP 503', versionId: version.id })
  })

  it('counts an unreachable health URL as unhealthy, with the error', async () => {
    const { models, healthMonitor } = test.core.services
    const version = await models.registerVersion({ modelName: 'gone-model', artifactUri: 'file:///m' })
    await models.approve({ versionId: version.id })
    await models.deploy({ modelName: 'gone-model', versionId: version.id, healthUrl: 'http://127.0.0.1:1/health' })
    await healthMonitor!.checkAll()
    const [check] = await models.listHealthChecks({ modelName: 'gone-model' })
    expect(check).toMatchObject({ ok: false, status: 'unhealthy', statusCode: null })
    expect(check!.error).toBeTruthy()
  })
})
