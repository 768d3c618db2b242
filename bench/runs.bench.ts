/**
 * npm run bench:runs — 10,000 runs of one experiment listed, sorted and filtered through run
 * search (the runs table's query), beside listing them unfiltered, in the same run.
 * Target on the 2-core reference machine: ≤ 200 ms for list + sort + filter.
 */
import { performance } from 'node:perf_hooks'
import { startCore } from '../src/main/core'
import { createSilentLogger } from '../src/main/logging'
import { makeBenchDataDir } from './support'

const RUNS = Number(process.env.BENCH_RUNS ?? 10_000)
const REPEAT = 5

const data = makeBenchDataDir()
const core = await startCore({ dataDir: data.dir, logger: createSilentLogger(), plugins: false, http: false })
try {
  const { experiments, runs } = core.services
  const experiment = await experiments.create({ name: 'bench-runs' })
  const setupStart = performance.now()
  const optimizers = ['adam', 'sgd', 'adamw', 'lion']
  for (let offset = 0; offset < RUNS; offset += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, RUNS - offset) }, async (_, i) => {
        const n = offset + i
        const run = await runs.start({
          experimentId: experiment.id,
          name: `run-${n}`,
          hyperparameters: { lr: [0.1, 0.01, 0.001, 0.0001][n % 4]!, batch: 16 << (n % 5), optimizer: optimizers[n % 4]! },
          tags: { owner: n % 3 === 0 ? 'ana' : 'bo' }
        })
        await runs.logMetrics(run.id, [
          { key: 'val_loss', value: 1 / (1 + (n % 97)), step: 100 },
          { key: 'accuracy', value: (n % 89) / 89, step: 100 }
        ])
      })
    )
  }
  console.log(`created ${RUNS.toLocaleString('en-US')} runs with params, tags and 2 metrics each in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`)

  async function time(label: string, query: Record<string, unknown>): Promise<number> {
    let best = Infinity
    let count = 0
    for (let i = 0; i < REPEAT; i++) {
      const start = performance.now()
      const result = await runs.searchRuns({ experimentIds: [experiment.id], maxResults: 50_000, ...query })
      best = Math.min(best, performance.now() - start)
      count = result.runs.length
    }
    console.log(`${label}: ${count.toLocaleString('en-US')} runs in ${best.toFixed(1)} ms (best of ${REPEAT})`)
    return best
  }

  const listed = await time('list all (newest first)', {})
  const filtered = await time("filter `metrics.val_loss < 0.3 and (params.optimizer = 'adam' or tags.owner = 'ana')`, sort by metrics.accuracy", {
    filter: "metrics.val_loss < 0.3 and (params.optimizer = 'adam' or tags.owner = 'ana')",
    orderBy: ['metrics.accuracy DESC']
  })
  const sortedAll = await time('sort all by metrics.val_loss', { orderBy: ['metrics.val_loss ASC'] })
  console.log(`ratio filtered+sorted / plain list: ${(filtered / listed).toFixed(2)}x; sorted-all / plain list: ${(sortedAll / listed).toFixed(2)}x`)
  console.log(`target ≤ 200 ms for list + sort + filter: ${Math.max(filtered, sortedAll) <= 200 ? 'met' : 'NOT met'}`)
} finally {
  await core.close()
  data.remove()
}
