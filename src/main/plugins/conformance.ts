// The conformance suite every geometric plugin must pass (npm run plugin:check <dir>).
// It drives the plugin through the same three calls the app uses, so it works in-process or
// through the plugin host (where a crash is reported instead of taking the checker down).
import type { FloatVector, KnnResult } from '../../shared/plugins'

export interface GeometricCalls {
  distance(a: FloatVector, b: FloatVector): Promise<number>
  /** `out` (optional in the plugin API) is a Float64Array(N) to fill and return. */
  distances(query: FloatVector, points: FloatVector, dim: number, out?: Float64Array): Promise<Float64Array>
  knn(query: FloatVector, points: FloatVector, dim: number, k: number): Promise<KnnResult>
}

export interface ConformanceCheck {
  name: string
  status: 'pass' | 'fail' | 'skip'
  detail: string
  ms: number
}

export interface ConformanceOptions {
  isMetric: boolean
  /** Points in the large-input check. Default 1,000,000. */
  largeCount?: number
  seed?: number
}

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

class CheckFailure extends Error {}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new CheckFailure(message)
}

function close(a: number, b: number, tolerance = 1e-12): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b)
  if (a === b) return true
  return Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(a), Math.abs(b))
}

/** "a is nearer than b" by the documented order: numbers ascending, NaN last, ties by index. */
function compareNeighbours(da: number, ia: number, db: number, ib: number): number {
  const aNaN = Number.isNaN(da)
  const bNaN = Number.isNaN(db)
  if (aNaN !== bNaN) return aNaN ? 1 : -1
  if (!aNaN && da !== db) return da < db ? -1 : 1
  return ia - ib
}

