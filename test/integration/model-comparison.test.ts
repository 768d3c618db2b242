import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ComparisonProgress } from '../../src/shared/domain'
import { makeDataDir, startTestCore, type TestCore } from '../support/test-env'
import { writeSafetensors } from '../support/safetensors-writer'

describe('comparing two model versions', () => {
  let test: TestCore
  let folder: { dir: string; remove: () => void }
  const big = 1_500_000 // several slices
  const bigA = new Float32Array(big).map((_, i) => Math.sin(i / 100))
  const bigB = new Float32Array(big).map((_, i) => Math.sin(i / 100) + (i % 7 === 0 ? 0.5 : 0))

  beforeAll(async () => {
    test = await startTestCore({ plugins: true })
    folder = makeDataDir('hypercube-models-')
    writeSafetensors(join(folder.dir, 'a.safetensors'), {
      'layer.weight': { dtype: 'F32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      'layer.bias': { dtype: 'F16', shape: [2], data: [0.5, -1] },
      'big.weight': { dtype: 'F32', shape: [big], data: bigA },
      'head.weight': { dtype: 'F32', shape: [2, 2], data: [1, 0, 0, 1] },
      'dropped.weight': { dtype: 'F32', shape: [1], data: [9] }
    })
    writeSafetensors(join(folder.dir, 'b.safetensors'), {
      'layer.weight': { dtype: 'F32', shape: [2, 3], data: [1, 2, 3, 4, 5, 8] },
      'layer.bias': { dtype: 'F16', shape: [2], data: [0.5, -1] },
      'big.weight': { dtype: 'F32', shape: [big], data: bigB },
      'head.weight': { dtype: 'F32', shape: [4], data: [1, 0, 0, 1] },
      'added.weight': { dtype: 'F64', shape: [3], data: [1, 2, 3] }
    })
  })
  afterAll(async () => {
    await test?.close()
    folder?.remove()
  })

  it('compares metrics side by side and every tensor through the plugins, with progress', async () => {
    const { models, modelComparison } = test.core.services
    const a = await models.registerVersion({ modelName: 'cmp', artifactUri: pathToFileURL(join(folder.dir, 'a.safetensors')).href, performanceMetrics: { acc: 0.9, f1: 0.8 } })
    const b = await models.registerVersion({ modelName: 'cmp', artifactUri: join(folder.dir, 'b.safetensors'), performanceMetrics: { acc: 0.95, loss: 0.1 }, parentVersionId: a.id })
    const progress: ComparisonProgress[] = []
    const comparison = await modelComparison!.compareVersions({ versionIdA: a.id, versionIdB: b.id }, (p) => progress.push(p))

    expect(comparison.metrics).toEqual([
      { key: 'acc', a: 0.9, b: 0.95, delta: expect.closeTo(0.05, 10) },
      { key: 'f1', a: 0.8, b: null, delta: null },
      { key: 'loss', a: null, b: 0.1, delta: null }
    ])
    expect(comparison.tensorsUnavailable).toBeNull()
    const byName = Object.fromEntries(comparison.tensors!.map((t) => [t.name, t]))
    expect(byName['layer.weight']).toMatchObject({ status: 'compared', elements: 6, l2: 2, l1: 2 })
    expect(byName['layer.weight']!.cosineDistance).toBeCloseTo(1 - 103 / Math.sqrt(91 * 119), 12)
    expect(byName['layer.bias']).toMatchObject({ status: 'compared', l2: 0, l1: 0, cosineDistance: 0 })
    expect(byName['head.weight']).toMatchObject({ status: 'shape_changed', shapeA: [2, 2], shapeB: [4] })
    expect(byName['dropped.weight']).toMatchObject({ status: 'only_in_a' })
    expect(byName['added.weight']).toMatchObject({ status: 'only_in_b', dtypeB: 'F64' })

    // The big tensor crossed the hosts in several slices; its sums must equal a direct computation.
    let squared = 0
    let absolute = 0
    for (let i = 0; i < big; i++) {
      const d = bigA[i]! - bigB[i]!
      squared += d * d
      absolute += Math.abs(d)
    }
    expect(byName['big.weight']!.l2).toBeCloseTo(Math.sqrt(squared), 6)
    expect(byName['big.weight']!.l1).toBeCloseTo(absolute, 3)
    expect(progress.length).toBeGreaterThanOrEqual(3)
    expect(progress.at(-1)!.bytesDone).toBe(progress.at(-1)!.bytesTotal)
    expect(progress.map((p) => p.bytesDone)).toEqual([...progress.map((p) => p.bytesDone)].sort((x, y) => x - y))
  })

  it("keeps the calling thread's event loop free while a multi-million-element tensor is compared", async () => {
    const { models, modelComparison } = test.core.services
    const elements = 4_000_000 // 16 MB per file
    const values = new Float32Array(elements).map((_, i) => Math.cos(i / 1000))
    writeSafetensors(join(folder.dir, 'large-a.safetensors'), { w: { dtype: 'F32', shape: [elements], data: values } })
    writeSafetensors(join(folder.dir, 'large-b.safetensors'), { w: { dtype: 'F32', shape: [elements], data: values.map((v) => v * 0.5) } })
    const a = await models.registerVersion({ modelName: 'large', artifactUri: join(folder.dir, 'large-a.safetensors') })
    const b = await models.registerVersion({ modelName: 'large', artifactUri: join(folder.dir, 'large-b.safetensors') })

    // A 1 ms timer on this thread: each firing records how late it was.
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    const comparison = await modelComparison!.compareVersions({ versionIdA: a.id, versionIdB: b.id }).finally(() => delay.disable())

    expect(comparison.tensors![0]).toMatchObject({ name: 'w', status: 'compared', elements })
    expect(comparison.tensors![0]!.cosineDistance).toBeCloseTo(0, 12) // b = a / 2: same direction
    // Reading, converting and norms run on the compute worker; this thread only relays slices
    // to the plugin hosts (and collects that garbage), so its timers stay on time. Generous:
    // on a loaded 2-core box this measures ~35 ms, with no load a few ms.
    expect(delay.percentile(99) / 1e6).toBeLessThan(100)
  })

  it('stops a comparison when its signal is aborted', async () => {
    const { models, modelComparison } = test.core.services
    const a = await models.registerVersion({ modelName: 'cancelled', artifactUri: join(folder.dir, 'a.safetensors') })
    const b = await models.registerVersion({ modelName: 'cancelled', artifactUri: join(folder.dir, 'b.safetensors') })
    const abort = new AbortController()
    const comparing = modelComparison!.compareVersions({ versionIdA: a.id, versionIdB: b.id }, () => abort.abort(), abort.signal)
    await expect(comparing).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/cancelled/) })
  })

  it('says why weights are not compared when an artifact is not local safetensors', async () => {
    const { models, modelComparison } = test.core.services
    const a = await models.registerVersion({ modelName: 'remote', artifactUri: 's3://bucket/model.safetensors' })
    const b = await models.registerVersion({ modelName: 'remote', artifactUri: 's3://bucket/model2.safetensors' })
    const comparison = await modelComparison!.compareVersions({ versionIdA: a.id, versionIdB: b.id })
    expect(comparison.tensors).toBeNull()
    expect(comparison.tensorsUnavailable).toMatch(/local files/)
  })

  it('refuses a file that is not safetensors, naming the version', async () => {
    const { models, modelComparison } = test.core.services
    const bogus = join(folder.dir, 'bogus.safetensors')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(bogus, 'definitely not a model')
    const a = await models.registerVersion({ modelName: 'bogus', artifactUri: bogus })
    const b = await models.registerVersion({ modelName: 'bogus', artifactUri: join(folder.dir, 'b.safetensors') })
    await expect(modelComparison!.compareVersions({ versionIdA: a.id, versionIdB: b.id })).rejects.toMatchObject({
      code: 'invalid_argument',
      field: 'versionIdA'
    })
  })
})
