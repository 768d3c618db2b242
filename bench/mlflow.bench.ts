/**
 * npm run bench:mlflow — the mlflow client's log_batch pattern: 100 calls × 1,000 points, one
 * HTTP request each, sent one after another over one kept-alive connection (as the Python client
 * does), through /api/2.0/mlflow/runs/log-batch; beside the same points through Hypercube's own
 * batch endpoint (POST /v1/ml/metrics) in the same run, on the same server.
 *
 * For orientation (issue 5): a real MLflow 3.6 server takes 5–7k points/s on the reference
 * machine and the mlflow client can send about 43k points/s; the target is ≥ 35k points/s, i.e.
 * the server is not what limits a client that sends like mlflow's.
 */
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { startCore } from '../src/main/core'
import { createSilentLogger } from '../src/main/logging'
import { formatRate, makeBenchDataDir } from './support'

const CALLS = Number(process.env.BENCH_CALLS ?? 100)
const POINTS_PER_CALL = 1000 // MLflow's log-batch limit

const data = makeBenchDataDir()
const core = await startCore({ dataDir: data.dir, logger: createSilentLogger(), plugins: false, http: { port: 0 } })
const server = core.http!
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

function request(method: string, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}${path}`,
      {
        method,
        agent,
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
      },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      }
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function ok(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await request(method, path, JSON.stringify(body))
  if (response.status !== 200 && response.status !== 201) throw new Error(`${method} ${path}: ${response.status} ${response.text}`)
  return JSON.parse(response.text) as Record<string, unknown>
}

/** One call's body as the Python client writes it (json.dumps: ", " and ": " separators). */
function mlflowBatch(runId: string, call: number, timestamp: number): string {
  const metrics: string[] = []
  for (let i = 0; i < POINTS_PER_CALL; i++) {
    const step = call * POINTS_PER_CALL + i
    metrics.push(`{"key": "loss", "value": ${Math.exp(-step / 50_000) + 0.001 * (i % 7)}, "timestamp": ${timestamp}, "step": ${step}}`)
  }
  return `{"run_id": "${runId}", "metrics": [${metrics.join(', ')}]}`
}

function v1Batch(runId: number, call: number, timestamp: number): string {
  const points: string[] = []
  for (let i = 0; i < POINTS_PER_CALL; i++) {
    const step = call * POINTS_PER_CALL + i
    points.push(`{"key":"loss","value":${Math.exp(-step / 50_000) + 0.001 * (i % 7)},"timestamp":${timestamp},"step":${step}}`)
  }
  return `{"run_id":${runId},"points":[${points.join(',')}]}`
}

async function timeCalls(label: string, send: (call: number) => Promise<void>): Promise<number> {
  await send(-1) // warm-up: connection, JIT, prepared plans (steps below 0 are this call's own)
  const started = performance.now()
  for (let call = 0; call < CALLS; call++) await send(call)
  const ms = performance.now() - started
  const points = CALLS * POINTS_PER_CALL
  console.log(`${label.padEnd(44)} ${formatRate(points, ms).padStart(18)}   (${(ms / CALLS).toFixed(1)} ms per 1,000-point call)`)
  return (points / ms) * 1000
}

try {
  console.log(`${core.database.description}; ${CALLS} calls × ${POINTS_PER_CALL} points, sequential, one kept-alive connection`)
  const { experiment_id: experimentId } = await ok('POST', '/api/2.0/mlflow/experiments/create', { name: `bench-mlflow-${Date.now()}` })
  const newRun = async () => ((await ok('POST', '/api/2.0/mlflow/runs/create', { experiment_id: experimentId, start_time: Date.now() })).run as { info: { run_id: string } }).info.run_id
  const timestamp = Date.now()

  const mlflowRun = await newRun()
  const mlflowRate = await timeCalls('MLflow /api/2.0/mlflow/runs/log-batch', async (call) => {
    const response = await request('POST', '/api/2.0/mlflow/runs/log-batch', mlflowBatch(mlflowRun, call, timestamp))
    if (response.status !== 200) throw new Error(`log-batch: ${response.status} ${response.text}`)
  })

  const v1Run = (await core.services.runs.findByUuid(await newRun()))!.id
  const v1Rate = await timeCalls('Hypercube POST /v1/ml/metrics', async (call) => {
    const response = await request('POST', '/v1/ml/metrics', v1Batch(v1Run, call, timestamp))
    if (response.status !== 200 && response.status !== 201) throw new Error(`/v1/ml/metrics: ${response.status} ${response.text}`)
  })

  console.log(`MLflow endpoint / own endpoint: ${(mlflowRate / v1Rate).toFixed(2)}×; target ≥ 35,000 points/s: ${mlflowRate >= 35_000 ? 'met' : 'NOT met'}`)

  // Small requests on the kept-alive connection (the client's log_metric pattern): a Nagle /
  // delayed-ACK stall would cost ≥ 40 ms each; a healthy loopback round trip costs a few.
  const small = JSON.stringify({ run_id: mlflowRun, key: 'tcp', value: 1, timestamp: 1, step: 0 })
  await request('POST', '/api/2.0/mlflow/runs/log-metric', small)
  const latencies: number[] = []
  for (let i = 0; i < 50; i++) {
    const started = performance.now()
    const response = await request('POST', '/api/2.0/mlflow/runs/log-metric', small)
    if (response.status !== 200) throw new Error(`log-metric: ${response.status} ${response.text}`)
    latencies.push(performance.now() - started)
  }
  latencies.sort((a, b) => a - b)
  const medianSmall = latencies[25]!
  console.log(`small log-metric on a kept-alive connection: median ${medianSmall.toFixed(1)} ms, p90 ${latencies[45]!.toFixed(1)} ms (a delayed-ACK stall would be ≥ 40 ms): ${medianSmall < 40 ? 'no stall' : 'STALLS'}`)
} finally {
  agent.destroy()
  await core.close()
  data.remove()
}