export async function runConformanceSuite(calls: GeometricCalls, options: ConformanceOptions): Promise<ConformanceCheck[]> {
  const rand = random(options.seed ?? 20240611)
  const vector = (dim: number, type: 'f32' | 'f64' = 'f64', scale = 10): FloatVector => {
    const values = type === 'f32' ? new Float32Array(dim) : new Float64Array(dim)
    for (let i = 0; i < dim; i++) values[i] = (rand() * 2 - 1) * scale
    return values
  }
  const slice = (points: FloatVector, index: number, dim: number): FloatVector => points.slice(index * dim, (index + 1) * dim)
  const results: ConformanceCheck[] = []

  const check = async (name: string, body: () => Promise<string | void>): Promise<void> => {
    const started = performance.now()
    try {
      const detail = await body()
      results.push({ name, status: 'pass', detail: detail ?? '', ms: performance.now() - started })
    } catch (error) {
      const detail = error instanceof CheckFailure ? error.message : `unexpected error: ${(error as Error)?.message ?? String(error)}`
      results.push({ name, status: 'fail', detail, ms: performance.now() - started })
    }
  }

  const rejects = async (label: string, run: () => Promise<unknown>): Promise<string> => {
    try {
      await run()
    } catch (error) {
      const code = (error as { code?: string }).code
      expect(code === undefined || code === 'call_failed', `${label}: failed with ${code} instead of a thrown error (${(error as Error).message})`)
      return (error as Error).message
    }
    throw new CheckFailure(`${label}: did not throw`)
  }

  await check('distance, distances and knn agree', async () => {
    for (const dim of [1, 3, 4, 7, 16]) {
      for (const type of ['f32', 'f64'] as const) {
        const count = 257
        const query = vector(dim, type)
        const points = vector(count * dim, type)
        const all = await calls.distances(query, points, dim)
        expect(all instanceof Float64Array && all.length === count, `distances must return Float64Array(${count}) (dim ${dim}, ${type})`)
        for (let i = 0; i < count; i++) {
          const single = await calls.distance(query, slice(points, i, dim))
          expect(close(single, all[i]), `dim ${dim} ${type}: distance() = ${single} but distances()[${i}] = ${all[i]}`)
        }
        const out = new Float64Array(count)
        const filled = await calls.distances(query, points, dim, out)
        expect(filled.every((value, i) => close(value, all[i])), `distances(query, points, dim, out) must give the same values (dim ${dim}, ${type})`)
        const order = [...all.keys()].sort((a, b) => compareNeighbours(all[a], a, all[b], b))
        for (const k of [1, 10, count]) {
          const knn = await calls.knn(query, points, dim, k)
          expect(knn.indices.length === k && knn.distances.length === k, `knn k=${k} must return ${k} indices and distances`)
          for (let j = 0; j < k; j++) {
            expect(close(knn.distances[j], all[order[j]]), `dim ${dim} ${type} knn k=${k}: rank ${j} distance ${knn.distances[j]}, expected ${all[order[j]]}`)
            expect(close(all[knn.indices[j]], knn.distances[j]), `knn index ${knn.indices[j]} does not have the distance knn reported`)
          }
        }
      }
    }
    return 'dims 1, 3, 4, 7, 16; Float32Array and Float64Array; k = 1, 10, N'
  })

  await check('non-negativity', async () => {
    for (const dim of [2, 4, 9]) {
      const all = await calls.distances(vector(dim), vector(1000 * dim), dim)
      const bad = all.findIndex((value) => !(value >= 0))
      expect(bad === -1, `dim ${dim}: distance ${all[bad]} at index ${bad} is negative (or NaN for finite input)`)
    }
  })

  await check('identity: d(x, x) = 0', async () => {
    for (const dim of [1, 4, 13]) {
      for (let trial = 0; trial < 50; trial++) {
        const x = vector(dim, trial % 2 === 0 ? 'f32' : 'f64', 10 ** ((trial % 7) - 3))
        const d = await calls.distance(x, x.slice())
        expect(Math.abs(d) <= 1e-9, `d(x, x) = ${d} for x = [${[...x].join(', ')}]`)
      }
    }
  })

  await check('symmetry: d(a, b) = d(b, a)', async () => {
    for (const dim of [1, 4, 11]) {
      for (let trial = 0; trial < 100; trial++) {
        const a = vector(dim)
        const b = vector(dim)
        const ab = await calls.distance(a, b)
        const ba = await calls.distance(b, a)
        expect(close(ab, ba), `d(a, b) = ${ab} but d(b, a) = ${ba}`)
      }
    }
  })

  if (options.isMetric) {
    await check('triangle inequality (the plugin declares isMetric)', async () => {
      for (const dim of [1, 4, 6]) {
        for (let trial = 0; trial < 300; trial++) {
          const [a, b, c] = [vector(dim), vector(dim), vector(dim)]
          const ac = await calls.distance(a, c)
          const ab = await calls.distance(a, b)
          const bc = await calls.distance(b, c)
          expect(ac <= ab + bc + 1e-9 * (ab + bc), `d(a, c) = ${ac} > d(a, b) + d(b, c) = ${ab + bc}`)
        }
      }
    })
  } else {
    results.push({ name: 'triangle inequality', status: 'skip', detail: 'the plugin declares isMetric: false', ms: 0 })
  }

  await check('NaN/Inf rule: any non-finite coordinate gives NaN; knn ranks NaN last', async () => {
    for (const special of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (const where of ['a', 'b'] as const) {
        const a = new Float64Array([1, 2, 3, 4])
        const b = new Float64Array([4, 3, 2, 1])
        ;(where === 'a' ? a : b)[2] = special
        const d = await calls.distance(a, b)
        expect(Number.isNaN(d), `distance with ${special} in ${where} returned ${d}, expected NaN`)
      }
    }
    const dim = 4
    const points = vector(50 * dim, 'f32')
    const poisoned = [3, 17, 42]
    points[3 * dim + 1] = Number.NaN
    points[17 * dim] = Number.POSITIVE_INFINITY
    points[42 * dim + 3] = Number.NEGATIVE_INFINITY
    const query = vector(dim)
    const all = await calls.distances(query, points, dim)
    for (let i = 0; i < 50; i++) {
      expect(poisoned.includes(i) === Number.isNaN(all[i]), `distances()[${i}] = ${all[i]}: only the points with a non-finite coordinate may be NaN`)
    }
    const knn = await calls.knn(query, points, dim, 50)
    expect([...knn.indices.slice(47)].join() === poisoned.join(), `knn must rank the NaN distances last in index order, got ${[...knn.indices.slice(47)].join(', ')}`)
    const nanQuery = await calls.distances(new Float64Array([0, Number.NaN, 0, 0]), points, dim)
    expect(nanQuery.every((value) => Number.isNaN(value)), 'a non-finite query must give NaN for every point')
    const huge = await calls.distance(new Float64Array([1e308, -1e308]), new Float64Array([-1e308, 1e308]))
    expect(!Number.isNaN(huge), `finite inputs must not give NaN (got ${huge} for an overflowing pair)`)
  })

  await check('argument errors throw clear errors (and the plugin keeps working)', async () => {
    const messages: string[] = []
    const four = new Float64Array([1, 2, 3, 4])
    const points = new Float32Array(40)
    messages.push(await rejects('distance of 3-D and 4-D vectors', () => calls.distance(new Float64Array(3), four)))
    messages.push(await rejects('distances with query.length != dim', () => calls.distances(new Float64Array(3), points, 4)))
    messages.push(await rejects('points.length not a multiple of dim', () => calls.distances(four, new Float32Array(41), 4)))
    messages.push(await rejects('dim 0', () => calls.distances(four, points, 0)))
    messages.push(await rejects('dim 2.5', () => calls.distances(four, points, 2.5)))
    messages.push(await rejects('empty points', () => calls.distances(four, new Float32Array(0), 4)))
    messages.push(await rejects('empty vectors', () => calls.distance(new Float64Array(0), new Float64Array(0))))
    messages.push(await rejects('a plain Array', () => calls.distance([1, 2] as unknown as FloatVector, new Float64Array(2))))
    messages.push(await rejects('an Int32Array', () => calls.distances(four, new Int32Array(8) as unknown as FloatVector, 4)))
    messages.push(await rejects('out of the wrong length', () => calls.distances(four, points, 4, new Float64Array(9))))
    messages.push(await rejects('out of the wrong type', () => calls.distances(four, points, 4, new Float32Array(10) as unknown as Float64Array)))
    messages.push(await rejects('k = 0', () => calls.knn(four, points, 4, 0)))
    messages.push(await rejects('k > N', () => calls.knn(four, points, 4, 11)))
    messages.push(await rejects('k = 1.5', () => calls.knn(four, points, 4, 1.5)))
    const after = await calls.distance(four, four)
    expect(after === 0, 'the plugin must keep working after argument errors')
    return messages.slice(0, 2).join(' / ')
  })

  const largeCount = options.largeCount ?? 1_000_000
  await check(`${largeCount.toLocaleString('en-US')}-point inputs`, async () => {
    const dim = 4
    const points = new Float32Array(largeCount * dim)
    for (let i = 0; i < points.length; i++) points[i] = rand() * 2 - 1
    const query = new Float32Array([0.1, -0.2, 0.3, -0.4])
    const started = performance.now()
    const all = await calls.distances(query, points, dim)
    const distancesMs = performance.now() - started
    expect(all.length === largeCount, `distances returned ${all.length} values for ${largeCount} points`)
    for (let trial = 0; trial < 200; trial++) {
      const i = Math.floor(rand() * largeCount)
      const single = await calls.distance(query, slice(points, i, dim))
      expect(close(single, all[i]), `distances()[${i}] = ${all[i]} but distance() = ${single}`)
    }
    const knn = await calls.knn(query, points, dim, 10)
    const order = [...all.keys()].sort((a, b) => compareNeighbours(all[a], a, all[b], b)).slice(0, 10)
    expect([...knn.indices].join() === order.join(), `knn k=10 returned ${[...knn.indices].join(', ')}, expected ${order.join(', ')}`)
    return `distances over ${largeCount} points in ${distancesMs.toFixed(1)} ms`
  })

  return results
}

export function formatConformanceReport(pluginName: string, checks: ConformanceCheck[]): string {
  const lines = checks.map((c) => `  ${c.status === 'pass' ? 'PASS' : c.status === 'skip' ? 'SKIP' : 'FAIL'}  ${c.name}${c.detail ? ` — ${c.detail}` : ''} (${c.ms.toFixed(0)} ms)`)
  const failed = checks.filter((c) => c.status === 'fail').length
  return [`plugin:check ${pluginName}`, ...lines, failed === 0 ? 'all checks passed' : `${failed} check(s) failed`].join('\n')
}
