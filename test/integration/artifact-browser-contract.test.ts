import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromBuffer as zipFromBuffer, type Entry } from 'yauzl'
import type { CallName, CallResults } from '../../src/shared/contract'
import { createContractHandlers, dispatchCall, type ContractHandlers } from '../../src/main/contract-handlers'
import { writeSafetensors } from '../support/safetensors-writer'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * Issue 14's artifact browser, below the UI: the /v1 upload route the empty state documents, the
 * contract calls the browser makes (listing, byte ranges, safetensors headers, chunked uploads
 * through ArtifactService, register-as-model through ModelService) and the serve-mode download
 * routes (a file, a folder as a streamed zip), on a real PostgreSQL and HTTP server.
 */
describe('the artifact browser through /v1, the contract and the serve-mode downloads', () => {
  let test: TestCore
  let handlers: ContractHandlers
  let baseUrl: string
  let token: string
  let cookie: string
  let runId: number

  async function invoke<Name extends CallName>(name: Name, input: unknown): Promise<CallResults[Name]> {
    const outcome = await dispatchCall(handlers, name, input, test.core.logger, test.dataDir)
    if (!outcome.ok) throw Object.assign(new Error(outcome.error.message), outcome.error)
    return outcome.value as CallResults[Name]
  }

  async function refusal(name: CallName, input: unknown): Promise<{ code: string; field?: string; message: string }> {
    const outcome = await dispatchCall(handlers, name, input, test.core.logger, test.dataDir)
    if (outcome.ok) throw new Error(`${name} was not refused`)
    return outcome.error
  }

  async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body !== undefined && !(body instanceof Uint8Array) ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body)
    })
  }

  function zipNames(bytes: Buffer): Promise<Array<{ name: string; size: number }>> {
    return new Promise((resolve, reject) => {
      zipFromBuffer(bytes, { lazyEntries: true }, (error, zip) => {
        if (error) return reject(error)
        const names: Array<{ name: string; size: number }> = []
        zip.on('entry', (entry: Entry) => {
          names.push({ name: entry.fileName, size: entry.uncompressedSize })
          zip.readEntry()
        })
        zip.on('end', () => resolve(names))
        zip.on('error', reject)
        zip.readEntry()
      })
    })
  }

  beforeAll(async () => {
    test = await startTestCore({ http: true })
    baseUrl = test.core.http!.url
    token = test.core.http!.token
    handlers = createContractHandlers({
      services: test.core.services,
      logger: test.core.logger,
      status: () => Promise.reject(new Error('not needed')),
      apiInfo: () => ({ apiUrl: null, token: null, tokenFile: '' }),
      dataDir: test.dataDir,
      database: { mode: 'external', description: 'test', serverVersion: '' },
      api: () => undefined
    })
    const experiment = (await (await api('POST', '/v1/ml/experiments', { name: 'artifact-browser' })).json()) as { experiment_id: number }
    runId = ((await (await api('POST', '/v1/ml/runs', { experiment_id: experiment.experiment_id, run_name: 'r' })).json()) as { run_id: number }).run_id
    // A browser session, as the login URL gives one.
    const login = await fetch(test.core.ui!.loginUrl(), { redirect: 'manual' })
    cookie = login.headers.get('set-cookie')!.split(';')[0]!
  }, 120_000)

  afterAll(async () => {
    await test?.close()
  })

  it('PUT /v1/ml/runs/<id>/artifacts/<path> stores a file of any content type with its size and BLAKE3, and GET downloads it as an attachment', async () => {
    const bytes = new TextEncoder().encode('{"accuracy": 0.93}')
    const put = await api('PUT', `/v1/ml/runs/${runId}/artifacts/eval/metrics.json?kind=other`, bytes, { 'Content-Type': 'application/json' })
    expect(put.status).toBe(201)
    const artifact = (await put.json()) as { path: string; size_bytes: number; blake3: string }
    expect([artifact.path, artifact.size_bytes, artifact.blake3]).toEqual(['eval/metrics.json', bytes.length, expect.stringMatching(/^[0-9a-f]{64}$/)])
    const get = await api('GET', `/v1/ml/runs/${runId}/artifacts/eval/metrics.json`)
    expect(get.status).toBe(200)
    expect(get.headers.get('content-disposition')).toBe('attachment; filename="metrics.json"')
    expect(get.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await get.text()).toBe('{"accuracy": 0.93}')
    // Traversal and a bad kind are refused naming the field, never stored.
    const traversal = await api('PUT', `/v1/ml/runs/${runId}/artifacts/a/%252e%252e/b.txt`, new Uint8Array([1]))
    expect(traversal.status).toBe(400)
    const badKind = await api('PUT', `/v1/ml/runs/${runId}/artifacts/x.bin?kind=banana`, new Uint8Array([1]))
    expect(badKind.status).toBe(400)
    expect(((await badKind.json()) as { error: { field: string } }).error.field).toBe('kind')
    const missing = await api('PUT', `/v1/ml/runs/999999/artifacts/x.bin`, new Uint8Array([1]))
    expect(missing.status).toBe(404)
  })

  it('lists every file below a folder with its registration, reads byte ranges, and summarizes a safetensors header', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `step ${i}`).join('\n')
    await api('PUT', `/v1/ml/runs/${runId}/artifacts/logs/train.log`, new TextEncoder().encode(lines))
    const weights = join(tmpdir(), `browser-${process.pid}.safetensors`)
    writeSafetensors(weights, { 'encoder.weight': { dtype: 'F32', shape: [4, 3], data: new Array(12).fill(0.5) }, bias: { dtype: 'F16', shape: [3], data: [1, 2, 3] } })
    await api('PUT', `/v1/ml/runs/${runId}/artifacts/model/model.safetensors`, new Uint8Array(readFileSync(weights)))
    rmSync(weights)

    const listing = await invoke('artifacts.browse', { runId })
    expect(listing.files.map((file) => file.path)).toEqual(['eval/metrics.json', 'logs/train.log', 'model/model.safetensors'])
    expect(listing.files.every((file) => file.artifactId !== null && /^[0-9a-f]{64}$/.test(file.blake3 ?? ''))).toBe(true)
    expect((await invoke('artifacts.browse', { runId, prefix: 'logs' })).files.map((file) => [file.path, file.sizeBytes])).toEqual([['logs/train.log', lines.length]])

    const first = await invoke('artifacts.read', { runId, path: 'logs/train.log', offset: 0, length: 12 })
    expect([Buffer.from(first.base64, 'base64').toString(), first.sizeBytes]).toEqual(['step 0\nstep ', lines.length])
    const last = await invoke('artifacts.read', { runId, path: 'logs/train.log', offset: lines.length - 9, length: 100 })
    expect(Buffer.from(last.base64, 'base64').toString()).toBe('step 2999')
    expect((await invoke('artifacts.read', { runId, path: 'logs/train.log', offset: lines.length + 5, length: 10 })).base64).toBe('')
    expect(await refusal('artifacts.read', { runId, path: '../etc/passwd', offset: 0, length: 10 })).toMatchObject({ code: 'invalid_argument', field: 'path' })
    expect(await refusal('artifacts.read', { runId, path: 'logs/train.log', offset: 0, length: 10_000_000 })).toMatchObject({ code: 'invalid_argument', field: 'length' })

    const summary = await invoke('artifacts.safetensors', { runId, path: 'model/model.safetensors' })
    expect(summary.tensors).toEqual([
      { name: 'bias', dtype: 'F16', shape: [3], sizeBytes: 6 },
      { name: 'encoder.weight', dtype: 'F32', shape: [4, 3], sizeBytes: 48 }
    ])
    expect(summary.metadata).toEqual({ format: 'pt' })
    expect(await refusal('artifacts.safetensors', { runId, path: 'logs/train.log' })).toMatchObject({ code: 'invalid_argument', field: 'path' })
  })

  it('uploads in chunks through ArtifactService: the file is stored with its BLAKE3 and out-of-order or oversized chunks are refused', async () => {
    const content = Buffer.alloc(1_300_000)
    for (let i = 0; i < content.length; i++) content[i] = (i * 7) % 251
    const { uploadId } = await invoke('artifacts.uploadBegin', { runId, path: 'data/blob.bin', sizeBytes: content.length })
    const chunk = 512 * 1024
    expect(await refusal('artifacts.uploadChunk', { uploadId, offset: 10, base64: content.subarray(0, 10).toString('base64') })).toMatchObject({ code: 'conflict', field: 'offset' })
    let received = 0
    for (let offset = 0; offset < content.length; offset += chunk) {
      received = (await invoke('artifacts.uploadChunk', { uploadId, offset, base64: content.subarray(offset, offset + chunk).toString('base64') })).received
    }
    expect(received).toBe(content.length)
    const artifact = await invoke('artifacts.uploadFinish', { uploadId })
    expect([artifact.path, artifact.sizeBytes]).toEqual(['data/blob.bin', content.length])
    const verification = await invoke('artifacts.verify', { artifactId: artifact.id })
    expect(verification.verified).toBe(true)
    const download = await fetch(`${baseUrl}/ui/artifacts/${runId}/file?path=data/blob.bin`, { headers: { cookie } })
    expect(Buffer.from(await download.arrayBuffer()).equals(content)).toBe(true)

    // A finish before every byte came is refused; a cancelled upload leaves nothing behind.
    const partial = await invoke('artifacts.uploadBegin', { runId, path: 'data/partial.bin', sizeBytes: 10 })
    await invoke('artifacts.uploadChunk', { uploadId: partial.uploadId, offset: 0, base64: Buffer.from('abc').toString('base64') })
    expect(await refusal('artifacts.uploadFinish', { uploadId: partial.uploadId })).toMatchObject({ code: 'conflict' })
    expect(await refusal('artifacts.uploadChunk', { uploadId: partial.uploadId, offset: 3, base64: Buffer.alloc(20).toString('base64') })).toMatchObject({ field: 'data' })
    await invoke('artifacts.uploadCancel', { uploadId: partial.uploadId })
    expect(await refusal('artifacts.uploadFinish', { uploadId: partial.uploadId })).toMatchObject({ code: 'not_found', field: 'uploadId' })
    expect((await invoke('artifacts.browse', { runId, prefix: 'data' })).files.map((file) => file.path)).toEqual(['data/blob.bin'])
    expect(await refusal('artifacts.uploadBegin', { runId: 424242, path: 'x', sizeBytes: 1 })).toMatchObject({ code: 'not_found' })
    expect(await refusal('artifacts.uploadBegin', { runId, path: '/abs', sizeBytes: 1 })).toMatchObject({ field: 'path' })
  })

  it('downloads a folder as a streamed zip (member names relative to it) and a file as an attachment, for the signed-in browser only', async () => {
    const zip = await fetch(`${baseUrl}/ui/artifacts/${runId}/zip?prefix=model`, { headers: { cookie } })
    expect(zip.status).toBe(200)
    expect(zip.headers.get('content-type')).toBe('application/zip')
    expect(zip.headers.get('content-disposition')).toBe('attachment; filename="model.zip"')
    expect(zip.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await zipNames(Buffer.from(await zip.arrayBuffer()))).toEqual([{ name: 'model.safetensors', size: expect.any(Number) }])
    const whole = await fetch(`${baseUrl}/ui/artifacts/${runId}/zip`, { headers: { cookie } })
    expect((await zipNames(Buffer.from(await whole.arrayBuffer()))).map((entry) => entry.name)).toEqual([
      'data/blob.bin',
      'eval/metrics.json',
      'logs/train.log',
      'model/model.safetensors'
    ])
    // The Electron window pulls the same zip over the contract, a bounded answer at a time.
    const { downloadId, name } = await invoke('artifacts.zipBegin', { runId, prefix: '' })
    expect(name).toBe(`run-${runId}-artifacts.zip`)
    const parts: Buffer[] = []
    for (let answer = await invoke('artifacts.zipNext', { downloadId }); ; answer = await invoke('artifacts.zipNext', { downloadId })) {
      expect(answer.offset).toBe(parts.reduce((total, part) => total + part.length, 0))
      parts.push(Buffer.from(answer.base64, 'base64'))
      expect(parts.at(-1)!.length).toBeLessThanOrEqual(512 * 1024)
      if (answer.done) break
    }
    expect(parts.length).toBeGreaterThan(1)
    expect((await zipNames(Buffer.concat(parts))).map((entry) => entry.name)).toEqual(['data/blob.bin', 'eval/metrics.json', 'logs/train.log', 'model/model.safetensors'])
    expect(await refusal('artifacts.zipNext', { downloadId })).toMatchObject({ code: 'not_found', field: 'downloadId' })
    const cancelled = await invoke('artifacts.zipBegin', { runId, prefix: 'model' })
    await invoke('artifacts.zipCancel', { downloadId: cancelled.downloadId })
    expect(await refusal('artifacts.zipNext', { downloadId: cancelled.downloadId })).toMatchObject({ code: 'not_found' })
    expect(await refusal('artifacts.zipBegin', { runId, prefix: 'nothing-here' })).toMatchObject({ code: 'not_found', field: 'prefix' })

    expect((await fetch(`${baseUrl}/ui/artifacts/${runId}/zip`)).status).toBe(401)
    expect((await fetch(`${baseUrl}/ui/artifacts/${runId}/file?path=../../api-token`, { headers: { cookie } })).status).toBe(400)
    expect((await fetch(`${baseUrl}/ui/artifacts/${runId}/zip?prefix=nothing-here`, { headers: { cookie } })).status).toBe(404)
  })

  it('registers a folder of a run as a model version through ModelService, and locates its files for the version page', async () => {
    const version = await invoke('models.registerFromRun', { runId, folder: 'model', modelName: 'browser-model', description: 'from the UI' })
    const run = await test.core.services.runs.get(runId)
    expect([version.modelName, version.version, version.artifactUri, version.sourceRunId, version.artifactBlake3]).toEqual([
      'browser-model',
      '1',
      `runs:/${run.uuid}/model`,
      runId,
      null
    ])
    expect(version.artifactSizeBytes).toBeGreaterThan(0)
    const second = await invoke('models.registerFromRun', { runId, folder: 'eval', modelName: 'browser-model' })
    expect(second.version).toBe('2')
    expect(await invoke('models.versionArtifacts', { versionId: version.id })).toEqual({ runId, prefix: 'model' })
    expect(await refusal('models.registerFromRun', { runId, folder: 'nothing', modelName: 'browser-model' })).toMatchObject({ code: 'invalid_argument', field: 'folder' })
    expect(await refusal('models.registerFromRun', { runId, folder: 'model', modelName: '' })).toMatchObject({ field: 'modelName' })
    // What the mlflow client registers for a run's model: its proxied artifact URI.
    const proxied = (await (
      await api('POST', '/v1/ml/models/versions', { model_name: 'from-mlflow', artifact_uri: `mlflow-artifacts:/${run.experimentId}/${run.uuid}/artifacts/model` })
    ).json()) as { version_id: number }
    expect(await invoke('models.versionArtifacts', { versionId: proxied.version_id })).toEqual({ runId, prefix: 'model' })
    const traversal = (await (await api('POST', '/v1/ml/models/versions', { model_name: 'from-mlflow', artifact_uri: `runs:/${run.uuid}/../../etc` })).json()) as { version_id: number }
    expect(await invoke('models.versionArtifacts', { versionId: traversal.version_id })).toEqual({ runId: null, reason: expect.stringContaining('does not name a folder') })
    const elsewhere = (await (await api('POST', '/v1/ml/models/versions', { model_name: 'remote', artifact_uri: 's3://bucket/m' })).json()) as { version_id: number }
    expect(await invoke('models.versionArtifacts', { versionId: elsewhere.version_id })).toEqual({ runId: null, reason: expect.stringContaining('s3://bucket/m') })
  })
})
