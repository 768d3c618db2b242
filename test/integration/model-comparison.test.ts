import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ComparisonProgress } from '../../src/shared/domain'
import { makeDataDir, startTestCore, type TestCore } from '../support/test-env'
import { writeSafetensors } from '../support/safetensors-writer'

describe('comparing two model versions', () => {
  let test: TestCore
  let folder: { dir: string; remove: () => void }
  const big = 1_500_000 // more than one 1M-element slice
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

    // The big tensor crossed the host in two slices; its sums must equal a direct computation.
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
