import type { MetricKind, MetricPoint } from '../../shared/domain'

/**
 * Encodes metric points in PostgreSQL's binary COPY format, either as chunk rows (migrations/0014:
 * up to CHUNK_POINTS points of one key and kind in parallel arrays) or as one staging row per
 * point. Binary COPY skips text parsing on the server and carries every double bit-exactly (NaN,
 * ±Infinity and -0 included), which is what makes ingest run at COPY speed.
 */

export const CHUNK_COPY_COLUMNS = '(run_id, key_id, first_step, last_step, sealed, kind, point_count, steps, vals, logged_at, epochs)'
export const STAGING_COPY_COLUMNS = '(key_id, value, step, epoch, logged_at, kind)'

/** Points per chunk row: large enough that a row's overhead is under a byte a point. */
export const CHUNK_POINTS = 1024

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
// PostgreSQL timestamps count microseconds from 2000-01-01T00:00:00Z.
const PG_EPOCH_MS = Date.UTC(2000, 0, 1)
const TWO_POW_32 = 2 ** 32
const FLUSH_BYTES = 1 << 20

const OID = { int4: 23, int8: 20, float8: 701, timestamptz: 1184 } as const

const KIND_BYTES: Record<MetricKind, Buffer> = {
  train: Buffer.from('train'),
  validation: Buffer.from('validation'),
  test: Buffer.from('test'),
  system: Buffer.from('system')
}

/** Appends COPY fields to a buffer that grows as needed; `take` hands over what is written. */
class CopyBuffer {
  private buffer = Buffer.allocUnsafe(FLUSH_BYTES * 2)
  private view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength)
  length = 0

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes))
    this.buffer.copy(grown, 0, 0, this.length)
    this.buffer = grown
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength)
  }

  take(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.length))
    this.length = 0
    return out
  }

  fieldCount(count: number): void {
    this.reserve(2)
    this.view.setInt16(this.length, count)
    this.length += 2
  }

  null(): void {
    this.reserve(4)
    this.view.setInt32(this.length, -1)
    this.length += 4
  }

  bool(value: boolean): void {
    this.reserve(5)
    this.view.setInt32(this.length, 1)
    this.buffer[this.length + 4] = value ? 1 : 0
    this.length += 5
  }

  int4(value: number): void {
    this.reserve(8)
    this.view.setInt32(this.length, 4)
    this.view.setInt32(this.length + 4, value)
    this.length += 8
  }

  /** A JS integer (a run id) as int8. */
  int8(value: number): void {
    this.reserve(12)
    this.view.setInt32(this.length, 8)
    this.view.setInt32(this.length + 4, Math.floor(value / TWO_POW_32))
    this.view.setUint32(this.length + 8, value >>> 0)
    this.length += 12
  }

  bigint8(value: bigint): void {
    this.reserve(12)
    this.view.setInt32(this.length, 8)
    this.view.setBigInt64(this.length + 4, value)
    this.length += 12
  }

  float8(value: number): void {
    this.reserve(12)
    this.view.setInt32(this.length, 8)
    this.view.setFloat64(this.length + 4, value)
    this.length += 12
  }

  /** Milliseconds (possibly fractional) as timestamptz: µs since 2000-01-01, in two 32-bit halves (µs stay below 2^53). */
  timestamp(ms: number): void {
    this.reserve(12)
    const micros = Math.round((ms - PG_EPOCH_MS) * 1000)
    this.view.setInt32(this.length, 8)
    this.view.setInt32(this.length + 4, Math.floor(micros / TWO_POW_32))
    this.view.setUint32(this.length + 8, micros >>> 0)
    this.length += 12
  }

  bytes(value: Buffer): void {
    this.reserve(4 + value.length)
    this.view.setInt32(this.length, value.length)
    // Buffer.copy has a fixed cost that dominates for the few bytes of a kind.
    for (let i = 0; i < value.length; i++) this.buffer[this.length + 4 + i] = value[i]!
    this.length += 4 + value.length
  }

  /**
   * A one-dimensional array field of `count` elements of `elementBytes` each (NULLs where
   * `isNull` says so); `write` fills element i's data at the given offset.
   */
  array(oid: number, count: number, elementBytes: number, write: (view: DataView, at: number, i: number) => void, isNull?: (i: number) => boolean): void {
    let nulls = 0
    if (isNull) for (let i = 0; i < count; i++) if (isNull(i)) nulls++
    const size = 20 + count * 4 + (count - nulls) * elementBytes
    this.reserve(4 + size)
    const view = this.view
    let at = this.length
    view.setInt32(at, size)
    view.setInt32(at + 4, 1) // dimensions
    view.setInt32(at + 8, nulls > 0 ? 1 : 0)
    view.setInt32(at + 12, oid)
    view.setInt32(at + 16, count)
    view.setInt32(at + 20, 1) // lower bound
    at += 24
    for (let i = 0; i < count; i++) {
      if (nulls > 0 && isNull!(i)) {
        view.setInt32(at, -1)
        at += 4
      } else {
        view.setInt32(at, elementBytes)
        write(view, at + 4, i)
        at += 4 + elementBytes
      }
    }
    this.length = at
  }
}

