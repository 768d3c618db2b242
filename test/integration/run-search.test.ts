import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'

describe('run search with the filter language', () => {
  let test: TestCore
  let experimentId: number
  const ids: Record<string, number> = {}

  beforeAll(async () => {
    test = await startTestCore()
    const { experiments, runs } = test.core.services
    experimentId = (await experiments.create({ name: 'search' })).id
    const specs = [
      { name: 'bert-a', lr: 0.001, opt: 'adam', loss: 0.2, owner: 'ana', finish: 'completed' },
      { name: 'bert-b', lr: '0.01', opt: 'sgd', loss: 0.5, owner: 'bo', finish: 'failed' },
      { name: 'gpt-c', lr: 0.001, opt: 'adam', loss: 0.25, owner: 'ana', finish: null },
      { name: 'tmp-d', lr: 0.1, opt: 'sgd', loss: NaN, owner: 'cy', finish: 'killed' }
    ] as const
    for (const spec of specs) {
      const run = await runs.start({ experimentId, name: spec.name, hyperparameters: { lr: spec.lr, opt: spec.opt }, tags: { owner: spec.owner } })
      await runs.logMetrics(run.id, [{ key: 'loss', value: Number.isNaN(spec.loss) ? 'NaN' : spec.loss, step: 1 }])
      if (spec.finish) await runs.complete({ runId: run.id, status: spec.finish })
      ids[spec.name] = run.id
    }
  })
  afterAll(async () => test?.close())

  async function names(filter: string, orderBy: string[] = ['name']): Promise<string[]> {
    const result = await test.core.services.runs.searchRuns({ experimentIds: [experimentId], filter, orderBy })
    return result.runs.map((run) => run.name)
  }

  it('filters by metrics, params, tags and attributes with and / or / parentheses', async () => {
    expect(await names("metrics.loss < 0.3 and params.lr = '0.001'")).toEqual(['bert-a', 'gpt-c'])
    expect(await names("params.opt = 'sgd' or tags.owner = 'ana'")).toEqual(['bert-a', 'bert-b', 'gpt-c', 'tmp-d'])
    expect(await names("(params.opt = 'sgd' or tags.owner = 'ana') and status = 'failed'")).toEqual(['bert-b'])
    expect(await names("name LIKE 'bert%'")).toEqual(['bert-a', 'bert-b'])
    expect(await names("name not like 'bert%'")).toEqual(['gpt-c', 'tmp-d'])
    expect(await names("tags.owner ILIKE 'AN%'")).toEqual(['bert-a', 'gpt-c'])
    expect(await names("attributes.status IN ('RUNNING', 'KILLED')")).toEqual(['gpt-c', 'tmp-d'])
    expect(await names("status = 'FINISHED'")).toEqual(['bert-a'])
  })

  it('compares params numerically when given a number, whether logged as numbers or strings', async () => {
    expect(await names('params.lr >= 0.01')).toEqual(['bert-b', 'tmp-d'])
    expect(await names('params.lr < 0.005')).toEqual(['bert-a', 'gpt-c'])
  })

  it('orders by metrics (runs without a value last) and pages with tokens', async () => {
    expect(await names('', ['metrics.loss ASC'])).toEqual(['bert-a', 'gpt-c', 'bert-b', 'tmp-d'])
    const first = await test.core.services.runs.searchRuns({ experimentIds: [experimentId], orderBy: ['name'], maxResults: 3 })
    expect(first.runs.map((r) => r.name)).toEqual(['bert-a', 'bert-b', 'gpt-c'])
    const second = await test.core.services.runs.searchRuns({ experimentIds: [experimentId], orderBy: ['name'], maxResults: 3, pageToken: first.nextPageToken })
    expect(second.runs.map((r) => r.name)).toEqual(['tmp-d'])
    expect(second.nextPageToken).toBeUndefined()
  })

  it('never lets filter text into the SQL', async () => {
    expect(await names("name = 'x'' OR 1=1 --'")).toEqual([])
    expect(await names("params.`lr') OR true --` = '1'")).toEqual([])
  })

  it('refuses bad filters with the field and position', async () => {
    const { runs } = test.core.services
    await expect(runs.searchRuns({ experimentIds: [experimentId], filter: 'metrics.loss <' })).rejects.toMatchObject({
      code: 'invalid_argument',
      field: 'filter',
      message: expect.stringContaining('position 14')
    })
    await expect(runs.searchRuns({ experimentIds: [experimentId], filter: "status = 'sleeping'" })).rejects.toMatchObject({ field: 'filter' })
    await expect(runs.searchRuns({ experimentIds: [experimentId], orderBy: ['nope'] })).rejects.toMatchObject({ field: 'orderBy[0]' })
    await expect(runs.searchRuns({ experimentIds: [experimentId], pageToken: 'garbage!' })).rejects.toMatchObject({ field: 'pageToken' })
  })
})

describe('concurrent run starts', () => {
  it('starts many runs of one experiment at once without deadlocks', async () => {
    const test = await startTestCore()
    try {
      const { experiments, runs } = test.core.services
      const experiment = await experiments.create({ name: 'parallel-jobs' })
      const started = await Promise.all(Array.from({ length: 24 }, (_, i) => runs.start({ experimentId: experiment.id, name: `job-${i}` })))
      expect(new Set(started.map((run) => run.id)).size).toBe(24)
      expect((await experiments.list({}))[0]!.runCount).toBe(24)
    } finally {
      await test.close()
    }
  })
})
