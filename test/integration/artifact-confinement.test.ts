import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ArtifactConfinement } from '../../src/main/artifacts/artifact-confinement'
import { ArtifactStore } from '../../src/main/artifacts/artifact-store'
import { isDomainError } from '../../src/shared/errors'
import { rawRequest, startApiTestCore } from '../support/api-env'

/** Every file below `dir`, relative, sorted: what a refused request must leave unchanged. */
function filesBelow(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{ name: string; parentPath: string; isFile(): boolean }>)
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort()
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (isDomainError(error)) return `${error.code}${error.field ? `:${error.field}` : ''}`
    throw error
  }
  return 'allowed'
}

describe('the confinement policy (artifact-confinement.ts)', () => {
  let base: string
  let root: string
  let outside: string

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'hypercube-confine-'))
    // The store's root is itself a link (artifacts on another disk): allowed, confined to its real path.
    mkdirSync(join(base, 'real-root', '1', 'run', 'sub'), { recursive: true })
    symlinkSync(join(base, 'real-root'), join(base, 'artifacts'))
    root = join(base, 'artifacts')
    outside = join(base, 'outside')
    mkdirSync(join(outside, 'run', 'sub'), { recursive: true })
    writeFileSync(join(outside, 'secret.txt'), 'secret')
    writeFileSync(join(outside, 'run', 'secret.txt'), 'secret')
    writeFileSync(join(base, 'real-root', '1', 'run', 'sub', 'file.txt'), 'inside')
    writeFileSync(join(base, 'real-root', '1', 'run', 'plain'), 'a file')
    symlinkSync(outside, join(base, 'real-root', '2')) // experiment folder
    mkdirSync(join(base, 'real-root', '3'))
    symlinkSync(join(outside, 'run'), join(base, 'real-root', '3', 'run')) // run folder
    symlinkSync(outside, join(base, 'real-root', '1', 'run', 'out')) // sub-folder
    symlinkSync(join(outside, 'secret.txt'), join(base, 'real-root', '1', 'run', 'secret-link')) // the file
    symlinkSync(join(base, 'real-root', '1', 'run', 'sub'), join(base, 'real-root', '1', 'run', 'back-inside')) // even back inside
  })
  afterAll(() => rmSync(base, { recursive: true, force: true }))

  const cases: Array<[string, string, { createFolders?: boolean }, string]> = [
    ['a file below real folders', '1/run/sub/file.txt', {}, 'allowed'],
    ['a folder', '1/run/sub', {}, 'allowed'],
    ['nothing yet, for a write', '1/run/sub/new.txt', { createFolders: true }, 'allowed'],
    ['new folders, for a write', '1/run/a/b/new.txt', { createFolders: true }, 'allowed'],
    ['a missing file, for a read', '1/run/missing.txt', {}, 'allowed'],
    ['a missing folder, for a read', '1/run/nope/file.txt', {}, 'not_found:path'],
    ['a symlinked experiment folder', '2/run/secret.txt', {}, 'invalid_argument:path'],
    ['a symlinked experiment folder, for a write', '2/run/new.txt', { createFolders: true }, 'invalid_argument:path'],
    ['a symlinked run folder', '3/run/secret.txt', {}, 'invalid_argument:path'],
    ['a symlinked run folder, for a write', '3/run/new.txt', { createFolders: true }, 'invalid_argument:path'],
    ['a symlinked sub-folder', '1/run/out/secret.txt', {}, 'invalid_argument:path'],
    ['a symlinked sub-folder, for a write', '1/run/out/new.txt', { createFolders: true }, 'invalid_argument:path'],
    ['a symlink as the file', '1/run/secret-link', {}, 'invalid_argument:path'],
    ['a symlink leading back inside', '1/run/back-inside/file.txt', {}, 'invalid_argument:path'],
    ['a file where a folder is needed, for a read', '1/run/plain/x', {}, 'not_found:path'],
    ['a file where a folder is needed, for a write', '1/run/plain/x', { createFolders: true }, 'invalid_argument:path']
  ]
  it.each(cases)('%s (%s)', async (_what, path, options, expected) => {
    const confinement = new ArtifactConfinement(root)
    expect(await refusal(confinement.resolve(path.split('/'), options))).toBe(expected)
  })

  it('resolves to the real path below the root, and made nothing outside', async () => {
    const resolved = await new ArtifactConfinement(root).resolve(['1', 'run', 'sub', 'file.txt'])
    expect(resolved.path).toBe(join(base, 'real-root', '1', 'run', 'sub', 'file.txt'))
    expect(filesBelow(outside)).toEqual(['run/secret.txt', 'secret.txt'])
    expect(readdirSync(join(outside, 'run'))).toEqual(['secret.txt', 'sub'])
  })

  it('the store refuses reads, lists, writes, hashes and deletes through each placement', async () => {
    const store = new ArtifactStore(root)
    for (const [experiment, run, path] of [[2, 'run', 'secret.txt'], [3, 'run', 'secret.txt'], [1, 'run', 'out/secret.txt'], [1, 'run', 'secret-link']] as const) {
      expect(await refusal(store.open(experiment, run, path))).toBe('invalid_argument:path')
      expect(await refusal(store.hash(experiment, run, path))).toBe('invalid_argument:path')
      expect(await refusal(store.delete(experiment, run, path))).toBe('invalid_argument:path')
      expect(await refusal(store.write(experiment, run, path, Buffer.from('planted')))).toBe('invalid_argument:path')
      const folder = path.includes('/') ? path.split('/')[0]! : ''
      if (path !== 'secret-link') expect(await refusal(store.list(experiment, run, folder, true))).toBe('invalid_argument:path')
    }
    expect(filesBelow(outside)).toEqual(['run/secret.txt', 'secret.txt'])
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('secret')
  })
})

