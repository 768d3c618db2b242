import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * Replays every request of real mlflow client traffic (recorded against a real MLflow server,
 * test/fixtures/mlflow) against Hypercube and checks each answer has the recorded status and the
 * same shape: the same keys with the same JSON types (ids and times differ, so values are not
 * compared, except artifact downloads, whose bytes must be what was uploaded). Ids are rewritten
 * as the replay goes: the trace's experiment, run and logged-model ids become the ones Hypercube
 * returned for the same request.
 *
 * The recorder cut long bodies to a prefix plus "...<N chars>" (N: about the original length): such responses are compared on
 * the part that was kept, and such requests are rebuilt from their visible pattern (and the
 * rebuilt length must equal the recorded length, so the rebuild is the original).
 */

const TRACE_DIR = process.env.HYPERCUBE_MLFLOW_TRACES ?? join(import.meta.dirname, '..', 'fixtures', 'mlflow')
const TRUNCATED = /\.\.\.<(\d+) chars>$/

interface TraceEntry {
  method: string
  path: string
  status: number
  content_type: string | null
  req: string
  resp: string
}

function loadTrace(file: string): TraceEntry[] {
  return readFileSync(join(TRACE_DIR, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TraceEntry)
}

// ---- rebuilding cut requests ----

/** Python's json.dumps spelling of a float that is a whole number ("7.0"). */
const pyFloat = (value: number): string => (Number.isInteger(value) ? `${value}.0` : String(value))

/**
 * The recorder's length notes are close but not exact (one matches json.dumps exactly, others
 * are a few to 80 characters over), so a rebuild must come within 100 characters below the
 * note and keep the visible prefix.
 */
function rebuildRequest(entry: TraceEntry): string {
  const match = TRUNCATED.exec(entry.req)
  if (!match) return entry.req
  const prefix = entry.req.slice(0, match.index)
  const noted = Number(match[1])
  let rebuilt: string | undefined
  if (entry.path.endsWith('/runs/log-parameter')) {
    // {"run_uuid": …, "key": "long", "value": "xxxx…", "run_id": …}: one repeated character. The
    // real server accepted it, so the value was within MLflow's 6000-character limit.
    const head = /^(\{"run_uuid": "[0-9a-f]{32}", "key": "[^"]+", "value": ")(.)/.exec(prefix)!
    const runId = /"run_uuid": "([0-9a-f]{32})"/.exec(prefix)![1]
    const tail = `", "run_id": "${runId}"}`
    rebuilt = head[1] + head[2]!.repeat(Math.min(6000, noted - head[1]!.length - tail.length)) + tail
  } else if (entry.path.endsWith('/runs/log-batch')) {
    // {"run_id": …, "metrics": [{"key": "m", "value": v, "timestamp": t, "step": i}, …]}: steps
    // count up from 0; the value is the step, or constant. As many as fit the noted length.
    const items = [...prefix.matchAll(/\{"key": "([^"]+)", "value": ([-\d.]+), "timestamp": (\d+), "step": (\d+)\}/g)]
    const [first, second] = items
    const valueIsStep = Number(second![2]) !== Number(first![2])
    const head = prefix.slice(0, first!.index)
    const metric = (step: number): string =>
      `{"key": "${first![1]}", "value": ${pyFloat(valueIsStep ? step : Number(first![2]))}, "timestamp": ${first![3]}, "step": ${step}}`
    const metrics: string[] = []
    while (head.length + [...metrics, metric(metrics.length)].join(', ').length + 2 <= noted) metrics.push(metric(metrics.length))
    rebuilt = `${head}${metrics.join(', ')}]}`
  }
  if (rebuilt === undefined || rebuilt.length > noted || rebuilt.length < noted - 100 || !rebuilt.startsWith(prefix.slice(0, -20))) {
    throw new Error(`cannot rebuild the cut request ${entry.method} ${entry.path}`)
  }
  return rebuilt
}

// ---- reading cut responses ----

const INCOMPLETE = new WeakSet<object>()

/** Parses JSON that may stop anywhere; containers cut short are marked INCOMPLETE. */
function parsePartialJson(text: string): unknown {
  let i = 0
  const skip = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++
  }
  const parseString = (): { value: string; complete: boolean } => {
    i++ // opening quote
    let raw = ''
    while (i < text.length && text[i] !== '"') {
      raw += text[i] === '\\' ? text.slice(i, i + 2) : text[i]
      i += text[i] === '\\' ? 2 : 1
    }
    const complete = i < text.length
    i++
    try {
      return { value: JSON.parse(`"${raw}"`) as string, complete }
    } catch {
      return { value: raw, complete }
    }
  }
  const parseValue = (): { value: unknown; complete: boolean } | undefined => {
    skip()
    if (i >= text.length) return undefined
    const c = text[i]
    if (c === '{') {
      i++
      const object: Record<string, unknown> = {}
      while (true) {
        skip()
        if (i >= text.length) break
        if (text[i] === '}') {
          i++
          return { value: object, complete: true }
        }
        if (text[i] === ',') {
          i++
          continue
        }
        const key = parseString()
        if (!key.complete) break
        skip()
        i++ // colon
        const value = parseValue()
        if (!value) break
        object[key.value] = value.value
        if (!value.complete) break
      }
      INCOMPLETE.add(object)
      return { value: object, complete: false }
    }
    if (c === '[') {
      i++
      const array: unknown[] = []
      while (true) {
        skip()
        if (i >= text.length) break
        if (text[i] === ']') {
          i++
          return { value: array, complete: true }
        }
        if (text[i] === ',') {
          i++
          continue
        }
        const value = parseValue()
        if (!value) break
        array.push(value.value)
        if (!value.complete) break
      }
      INCOMPLETE.add(array)
      return { value: array, complete: false }
    }
    if (c === '"') return parseString()
    const literal = /^(-?[\d.eE+-]+|true|false|null)/.exec(text.slice(i))
    if (!literal) return undefined
    i += literal[0].length
    const complete = i < text.length
    const value: unknown = literal[0] === 'true' ? true : literal[0] === 'false' ? false : literal[0] === 'null' ? null : Number(literal[0])
    return { value, complete }
  }
  return parseValue()?.value
}

const jsonType = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value)

