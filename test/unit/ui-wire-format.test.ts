import { describe, expect, it } from 'vitest'
import { decodeWire, encodeWire, WireFormatError } from '../../src/shared/wire-format'

describe('the serve-mode wire format', () => {
  it('keeps bigint past 2^53, NaN, ±Infinity and -0 exactly', () => {
    const value = { step: 2n ** 63n - 1n, negative: -(2n ** 62n), values: [NaN, Infinity, -Infinity, -0, 0, 1.5] }
    const back = decodeWire(encodeWire(value)) as typeof value
    expect(back.step).toBe(2n ** 63n - 1n)
    expect(back.negative).toBe(-(2n ** 62n))
    expect(back.values[0]).toBeNaN()
    expect(back.values.slice(1, 3)).toEqual([Infinity, -Infinity])
    expect(Object.is(back.values[3], -0)).toBe(true)
    expect(Object.is(back.values[4], 0)).toBe(true)
  })

  it('never reads user data as a tag: objects with a "$t" key are escaped', () => {
    const params = { $t: 'bigint', v: '12', nested: { $t: 'num', v: 'NaN' } }
    expect(decodeWire(encodeWire({ params }))).toEqual({ params })
  })

  it('refuses a malformed tag rather than guessing', () => {
    expect(() => decodeWire('{"$t":"bigint","v":"12x"}')).toThrow(WireFormatError)
    expect(() => decodeWire('{"$t":"what","v":"1"}')).toThrow(WireFormatError)
    expect(() => decodeWire('{')).toThrow(SyntaxError)
  })
})
