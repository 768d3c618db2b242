/**
 * The Node side of `npm run bench:mlflow`: the same workloads as bench/mlflow_client_pattern.py,
 * the same requests byte for byte (the bench checks this through the `bodies` workload), sent by
 * a lean Node client — node:http, one kept-alive connection, head and body in one write — in its
 * own process, as the Python client is. The Python figure ÷ this one is what the client's own
 * request pattern costs on top of the server.
 *
 *   node --import tsx bench/mlflow-client-pattern.ts WORKLOAD 'PARAMS-JSON'
 *
 * Environment: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN. Prints one JSON line:
 * {"ms": elapsed, "requests": n, "items": n, "pages": n}. Keep the body builders in step with the
 * Python file.
 */
import http from 'node:http'
import { performance } from 'node:perf_hooks'

const API = '/api/2.0/mlflow/'
const HISTORY_PAGE = 25_000
const SEARCH_PAGE = 10_000
const USER = 'bench'

/** A JSON number Python writes as a float (`1.0`, `1e-05`), not as an int. */
class PyFloat {
  constructor(readonly value: number) {}
}
type PyJson = string | number | PyFloat | PyJson[] | { [key: string]: PyJson }

function pyFloatText(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`json.dumps(allow_nan=False) refuses ${x}`)
  const [mantissa, exponentText] = x.toExponential().split('e') as [string, string]
  const exponent = Number(exponentText)
  if (exponent < -4 || exponent >= 16) return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`
  const text = String(x)
  return Number.isInteger(x) ? `${text}.0` : text
}

/** json.dumps with its default separators, as requests' `json=` writes a body. */
function pyDumps(value: PyJson): string {
  if (value instanceof PyFloat) return pyFloatText(value.value)
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string') return JSON.stringify(value) // ASCII only here: the same escapes
  if (Array.isArray(value)) return `[${value.map(pyDumps).join(', ')}]`
  return `{${Object.entries(value)
    .map(([key, item]) => `${JSON.stringify(key)}: ${pyDumps(item)}`)
    .join(', ')}}`
}

const f = (x: number) => new PyFloat(x)
const loss = (step: number) => 1.0 / (1.0 + step / 1000.0)

function logBatchBody(runId: string, call: number, points: number, timestamp: number): PyJson {
  const metrics: PyJson[] = []
  for (let i = 0; i < points; i++) {
    const step = call * points + i
    metrics.push({ key: 'loss', value: f(loss(step) + (i % 7) * 0.001), timestamp: timestamp + call, step })
  }
  return { run_id: runId, metrics }
}

function logMetricBody(runId: string, call: number, timestamp: number): PyJson {
  return { run_uuid: runId, key: 'loss', value: f(loss(call)), timestamp: timestamp + call, step: call, run_id: runId }
}

function createRunBody(experimentId: string, index: number, timestamp: number): PyJson {
  const name = `bench-${index}`
  return {
    experiment_id: experimentId,
    user_id: USER,
    run_name: name,
    start_time: timestamp + index,
    tags: [
      { key: 'mlflow.user', value: USER },
      { key: 'mlflow.source.name', value: 'train.py' },
      { key: 'mlflow.source.type', value: 'LOCAL' },
      { key: 'mlflow.runName', value: name }
    ]
  }
}

function runBatchBody(runId: string, index: number, timestamp: number): PyJson {
  return {
    run_id: runId,
    metrics: [
      { key: 'loss', value: f(loss(index)), timestamp: timestamp + index, step: 0 },
      { key: 'val_loss', value: f(loss(index) + 0.25), timestamp: timestamp + index, step: 0 },
      { key: 'accuracy', value: f(1.0 - loss(index) / 2.0), timestamp: timestamp + index, step: 0 }
    ],
    params: [
      { key: 'lr', value: '0.01' },
      { key: 'batch_size', value: String(32 + (index % 4) * 32) }
    ]
  }
}

function historyQuery(runId: string, key: string, pageToken: string | undefined): Record<string, string> {
  return { run_uuid: runId, metric_key: key, run_id: runId, ...(pageToken ? { page_token: pageToken } : {}), max_results: String(HISTORY_PAGE) }
}

function searchBody(experimentId: string, pageToken: string | undefined): PyJson {
  return { experiment_ids: [experimentId], run_view_type: 'ACTIVE_ONLY', filter: '', max_results: SEARCH_PAGE, ...(pageToken ? { page_token: pageToken } : {}) }
}

type Page = Record<string, unknown> & { next_page_token?: string }

class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  private readonly headers: Record<string, string>
  requests = 0

  constructor(private readonly url: string, token: string) {
    this.headers = { 'user-agent': 'hypercube-bench-node', authorization: `Bearer ${token}`, accept: '*/*' }
  }

  /** Method, path and body exactly as they go on the wire. */
  static wire(method: 'GET' | 'POST', endpoint: string, body: PyJson | Record<string, string>): { path: string; payload: string } {
    if (method === 'GET') return { path: `${API}${endpoint}?${new URLSearchParams(body as Record<string, string>).toString()}`, payload: '' }
    return { path: `${API}${endpoint}`, payload: pyDumps(body as PyJson) }
  }

  call(method: 'GET' | 'POST', endpoint: string, body: PyJson | Record<string, string>): Promise<Page> {
    const { path, payload } = Client.wire(method, endpoint, body)
    const headers = method === 'GET' ? this.headers : { ...this.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }
    return new Promise((resolve, reject) => {
      const request = http.request(`${this.url}${path}`, { method, agent: this.agent, headers }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => {
          this.requests++
          const text = Buffer.concat(chunks).toString('utf8')
          if (response.statusCode !== 200) reject(new Error(`${method} ${endpoint}: ${response.statusCode} ${text.slice(0, 500)}`))
          else resolve(JSON.parse(text) as Page)
        })
        response.on('error', reject)
      })
      request.on('error', reject)
      request.end(payload)
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

interface Params {
  warmup_experiment_id: string
  run_id: string
  experiment_id: string
  key: string
  calls: number
  points: number
  count: number
  timestamp: number
  expected: number
}
interface Result {
  items: number
  pages?: number
}

async function paged(client: Client, expected: number, listKey: string, fetch: (token: string | undefined) => Promise<Page>): Promise<Result> {
  let items = 0
  let pages = 0
  let token: string | undefined
  do {
    const page = await fetch(token)
    items += ((page[listKey] as unknown[] | undefined) ?? []).length
    pages++
    token = page.next_page_token
  } while (token)
  if (items !== expected) throw new Error(`${listKey}: ${items} returned, expected ${expected}`)
  return { items, pages }
}

const workloads: Record<string, (client: Client, p: Params) => Promise<Result>> = {
  async log_batch(client, p) {
    for (let call = 0; call < p.calls; call++) await client.call('POST', 'runs/log-batch', logBatchBody(p.run_id, call, p.points, p.timestamp))
    return { items: p.calls * p.points }
  },
  async log_metric(client, p) {
    for (let call = 0; call < p.calls; call++) await client.call('POST', 'runs/log-metric', logMetricBody(p.run_id, call, p.timestamp))
    return { items: p.calls }
  },
  async create_runs(client, p) {
    for (let index = 0; index < p.count; index++) {
      const created = (await client.call('POST', 'runs/create', createRunBody(p.experiment_id, index, p.timestamp))) as { run: { info: { run_id: string } } }
      await client.call('POST', 'runs/log-batch', runBatchBody(created.run.info.run_id, index, p.timestamp))
    }
    return { items: p.count }
  },
  history: (client, p) => paged(client, p.expected, 'metrics', (token) => client.call('GET', 'metrics/get-history', historyQuery(p.run_id, p.key, token))),
  search: (client, p) => paged(client, p.expected, 'runs', (token) => client.call('POST', 'runs/search', searchBody(p.experiment_id, token)))
}

/** The first request of each workload with fixed arguments (the Python driver's `bodies`). */
function firstRequests(): Record<string, string> {
  const run = '0'.repeat(32)
  const experiment = '1'
  const ts = 1_700_000_000_000
  const samples: Record<string, ['GET' | 'POST', string, PyJson | Record<string, string>]> = {
    log_batch: ['POST', 'runs/log-batch', logBatchBody(run, 1, 1000, ts)],
    log_metric: ['POST', 'runs/log-metric', logMetricBody(run, 0, ts)],
    create_run: ['POST', 'runs/create', createRunBody(experiment, 3, ts)],
    run_batch: ['POST', 'runs/log-batch', runBatchBody(run, 3, ts)],
    history: ['GET', 'metrics/get-history', historyQuery(run, 'loss', 'MjUwMDA=')],
    search: ['POST', 'runs/search', searchBody(experiment, 'MTAwMDA=')]
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, [method, endpoint, body]]) => {
      const { path, payload } = Client.wire(method, endpoint, body)
      return [name, `${method} ${path}\n${payload}`]
    })
  )
}

const [workload = '', paramsJson = '{}'] = process.argv.slice(2)
if (workload === 'bodies') {
  process.stdout.write(`${JSON.stringify(firstRequests())}\n`)
} else {
  const run = workloads[workload]
  if (!run) throw new Error(`unknown workload ${workload}`)
  const params = JSON.parse(paramsJson) as Params
  const client = new Client(process.env.MLFLOW_TRACKING_URI!.replace(/\/$/, ''), process.env.MLFLOW_TRACKING_TOKEN!)
  try {
    await client.call('GET', 'experiments/get', { experiment_id: params.warmup_experiment_id })
    client.requests = 0
    const started = performance.now()
    const result = await run(client, params)
    const ms = performance.now() - started
    process.stdout.write(`${JSON.stringify({ ms, requests: client.requests, pages: result.pages ?? 0, items: result.items })}\n`)
  } finally {
    client.close()
  }
}
