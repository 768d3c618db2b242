/**
 * npm run bench:mlflow — the MLflow door through the real client's request pattern (issue 17).
 *
 * Starts the core with its HTTP door, prepares runs and data through the door, then runs each
 * workload twice, each time in a client process of its own: the Python driver
 * (bench/mlflow_client_pattern.py: `requests.Session`, the mlflow 3.6 client's bodies, headers and
 * paging) and a lean Node client sending the same bytes (bench/mlflow-client-pattern.ts). It prints
 * the Python figure — the one a user of the mlflow client sees, and the one the targets are about
 * — beside the Node figure and their ratio.
 *
 *   1. log_batch, 100 calls × 1,000 points (runs/log-batch)            target ≥ 35,000 points/s
 *   2. log_metric, 10,000 single calls (runs/log-metric)                target ≥ 400 calls/s
 *   3. create run + one log-batch, 1,000 runs                           target ≥ 300 runs/s
 *   4. a 100,000-point history through metrics/get-history, 25,000 a page   target ≤ 1.5 s
 *   5. search 1,000 runs (runs/search, 10,000 a page as mlflow.search_runs)  target ≤ 0.5 s
 *
 * BENCH_MLFLOW_SCALE=0.1 scales every count down for a quick run (the targets still apply to the
 * rates; the two read rows then read less). HYPERCUBE_BENCH_PYTHON picks the interpreter
 * (default python3); without one that imports `requests` the Node rows run alone.
 * A benchmark, not a test: figures move with whatever else the machine is doing.
 */
import { spawn, spawnSync } from 'node:child_process'
import http from 'node:http'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { startCore } from '../src/main/core'
import { createSilentLogger } from '../src/main/logging'
import { makeBenchDataDir } from './support'

const SCALE = Number(process.env.BENCH_MLFLOW_SCALE ?? 1)
if (!(SCALE > 0)) throw new Error(`BENCH_MLFLOW_SCALE must be a positive number, not ${process.env.BENCH_MLFLOW_SCALE}`)
const scaled = (count: number) => Math.max(1, Math.round(count * SCALE))
const POINTS_PER_CALL = 1000 // MLflow's log-batch limit, and what the client's log_batch chunks to
const BATCH_CALLS = scaled(100)
const METRIC_CALLS = scaled(10_000)
const RUNS = scaled(1000)
const HISTORY_POINTS = scaled(100) * POINTS_PER_CALL
const PYTHON = process.env.HYPERCUBE_BENCH_PYTHON ?? 'python3'

type Driver = 'python' | 'node'
interface Timing {
  ms: number
  requests: number
  items: number
  pages: number
}

/** Whether the Python driver can run here, and if not, why. */
function probePython(): { ok: true; version: string } | { ok: false; reason: string } {
  const probe = spawnSync(PYTHON, ['-c', 'import sys, requests, urllib3; print(sys.version.split()[0], requests.__version__, urllib3.__version__)'], { encoding: 'utf8' })
  if (probe.error) return { ok: false, reason: `${PYTHON} not runnable (${probe.error.message})` }
  if (probe.status !== 0) return { ok: false, reason: `${PYTHON} cannot import requests: ${probe.stderr.trim().split('\n').at(-1)}` }
  const [python, requests, urllib3] = probe.stdout.trim().split(' ')
  return { ok: true, version: `${PYTHON} ${python}, requests ${requests}, urllib3 ${urllib3}` }
}

const data = makeBenchDataDir()
const core = await startCore({ dataDir: data.dir, logger: createSilentLogger(), plugins: false, http: { port: 0 } })
const server = core.http!
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

