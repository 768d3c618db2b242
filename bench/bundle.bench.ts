/**
 * npm run bench:bundle — a review bundle of BENCH_POINTS metric points (default 10,000,000:
 * 10 runs × 4 keys × 250,000 steps) exported from one database and imported into another, both
 * on one embedded PostgreSQL server, with:
 *   - export and import points/s, end to end through the services;
 *   - bytes per point of the bundle beside MLflow's file-store text lines ("timestamp value
 *     step", one file per key) and JSON lines of the same points, raw and gzip'd, encoded and
 *     decoded in this process in the same run;
 *   - the process's RSS sampled at every 10 % of the export and of the import: flat memory
 *     means it does not grow with the points done.
 * BENCH_POINTS=1000000 for a quick run.
 */
import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { gunzipSync, gzipSync } from 'node:zlib'
import { RecordBatchReader, RecordBatchStreamWriter } from 'apache-arrow'
import { BundleExporter } from '../src/main/bundle/bundle-exporter'
import { BundleImporter } from '../src/main/bundle/bundle-importer'
import { pointsToBatch } from '../src/main/bundle/metric-columns'
import type { ProgressSink } from '../src/main/bundle/progress'
import { startCore } from '../src/main/core'
import { Database } from '../src/main/db/database'
import { EmbeddedPostgres } from '../src/main/db/embedded-postgres'
import { createSilentLogger } from '../src/main/logging'
import type { MetricPoint } from '../src/shared/domain'
import { formatRate, makeBenchDataDir } from './support'

