import {
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  Int8,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
  type Data
} from 'apache-arrow'
import { METRIC_KINDS, type MetricKind, type MetricPoint } from '../../shared/domain'
import { BundleError } from './bundle-format'

/**
 * One metric key's points as Arrow IPC (stream format): columns step (int64), value (float64),
 * timestamp (timestamp[ms, UTC]), epoch (int32, nullable) and kind (dictionary of the four
 * kinds). Values travel as their 8 bytes, so NaN, ±Infinity and −0 come back exactly; steps are
 * 64-bit integers end to end. Any Arrow reader (pyarrow, polars, DuckDB) reads these members.
 *
 * Record batches are written as the points are read (a window at a time) and read back one
 * batch at a time, so neither side ever holds a whole series.
 */

const KIND_DICTIONARY = vectorFromArray([...METRIC_KINDS], new Utf8())
const KIND_TYPE = new Dictionary(new Utf8(), new Int8(), 0)
const KIND_CODE = new Map<MetricKind, number>(METRIC_KINDS.map((kind, index) => [kind, index]))

export const METRIC_SCHEMA = new Schema([
  new Field('step', new Int64(), false),
  new Field('value', new Float64(), false),
  new Field('timestamp', new TimestampMillisecond('UTC'), false),
  new Field('epoch', new Int32(), true),
  new Field('kind', KIND_TYPE, false)
])

/** A record batch of points (all of one key). */
export function pointsToBatch(points: readonly MetricPoint[]): RecordBatch {
  const n = points.length
  const steps = new BigInt64Array(n)
  const values = new Float64Array(n)
  const times = new BigInt64Array(n)
  const epochs = new Int32Array(n)
  const kinds = new Int8Array(n)
  const valid = new Uint8Array(Math.ceil(n / 8))
  let nulls = 0
  for (let i = 0; i < n; i++) {
    const point = points[i]!
    steps[i] = point.step
    values[i] = point.value
    times[i] = BigInt(Math.round(point.timestamp))
    if (point.epoch === null) nulls++
    else {
      epochs[i] = point.epoch
      valid[i >> 3]! |= 1 << (i & 7)
    }
    kinds[i] = KIND_CODE.get(point.kind)!
  }
  const children = [
    makeData({ type: new Int64(), length: n, data: steps }),
    makeData({ type: new Float64(), length: n, data: values }),
    makeData({ type: new TimestampMillisecond('UTC'), length: n, data: times }),
    makeData({ type: new Int32(), length: n, data: epochs, nullBitmap: nulls === 0 ? undefined : valid, nullCount: nulls }),
    makeData({ type: KIND_TYPE, length: n, data: kinds, dictionary: KIND_DICTIONARY })
  ]
  return new RecordBatch(METRIC_SCHEMA, makeData({ type: new Struct(METRIC_SCHEMA.fields), length: n, children }))
}

/** A writer whose bytes come out of `writer` as an async iterable (pipe them where they go). */
export function metricStreamWriter(): RecordBatchStreamWriter {
  return new RecordBatchStreamWriter()
}

function columnValues<T extends ArrayLike<unknown>>(data: Data, what: string, member: string): T {
  if (!data.values) throw new BundleError(`${member}: column ${what} has no values`, member)
  return (data.values as unknown as { subarray(from: number, to: number): T }).subarray(data.offset, data.offset + data.length)
}

/**
 * The points of an Arrow member, a batch at a time. The member's schema must be the bundle's
 * (names, types), or it is refused naming the member.
 */
export async function* readMetricBatches(source: AsyncIterable<Uint8Array>, key: string, member: string): AsyncGenerator<MetricPoint[]> {
  let reader: Awaited<ReturnType<typeof RecordBatchReader.from>>
  try {
    reader = await RecordBatchReader.from(source)
  } catch (error) {
    throw new BundleError(`${member}: not an Arrow IPC stream (${(error as Error).message})`, member)
  }
  let checked = false
  for await (const batch of reader as AsyncIterable<RecordBatch>) {
    if (!checked) {
      const names = batch.schema.fields.map((field) => `${field.name}:${String(field.type)}`).join(',')
      const expected = METRIC_SCHEMA.fields.map((field) => `${field.name}:${String(field.type)}`).join(',')
      if (names !== expected) throw new BundleError(`${member}: columns ${names}, expected ${expected}`, member)
      checked = true
    }
    const n = batch.numRows
    const stepData = batch.getChildAt(0)!.data
    // A batch read from IPC has one data chunk per column.
    if (stepData.length !== 1) throw new BundleError(`${member}: unexpected column layout`, member)
    const steps = columnValues<BigInt64Array>(stepData[0]!, 'step', member)
    const values = columnValues<Float64Array>(batch.getChildAt(1)!.data[0]!, 'value', member)
    const times = columnValues<BigInt64Array>(batch.getChildAt(2)!.data[0]!, 'timestamp', member)
    const epochColumn = batch.getChildAt(3)!
    const kindData = batch.getChildAt(4)!.data[0]!
    const kindCodes = columnValues<Int8Array>(kindData, 'kind', member)
    const dictionary = kindData.dictionary
    const kindNames: MetricKind[] = []
    for (let i = 0; i < (dictionary?.length ?? 0); i++) {
      const kind = dictionary!.get(i) as string
      if (!KIND_CODE.has(kind as MetricKind)) throw new BundleError(`${member}: unknown metric kind ${JSON.stringify(kind)}`, member)
      kindNames.push(kind as MetricKind)
    }
    const points: MetricPoint[] = new Array<MetricPoint>(n)
    for (let i = 0; i < n; i++) {
      const kind = kindNames[kindCodes[i]!]
      if (kind === undefined) throw new BundleError(`${member}: row ${i} has no metric kind`, member)
      const epoch = epochColumn.get(i) as number | null
      points[i] = { key, value: values[i]!, step: steps[i]!, epoch, timestamp: Number(times[i]!), kind }
    }
    yield points
  }
}
