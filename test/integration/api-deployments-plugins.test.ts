import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawRequest } from '../support/api-env'
import { startTestCore, type TestCore } from '../support/test-env'

// The UI's deployment and plugin actions are visible through the /v1 API too.
describe('/v1 canary moves, health checks and plugins', () => {
  let test: TestCore
  let url: string
  let token: string
  const call = (method: string, path: string, body?: unknown) =>
    rawRequest(`${url}${path}`, { method, token, body: body === undefined ? undefined : JSON.stringify(body) })

  beforeAll(async () => {
    test = await startTestCore({ http: true, plugins: true })
    url = test.core.http!.url
    token = test.core.http!.token
  })
  afterAll(async () => test?.close())

  it('promotes and aborts canaries, and lists health checks', async () => {
    const versions: number[] = []
    for (let i = 0; i < 3; i++) {
      const version = await call('POST', '/v1/ml/models/versions', { model_name: 'api-canary', artifact_uri: `file:///m/${i}` })
      expect(version.status).toBe(201)
      expect((await call('POST', '/v1/ml/models/versions/approve', { version_id: version.body.version_id })).status).toBe(200)
      versions.push(version.body.version_id)
    }
    await call('POST', '/v1/ml/models/deploy', { model_name: 'api-canary', version_id: versions[0] })
    await call('POST', '/v1/ml/models/deploy', { model_name: 'api-canary', version_id: versions[1], strategy: 'canary', canary_traffic_percent: 5 })
    const promoted = await call('POST', '/v1/ml/models/canary/promote', { model_name: 'api-canary', actor: 'ci' })
    expect(promoted.status).toBe(200)
    expect(promoted.body).toMatchObject({ current_version_id: versions[1] })
    const again = await call('POST', '/v1/ml/models/canary/promote', { model_name: 'api-canary' })
    expect(again.status).toBe(409)
    expect(again.body.error.field).toBe('strategy')

    await call('POST', '/v1/ml/models/deploy', { model_name: 'api-canary', version_id: versions[2], strategy: 'canary', canary_traffic_percent: 20 })
    const aborted = await call('POST', '/v1/ml/models/canary/abort', { model_name: 'api-canary', notes: 'errors up' })
    expect(aborted.body).toMatchObject({ current_version_id: versions[1], previous_version_id: versions[2] })
    const history = await call('GET', '/v1/ml/models/api-canary/deployment/history')
    expect(history.body.events.map((event: { action: string }) => event.action)).toEqual(['abort', 'deploy', 'promote', 'deploy', 'deploy'])

    const health = await call('GET', '/v1/ml/models/api-canary/deployment/health')
    expect(health).toMatchObject({ status: 200, body: { checks: [] } })
    expect((await call('GET', '/v1/ml/models/api-canary/deployment/health?target=nowhere')).status).toBe(404)
  })

  it('lists plugins and reloads, disables and enables one', async () => {
    const listed = await call('GET', '/v1/plugins')
    expect(listed.body.plugins.map((plugin: { name: string }) => plugin.name)).toEqual(['cosine', 'euclidean', 'manhattan'])
    const before = listed.body.plugins.find((plugin: { name: string }) => plugin.name === 'manhattan')
    const reloaded = await call('POST', '/v1/plugins/manhattan/reload')
    expect(reloaded.body).toMatchObject({ name: 'manhattan', state: 'running' })
    expect(reloaded.body.host_pid).not.toBe(before.host_pid)
    expect((await call('POST', '/v1/plugins/manhattan/disable')).body).toMatchObject({ state: 'disabled', disabled_by: 'user' })
    expect((await call('POST', '/v1/plugins/manhattan/enable')).body).toMatchObject({ state: 'running' })
    expect((await call('POST', '/v1/plugins/nope/reload')).status).toBe(404)
    expect((await rawRequest(`${url}/v1/plugins`, { token: null })).status).toBe(401)
  })
})
