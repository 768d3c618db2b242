/**
 * npm run bench:api — the tracking API end to end over loopback, the client in its own process:
 * - one client logs 1,000,000 points through POST /v1/ml/metrics in 10,000-point and in
 *   1,000-point batches (client-side JSON encoding included: it is what a training script pays),
 *   beside the same points through the service's batch path with no HTTP in between (the ratio
 *   is the HTTP overhead). Target: ≥ 300,000 points/s with 10,000-point batches.
 * - a 1,000,000-point metric history downsampled to 2,000 points through
 *   GET /v1/ml/runs/:id/metrics/history. Target: ≤ 50 ms.
 * HYPERCUBE_DATABASE_URL (an empty database) measures another server instead of the embedded one.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { HypercubeClient } from '../src/client/hypercube-client'
import { startCore } from '../src/main/core'
import { createSilentLogger } from '../src/main/logging'
import { formatRate, makeBenchDataDir, makePoints } from './support'

const TOTAL_POINTS = Number(process.env.BENCH_POINTS ?? 1_000_000)
const HISTORY_QUERIES = 20
const KEYS = ['loss', 'val_loss', 'accuracy', 'lr']

const data = makeBenchDataDir()
const core = await startCore({ dataDir: data.dir, logger: createSilentLogger(), plugins: false, http: { port: 0 } })
try {
  const http = core.http!
  const client = new HypercubeClient({ url: http.url, token: http.token })
  const experiment = await client.createExperiment({ name: `bench-api-${Date.now()}` })
  const newRun = async (name: string) => (await client.startRun({ experiment_id: experiment.experiment_id, run_name: name })).run_id

  const points = makePoints(TOTAL_POINTS, KEYS)
  const warmRun = await newRun('warm-up')
  for (let offset = 0; offset < 50_000; offset += 10_000) await client.logBatch(warmRun, points.slice(offset, offset + 10_000))

  /**
   * The client runs in its own process, as a training script does, so its JSON encoding does
   * not share the server's event loop. `inFlight` > 1: it sends its next batch before the
   * previous one is acknowledged (a background uploader), so encoding overlaps the COPY.
   */
  async function overHttp(batchSize: number, inFlight = 1): Promise<number> {
    const runId = await newRun(`http-${batchSize}-${inFlight}`)
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'api-client.ts')], {
      env: {
        ...process.env,
        HYPERCUBE_URL: http.url,
        HYPERCUBE_TOKEN: http.token,
        RUN_ID: String(runId),
        POINTS: String(TOTAL_POINTS),
        BATCH: String(batchSize),
        IN_FLIGHT: String(inFlight)
      },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    if (code !== 0) throw new Error(`the client process failed (exit ${code})`)
    const { ms } = JSON.parse(output) as { ms: number }
    const stored = (await client.getRun(runId)).metrics!.reduce((sum, metric) => sum + metric.count, 0)
    if (stored !== TOTAL_POINTS) throw new Error(`run ${runId} stored ${stored} points, expected ${TOTAL_POINTS}`)
    return ms
  }

  async function direct(batchSize: number): Promise<number> {
    const runId = await newRun(`direct-${batchSize}`)
    const start = performance.now()
    for (let offset = 0; offset < points.length; offset += batchSize) {
      await core.services.runs.logValidatedMetrics(runId, points.slice(offset, offset + batchSize))
    }
    return performance.now() - start
  }

  const http10k = await overHttp(10_000)
  const http10kPipelined = await overHttp(10_000, 2)
  const direct10k = await direct(10_000)
  const http1k = await overHttp(1_000)
  const direct1k = await direct(1_000)

  // A single 1,000,000-point series for the downsampled read.
  const seriesRun = await newRun('history')
  const series = makePoints(TOTAL_POINTS, ['loss'])
  for (let offset = 0; offset < series.length; offset += 100_000) {
    await core.services.runs.logValidatedMetrics(seriesRun, series.slice(offset, offset + 100_000))
  }
  await client.metricHistory(seriesRun, 'loss', { maxPoints: 2_000 }) // warm caches
  const latencies: number[] = []
  let returned = 0
  for (let i = 0; i < HISTORY_QUERIES; i++) {
    const start = performance.now()
    const history = await client.metricHistory(seriesRun, 'loss', { maxPoints: 2_000 })
    latencies.push(performance.now() - start)
    returned = history.mode === 'raw' ? history.points.length : history.buckets.length * 2
    if (history.total_points !== TOTAL_POINTS) throw new Error(`history counted ${history.total_points} points`)
  }
  latencies.sort((a, b) => a - b)
  const median = latencies[Math.floor(latencies.length / 2)]!
  const p95 = latencies[Math.floor(latencies.length * 0.95)]!

  const rate = (ms: number) => (TOTAL_POINTS / ms) * 1000
  console.log(`database: ${core.database.description}`)
  console.log(`HTTP batch API, 10,000-point batches: ${TOTAL_POINTS.toLocaleString('en-US')} points in ${http10k.toFixed(0)} ms = ${formatRate(TOTAL_POINTS, http10k)}`)
  console.log(`HTTP batch API, 10,000-point batches, 2 requests in flight: ${http10kPipelined.toFixed(0)} ms = ${formatRate(TOTAL_POINTS, http10kPipelined)}`)
  console.log(`service batch path, 10,000-point batches (no HTTP): ${direct10k.toFixed(0)} ms = ${formatRate(TOTAL_POINTS, direct10k)}`)
  console.log(`  HTTP / direct throughput: ${(rate(http10k) / rate(direct10k)).toFixed(2)}`)
  console.log(`HTTP batch API, 1,000-point batches: ${http1k.toFixed(0)} ms = ${formatRate(TOTAL_POINTS, http1k)}`)
  console.log(`service batch path, 1,000-point batches (no HTTP): ${direct1k.toFixed(0)} ms = ${formatRate(TOTAL_POINTS, direct1k)}`)
  console.log(`  HTTP / direct throughput: ${(rate(http1k) / rate(direct1k)).toFixed(2)}`)
  console.log(`history of ${TOTAL_POINTS.toLocaleString('en-US')} points → ${returned} values over HTTP: median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (${HISTORY_QUERIES} queries)`)
  console.log(`target ≥ 300,000 points/s with 10,000-point batches: ${rate(http10k) >= 300_000 ? 'met' : 'NOT met'} one at a time, ${rate(http10kPipelined) >= 300_000 ? 'met' : 'NOT met'} with 2 in flight`)
  console.log(`target ≤ 50 ms for the downsampled history: ${median <= 50 ? 'met' : 'NOT met'}`)
} finally {
  await core.close()
  data.remove()
}