const TOTAL = Number(process.env.BENCH_POINTS ?? 10_000_000)
const RUNS = 10
const KEYS = ['loss', 'val_loss', 'accuracy', 'lr']
const STEPS = Math.ceil(TOTAL / RUNS / KEYS.length)
const BATCH = 200_000
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`

/** Training-like points of one run: KEYS at every step, in step order. */
function* runPoints(run: number, from: number, to: number): Generator<MetricPoint> {
  const t0 = 1_700_000_000_000 + run * 86_400_000
  for (let step = from; step < to; step++) {
    for (const [k, key] of KEYS.entries()) {
      const value = key === 'lr' ? 1e-3 * Math.cos(step / STEPS) : Math.exp(-step / (STEPS / 3)) * (1 + k * 0.1) + Math.random() * 0.01
      yield { key, value, step: BigInt(step), epoch: Math.floor(step / 1_000), timestamp: t0 + step * 250 + (step % 7), kind: key.startsWith('val') ? 'validation' : 'train' }
    }
  }
}

/** Byte i of every `width`-byte value together: bytes that vary alike sit side by side for the compressor. */
function byteSplit(bytes: Buffer, width: number): Buffer {
  const count = bytes.length / width
  const out = Buffer.alloc(bytes.length)
  for (let i = 0; i < count; i++) for (let k = 0; k < width; k++) out[k * count + i] = bytes[i * width + k]!
  return out
}

/** RSS at each tenth of the work (the progress sink sees every update). */
function rssSampler(): { sink: ProgressSink; samples: number[]; peak: () => number } {
  const samples: number[] = []
  let peak = 0
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50)
  timer.unref()
  return {
    samples,
    peak: () => peak,
    sink: {
      update(done, total) {
        const decile = Math.floor((done / total) * 10)
        while (samples.length < decile) samples.push(process.memoryUsage().rss)
      },
      line: () => undefined,
      finish: () => clearInterval(timer)
    }
  }
}

const data = makeBenchDataDir()
const logger = createSilentLogger()
const server = await EmbeddedPostgres.start({ clusterDir: join(data.dir, 'pg'), logFile: join(data.dir, 'postgresql.log'), passwordFile: join(data.dir, 'pg-password'), logger })
const admin = await Database.connect(server.connectionString, logger)
const urlOf = (name: string): string => {
  const url = new URL(server.connectionString)
  url.pathname = `/${name}`
  return url.toString()
}
await admin.query('CREATE DATABASE bench_bundle_source')
await admin.query('CREATE DATABASE bench_bundle_target')
mkdirSync(join(data.dir, 'source'))
mkdirSync(join(data.dir, 'target'))
const coreOptions = { http: false as const, plugins: false as const, healthCheckIntervalMs: false as const, logger }
const source = await startCore({ ...coreOptions, dataDir: join(data.dir, 'source'), databaseUrl: urlOf('bench_bundle_source') })
const target = await startCore({ ...coreOptions, dataDir: join(data.dir, 'target'), databaseUrl: urlOf('bench_bundle_target') })
try {
  console.log(`bench:bundle — ${TOTAL.toLocaleString('en-US')} points (${RUNS} runs × ${KEYS.length} keys × ${STEPS.toLocaleString('en-US')} steps); PostgreSQL ${admin.serverVersion} embedded`)
  const experiment = await source.services.experiments.create({ name: 'bench-bundle' })
  let written = 0
  const fillStart = performance.now()
  for (let run = 0; run < RUNS; run++) {
    const created = await source.services.runs.start({ experimentId: experiment.id, name: `run-${run}`, hyperparameters: { lr: 0.001 * (run + 1) } })
    const stepsPerBatch = Math.floor(BATCH / KEYS.length)
    for (let from = 0; from < STEPS; from += stepsPerBatch) {
      const points = [...runPoints(run, from, Math.min(STEPS, from + stepsPerBatch))]
      await source.services.runs.logValidatedMetrics(created.id, points)
      written += points.length
    }
    await source.services.runs.complete({ runId: created.id, status: 'completed' })
  }
  console.log(`filled the source: ${written.toLocaleString('en-US')} points at ${formatRate(written, performance.now() - fillStart)}`)

  const file = join(data.dir, 'bench.hcube')
  const rssBefore = process.memoryUsage().rss
  const exportRss = rssSampler()
  const exportStart = performance.now()
  const exporter = new BundleExporter(source.services, source.mlflow)
  const result = await exporter.write(await exporter.plan({ experiment: 'bench-bundle', artifacts: false }), file, exportRss.sink)
  const exportMs = performance.now() - exportStart
  exportRss.sink.finish()

  const importRss = rssSampler()
  const importStart = performance.now()
  const report = await new BundleImporter(target.services).import(file, { progress: importRss.sink })
  const importMs = performance.now() - importStart
  importRss.sink.finish()
  if (report.points !== written || result.points !== written) throw new Error(`exported ${result.points}, imported ${report.points}, written ${written}`)

  // Baselines, in this process on one run's points (the formats' own cost, no database):
  // MLflow's file store (metrics/<key>: "timestamp value step" lines) and JSON lines, raw and
  // gzip'd, beside the bundle's Arrow columns, raw and gzip'd.
  const sample = [...runPoints(0, 0, STEPS)]
  const encodeTimed = (encode: () => Buffer): { bytes: Buffer; ms: number } => {
    const start = performance.now()
    const bytes = encode()
    return { bytes, ms: performance.now() - start }
  }
  const mlflowText = encodeTimed(() => Buffer.from(sample.map((p) => `${p.timestamp} ${p.value} ${p.step}\n`).join('')))
  const jsonLines = encodeTimed(() => Buffer.from(sample.map((p) => `${JSON.stringify({ key: p.key, value: p.value, step: p.step.toString(), timestamp: p.timestamp, epoch: p.epoch, kind: p.kind })}\n`).join('')))
  const arrow = encodeTimed(() => {
    const chunks: Uint8Array[] = []
    for (const key of KEYS) {
      const writer = new RecordBatchStreamWriter()
      const of = sample.filter((p) => p.key === key)
      for (let i = 0; i < of.length; i += 100_000) writer.write(pointsToBatch(of.slice(i, i + 100_000)))
      writer.finish()
      chunks.push(writer.toUint8Array(true))
    }
    return Buffer.concat(chunks)
  })
  const gz = (bytes: Buffer): { bytes: Buffer; ms: number } => encodeTimed(() => gzipSync(bytes, { level: 6 }))
  const mlflowGz = gz(mlflowText.bytes)
  const jsonGz = gz(jsonLines.bytes)
  const arrowGz = gz(arrow.bytes)
  // What float- and integer-aware encodings (Parquet's DELTA_BINARY_PACKED and BYTE_STREAM_SPLIT)
  // would give on the same columns: steps and timestamps as deltas, each double's 8 bytes split
  // into 8 streams, then gzip. Not the bundle's format (see the README); the next step's measure.
  const transformed = encodeTimed(() => {
    const parts: Buffer[] = []
    for (const key of KEYS) {
      const of = sample.filter((p) => p.key === key)
      const deltas = (values: bigint[]): Buffer => {
        const out = new BigInt64Array(values.length)
        let previous = 0n
        values.forEach((value, i) => ((out[i] = value - previous), (previous = value)))
        return byteSplit(Buffer.from(out.buffer), 8)
      }
      parts.push(deltas(of.map((p) => p.step)), deltas(of.map((p) => BigInt(p.timestamp))))
      parts.push(byteSplit(Buffer.from(Float64Array.from(of, (p) => p.value).buffer), 8))
      parts.push(Buffer.from(Int32Array.from(of, (p) => p.epoch ?? -1).buffer), Buffer.from(Int8Array.from(of, (p) => (p.kind === 'train' ? 0 : 1)).buffer))
    }
    return gzipSync(Buffer.concat(parts), { level: 6 })
  })
  const decodeStart = performance.now()
  let parsed = 0
  for (const line of gunzipSync(mlflowGz.bytes).toString().split('\n')) {
    if (line === '') continue
    const [timestamp, value, step] = line.split(' ')
    if (Number(timestamp) < 0 || Number.isNaN(Number(value)) || BigInt(step!) < 0n) throw new Error('bad line')
    parsed++
  }
  const mlflowDecodeMs = performance.now() - decodeStart
  const arrowDecodeStart = performance.now()
  let decoded = 0
  const unzipped = gunzipSync(arrowGz.bytes)
  // The four keys' streams were concatenated; the reader reads them one after another.
  for await (const reader of await RecordBatchReader.readAll((async function* () { yield unzipped })())) {
    for await (const batch of reader) decoded += batch.numRows
  }
  const arrowDecodeMs = performance.now() - arrowDecodeStart
  if (parsed !== sample.length || decoded !== sample.length) throw new Error(`decoded ${parsed} / ${decoded} of ${sample.length}`)

  const perPoint = (bytes: number, points: number): string => (bytes / points).toFixed(2)
  const n = sample.length
  console.log('')
  console.log('| | points/s | bytes/point |')
  console.log('|---|---|---|')
  console.log(`| export to a bundle (services → Arrow → tar.gz file) | ${formatRate(written, exportMs)} | ${perPoint(statSync(file).size, written)} (whole file, ${mb(statSync(file).size)}) |`)
  console.log(`| import from it (verify + services → COPY) | ${formatRate(written, importMs)} | |`)
  console.log(`| encode Arrow columns (no database) | ${formatRate(n, arrow.ms)} | ${perPoint(arrow.bytes.length, n)} raw, ${perPoint(arrowGz.bytes.length, n)} gzip'd |`)
  console.log(`| baseline: MLflow file-store lines "timestamp value step" | ${formatRate(n, mlflowText.ms)} | ${perPoint(mlflowText.bytes.length, n)} raw, ${perPoint(mlflowGz.bytes.length, n)} gzip'd (key only in the file name) |`)
  console.log(`| not the format: delta steps/timestamps + byte-split doubles, gzip'd (Parquet-style encodings) | ${formatRate(n, transformed.ms)} | ${perPoint(transformed.bytes.length, n)} |`)
  console.log(`| baseline: JSON lines {key,value,step,timestamp,epoch,kind} | ${formatRate(n, jsonLines.ms)} | ${perPoint(jsonLines.bytes.length, n)} raw, ${perPoint(jsonGz.bytes.length, n)} gzip'd |`)
  console.log(`| decode: gunzip + Arrow batches | ${formatRate(n, arrowDecodeMs)} | |`)
  console.log(`| baseline decode: gunzip + parse MLflow lines | ${formatRate(n, mlflowDecodeMs)} | |`)
  console.log('')
  const deciles = (samples: number[]): string => samples.map((rss) => mb(rss)).join(' ')
  console.log(`RSS before export ${mb(rssBefore)}; at each 10 % of the export: ${deciles(exportRss.samples)} (peak ${mb(exportRss.peak())})`)
  console.log(`RSS at each 10 % of the import: ${deciles(importRss.samples)} (peak ${mb(importRss.peak())}); the raw columns of these points alone are ${mb(written * 28)}`)
} finally {
  await target.close()
  await source.close()
  await admin.close()
  await server.stop()
  data.remove()
}