/** Differences in shape between what MLflow answered and what Hypercube answered. */
function shapeDifferences(expected: unknown, actual: unknown, at = '$'): string[] {
  if (jsonType(expected) !== jsonType(actual)) return [`${at}: expected ${jsonType(expected)}, got ${jsonType(actual)} (${JSON.stringify(actual)?.slice(0, 80)})`]
  const complete = !(typeof expected === 'object' && expected !== null && INCOMPLETE.has(expected))
  if (Array.isArray(expected)) {
    const actualArray = actual as unknown[]
    const problems: string[] = []
    if (complete && expected.length !== actualArray.length) problems.push(`${at}: expected ${expected.length} items, got ${actualArray.length}`)
    expected.forEach((item, index) => {
      if (index < actualArray.length) problems.push(...shapeDifferences(item, actualArray[index], `${at}[${index}]`))
      else if (!complete) problems.push(`${at}: expected at least ${index + 1} items, got ${actualArray.length}`)
    })
    return problems
  }
  if (typeof expected === 'object' && expected !== null) {
    const actualObject = actual as Record<string, unknown>
    const problems: string[] = []
    for (const [key, value] of Object.entries(expected)) {
      if (!(key in actualObject)) problems.push(`${at}.${key}: missing`)
      else problems.push(...shapeDifferences(value, actualObject[key], `${at}.${key}`))
    }
    if (complete) for (const key of Object.keys(actualObject)) if (!(key in expected)) problems.push(`${at}.${key}: not in MLflow's answer`)
    return problems
  }
  return []
}

// ---- id rewriting ----

class IdMap {
  readonly experiments = new Map<string, string>([['0', '0']])
  readonly opaque = new Map<string, string>() // run ids and logged-model ids: unique strings

  experiment(id: string): string {
    return this.experiments.get(id) ?? id
  }

  rewriteText(text: string): string {
    let out = text
    for (const [from, to] of this.opaque) out = out.split(from).join(to)
    return out
  }

