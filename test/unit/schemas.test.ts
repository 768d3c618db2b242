import { describe, expect, it } from 'vitest'
import { createExperimentInput, deployModelInput, int64, parseInput, startRunInput, validateMetricPoints } from '../../src/shared/schemas'
import { errorOf } from '../support/domain-error'

describe('input schemas', () => {
  it('names the field for NUL bytes, over-long names and unknown enum values', () => {
    expect(errorOf(() => parseInput(createExperimentInput, { name: 'a\0b' }))).toMatchObject({ code: 'invalid_argument', field: 'name' })
    expect(errorOf(() => parseInput(createExperimentInput, { name: 'x'.repeat(257) }))).toMatchObject({ field: 'name' })
    expect(errorOf(() => parseInput(createExperimentInput, { name: 'ok', tags: { t: 'v\0' } }))).toMatchObject({ field: 'tags.t' })
    expect(errorOf(() => parseInput(startRunInput, { experimentId: 1, status: 'done' }))).toMatchObject({ field: 'status' })
  })

  it('rejects unknown fields by name', () => {
    const error = errorOf(() => parseInput(createExperimentInput, { name: 'ok', colour: 'red' }))
    expect(error.code).toBe('invalid_argument')
    expect(error.message).toContain('colour')
  })

  it('keeps int64 exact: strings past 2^53 are fine, numbers past 2^53 are refused', () => {
    expect(int64.parse('9007199254740993')).toBe(9_007_199_254_740_993n)
    expect(int64.parse('-9223372036854775808')).toBe(-(2n ** 63n))
    expect(int64.safeParse('9223372036854775808').success).toBe(false)
    expect(int64.safeParse(2 ** 53 + 2).success).toBe(false)
    expect(int64.safeParse(1.5).success).toBe(false)
  })

  it('requires a traffic share exactly for canary deployments', () => {
    expect(errorOf(() => parseInput(deployModelInput, { modelName: 'm', versionId: 1, strategy: 'canary' }))).toMatchObject({
      field: 'canaryTrafficPercent'
    })
    expect(parseInput(deployModelInput, { modelName: 'm', versionId: 1, strategy: 'canary', canaryTrafficPercent: 10 }).target).toBe('production')
  })
})

describe('metric point validation', () => {
  it('accepts NaN and infinities as strings and numbers, and int64 steps as strings', () => {
    const points = validateMetricPoints(
      [
        { key: 'a', value: 'NaN', step: '9007199254740993' },
        { key: 'a', value: '-Infinity', step: 1, kind: 'validation', epoch: 3, timestamp: 5 },
        { key: 'a', value: -0 }
      ],
      'points',
      1000
    )
    expect(Number.isNaN(points[0]!.value)).toBe(true)
    expect(points[0]!.step).toBe(9_007_199_254_740_993n)
    expect(points[1]).toEqual({ key: 'a', value: -Infinity, step: 1n, epoch: 3, timestamp: 5, kind: 'validation' })
    expect(Object.is(points[2]!.value, -0)).toBe(true)
    expect(points[2]!.timestamp).toBe(1000)
  })

  it('names the offending point and field', () => {
    const cases: Array<[unknown, string]> = [
      [{ key: 'a', value: 'nan' }, 'points[1].value'],
      [{ key: 'a\0', value: 1 }, 'points[1].key'],
      [{ key: 'k'.repeat(251), value: 1 }, 'points[1].key'],
      [{ key: 'a', value: 1, step: 2 ** 60 }, 'points[1].step'],
      [{ key: 'a', value: 1, kind: 'eval' }, 'points[1].kind'],
      [{ key: 'a', value: 1, epoch: -1 }, 'points[1].epoch'],
      [{ key: 'a', value: 1, colour: 'red' }, 'points[1].colour']
    ]
    for (const [bad, field] of cases) {
      expect(errorOf(() => validateMetricPoints([{ key: 'ok', value: 1 }, bad]))).toMatchObject({ code: 'invalid_argument', field })
    }
  })
})
