/**
 * Decoders for one-dimensional arrays in PostgreSQL's binary format, as `array_send(...)`
 * returns them (a bytea, which node-postgres hands over as a Buffer). Reading a hundred
 * thousand points this way skips the text rendering of every number on the server and its
 * parsing here: the doubles arrive bit-exact (NaN, ±Infinity, -0) and are read with a DataView.
 *
 * Layout: int32 dimensions (0 for an empty array), int32 has-nulls flag, int32 element type,
 * then per dimension int32 length and int32 lower bound, then per element an int32 byte length
 * (-1 for NULL) followed by the element's bytes.
 */

// PostgreSQL timestamps count microseconds from 2000-01-01T00:00:00Z.
const PG_EPOCH_MS = Date.UTC(2000, 0, 1)
const TWO_POW_32 = 2 ** 32

interface ArrayCursor {
  view: DataView
  count: number
  offset: number
}

function open(bytes: Buffer): ArrayCursor {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const dimensions = view.getInt32(0)
  if (dimensions === 0) return { view, count: 0, offset: 12 }
  if (dimensions !== 1) throw new Error(`expected a one-dimensional array, got ${dimensions} dimensions`)
  return { view, count: view.getInt32(12), offset: 20 }
}

/** bigint[] → steps as bigints. */
export function decodeInt8Array(bytes: Buffer): bigint[] {
  const cursor = open(bytes)
  const out = new Array<bigint>(cursor.count)
  let at = cursor.offset
  for (let i = 0; i < cursor.count; i++) {
    out[i] = cursor.view.getBigInt64(at + 4)
    at += 12
  }
  return out
}

/** double precision[] → numbers, bit-exact. NULL elements are not expected (the columns are NOT NULL). */
export function decodeFloat8Array(bytes: Buffer): Float64Array {
  const cursor = open(bytes)
  const out = new Float64Array(cursor.count)
  let at = cursor.offset
  for (let i = 0; i < cursor.count; i++) {
    out[i] = cursor.view.getFloat64(at + 4)
    at += 12
  }
  return out
}

/** timestamptz[] → whole milliseconds since 1970, truncated as node-postgres reads a timestamp. */
export function decodeTimestampArray(bytes: Buffer): Float64Array {
  const cursor = open(bytes)
  const out = new Float64Array(cursor.count)
  let at = cursor.offset
  for (let i = 0; i < cursor.count; i++) {
    const micros = cursor.view.getInt32(at + 4) * TWO_POW_32 + cursor.view.getUint32(at + 8)
    out[i] = PG_EPOCH_MS + Math.floor(micros / 1000)
    at += 12
  }
  return out
}

/** integer[] with NULLs → numbers or null; a NULL array (bytes null) → all null. */
export function decodeNullableInt4Array(bytes: Buffer | null, count: number): Array<number | null> {
  if (bytes === null) return new Array<number | null>(count).fill(null)
  const cursor = open(bytes)
  const out = new Array<number | null>(cursor.count)
  let at = cursor.offset
  for (let i = 0; i < cursor.count; i++) {
    const length = cursor.view.getInt32(at)
    if (length === -1) {
      out[i] = null
      at += 4
    } else {
      out[i] = cursor.view.getInt32(at + 4)
      at += 8
    }
  }
  return out
}

/** double precision[] with NULLs → numbers (bit-exact) or null. */
export function decodeNullableFloat8Array(bytes: Buffer): Array<number | null> {
  const cursor = open(bytes)
  const out = new Array<number | null>(cursor.count)
  let at = cursor.offset
  for (let i = 0; i < cursor.count; i++) {
    if (cursor.view.getInt32(at) === -1) {
      out[i] = null
      at += 4
    } else {
      out[i] = cursor.view.getFloat64(at + 4)
      at += 12
    }
  }
  return out
}