  rewriteValue(value: unknown, key?: string): unknown {
    if (typeof value === 'string') {
      if (key === 'experiment_id') return this.experiment(value)
      const artifactUri = /^mlflow-artifacts:\/(\d+)(\/.*)?$/.exec(value)
      if (artifactUri) return this.rewriteText(`mlflow-artifacts:/${this.experiment(artifactUri[1]!)}${artifactUri[2] ?? ''}`)
      return this.rewriteText(value)
    }
    if (Array.isArray(value)) return value.map((item) => (key === 'experiment_ids' && typeof item === 'string' ? this.experiment(item) : this.rewriteValue(item)))
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.rewriteValue(v, k)]))
    }
    return value
  }

  rewritePath(path: string): string {
    return this.rewriteText(path)
      .replace(/([?&]experiment_id=)(\d+)/, (_, head: string, id: string) => head + this.experiment(id))
      .replace(/(\/mlflow-artifacts\/artifacts\/)(\d+)\//, (_, head: string, id: string) => `${head}${this.experiment(id)}/`)
      .replace(/([?&]path=)(\d+)%2F/, (_, head: string, id: string) => `${head}${this.experiment(id)}%2F`)
  }

  /** Learns new ids from a pair of answers to the same request. */
  learn(expected: unknown, actual: unknown, key?: string): void {
    if (typeof expected === 'string' && typeof actual === 'string') {
      if (key === 'experiment_id' && expected !== actual) this.experiments.set(expected, actual)
      else if ((/^[0-9a-f]{32}$/.test(expected) || /^m-[0-9a-f]{32}$/.test(expected)) && expected !== actual) this.opaque.set(expected, actual)
      return
    }
    if (Array.isArray(expected) && Array.isArray(actual)) expected.forEach((item, i) => this.learn(item, actual[i]))
    else if (typeof expected === 'object' && expected !== null && typeof actual === 'object' && actual !== null) {
      for (const [k, v] of Object.entries(expected)) {
        if (k === 'info' || k === 'run' || k === 'model' || k === 'experiment_id' || k === 'run_id' || k === 'run_uuid' || k === 'model_id') {
          this.learn(v, (actual as Record<string, unknown>)[k], k)
        }
      }
    }
  }
}

interface ReplayResult {
  index: number
  request: string
  problems: string[]
}

async function replay(core: TestCore, entries: TraceEntry[]): Promise<ReplayResult[]> {
  const http = core.core.http!
  const ids = new IdMap()
  const results: ReplayResult[] = []
  for (const [index, entry] of entries.entries()) {
    const path = ids.rewritePath(entry.path)
    const headers: Record<string, string> = { authorization: `Bearer ${http.token}` }
    let body: string | Uint8Array | undefined
    if (entry.req !== '' || entry.method === 'PUT') {
      if (entry.content_type) headers['content-type'] = entry.content_type
      const binary = /^<(\d+) bytes binary>$/.exec(entry.req)
      if (binary) body = new Uint8Array(Number(binary[1])).map((_, i) => (i * 31 + 7) % 256)
      else if (entry.content_type === 'application/json') body = JSON.stringify(ids.rewriteValue(JSON.parse(rebuildRequest(entry))))
      else body = entry.req
    }
    const response = await fetch(`${http.url}${path}`, { method: entry.method, headers, body })
    const text = await response.text()
    const problems: string[] = []
    if (response.status !== entry.status) problems.push(`status ${response.status}, expected ${entry.status}: ${text.slice(0, 300)}`)
    const isDownload = entry.method === 'GET' && /\/mlflow-artifacts\/artifacts\/.+/.test(entry.path.split('?')[0]!)
    if (isDownload) {
      if (text !== entry.resp) problems.push(`downloaded ${JSON.stringify(text.slice(0, 80))}, expected ${JSON.stringify(entry.resp.slice(0, 80))}`)
    } else if (problems.length === 0) {
      const cut = TRUNCATED.exec(entry.resp)
      const expected = parsePartialJson(cut ? entry.resp.slice(0, cut.index) : entry.resp)
      let actual: unknown
      try {
        actual = JSON.parse(text)
      } catch {
        problems.push(`response is not JSON: ${text.slice(0, 200)}`)
      }
      if (problems.length === 0) {
        problems.push(...shapeDifferences(expected, actual))
        ids.learn(expected, actual)
      }
    }
    results.push({ index, request: `${entry.method} ${entry.path.slice(0, 100)}`, problems })
  }
  return results
}

describe.each(['trace-client-3.6.jsonl', 'trace-client-2.12.jsonl', 'trace-nan-inf.jsonl'])('MLflow client trace %s', (file) => {
  let core: TestCore
  beforeAll(async () => {
    core = await startTestCore({ http: true })
  })
  afterAll(async () => {
    await core?.close()
  })

  it('replays every request with the recorded status and response shape', async () => {
    const entries = loadTrace(file)
    const results = await replay(core, entries)
    const failures = results.filter((result) => result.problems.length > 0)
    expect(failures, failures.map((f) => `#${f.index} ${f.request}\n    ${f.problems.join('\n    ')}`).join('\n')).toEqual([])
    expect(results).toHaveLength(entries.length)
  })
})
