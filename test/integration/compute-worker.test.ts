import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createBLAKE3 } from 'hash-wasm'
import { afterEach, describe, expect, it } from 'vitest'
import { ArtifactStore } from '../../src/main/artifacts/artifact-store'
import { appRoot } from '../../src/main/paths'
import { ComputeWorker, computeWorkerScript, runComputeJob } from '../../src/main/workers/compute-worker-client'
import { makeDataDir } from '../support/test-env'
import { writeSafetensors } from '../support/safetensors-writer'

/** A file of `bytes` zeros that takes no disk (sparse). */
function sparseFile(path: string, bytes: number): string {
  const fd = openSync(path, 'w')
  ftruncateSync(fd, bytes)
  closeSync(fd)
  return path
}

describe('the compute worker', () => {
  const folders: Array<{ remove: () => void }> = []
  const workers: ComputeWorker[] = []
  const folder = (): string => {
    const made = makeDataDir('hypercube-compute-')
    folders.push(made)
    return made.dir
  }
  const start = (script?: string): ComputeWorker => {
    const worker = ComputeWorker.start(script)
    workers.push(worker)
    return worker
  }
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.dispose()))
    folders.splice(0).forEach((made) => made.remove())
  })

  it('runs from the TypeScript source under tests', () => {
    expect(computeWorkerScript()).toMatch(/src[\\/]main[\\/]workers[\\/]compute-worker\.ts$/)
  })

  it('hashes a file with BLAKE3 as the calling thread would, reporting progress', async () => {
    const path = join(folder(), 'model.bin')
    writeFileSync(path, new Uint8Array(3_000_000).map((_, i) => i % 251))
    const expected = (await createBLAKE3()).init().update(readFileSync(path)).digest('hex')
    expect(await runComputeJob('blake3File', { path })).toEqual({ blake3: expected, sizeBytes: 3_000_000 })

    const big = sparseFile(join(folder(), 'big.bin'), 64 << 20)
    const progress: Array<{ bytesDone: number; bytesTotal: number }> = []
    await start().run('blake3File', { path: big }, { onProgress: (p) => progress.push(p) })
    expect(progress.length).toBeGreaterThanOrEqual(3)
    expect(progress.every((p) => p.bytesTotal === 64 << 20)).toBe(true)
  })

  it('an artifact store hashes a small file inline and a large one on the worker, with the same answer either way', async () => {
    const store = new ArtifactStore(folder())
    const pattern = (bytes: number): Uint8Array => new Uint8Array(bytes).map((_, i) => (i * 7) % 253)
    for (const bytes of [1_000, 20 * 1024 * 1024]) {
      const content = pattern(bytes)
      await store.write(1, 'a'.repeat(32), `file-${bytes}.bin`, content)
      const expected = (await createBLAKE3()).init().update(content).digest('hex')
      expect(await store.hash(1, 'a'.repeat(32), `file-${bytes}.bin`)).toEqual({ sizeBytes: bytes, blake3: expected })
    }
  })

  it('reads tensor slices as floats with their norms, transferring the arrays', async () => {
    const dir = folder()
    writeSafetensors(join(dir, 'a.safetensors'), { t: { dtype: 'F16', shape: [2, 2], data: [1, -2, 0.5, 4] } })
    writeSafetensors(join(dir, 'b.safetensors'), { t: { dtype: 'F16', shape: [4], data: [0, 0, 3, 4] } })
    const worker = start()
    const a = await worker.run('openSafetensors', { path: join(dir, 'a.safetensors'), field: 'a' })
    const b = await worker.run('openSafetensors', { path: join(dir, 'b.safetensors'), field: 'b' })
    expect(a.tensors).toEqual([expect.objectContaining({ name: 't', dtype: 'F16', shape: [2, 2], elements: 4 })])
    const slice = await worker.run('readSlicePair', { fileIdA: a.fileId, fileIdB: b.fileId, tensor: 't', first: 1, count: 3 })
    expect(Array.from(slice.a)).toEqual([-2, 0.5, 4])
    expect(Array.from(slice.b)).toEqual([0, 3, 4])
    expect(slice).toMatchObject({ squaredNormA: 20.25, squaredNormB: 25 })
  })

  it('keeps a DomainError\'s code and field across the thread', async () => {
    const path = join(folder(), 'bogus.safetensors')
    writeFileSync(path, 'not a model at all')
    await expect(start().run('openSafetensors', { path, field: 'versionIdA' })).rejects.toMatchObject({
      name: 'DomainError',
      code: 'invalid_argument',
      field: 'versionIdA',
      message: expect.stringMatching(/not a safetensors file/)
    })
  })

  it('stops a running job when its signal is aborted, and refuses work afterwards', async () => {
    const big = sparseFile(join(folder(), 'huge.bin'), 4 * 2 ** 30)
    const worker = start()
    const abort = new AbortController()
    const started = Date.now()
    const hashing = worker.run('blake3File', { path: big }, { signal: abort.signal, onProgress: () => abort.abort() })
    await expect(hashing).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/cancelled/) })
    // Hashing 4 GB takes many seconds; the abort ended it at the first progress report.
    expect(Date.now() - started).toBeLessThan(20_000)
    await expect(worker.run('blake3File', { path: big })).rejects.toMatchObject({ message: expect.stringMatching(/cancelled/) })
  })

  it('fails the jobs still running when disposed', async () => {
    const worker = start()
    const hashing = expect(worker.run('blake3File', { path: sparseFile(join(folder(), 'huge.bin'), 4 * 2 ** 30) })).rejects.toMatchObject({
      code: 'unavailable'
    })
    await worker.dispose()
    await hashing
  })

  // npm test builds before it tests; run alone, this asks for the build instead of skipping.
  const built = join(appRoot(), 'out', 'main', 'compute-worker.js')
  it('runs the built entry (out/main/compute-worker.js) too', async () => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first (npm test builds before testing)`)
    const path = join(folder(), 'small.bin')
    writeFileSync(path, 'hello')
    const expected = (await createBLAKE3()).init().update('hello').digest('hex')
    expect(await start(built).run('blake3File', { path })).toEqual({ blake3: expected, sizeBytes: 5 })
  })
})