/** Set-up calls from the bench itself (not timed). */
function setUp(path: string, body: unknown): Promise<Record<string, unknown>> {
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${server.url}/api/2.0/mlflow/${path}`,
      { method: 'POST', agent, headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          if (response.statusCode !== 200) reject(new Error(`${path}: ${response.statusCode} ${text}`))
          else resolve(JSON.parse(text) as Record<string, unknown>)
        })
      }
    )
    request.on('error', reject)
    request.end(payload)
  })
}

/** Runs one workload in a client process of its own and returns what it timed. */
function drive<T = Timing>(driver: Driver, workload: string, params: Record<string, unknown> = {}): Promise<T> {
  const [command, args] =
    driver === 'python'
      ? [PYTHON, [join(import.meta.dirname, 'mlflow_client_pattern.py')]]
      : [process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'mlflow-client-pattern.ts')]]
  const child = spawn(command, [...args, workload, JSON.stringify(params)], {
    env: { ...process.env, MLFLOW_TRACKING_URI: server.url, MLFLOW_TRACKING_TOKEN: server.token },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${driver} ${workload} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`))
      else resolve(JSON.parse(stdout) as T)
    })
  })
}

interface Row {
  label: string
  /** The figure from a timing: a rate (higher is better) or seconds (lower is better). */
  figure: (t: Timing) => number
  unit: string
  higherIsBetter: boolean
  target: number
  detail: (t: Timing) => string
  run: (driver: Driver) => Promise<Timing>
}

const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const perSecond = (t: Timing) => (t.items / t.ms) * 1000
const seconds = (t: Timing) => t.ms / 1000
const pages = (t: Timing) => `${t.pages} page${t.pages === 1 ? '' : 's'}`
const show = (row: Row, t: Timing) => `${row.higherIsBetter ? n(row.figure(t)) : n(row.figure(t), 2)} ${row.unit} (${row.detail(t)})`

