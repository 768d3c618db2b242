/**
 * The client side of bench:api, in its own process as a training script would be: makes the
 * points, then logs them through POST /v1/ml/metrics and prints the elapsed time as JSON.
 * Environment: HYPERCUBE_URL, HYPERCUBE_TOKEN, RUN_ID, POINTS, BATCH, IN_FLIGHT.
 */
import { performance } from 'node:perf_hooks'
import { HypercubeClient } from '../src/client/hypercube-client'
import { makePoints } from './support'

const client = new HypercubeClient({ url: process.env.HYPERCUBE_URL!, token: process.env.HYPERCUBE_TOKEN! })
const runId = Number(process.env.RUN_ID)
const total = Number(process.env.POINTS)
const batchSize = Number(process.env.BATCH)
const inFlight = Number(process.env.IN_FLIGHT ?? 1)
const points = makePoints(total, ['loss', 'val_loss', 'accuracy', 'lr'])

const start = performance.now()
const pending = new Set<Promise<unknown>>()
for (let offset = 0; offset < points.length; offset += batchSize) {
  if (pending.size >= inFlight) await Promise.race(pending)
  const request: Promise<unknown> = client.logBatch(runId, points.slice(offset, offset + batchSize)).finally(() => pending.delete(request))
  pending.add(request)
}
await Promise.all(pending)
process.stdout.write(`${JSON.stringify({ ms: performance.now() - start })}\n`)
