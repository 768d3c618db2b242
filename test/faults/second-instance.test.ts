import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HypercubeClient } from '../../src/client/hypercube-client'
import { FaultScope, postmasterInfo, requireBuild } from './support/serve-process'

// Issue 11 item 4, with real processes: a second `serve` on a folder in use is refused by
// name, and touches neither the first app nor its PostgreSQL.

describe('a second instance on the same data folder', () => {
  const scope = new FaultScope()
  beforeAll(requireBuild)
  afterEach(() => scope.cleanup())

  it("exits non-zero naming the first one's pid and port, and the first keeps working", async () => {
    const dataDir = scope.dataDir()
    const first = await scope.start(dataDir)
    const client = new HypercubeClient({ url: first.url, token: first.token })
    const experiment = await client.createExperiment({ name: 'first-instance' })
    const run = await client.startRun({ experiment_id: experiment.experiment_id })
    await client.logMetrics(run.run_id, { loss: 1 }, { step: 0 })
    const postmaster = postmasterInfo(dataDir)

    const startedAt = Date.now()
    const second = scope.spawn(dataDir, ['--port', '0'])
    const { code, signal } = await second.exited
    const refusedMs = Date.now() - startedAt
    console.log(`[faults] second instance: exit code ${code} after ${refusedMs} ms; said: ${second.output().trim()}`)
    expect(signal).toBeNull()
    expect(code).not.toBe(0)
    expect(second.output()).toContain(`pid ${first.pid}`)
    expect(second.output()).toContain(`127.0.0.1:${first.port}`)
    expect(second.output()).toContain(dataDir)

    // The first app, its PostgreSQL and its data are as they were.
    expect(first.alive()).toBe(true)
    expect(postmasterInfo(dataDir)).toEqual(postmaster)
    await client.logMetrics(run.run_id, { loss: 0.5 }, { step: 1 })
    const again = await client.getRun(run.run_id)
    expect(again.metrics?.find((metric) => metric.key === 'loss')).toMatchObject({ count: 2, last_value: 0.5 })
    expect(await first.stop()).toBe(0)
  })
})
