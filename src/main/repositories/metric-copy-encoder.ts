import type { MetricKind, MetricPoint } from '../../shared/domain'

/**
 * Encodes metric points in PostgreSQL's binary COPY format for
 *   COPY ml_metric_log (run_id, metric_name, value, step, epoch, logged_at, kind) FROM STDIN BINARY
 * Binary COPY skips text parsing on the server and carries every double bit-exactly (NaN,
 * ±Infinity and -0 included), which is what makes ingest run at COPY speed.
 */

export const METRIC_COPY_COLUMNS = '(run_id, metric_name, value, step, epoch, logged_at, kind)'

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
const FIELD_COUNT = 7
// PostgreSQL timestamps count microseconds from 2000-01-01T00:00:00Z.
const PG_EPOCH_MS = Date.UTC(2000, 0, 1)
const ROWS_PER_CHUNK = 16_384
const TWO_POW_32 = 2 ** 32

const KIND_BYTES: Record<MetricKind, Buffer> = {
  train: Buffer.from('train'),
  validation: Buffer.from('validation'),
  test: Buffer.from('test'),
  system: Buffer.from('system')
}

/** Buffer.copy has a fixed cost that dominates for the few bytes of a metric key or kind. */
function copySmall(source: Buffer, target: Buffer, at: number): void {
  if (source.length > 32) {
    source.copy(target, at)
    return
  }
  for (let i = 0; i < source.length; i++) target[at + i] = source[i]!
}

/** Yields the COPY stream in chunks of a few MB, so a million points never sit in one buffer. */
export function* encodeMetricCopy(runId: number, points: readonly MetricPoint[]): Generator<Buffer> {
  const keyBytes = new Map<string, Buffer>()
  const header = Buffer.alloc(SIGNATURE.length + 8)
  SIGNATURE.copy(header, 0)
  yield header

  for (let start = 0; start < points.length; start += ROWS_PER_CHUNK) {
    const end = Math.min(points.length, start + ROWS_PER_CHUNK)
    let size = 0
    for (let i = start; i < end; i++) {
      const point = points[i]!
      let key = keyBytes.get(point.key)
      if (!key) {
        key = Buffer.from(point.key, 'utf8')
        keyBytes.set(point.key, key)
      }
      // field count + 7 lengths + int8 + text + float8 + int8 + int4? + int8 + text
      size += 2 + 7 * 4 + 8 + key.length + 8 + 8 + (point.epoch === null ? 0 : 4) + 8 + KIND_BYTES[point.kind].length
    }
    const chunk = Buffer.allocUnsafe(size)
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let offset = 0
    const runHigh = Math.floor(runId / TWO_POW_32)
    const runLow = runId >>> 0
    for (let i = start; i < end; i++) {
      const point = points[i]!
      view.setInt16(offset, FIELD_COUNT)
      offset += 2
      // run_id int8
      view.setInt32(offset, 8)
      view.setInt32(offset + 4, runHigh)
      view.setUint32(offset + 8, runLow)
      offset += 12
      // metric_name text
      const key = keyBytes.get(point.key)!
      view.setInt32(offset, key.length)
      copySmall(key, chunk, offset + 4)
      offset += 4 + key.length
      // value float8
      view.setInt32(offset, 8)
      view.setFloat64(offset + 4, point.value)
      offset += 12
      // step int8
      view.setInt32(offset, 8)
      view.setBigInt64(offset + 4, point.step)
      offset += 12
      // epoch int4, nullable
      if (point.epoch === null) {
        view.setInt32(offset, -1)
        offset += 4
      } else {
        view.setInt32(offset, 4)
        view.setInt32(offset + 4, point.epoch)
        offset += 8
      }
      // logged_at timestamptz (µs since 2000-01-01), written as two 32-bit halves to stay in
      // plain number arithmetic (µs values stay below 2^53).
      const micros = Math.round((point.timestamp - PG_EPOCH_MS) * 1000)
      view.setInt32(offset, 8)
      view.setInt32(offset + 4, Math.floor(micros / TWO_POW_32))
      view.setUint32(offset + 8, micros >>> 0)
      offset += 12
      // kind text
      const kind = KIND_BYTES[point.kind]
      view.setInt32(offset, kind.length)
      copySmall(kind, chunk, offset + 4)
      offset += 4 + kind.length
    }
    yield chunk
  }
  const trailer = Buffer.alloc(2)
  trailer.writeInt16BE(-1)
  yield trailer
}
