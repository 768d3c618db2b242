import { describe, expect, it } from 'vitest'
import type { MetricPoint } from '../../src/shared/domain'
import { chunkPoints, CHUNK_POINTS, encodeChunkCopy, encodeStagingCopy } from '../../src/main/repositories/metric-copy-encoder'
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

/** Reads a one-dimensional binary array field: element type OID and elements (null for NULL). */
function decodeArray(field: Buffer): { oid: number; elements: Array<Buffer | null> } {
  expect(field.readInt32BE(0)).toBe(1) // dimensions
  const oid = field.readInt32BE(8)
  const count = field.readInt32BE(12)
  expect(field.readInt32BE(16)).toBe(1) // lower bound
  let offset = 20
  const elements: Array<Buffer | null> = []
  for (let i = 0; i < count; i++) {
    const length = field.readInt32BE(offset)
    offset += 4
    if (length === -1) elements.push(null)
    else {
      elements.push(field.subarray(offset, offset + length))
      offset += length
    }
  }
  expect(offset).toBe(field.length)
  return { oid, elements }
}

describe('binary COPY encoders for metric points', () => {
  const points: MetricPoint[] = [
    { key: 'loss', value: -0, step: 2n ** 53n + 1n, epoch: null, timestamp: Date.UTC(2026, 0, 1) + 0.123, kind: 'train' },
    { key: 'ключ', value: NaN, step: -(2n ** 63n), epoch: 7, timestamp: 0, kind: 'validation' },
    { key: 'loss', value: -Infinity, step: 2n ** 63n - 1n, epoch: 2_147_483_647, timestamp: 1, kind: 'train' }
  ]
  const keyIds = new Map([
    ['loss', 3],
    ['ключ', 9]
  ])

  it('groups a batch into one chunk row per key and kind, every field bit-exact, NULL epochs kept', () => {
    const rows = decode(Buffer.concat([...encodeChunkCopy(9_007_199_254_740_991, chunkPoints(points, keyIds))]))
    expect(rows).toHaveLength(2)
    const [loss, other] = rows
    expect(loss![0]!.readBigInt64BE()).toBe(9_007_199_254_740_991n)
    expect(loss![1]!.readInt32BE()).toBe(3)
    expect(loss![2]!.readBigInt64BE()).toBe(2n ** 53n + 1n) // first step
    expect(loss![3]!.readBigInt64BE()).toBe(2n ** 63n - 1n) // last step
    expect(loss![4]![0]).toBe(1) // sealed
    expect(loss![5]!.toString()).toBe('train')
    expect(loss![6]!.readInt32BE()).toBe(2)
    const steps = decodeArray(loss![7]!)
    expect(steps.oid).toBe(20)
    expect(steps.elements.map((e) => e!.readBigInt64BE())).toEqual([2n ** 53n + 1n, 2n ** 63n - 1n])
    const values = decodeArray(loss![8]!)
    expect(values.oid).toBe(701)
    expect(Object.is(values.elements[0]!.readDoubleBE(), -0)).toBe(true)
    expect(values.elements[1]!.readDoubleBE()).toBe(-Infinity)
    const times = decodeArray(loss![9]!)
    expect(times.oid).toBe(1184)
    // 2026-01-01 + 0.123 ms, in µs since 2000-01-01
    expect(times.elements[0]!.readBigInt64BE()).toBe(BigInt(Date.UTC(2026, 0, 1) - Date.UTC(2000, 0, 1)) * 1000n + 123n)
    const epochs = decodeArray(loss![10]!)
    expect(epochs.oid).toBe(23)
    expect(epochs.elements[0]).toBeNull()
    expect(epochs.elements[1]!.readInt32BE()).toBe(2_147_483_647)
    expect(other![1]!.readInt32BE()).toBe(9)
    expect(other![5]!.toString()).toBe('validation')
    expect(Number.isNaN(decodeArray(other![8]!).elements[0]!.readDoubleBE())).toBe(true)
    expect(decodeArray(other![9]!).elements[0]!.readBigInt64BE()).toBe(-BigInt(Date.UTC(2000, 0, 1)) * 1000n)
  })

  it('writes a NULL epochs array when no point of the chunk has an epoch', () => {
    const rows = decode(Buffer.concat([...encodeChunkCopy(1, chunkPoints([points[0]!], keyIds))]))
    expect(rows[0]![10]).toBeNull()
  })

  it('splits large batches into chunks of at most CHUNK_POINTS and into stream pieces without losing points', () => {
    const many: MetricPoint[] = Array.from({ length: 100_000 }, (_, i) => ({
      key: `k${i % 3}`,
      value: i,
      step: BigInt(i),
      epoch: null,
      timestamp: i,
      kind: 'test'
    }))
    const ids = new Map([
      ['k0', 1],
      ['k1', 2],
      ['k2', 3]
    ])
    const chunks = chunkPoints(many, ids)
    expect(chunks.every((chunk) => chunk.points.length <= CHUNK_POINTS)).toBe(true)
    const pieces = [...encodeChunkCopy(1, chunks)]
    expect(pieces.length).toBeGreaterThan(3)
    const rows = decode(Buffer.concat(pieces))
    expect(rows.reduce((sum, row) => sum + row[6]!.readInt32BE(), 0)).toBe(100_000)
    const steps = rows.flatMap((row) => decodeArray(row[7]!).elements.map((e) => e!.readBigInt64BE()))
    expect(new Set(steps).size).toBe(100_000)
    expect(steps.reduce((max, step) => (step > max ? step : max))).toBe(99_999n)
  })

  it('stages one row per point with the key id', () => {
    const rows = decode(Buffer.concat([...encodeStagingCopy(points, keyIds)]))
    expect(rows).toHaveLength(3)
    expect(rows[1]![0]!.readInt32BE()).toBe(9)
    expect(Number.isNaN(rows[1]![1]!.readDoubleBE())).toBe(true)
    expect(rows[1]![2]!.readBigInt64BE()).toBe(-(2n ** 63n))
    expect(rows[1]![3]!.readInt32BE()).toBe(7)
    expect(rows[0]![3]).toBeNull()
    expect(rows[2]![5]!.toString()).toBe('train')
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
