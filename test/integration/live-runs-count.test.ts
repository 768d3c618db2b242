import { afterAll, describe, expect, it } from 'vitest'
import { countLiveRuns } from '../../src/main/desktop/live-runs-badge'
import { startTestCore, type TestCore } from '../support/test-env'

// The badge's number: runs whose status is running, across every experiment, from the database.
describe('countLiveRuns', () => {
  let test: TestCore
  afterAll(async () => {
    await test?.close()
  })

  it('counts the running runs of every experiment, and follows them as they start, finish and are deleted', async () => {
    test = await startTestCore()
    const { experiments, runs } = test.core.services
    expect(await countLiveRuns(test.core.services)).toBe(0)
    const first = await experiments.create({ name: 'badge-a' })
    const second = await experiments.create({ name: 'badge-b' })
    const a1 = await runs.start({ experimentId: first.id })
    const a2 = await runs.start({ experimentId: first.id })
    const pending = await runs.start({ experimentId: first.id, status: 'pending' })
    const b1 = await runs.start({ experimentId: second.id })
    expect([a1.status, pending.status]).toEqual(['running', 'pending'])
    expect(await countLiveRuns(test.core.services)).toBe(3)
    await runs.markRunning(pending.id)
    expect(await countLiveRuns(test.core.services)).toBe(4)
    await runs.complete({ runId: pending.id, status: 'killed' })
    await runs.complete({ runId: a1.id })
    expect(await countLiveRuns(test.core.services)).toBe(2)
    await runs.delete(b1.id)
    expect(await countLiveRuns(test.core.services)).toBe(1)
    await runs.complete({ runId: a2.id, status: 'failed' })
    expect(await countLiveRuns(test.core.services)).toBe(0)
  })
})
