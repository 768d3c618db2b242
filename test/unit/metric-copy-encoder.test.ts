import { describe, expect, it } from 'vitest'
import type { MetricPoint } from '../../src/shared/domain'
import { encodeMetricCopy } from '../../src/main/repositories/metric-copy-encoder'
import { pgFloat, pgTimestamp } from '../../src/main/repositories/metric-repository'

function decode(buffer: Buffer) {
  // A minimal reader of PostgreSQL's binary COPY format, independent of the encoder.
  expect(buffer.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0')
  let offset = 19
  const rows: Array<Array<Buffer | null>> = []
  for (;;) {
    const fields = buffer.readInt16BE(offset)
    offset += 2
    if (fields === -1) break
    const row: Array<Buffer | null> = []
    for (let i = 0; i < fields; i++) {
      const length = buffer.readInt32BE(offset)
      offset += 4
      if (length === -1) row.push(null)
      else {
        row.push(buffer.subarray(offset, offset + length))
        offset += length
      }
    }
    rows.push(row)
  }
  expect(offset).toBe(buffer.length)
  return rows
}

describe('binary COPY encoder for metric points', () => {
  const points: MetricPoint[] = [
    { key: 'loss', value: -0, step: 2n ** 53n + 1n, epoch: null, timestamp: Date.UTC(2026, 0, 1) + 0.123, kind: 'train' },
    { key: 'ключ', value: NaN, step: -(2n ** 63n), epoch: 7, timestamp: 0, kind: 'validation' },
    { key: 'loss', value: -Infinity, step: 2n ** 63n - 1n, epoch: 2_147_483_647, timestamp: 1, kind: 'system' }
  ]

  it('writes every field bit-exactly, with NULL epochs and UTF-8 keys', () => {
    const rows = decode(Buffer.concat([...encodeMetricCopy(9_007_199_254_740_991, points)]))
    expect(rows).toHaveLength(3)
    const [first, second, third] = rows
    expect(first![0]!.readBigInt64BE()).toBe(9_007_199_254_740_991n)
    expect(first![1]!.toString('utf8')).toBe('loss')
    expect(Object.is(first![2]!.readDoubleBE(), -0)).toBe(true)
    expect(first![3]!.readBigInt64BE()).toBe(2n ** 53n + 1n)
    expect(first![4]).toBeNull()
    // 2026-01-01 + 0.123 ms, in µs since 2000-01-01
    expect(first![5]!.readBigInt64BE()).toBe(BigInt(Date.UTC(2026, 0, 1) - Date.UTC(2000, 0, 1)) * 1000n + 123n)
    expect(first![6]!.toString()).toBe('train')
    expect(second![1]!.toString('utf8')).toBe('ключ')
    expect(Number.isNaN(second![2]!.readDoubleBE())).toBe(true)
    expect(second![3]!.readBigInt64BE()).toBe(-(2n ** 63n))
    expect(second![4]!.readInt32BE()).toBe(7)
    expect(second![5]!.readBigInt64BE()).toBe(-BigInt(Date.UTC(2000, 0, 1)) * 1000n)
    expect(third![2]!.readDoubleBE()).toBe(-Infinity)
    expect(third![3]!.readBigInt64BE()).toBe(2n ** 63n - 1n)
    expect(third![4]!.readInt32BE()).toBe(2_147_483_647)
    expect(third![6]!.toString()).toBe('system')
  })

  it('splits large batches into several chunks without losing rows', () => {
    const many: MetricPoint[] = Array.from({ length: 40_000 }, (_, i) => ({
      key: `k${i % 3}`,
      value: i,
      step: BigInt(i),
      epoch: null,
      timestamp: i,
      kind: 'test'
    }))
    const chunks = [...encodeMetricCopy(1, many)]
    expect(chunks.length).toBeGreaterThan(3)
    const rows = decode(Buffer.concat(chunks))
    expect(rows).toHaveLength(40_000)
    expect(rows[39_999]![3]!.readBigInt64BE()).toBe(39_999n)
  })
})

describe('PostgreSQL literals for doubles and timestamps', () => {
  it('spells NaN, infinities and -0 so PostgreSQL reads them exactly', () => {
    expect([NaN, Infinity, -Infinity, -0, 0, 1.5e-300].map(pgFloat)).toEqual(['NaN', 'Infinity', '-Infinity', '-0', '0', '1.5e-300'])
  })

  it('keeps microseconds of fractional millisecond timestamps', () => {
    expect(pgTimestamp(Date.UTC(2026, 10, 26, 1, 2, 3, 4) + 0.567)).toBe('2026-11-26T01:02:03.004567Z')
    expect(pgTimestamp(0)).toBe('1970-01-01T00:00:00.000000Z')
  })
})
