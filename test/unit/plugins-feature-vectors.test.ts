import { describe, expect, it } from 'vitest'
import { buildRunFeatureVectors, MISSING_VALUE } from '../../src/main/services/similar-runs'

function row(result: ReturnType<typeof buildRunFeatureVectors>, index: number): Record<string, number> {
  return Object.fromEntries(result.keys.map((key, c) => [key, result.vectors[index * result.dim + c]]))
}

describe('buildRunFeatureVectors', () => {
  it('min-max normalises numeric params (numbers and numeric strings) and final metrics', () => {
    const result = buildRunFeatureVectors([
      { runId: 1, params: { lr: '0.001', layers: 2 }, metrics: { loss: 0.5 } },
      { runId: 2, params: { lr: '0.01', layers: 4 }, metrics: { loss: 0.3 } },
      { runId: 3, params: { lr: '0.1', layers: 3 }, metrics: { loss: 0.1 } }
    ])
    expect(result.keys).toEqual(['metrics.loss', 'params.layers', 'params.lr'])
    expect(result.dim).toBe(3)
    expect(result.runIds).toEqual([1, 2, 3])
    expect(row(result, 0)).toEqual({ 'metrics.loss': 1, 'params.layers': 0, 'params.lr': 0 })
    expect(row(result, 2)['params.lr']).toBe(1)
    expect(row(result, 1)['params.layers']).toBe(1)
    expect(row(result, 1)['params.lr']).toBeCloseTo((0.01 - 0.001) / (0.1 - 0.001), 12)
  })

  it('gives missing and non-finite values the neutral 0.5', () => {
    const result = buildRunFeatureVectors([
      { runId: 1, params: { lr: 1 }, metrics: { acc: 0.9 } },
      { runId: 2, params: {}, metrics: { acc: Number.NaN } },
      { runId: 3, params: { lr: 3 }, metrics: { acc: 0.7 } }
    ])
    expect(row(result, 1)).toEqual({ 'metrics.acc': MISSING_VALUE, 'params.lr': MISSING_VALUE })
  })

  it('one-hot encodes categorical params and drops constant columns', () => {
    const result = buildRunFeatureVectors([
      { runId: 1, params: { optimizer: 'adam', seed: 7, device: 'cuda' }, metrics: {} },
      { runId: 2, params: { optimizer: 'sgd', seed: 7, device: 'cuda' }, metrics: {} },
      { runId: 3, params: { seed: 7, device: 'cuda' }, metrics: {} }
    ])
    expect(result.keys).toEqual(['params.optimizer=adam', 'params.optimizer=sgd'])
    expect(row(result, 0)).toEqual({ 'params.optimizer=adam': 1, 'params.optimizer=sgd': 0 })
    expect(row(result, 2)).toEqual({ 'params.optimizer=adam': 0, 'params.optimizer=sgd': 0 })
  })

  it('treats a param that is sometimes non-numeric as categorical, and ignores identifiers', () => {
    const runs = Array.from({ length: 25 }, (_, i) => ({
      runId: i,
      params: { batch: i === 0 ? 'auto' : String(32 * (i % 2 + 1)), name: `run-${i}` },
      metrics: {}
    }))
    const result = buildRunFeatureVectors(runs)
    expect(result.keys).toEqual(['params.batch=32', 'params.batch=64', 'params.batch=auto'])
  })

  it('returns dim 0 for no informative columns and handles no runs', () => {
    expect(buildRunFeatureVectors([{ runId: 1, params: { a: 1 }, metrics: { m: 2 } }]).dim).toBe(0)
    expect(buildRunFeatureVectors([])).toEqual({ dim: 0, keys: [], vectors: new Float64Array(0), runIds: [] })
  })
})