try {
  const python = probePython()
  const drivers: Driver[] = python.ok ? ['python', 'node'] : ['node']
  const started = Date.now()
  console.log(`bench:mlflow — ${core.database.description}; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at start`)
  console.log(python.ok ? `Python client: ${python.version}, one requests.Session` : `Python client NOT run: ${python.reason}; Node rows only`)

  if (python.ok) {
    // Both drivers must put the same bytes on the wire, or the ratio compares different work.
    const [pyBodies, nodeBodies] = await Promise.all([drive<Record<string, string>>('python', 'bodies'), drive<Record<string, string>>('node', 'bodies')])
    const differing = Object.keys(pyBodies).filter((name) => pyBodies[name] !== nodeBodies[name])
    if (differing.length > 0) throw new Error(`the two drivers send different requests for: ${differing.join(', ')}`)
    console.log(`requests of the two drivers byte-identical (${Object.keys(pyBodies).join(', ')})`)
  }

  const timestamp = Date.now()
  const experimentId = String((await setUp('experiments/create', { name: `bench-mlflow-${timestamp}` })).experiment_id)
  const newRun = async (name: string) =>
    ((await setUp('runs/create', { experiment_id: experimentId, run_name: name, start_time: Date.now() })).run as { info: { run_id: string } }).info.run_id
  const newExperiment = async (name: string) => String((await setUp('experiments/create', { name: `${name}-${timestamp}` })).experiment_id)
  const common = { warmup_experiment_id: experimentId, timestamp }

  // Read-side data, written through the door: one run with the history, and (row 3's Node
  // client) an experiment of RUNS runs for the search row.
  const historyRun = await newRun('history')
  await drive('node', 'log_batch', { ...common, run_id: historyRun, calls: HISTORY_POINTS / POINTS_PER_CALL, points: POINTS_PER_CALL })
  const createdIn: Partial<Record<Driver, string>> = {}

  const rows: Row[] = [
    {
      label: `log_batch, ${n(BATCH_CALLS)} calls × ${n(POINTS_PER_CALL)} points`,
      figure: perSecond,
      unit: 'points/s',
      higherIsBetter: true,
      target: 35_000,
      detail: (t) => `${n(t.ms / t.requests, 1)} ms/call`,
      run: async (driver) => drive(driver, 'log_batch', { ...common, run_id: await newRun(`log-batch-${driver}`), calls: BATCH_CALLS, points: POINTS_PER_CALL })
    },
    {
      label: `single log_metric, ${n(METRIC_CALLS)} calls`,
      figure: perSecond,
      unit: 'calls/s',
      higherIsBetter: true,
      target: 400,
      detail: (t) => `${n(t.ms / t.requests, 2)} ms/call`,
      run: async (driver) => drive(driver, 'log_metric', { ...common, run_id: await newRun(`log-metric-${driver}`), calls: METRIC_CALLS })
    },
    {
      label: `create run + one batch, ${n(RUNS)} runs`,
      figure: perSecond,
      unit: 'runs/s',
      higherIsBetter: true,
      target: 300,
      detail: (t) => `${n(t.ms / t.items, 1)} ms/run`,
      run: async (driver) => {
        const experiment = await newExperiment(`bench-mlflow-runs-${driver}`)
        createdIn[driver] = experiment
        return drive(driver, 'create_runs', { ...common, experiment_id: experiment, count: RUNS })
      }
    },
    {
      label: `${n(HISTORY_POINTS)}-point metric history`,
      figure: seconds,
      unit: 's',
      higherIsBetter: false,
      target: 1.5,
      detail: pages,
      run: (driver) => drive(driver, 'history', { ...common, run_id: historyRun, key: 'loss', expected: HISTORY_POINTS })
    },
    {
      label: `search ${n(RUNS)} runs`,
      figure: seconds,
      unit: 's',
      higherIsBetter: false,
      target: 0.5,
      detail: pages,
      // Both clients search the same experiment: the runs the Node client created in row 3.
      run: (driver) => drive(driver, 'search', { ...common, experiment_id: createdIn.node!, expected: RUNS })
    }
  ]

  const results: Array<Partial<Record<Driver, Timing | Error>>> = []
  for (const row of rows) {
    const result: Partial<Record<Driver, Timing | Error>> = {}
    for (const driver of drivers) {
      result[driver] = await row.run(driver).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
      const outcome = result[driver]!
      console.log(`  ${row.label.padEnd(42)} ${driver.padEnd(6)} ${outcome instanceof Error ? `FAILED: ${outcome.message}` : show(row, outcome)}`)
    }
    results.push(result)
  }

  const header = ['workload', 'Python requests client', 'Node client', 'Python ÷ Node', 'target', 'target (Python figure)']
  const lines = rows.map((row, index) => {
    const { python: py, node } = results[index]!
    const cell = (t: Timing | Error | undefined) => (t === undefined ? 'not run' : t instanceof Error ? 'FAILED' : show(row, t))
    const both = py && !(py instanceof Error) && node && !(node instanceof Error)
    const ratio = both ? `${n(row.figure(py) / row.figure(node), 2)}` : '–'
    const judged = py && !(py instanceof Error) ? py : node && !(node instanceof Error) ? node : undefined
    let verdict = '–'
    if (judged) {
      const figure = row.figure(judged)
      const met = row.higherIsBetter ? figure >= row.target : figure <= row.target
      const short = row.higherIsBetter ? row.target / figure : figure / row.target
      verdict = `${met ? 'met' : `NOT met (×${n(short, 1)} short)`}${judged === py ? '' : ' [Node figure]'}`
    }
    return [row.label, cell(py), cell(node), ratio, `${row.higherIsBetter ? '≥' : '≤'} ${n(row.target, row.higherIsBetter ? 0 : 1)} ${row.unit}`, verdict]
  })
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)))
  const format = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`
  console.log()
  console.log(format(header))
  console.log(format(widths.map((width) => '-'.repeat(width))))
  for (const line of lines) console.log(format(line))
  console.log()
  console.log('Python ÷ Node: below 1 on a rate, above 1 on a time, is what the client\'s own request pattern adds to the server\'s time.')
  console.log(`${((Date.now() - started) / 1000).toFixed(0)} s in all; load average ${loadavg()[0]!.toFixed(2)} at the end (other work on the machine moves these figures).`)
} finally {
  agent.destroy()
  await core.close()
  data.remove()
}
