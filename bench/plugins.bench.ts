// npm run bench:plugins — distances over 1,000,000 4-D float32 points, per plugin, in-process
// and through the plugin host, beside a plain JS loop and a memory-streaming baseline over the
// same bytes, in the same run. Target (DESIGN.md): in-process within 1.5× of memory streaming
// and faster than the JS loop. Also knn with k = 10. Medians of several runs.
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { createSilentLogger } from '../src/main/logging'
import { ForkPluginHostSpawner } from '../src/main/plugins/host-spawner'
import { readBuildRecord } from '../src/main/plugins/manifest'
import { BUNDLED_PLUGINS_DIR, buildPlugin, REPO_ROOT } from '../src/main/plugins/plugin-build'
import { PluginRegistry } from '../src/main/plugins/plugin-registry'
import type { KnnResult } from '../src/shared/plugins'

const COUNT = 1_000_000
const DIM = 4
const RUNS = 15
const PLUGINS = ['euclidean', 'manhattan', 'cosine'] as const

interface InProcessPlugin {
  distances(query: Float32Array, points: Float32Array, dim: number, out?: Float64Array): Float64Array
  knn(query: Float32Array, points: Float32Array, dim: number, k: number): KnnResult
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

async function time(runs: number, body: () => unknown): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < runs + 2; i++) {
    const started = performance.now()
    await body()
    if (i >= 2) samples.push(performance.now() - started) // the first two warm up
  }
  return median(samples)
}

const require = createRequire(import.meta.url)
const points = new Float32Array(COUNT * DIM)
let seed = 12345
for (let i = 0; i < points.length; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  points[i] = seed / 4294967296
}
const query = new Float32Array([0.5, 0.25, 0.75, 0.5])
const megabytes = points.byteLength / 1e6

// Memory streaming: copy the same 16 MB of points into a preallocated buffer (a memcpy reads
// and writes every byte once, which bounds what any pass over the points can do).
const copyTarget = new Float32Array(points.length)
const streamMs = await time(RUNS, () => copyTarget.set(points))

// The plain JS loop a plugin has to beat: Euclidean distances into a reused Float64Array
// (kind to JS: it does not pay for a fresh 8 MB output each time).
const jsOut = new Float64Array(COUNT)
const jsMs = await time(RUNS, () => {
  const out = jsOut
  for (let i = 0, j = 0; i < COUNT; i++, j += 4) {
    const d0 = query[0] - points[j]
    const d1 = query[1] - points[j + 1]
    const d2 = query[2] - points[j + 2]
    const d3 = query[3] - points[j + 3]
    out[i] = Math.sqrt(d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3)
  }
  return out
})

for (const name of PLUGINS) {
  const dir = join(BUNDLED_PLUGINS_DIR, name)
  if (!(await readBuildRecord(dir))) await buildPlugin(dir)
}

const registry = await PluginRegistry.open({
  bundledDir: BUNDLED_PLUGINS_DIR,
  hostScript: resolve(REPO_ROOT, 'src/main/plugins/plugin-host.ts'),
  spawner: new ForkPluginHostSpawner(),
  logger: createSilentLogger(),
  watch: false
})

const fmt = (ms: number): string => `${ms.toFixed(2).padStart(8)} ms`
const ratio = (value: number, base: number): string => `${(value / base).toFixed(2)}×`

console.log(`distances over ${COUNT.toLocaleString('en-US')} ${DIM}-D float32 points (${megabytes.toFixed(0)} MB), median of ${RUNS}`)
console.log(`  memory streaming (memcpy ${megabytes.toFixed(0)} MB)  ${fmt(streamMs)}  (${(megabytes / streamMs).toFixed(1)} GB/s)`)
console.log(`  plain JS loop (euclidean)        ${fmt(jsMs)}  ${ratio(jsMs, streamMs)} of streaming`)
const rows: string[] = []
for (const name of PLUGINS) {
  const record = (await readBuildRecord(join(BUNDLED_PLUGINS_DIR, name)))!
  const plugin = require(join(BUNDLED_PLUGINS_DIR, name, record.path)) as InProcessPlugin
  const inProcessMs = await time(RUNS, () => plugin.distances(query, points, DIM))
  const reused = new Float64Array(COUNT)
  const reusedMs = await time(RUNS, () => plugin.distances(query, points, DIM, reused))
  const hostMs = await time(5, () => registry.distances(name, query, points, DIM))
  const knnMs = await time(RUNS, () => plugin.knn(query, points, DIM, 10))
  const knnHostMs = await time(5, () => registry.knn(name, query, points, DIM, 10))
  console.log(
    `  ${name.padEnd(10)} in-process ${fmt(inProcessMs)}  ${ratio(inProcessMs, streamMs)} of streaming, ${ratio(jsMs, inProcessMs)} faster than JS` +
      `${inProcessMs <= 1.5 * streamMs && inProcessMs < jsMs ? '  ✓ target' : '  ✗ target'}`
  )
  console.log(
    `  ${''.padEnd(10)} out reused ${fmt(reusedMs)}  ${ratio(reusedMs, streamMs)} of streaming, ${ratio(jsMs, reusedMs)} faster than JS` +
      `${reusedMs <= 1.5 * streamMs && reusedMs < jsMs ? '  ✓ target' : '  ✗ target'}`
  )
  console.log(`  ${''.padEnd(10)} via host   ${fmt(hostMs)}  ${ratio(hostMs, streamMs)} of streaming (includes moving 16 MB in, 8 MB out)`)
  rows.push(`  ${name.padEnd(10)} knn k=10 in-process ${fmt(knnMs)}  via host ${fmt(knnHostMs)}  (${ratio(knnMs, streamMs)} of streaming in-process)`)
}
console.log(rows.join('\n'))
await registry.close()
