import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawRequest, startApiTestCore } from '../support/api-env'

let api: Awaited<ReturnType<typeof startApiTestCore>>

beforeAll(async () => {
  api = await startApiTestCore()
})
afterAll(async () => {
  await api?.close()
})

/** Every route the server has registered, as [method, concrete path] (params and wildcards filled in). */
function registeredRoutes(): Array<[string, string]> {
  return api.core.http!.routes.map(({ method, url }) => [method, url.replace(/:[A-Za-z_]+/g, '1').replace(/\*/g, 'x')])
}

describe('the HTTP API refuses what it must', () => {
  it('answers no registered route without the token, docs and OpenAPI included', async () => {
    const routes = registeredRoutes()
    const paths = routes.map(([, path]) => path)
    expect(paths).toEqual(expect.arrayContaining(['/v1/openapi.json', '/v1/docs', '/v1/ml/metrics', '/v1/ml/runs', '/v1/ml/models/deploy']))
    expect(routes.length).toBeGreaterThan(30)
    for (const [method, path] of routes) {
      const body = method === 'GET' || method === 'HEAD' ? undefined : '{}'
      for (const token of [null, 'wrong-token-of-the-same-kind-0123456789abcdef']) {
        const response = await rawRequest(`${api.url}${path}`, { method, token, body })
        expect(response.status, `${method} ${path}`).toBe(401)
        // MLflow-compatible routes answer in MLflow's own error shape; /v1 in ours.
        if (method !== 'HEAD' && path.startsWith('/v1/')) expect(response.body.error?.code, `${method} ${path}`).toBe('unauthenticated')
      }
    }
  })

  it('refuses a Host that is not loopback (DNS rebinding) with 421, and a foreign Origin with 403', async () => {
    const rebinding = await rawRequest(`${api.url}/v1/ml/experiments`, { token: api.token, headers: { host: 'evil.example:8377' } })
    expect([rebinding.status, rebinding.body.error.code]).toEqual([421, 'invalid_host'])
    const foreign = await rawRequest(`${api.url}/v1/ml/experiments`, { token: api.token, headers: { origin: 'https://evil.example' } })
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'forbidden_origin'])
    const own = await rawRequest(`${api.url}/v1/ml/experiments`, { token: api.token, headers: { origin: api.url } })
    expect(own.status).toBe(200)
  })

  it('refuses Host names that merely start like loopback, and accepts loopback literals and localhost', async () => {
    const port = new URL(api.url).port
    for (const host of [`127.0.0.1.nip.io:${port}`, `127.evil.com:${port}`, `127.0.0.1:${port}@evil.com`, `localhost.:${port}`, `0.0.0.0:${port}`]) {
      const response = await rawRequest(`${api.url}/v1/ml/experiments`, { token: api.token, headers: { host } })
      expect([response.status, response.body.error?.code], host).toEqual([421, 'invalid_host'])
    }
    for (const host of [`127.0.0.1:${port}`, `127.1.2.3:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      const response = await rawRequest(`${api.url}/v1/ml/experiments`, { token: api.token, headers: { host } })
      expect(response.status, host).toBe(200)
    }
  })

  it('accepts only JSON bodies (415) and limits their size (413)', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const response = await rawRequest(`${api.url}/v1/ml/experiments`, { token: api.token, body: 'name=x', headers: { 'content-type': contentType } })
      expect([response.status, response.body.error.code], contentType).toEqual([415, 'unsupported_media_type'])
    }
    const huge = JSON.stringify({ name: 'x', description: 'd'.repeat(17 * 1024 * 1024) })
    const tooLarge = await rawRequest(`${api.url}/v1/ml/experiments`, { token: api.token, body: huge })
    expect([tooLarge.status, tooLarge.body.error.code]).toEqual([413, 'payload_too_large'])
    const malformed = await rawRequest(`${api.url}/v1/ml/experiments`, { token: api.token, body: '{"name":' })
    expect([malformed.status, malformed.body.error.field]).toEqual([400, 'body'])
  })

  it('rejects unknown fields in bodies and queries, naming them', async () => {
    const body = await rawRequest(`${api.url}/v1/ml/runs`, { token: api.token, body: JSON.stringify({ experiment_id: 1, run_nam: 'typo' }) })
    expect([body.status, body.body.error.field]).toEqual([400, 'run_nam'])
    const query = await rawRequest(`${api.url}/v1/ml/experiments?activeonly=true`, { token: api.token })
    expect([query.status, query.body.error.field]).toEqual([400, 'activeonly'])
    const nested = await rawRequest(`${api.url}/v1/ml/runs/complete`, { token: api.token, body: JSON.stringify({ run_id: 1, resources: { gpu: 1 } }) })
    expect([nested.status, nested.body.error.field]).toEqual([400, 'resources.gpu'])
  })

  it('names the field for lengths, NUL bytes and bad ids; 404 for unknown routes', async () => {
    const nul = await rawRequest(`${api.url}/v1/ml/experiments`, { token: api.token, body: JSON.stringify({ name: 'a\u0000b' }) })
    expect([nul.status, nul.body.error.field]).toEqual([400, 'name'])
    const long = await rawRequest(`${api.url}/v1/ml/experiments`, { token: api.token, body: JSON.stringify({ name: 'n'.repeat(257) }) })
    expect([long.status, long.body.error.field]).toEqual([400, 'name'])
    const badId = await rawRequest(`${api.url}/v1/ml/runs/abc`, { token: api.token })
    expect([badId.status, badId.body.error.field]).toEqual([400, 'runId'])
    const missing = await rawRequest(`${api.url}/v1/ml/nothing-here`, { token: api.token })
    expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found'])
  })

  it('serves an OpenAPI document that validates and lists every /v1 route, and a docs page', async () => {
    const document = await rawRequest(`${api.url}/v1/openapi.json`, { token: api.token })
    expect(document.status).toBe(200)
    const validator = new Validator()
    const result = await validator.validate(document.body)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    const paths = Object.keys(document.body.paths)
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/ml/experiments',
        '/v1/ml/runs',
        '/v1/ml/metrics',
        '/v1/ml/runs/complete',
        '/v1/ml/leaderboard',
        '/v1/ml/models/versions',
        '/v1/ml/models/versions/{versionId}',
        '/v1/ml/models/{modelName}/versions',
        '/v1/ml/models/versions/approve',
        '/v1/ml/models/deploy',
        '/v1/ml/models/{modelName}/deployment',
        '/v1/ml/models/rollback',
        '/v1/ml/runs/{runId}/metrics/history',
        '/v1/ml/runs/{runId}/artifacts',
        '/v1/ml/artifacts/{artifactId}/verify'
      ])
    )
    // The batch route documents its points although it validates them by hand.
    const metricsBody = document.body.paths['/v1/ml/metrics'].post.requestBody.content['application/json'].schema
    expect(JSON.stringify(metricsBody)).toContain('idempotency_key')
    const docs = await rawRequest(`${api.url}/v1/docs`, { token: api.token })
    expect(docs.status).toBeLessThan(400)
  })
})
