import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { checkExactlyOnce, MetricLoad, startRuns, summarize, type Endpoint } from './support/metric-load'
import { connectEmbedded, FaultScope, requireBuild, type RunningServe } from './support/serve-process'

// Issue 11, fault suite: the app itself killed outright in the middle of a load. The batches
// whose answers were lost are retried (same idempotency keys) against the app started again
// on the same folder, and every acknowledged point is there exactly once.

describe('kill -9 of the app under load', () => {
  const scope = new FaultScope()
  beforeAll(requireBuild)
  afterEach(() => scope.cleanup())

  it('a restarted app on the same folder finishes the load, and every acknowledged point is stored exactly once', async () => {
    const dataDir = scope.dataDir()
    let server: RunningServe = await scope.start(dataDir)
    let endpoint: Endpoint = { url: server.url, token: server.token }
    const runIds = await startRuns(endpoint, 2, 'app-kill')
    // While the app is down its port refuses connections ('network'); the loader keeps
    // retrying the same batch until the new app answers.
    const load = new MetricLoad(() => endpoint, runIds, { batches: 30, pointsPerBatch: 2_000, timeoutMs: 90_000, retryOn: ['network'] })
    const finished = load.run()

    await load.acknowledgedAtLeast(load.totalBatches / 3)
    load.markFault()
    const killedAt = Date.now()
    await server.kill9()
    server = await scope.start(dataDir)
    const restartMs = Date.now() - killedAt
    endpoint = { url: server.url, token: server.token }
    await finished

    expect(load.unexpectedOutcomes(['200', '503', 'network'])).toEqual({})
    expect(load.count('network')).toBeGreaterThan(0) // the fault landed while batches were being sent
    const db = await connectEmbedded(dataDir)
    try {
      const report = await checkExactlyOnce(db, load)
      console.log(summarize('kill -9 of the app', load, report, { 'restart (kill → ready)': `${restartMs} ms` }))
      expect(report).toEqual({ acknowledged: 2 * 30 * 2_000, stored: 2 * 30 * 2_000, duplicates: 0, missing: 0, unexpected: 0 })
    } finally {
      await db.end()
    }
    expect(await server.stop()).toBe(0)
  })
})