describe('every artifact route of both APIs, with a symlink at each placement', () => {
  let api: Awaited<ReturnType<typeof startApiTestCore>>
  let outside: string

  beforeAll(async () => {
    api = await startApiTestCore()
    outside = mkdtempSync(join(tmpdir(), 'hypercube-outside-'))
  })
  afterAll(async () => {
    await api?.close()
    rmSync(outside, { recursive: true, force: true })
  })

  const placements = ['experiment', 'run', 'sub-folder'] as const

  it.each(placements)('a symlink at the %s folder: every route refuses with one error shape, nothing written outside', async (placement) => {
    const experiment = await api.client.createExperiment({ name: `confinement ${placement}` })
    const run = await api.client.startRun({ experiment_id: experiment.experiment_id })
    const runDir = join(api.dataDir, 'artifacts', String(run.experiment_id), run.run_uuid)
    const prefix = placement === 'sub-folder' ? 'sub' : ''
    const secretPath = prefix === '' ? 'secret.txt' : `${prefix}/secret.txt`

    // A registered artifact first (for verify), then its folder swapped for a link to a twin outside.
    await api.core.services.artifacts.putFile(run.run_id, secretPath, Buffer.from('registered'))
    const registered = await api.client.registerArtifact(run.run_id, { path: secretPath })
    const target = join(outside, placement)
    const linkAt = placement === 'experiment' ? join(api.dataDir, 'artifacts', String(run.experiment_id)) : placement === 'run' ? runDir : join(runDir, 'sub')
    const twin = placement === 'experiment' ? join(target, run.run_uuid) : target
    mkdirSync(twin, { recursive: true })
    writeFileSync(join(twin, 'secret.txt'), 'secret outside')
    renameSync(linkAt, `${linkAt}.moved`)
    symlinkSync(target, linkAt)
    const before = filesBelow(outside)

    const mlflowFile = (path: string) => `${api.url}/api/2.0/mlflow-artifacts/artifacts/${run.experiment_id}/${run.run_uuid}/artifacts/${path}`
    const listPath = `${run.experiment_id}/${run.run_uuid}/artifacts${prefix === '' ? '' : `/${prefix}`}`
    const mlflow = {
      download: await rawRequest(mlflowFile(secretPath), { token: api.token }),
      upload: await rawRequest(mlflowFile(prefix === '' ? 'planted.txt' : `${prefix}/planted.txt`), {
        method: 'PUT',
        token: api.token,
        body: 'planted',
        headers: { 'content-type': 'application/octet-stream' }
      }),
      delete: await rawRequest(mlflowFile(secretPath), { method: 'DELETE', token: api.token }),
      list: await rawRequest(`${api.url}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(listPath)}`, { token: api.token }),
      trackingList: await rawRequest(`${api.url}/api/2.0/mlflow/artifacts/list?run_id=${run.run_uuid}&path=${encodeURIComponent(prefix)}`, { token: api.token }),
      // MLflow's web UI: an upload with the path in the query, a download from the root.
      uiUpload: await rawRequest(
        `${api.url}/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${run.run_uuid}&path=${encodeURIComponent(prefix === '' ? 'planted.txt' : `${prefix}/planted.txt`)}`,
        { method: 'POST', token: api.token, body: 'planted', headers: { 'content-type': 'application/octet-stream' } }
      ),
      uiDownload: await rawRequest(`${api.url}/get-artifact?run_uuid=${run.run_uuid}&path=${encodeURIComponent(secretPath)}`, { token: api.token })
    }
    for (const [route, answer] of Object.entries(mlflow)) {
      expect([route, answer.status, answer.body?.error_code]).toEqual([route, 400, 'INVALID_PARAMETER_VALUE'])
      expect(answer.body.message).toMatch(/symlink/)
    }

    // /v1: the routes that read the file (register hashes it, verify re-hashes it). Its list
    // and get routes read the database only and never touch the folder.
    const v1 = {
      register: await rawRequest(`${api.url}/v1/ml/runs/${run.run_id}/artifacts`, { token: api.token, body: JSON.stringify({ path: secretPath }) }),
      verify: await rawRequest(`${api.url}/v1/ml/artifacts/${registered.artifact_id}/verify`, { method: 'POST', token: api.token }),
      // The file routes (issue 14): upload and download by path.
      upload: await rawRequest(`${api.url}/v1/ml/runs/${run.run_id}/artifacts/${prefix === '' ? 'planted.txt' : `${prefix}/planted.txt`}`, {
        method: 'PUT',
        token: api.token,
        body: 'planted',
        headers: { 'content-type': 'application/octet-stream' }
      }),
      download: await rawRequest(`${api.url}/v1/ml/runs/${run.run_id}/artifacts/${secretPath}`, { token: api.token })
    }
    for (const [route, answer] of Object.entries(v1)) {
      expect([route, answer.status, answer.body?.error?.code, answer.body?.error?.field]).toEqual([route, 400, 'invalid_argument', 'path'])
    }

    expect(filesBelow(outside)).toEqual(before)
    expect(readFileSync(join(twin, 'secret.txt'), 'utf8')).toBe('secret outside')
  })
})
