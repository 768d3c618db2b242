import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'

// The core as the shells start it: the bundled plugins discovered, checked and hosted in child
// processes, and "similar runs" computed through them over real runs in PostgreSQL.
describe('core with geometric plugins', () => {
  let test: TestCore
  beforeAll(async () => {
    test = await startTestCore({ plugins: true })
  })
  afterAll(async () => test?.close())

  it('loads the three bundled plugins', () => {
    const plugins = test.core.services.plugins!.list()
    expect(plugins.map((plugin) => plugin.name)).toEqual(['cosine', 'euclidean', 'manhattan'])
    for (const plugin of plugins) expect(plugin.state).toBe('running')
  })

  it('finds the nearest runs of an experiment by their params and metrics', async () => {
    const { experiments, runs, similarRuns } = test.core.services
    const experiment = await experiments.create({ name: 'similar-runs' })
    const made: number[] = []
    // Normalised over the experiment, run B and then E lie closest to A under every plugin
    // (A is not at the origin, where cosine distance has no direction).
    for (const [lr, batch, loss] of [
      [0.01, 64, 0.5], // A
      [0.011, 64, 0.52], // B
      [0.1, 256, 0.9], // C
      [0.001, 32, 0.3], // D
      [0.012, 64, 0.55] // E
    ] as const) {
      const run = await runs.start({ experimentId: experiment.id, hyperparameters: { lr, batch } })
      await runs.logMetrics(run.id, [{ key: 'loss', value: loss, step: 1 }])
      made.push(run.id)
    }
    for (const plugin of ['euclidean', 'manhattan', 'cosine']) {
      const nearest = await similarRuns!.nearestRuns(experiment.id, made[0]!, plugin, 2)
      expect(nearest.map((n) => n.runId), plugin).toEqual([made[1], made[4]])
      expect(nearest[0]!.distance).toBeLessThanOrEqual(nearest[1]!.distance)
    }
    const matrix = await similarRuns!.distanceMatrix(experiment.id, made, 'euclidean')
    expect(matrix.matrix).toHaveLength(25)
    for (let i = 0; i < 5; i++) expect(matrix.matrix[i * 5 + i]).toBe(0)
    expect(matrix.matrix[0 * 5 + 2]).toBeCloseTo(matrix.matrix[2 * 5 + 0]!, 12)
    expect(matrix.matrix[0 * 5 + 1]).toBeLessThan(matrix.matrix[0 * 5 + 2]!)
  })
})
