import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { createBLAKE3 } from 'hash-wasm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HypercubeApiError, type Run } from '../../src/client/hypercube-client'
import { checkArtifactPath } from '../../src/main/artifacts/artifact-store'
import { isDomainError } from '../../src/shared/errors'
import { startApiTestCore } from '../support/api-env'

let api: Awaited<ReturnType<typeof startApiTestCore>>
let run: Run

async function blake3(bytes: Uint8Array): Promise<string> {
  const hasher = await createBLAKE3()
  hasher.init()
  hasher.update(bytes)
  return hasher.digest('hex')
}

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; field?: string; status?: number }> {
  try {
    await promise
  } catch (error) {
    if (error instanceof HypercubeApiError) return { code: error.code, field: error.field, status: error.status }
    if (isDomainError(error)) return { code: error.code, field: error.field }
    throw error
  }
  throw new Error('expected a failure')
}

beforeAll(async () => {
  api = await startApiTestCore()
  const experiment = await api.client.createExperiment({ name: 'artifacts' })
  run = await api.client.startRun({ experiment_id: experiment.experiment_id })
})
afterAll(async () => {
  await api?.close()
})

describe('artifacts', () => {
  it('stores a file under <dataDir>/artifacts/<experiment>/<run uuid>/ with its size and BLAKE3, lists, reads and deletes it', async () => {
    const artifacts = api.core.services.artifacts
    const bytes = Buffer.from('weights '.repeat(100_000))
    const stored = await artifacts.putFile(run.run_id, 'model/weights.bin', Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), { kind: 'model' })
    expect(stored).toMatchObject({ path: 'model/weights.bin', kind: 'model', sizeBytes: bytes.length, blake3: await blake3(bytes), uri: null })
    const onDisk = join(api.dataDir, 'artifacts', String(run.experiment_id), run.run_uuid, 'model', 'weights.bin')
    expect(readFileSync(onDisk).equals(bytes)).toBe(true)

    expect(await artifacts.listFiles(run.run_id)).toEqual([{ path: 'model', isDirectory: true, sizeBytes: null }])
    expect(await artifacts.listFiles(run.run_id, 'model')).toEqual([{ path: 'model/weights.bin', isDirectory: false, sizeBytes: bytes.length }])
    const opened = await artifacts.openFile(run.run_id, 'model/weights.bin')
    const chunks: Buffer[] = []
    for await (const chunk of opened.stream) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true)

    // Over HTTP: listed, verified (verified_at recorded), then corrupted on disk and caught.
    const listed = await api.client.listArtifacts(run.run_id)
    expect(listed.map((a) => [a.path, a.size_bytes, a.blake3])).toEqual([['model/weights.bin', bytes.length, await blake3(bytes)]])
    const verified = await api.client.verifyArtifact(listed[0]!.artifact_id)
    expect(verified.verified).toBe(true)
    expect(verified.artifact.verified_at).not.toBeNull()
    writeFileSync(onDisk, 'tampered')
    const tampered = await api.client.verifyArtifact(listed[0]!.artifact_id)
    expect([tampered.verified, tampered.actual_size_bytes]).toEqual([false, 8])
    // A read of a corrupted file fails at its end rather than passing the bytes off as good.
    const corrupted = await artifacts.openFile(run.run_id, 'model/weights.bin')
    await expect((async () => { for await (const _ of corrupted.stream) void _ })()).rejects.toThrow(/corrupted/)

    await artifacts.deleteFile(run.run_id, 'model/weights.bin')
    expect(await artifacts.listFiles(run.run_id, 'model')).toEqual([])
    expect(await api.client.listArtifacts(run.run_id)).toEqual([])
    expect((await errorOf(artifacts.openFile(run.run_id, 'model/weights.bin'))).code).toBe('not_found')
  })

  it('registers a stored file over HTTP (checksum computed; a wrong one is a 409) and an external one by URI', async () => {
    const bytes = Buffer.from('{"lr": 0.001}')
    await api.core.services.artifacts.putFile(run.run_id, 'config.json', bytes)
    const registered = await api.client.registerArtifact(run.run_id, { path: 'config.json', kind: 'config', metadata: { format: 'json' } })
    expect(registered).toMatchObject({ path: 'config.json', kind: 'config', size_bytes: bytes.length, blake3: await blake3(bytes), metadata: { format: 'json' } })
    expect(await errorOf(api.client.registerArtifact(run.run_id, { path: 'config.json', blake3: 'f'.repeat(64) }))).toMatchObject({ status: 409, field: 'blake3' })
    expect(await errorOf(api.client.registerArtifact(run.run_id, { path: 'missing.bin' }))).toMatchObject({ status: 404, field: 'path' })
    const external = await api.client.registerArtifact(run.run_id, { path: 'dataset', uri: 's3://bucket/train.parquet', kind: 'dataset', size_bytes: 10 })
    expect(external).toMatchObject({ uri: 's3://bucket/train.parquet', size_bytes: 10, blake3: null })
    expect(await errorOf(api.client.verifyArtifact(external.artifact_id))).toMatchObject({ status: 409, field: 'artifact_id' })
    expect((await api.client.getArtifact(external.artifact_id)).path).toBe('dataset')
    expect(await errorOf(api.client.registerArtifact(run.run_id, { path: 'x', uri: 'no scheme' }))).toMatchObject({ status: 400, field: 'uri' })
    expect(await errorOf(api.client.registerArtifact(999_999, { path: 'x', uri: 's3://b/k' }))).toMatchObject({ status: 404, field: 'run_id' })
  })

  it('refuses every path that could leave the run folder', async () => {
    const traversals = [
      '../escape.txt',
      'a/../../escape.txt',
      '/etc/passwd',
      'C:/Windows/win.ini',
      'c:evil',
      'a\\..\\..\\escape.txt',
      '%2e%2e/escape.txt',
      '..%2fescape.txt',
      '%252e%252e/escape.txt',
      'a/%2E%2E/%2E%2E/escape',
      'nul\u0000byte',
      'a//b',
      'a/./b',
      'trailing/',
      '',
      'x'.repeat(1025)
    ]
    for (const path of traversals) {
      expect(() => checkArtifactPath(path), JSON.stringify(path)).toThrow()
      expect(await errorOf(api.core.services.artifacts.putFile(run.run_id, path, Buffer.from('x'))), JSON.stringify(path)).toMatchObject({ code: 'invalid_argument', field: 'path' })
      expect(await errorOf(api.client.registerArtifact(run.run_id, { path, uri: 's3://b/k' })), JSON.stringify(path)).toMatchObject({ status: 400, field: 'path' })
    }
    expect(checkArtifactPath('plots/acc 50%.png')).toBe('plots/acc 50%.png')
  })

  it('does not follow a symlink planted in the store out of it', async () => {
    const artifacts = api.core.services.artifacts
    await artifacts.putFile(run.run_id, 'inside.txt', Buffer.from('in'))
    const runDir = join(api.dataDir, 'artifacts', String(run.experiment_id), run.run_uuid)
    const outside = join(api.dataDir, 'outside')
    mkdirSync(outside)
    writeFileSync(join(outside, 'secret.txt'), 'secret')
    symlinkSync(outside, join(runDir, 'link'))
    symlinkSync(join(outside, 'secret.txt'), join(runDir, 'secret-link.txt'))
    expect(await errorOf(artifacts.putFile(run.run_id, 'link/new.txt', Buffer.from('x')))).toMatchObject({ code: 'invalid_argument', field: 'path' })
    expect(await errorOf(artifacts.openFile(run.run_id, 'link/secret.txt'))).toMatchObject({ code: 'invalid_argument', field: 'path' })
    expect(await errorOf(artifacts.openFile(run.run_id, 'secret-link.txt'))).toMatchObject({ code: 'invalid_argument', field: 'path' })
    expect(await errorOf(artifacts.deleteFile(run.run_id, 'secret-link.txt'))).toMatchObject({ code: 'invalid_argument' })
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('secret')
    expect((await artifacts.listFiles(run.run_id, '', true)).map((f) => f.path)).toEqual(expect.arrayContaining(['inside.txt']))
    expect((await artifacts.listFiles(run.run_id, '', true)).map((f) => f.path)).not.toContain('link/secret.txt')
  })

  it('never leaves a partial file under the final name when a write fails midway', async () => {
    const artifacts = api.core.services.artifacts
    await artifacts.putFile(run.run_id, 'atomic.bin', Buffer.from('complete'))
    async function* failing() {
      yield Buffer.from('partial')
      throw new Error('connection dropped')
    }
    await expect(artifacts.putFile(run.run_id, 'atomic.bin', failing())).rejects.toThrow('connection dropped')
    await expect(artifacts.putFile(run.run_id, 'fresh.bin', failing())).rejects.toThrow('connection dropped')
    const runDir = join(api.dataDir, 'artifacts', String(run.experiment_id), run.run_uuid)
    expect(readFileSync(join(runDir, 'atomic.bin'), 'utf8')).toBe('complete')
    expect((await artifacts.listFiles(run.run_id)).map((f) => f.path)).not.toContain('fresh.bin')
  })
})