function header(): Buffer {
  const bytes = Buffer.alloc(SIGNATURE.length + 8)
  SIGNATURE.copy(bytes, 0)
  return bytes
}

function trailer(): Buffer {
  const bytes = Buffer.alloc(2)
  bytes.writeInt16BE(-1)
  return bytes
}

/** The points of one chunk row: one key and kind, at most CHUNK_POINTS, in batch order. */
export interface PointChunk {
  keyId: number
  kind: MetricKind
  points: MetricPoint[]
}

/** Splits a batch into chunks of one (key, kind), keeping each key's points in batch order. */
export function chunkPoints(points: readonly MetricPoint[], keyIds: ReadonlyMap<string, number>): PointChunk[] {
  const open = new Map<string, PointChunk>()
  const chunks: PointChunk[] = []
  for (const point of points) {
    const group = `${point.kind}\u0000${point.key}`
    let chunk = open.get(group)
    if (!chunk || chunk.points.length === CHUNK_POINTS) {
      chunk = { keyId: keyIds.get(point.key)!, kind: point.kind, points: [] }
      open.set(group, chunk)
      chunks.push(chunk)
    }
    chunk.points.push(point)
  }
  return chunks
}

/** Sealed chunk rows for COPY ml_metric_chunk CHUNK_COPY_COLUMNS FROM STDIN BINARY, in pieces of about a megabyte. */
export function* encodeChunkCopy(runId: number, chunks: readonly PointChunk[]): Generator<Buffer> {
  yield header()
  const out = new CopyBuffer()
  for (const chunk of chunks) {
    const points = chunk.points
    let first = points[0]!.step
    let last = first
    let withEpoch = false
    for (const point of points) {
      if (point.step < first) first = point.step
      if (point.step > last) last = point.step
      if (point.epoch !== null) withEpoch = true
    }
    out.fieldCount(11)
    out.int8(runId)
    out.int4(chunk.keyId)
    out.bigint8(first)
    out.bigint8(last)
    out.bool(true)
    out.bytes(KIND_BYTES[chunk.kind])
    out.int4(points.length)
    out.array(OID.int8, points.length, 8, (view, at, i) => view.setBigInt64(at, points[i]!.step))
    out.array(OID.float8, points.length, 8, (view, at, i) => view.setFloat64(at, points[i]!.value))
    out.array(OID.timestamptz, points.length, 8, (view, at, i) => {
      const micros = Math.round((points[i]!.timestamp - PG_EPOCH_MS) * 1000)
      view.setInt32(at, Math.floor(micros / TWO_POW_32))
      view.setUint32(at + 4, micros >>> 0)
    })
    if (withEpoch) {
      out.array(OID.int4, points.length, 4, (view, at, i) => view.setInt32(at, points[i]!.epoch!), (i) => points[i]!.epoch === null)
    } else {
      out.null()
    }
    if (out.length >= FLUSH_BYTES) yield out.take()
  }
  if (out.length > 0) yield out.take()
  yield trailer()
}

/** One row per point for COPY ml_metric_staging STAGING_COPY_COLUMNS FROM STDIN BINARY. */
export function* encodeStagingCopy(points: readonly MetricPoint[], keyIds: ReadonlyMap<string, number>): Generator<Buffer> {
  yield header()
  const out = new CopyBuffer()
  for (const point of points) {
    out.fieldCount(6)
    out.int4(keyIds.get(point.key)!)
    out.float8(point.value)
    out.bigint8(point.step)
    if (point.epoch === null) out.null()
    else out.int4(point.epoch)
    out.timestamp(point.timestamp)
    out.bytes(KIND_BYTES[point.kind])
    if (out.length >= FLUSH_BYTES) yield out.take()
  }
  if (out.length > 0) yield out.take()
  yield trailer()
}
