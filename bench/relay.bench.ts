/**
 * npm run bench:relay — does the window wait while a training script ingests?
 *
 * The process that answers the window (Electron's main; here the bench process itself, which
 * runs the same core) must stay responsive while 1,000,000 points are posted to the HTTP API.
 * Measured twice in one run, with the same client (its own process, 10,000-point batches, 2 in
 * flight):
 * - the HTTP door in-process (the design before issue 10: parsing and COPY on main's thread);
 * - the HTTP door in its own process (the desktop app's design; forked here as utilityProcess
 *   would be there).
 * For each: the event-loop delay of the window's process (perf_hooks.monitorEventLoopDelay),
 * and the latency of a window call (`experiments.list` through the contract every 50 ms), while
 * live events (metrics.logged) keep arriving as they do for an open run page.
 * Target: p99 event-loop delay ≤ 20 ms with the door in its own process.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { HypercubeClient } from '../src/client/hypercube-client'
import { startCore } from '../src/main/core'
import { createSilentLogger } from '../src/main/logging'
import { ForkChildSpawner } from '../src/main/process/child-process'
import { makeBenchDataDir } from './support'

const TOTAL_POINTS = Number(process.env.BENCH_POINTS ?? 1_000_000)
const BATCH = 10_000
const IN_FLIGHT = 2
const CALL_INTERVAL_MS = 50

interface Figures {
  ingestMs: number
  loopP50: number
  loopP99: number
  loopMax: number
  callP50: number
  callP99: number
  calls: number
  events: number
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
}

async function measure(ownProcess: boolean): Promise<Figures> {
  const data = makeBenchDataDir()
  const core = await startCore({
    dataDir: data.dir,
    logger: createSilentLogger(),
    plugins: false,
    healthCheckIntervalMs: false,
    http: ownProcess ? { port: 0, process: { spawner: new ForkChildSpawner() } } : { port: 0 }
  })
  try {
    const api = core.api!
    const client = new HypercubeClient({ url: api.url!, token: api.token })
    const experiment = await client.createExperiment({ name: `bench-relay-${ownProcess ? 'process' : 'in-process'}` })
    const runId = (await client.startRun({ experiment_id: experiment.experiment_id })).run_id

    // A window with the run open: it is told of every stored batch.
    let events = 0
    const subscription = core.contract.subscribe((event) => {
      if (event.name === 'metrics.logged') events++
    })

    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'api-client.ts')], {
      env: { ...process.env, HYPERCUBE_URL: api.url!, HYPERCUBE_TOKEN: api.token, RUN_ID: String(runId), POINTS: String(TOTAL_POINTS), BATCH: String(BATCH), IN_FLIGHT: String(IN_FLIGHT) },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))

    // 1 ms sampling: the figure then measures lateness, not the sampling interval.
    const loop = monitorEventLoopDelay({ resolution: 1 })
    loop.enable()
    const callLatencies: number[] = []
    let calling = true
    const windowCalls = (async () => {
      while (calling) {
        const start = performance.now()
        const outcome = await core.contract.dispatch('experiments.list', {})
        if (!outcome.ok) throw new Error(`window call failed: ${outcome.error.message}`)
        callLatencies.push(performance.now() - start)
        await new Promise((resolve) => setTimeout(resolve, CALL_INTERVAL_MS))
      }
    })()
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    calling = false
    await windowCalls
    loop.disable()
    subscription.dispose()
    if (code !== 0) throw new Error(`the client process failed (exit ${code})`)
    const stored = (await client.getRun(runId)).metrics!.reduce((sum, metric) => sum + metric.count, 0)
    if (stored !== TOTAL_POINTS) throw new Error(`stored ${stored} points, expected ${TOTAL_POINTS}`)
    callLatencies.sort((a, b) => a - b)
    return {
      ingestMs: (JSON.parse(output) as { ms: number }).ms,
      loopP50: loop.percentile(50) / 1e6,
      loopP99: loop.percentile(99) / 1e6,
      loopMax: loop.max / 1e6,
      callP50: percentile(callLatencies, 0.5),
      callP99: percentile(callLatencies, 0.99),
      calls: callLatencies.length,
      events
    }
  } finally {
    await core.close()
    data.remove()
  }
}

const inProcess = await measure(false)
const ownProcess = await measure(true)

const rate = (ms: number): string => `${Math.round((TOTAL_POINTS / ms) * 1000).toLocaleString('en-US')} points/s`
const line = (label: string, f: Figures): string =>
  `${label}: event-loop delay p50 ${f.loopP50.toFixed(1)} ms, p99 ${f.loopP99.toFixed(1)} ms, max ${f.loopMax.toFixed(1)} ms; ` +
  `window call p50 ${f.callP50.toFixed(1)} ms, p99 ${f.callP99.toFixed(1)} ms (${f.calls} calls); ingest ${rate(f.ingestMs)}; ${f.events} live events`
console.log(`${TOTAL_POINTS.toLocaleString('en-US')} points posted in ${BATCH.toLocaleString('en-US')}-point batches, ${IN_FLIGHT} in flight, while the window's process is measured`)
console.log(line('HTTP door in-process (before)', inProcess))
console.log(line('HTTP door in its own process', ownProcess))
console.log(`  p99 event-loop delay, in-process / own process: ${(inProcess.loopP99 / ownProcess.loopP99).toFixed(1)}×`)
console.log(`  window call p99, in-process / own process: ${(inProcess.callP99 / ownProcess.callP99).toFixed(1)}×`)
console.log(`target p99 event-loop delay ≤ 20 ms with the door in its own process: ${ownProcess.loopP99 <= 20 ? 'met' : 'NOT met'}`)
