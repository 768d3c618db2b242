import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { startCore, type Core } from '../../src/main/core'
import { describeUrl } from '../../src/main/db/database-info'
import { defineRoute } from '../../src/main/http/route-table'
import { startHttpServer } from '../../src/main/http/server'
import { createSilentLogger } from '../../src/main/logging'
import { isDomainError } from '../../src/shared/errors'
import { rawRequest, startApiTestCore } from '../support/api-env'
import { makeDataDir } from '../support/test-env'
import { tmpfsProblem } from '../support/tmpfs'

/**
 * A full disk is the machine's state, not a bug (issue 11 item 11): /v1 answers 507
 * `{error: {code: "insufficient_storage", message}}`, the MLflow door 507 RESOURCE_EXHAUSTED,
 * the message says the disk is full and names the data folder, nothing acknowledged is lost, a
 * failed write is not acknowledged and leaves no partial file, and writes work again once space
 * is freed. Tested on a real full file system: a small tmpfs.
 */

const folders: Array<{ dir: string; remove: () => void }> = []
afterAll(() => folders.forEach((folder) => folder.remove()))

const mountProblem = tmpfsProblem()
const skipReason = mountProblem ? ` — skipped: ${mountProblem}` : ''

function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true })
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { encoding: 'utf8' })
  expect(result.status, result.stderr).toBe(0)
}

/** Fills the file system holding `dir` to the last byte; returns the filler to delete later. */
function fill(dir: string): string {
  const filler = join(dir, 'filler')
  const fd = openSync(filler, 'w')
  const block = Buffer.alloc(64 * 1024, 1)
  try {
    for (;;) writeSync(fd, block)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
    // The last bytes that fit in a partial block.
    for (let size = 32 * 1024; size >= 1; size = Math.floor(size / 2)) {
      try {
        for (;;) writeSync(fd, block, 0, size)
      } catch {
        /* next smaller size */
      }
    }
  } finally {
    closeSync(fd)
  }
  return filler
}

const DISK_FULL = (dataDir: string): string => `no space left on the device holding the data folder ${dataDir}: free some space and retry`

describe('artifact uploads on a full disk', () => {
  it.skipIf(mountProblem !== null)(`answer 507 naming the data folder, keep what was acknowledged, leave no partial file, and work again once space is freed${skipReason}`, async () => {
    const api = await startApiTestCore()
    const artifacts = join(api.dataDir, 'artifacts')
    try {
      mountTmpfs(artifacts, '2m')
      const run = await api.client.startRun({ experiment_id: (await api.client.createExperiment({ name: 'disk-full' })).experiment_id })
      const url = (path: string): string => `${api.url}/api/2.0/mlflow-artifacts/artifacts/${run.experiment_id}/${run.run_uuid}/artifacts/${path}`
      const put = (path: string, body: Buffer) => rawRequest(url(path), { method: 'PUT', token: api.token, body, headers: { 'content-type': 'application/octet-stream' } })

      const kept = Buffer.from('acknowledged before the disk filled')
      expect((await put('kept.txt', kept)).status).toBe(200)

      const tooBig = await put('model.bin', Buffer.alloc(3 * 1024 * 1024, 7))
      expect(tooBig).toEqual({ status: 507, body: { error_code: 'RESOURCE_EXHAUSTED', message: DISK_FULL(api.dataDir) } })
      // Not acknowledged, so not there; and no partial file left behind.
      expect((await rawRequest(url('model.bin'), { token: api.token })).status).toBe(404)
      expect(readdirSync(join(artifacts, '.incoming'))).toEqual([])
      const read = await fetch(url('kept.txt'), { headers: { authorization: `Bearer ${api.token}` } })
      expect(Buffer.from(await read.arrayBuffer())).toEqual(kept)

      // A logged model's files (MLflow 3) go through the same store.
      const created = await rawRequest(`${api.url}/api/2.0/mlflow/logged-models`, { method: 'POST', token: api.token, body: JSON.stringify({ experiment_id: String(run.experiment_id) }) })
      const modelId = created.body.model.info.model_id as string
      const modelFile = `${api.url}/api/2.0/mlflow-artifacts/artifacts/${run.experiment_id}/models/${modelId}/artifacts/model.bin`
      const modelUpload = await rawRequest(modelFile, { method: 'PUT', token: api.token, body: Buffer.alloc(3 * 1024 * 1024, 5), headers: { 'content-type': 'application/octet-stream' } })
      expect(modelUpload).toEqual({ status: 507, body: { error_code: 'RESOURCE_EXHAUSTED', message: DISK_FULL(api.dataDir) } })
      expect((await rawRequest(modelFile, { token: api.token })).status).toBe(404)
      expect(readdirSync(join(artifacts, '.incoming'))).toEqual([])

      // The same refusal through the service the UI and /v1 use.
      const direct = await api.core.services.artifacts.putFile(run.run_id, 'direct.bin', Buffer.alloc(3 * 1024 * 1024)).catch((error: unknown) => error)
      expect(isDomainError(direct) && [direct.code, direct.message]).toEqual(['insufficient_storage', DISK_FULL(api.dataDir)])
      expect(readdirSync(join(artifacts, '.incoming'))).toEqual([])

      // The failed uploads gave their space back: a file that fits is stored.
      const fits = Buffer.alloc(1536 * 1024, 3)
      expect((await put('smaller.bin', fits)).status).toBe(200)
      const listed = await rawRequest(`${api.url}/api/2.0/mlflow-artifacts/artifacts?path=${run.experiment_id}/${run.run_uuid}/artifacts`, { token: api.token })
      expect(listed.body.files.map((file: { path: string }) => file.path)).toEqual(['kept.txt', 'smaller.bin'])
    } finally {
      spawnSync('umount', [artifacts])
      await api.close()
    }
  })
})

describe('an artifact upload whose record the database refuses (its disk full)', () => {
  it('answers 507 naming the database, and the file already at the path stays as it was', async () => {
    const api = await startApiTestCore()
    const sql = new pg.Client({ connectionString: api.databaseUrl })
    await sql.connect()
    try {
      const run = await api.client.startRun({ experiment_id: (await api.client.createExperiment({ name: 'db-full' })).experiment_id })
      const url = (path: string): string => `${api.url}/api/2.0/mlflow-artifacts/artifacts/${run.experiment_id}/${run.run_uuid}/artifacts/${path}`
      const put = (path: string, body: string) => rawRequest(url(path), { method: 'PUT', token: api.token, body, headers: { 'content-type': 'application/octet-stream' } })
      const read = async (path: string): Promise<string> => (await fetch(url(path), { headers: { authorization: `Bearer ${api.token}` } })).text()
      expect((await put('model.bin', 'version 1, acknowledged')).status).toBe(200)

      // What PostgreSQL raises when it cannot extend a table on a full disk.
      await sql.query(`CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'could not extend file "base/16384/16412": No space left on device' USING ERRCODE = '53100'; END $$`)
      await sql.query('CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON ml_artifact FOR EACH ROW EXECUTE FUNCTION disk_full()')
      const full = { error_code: 'RESOURCE_EXHAUSTED', message: `no space left on the device holding the database at ${describeUrl(api.databaseUrl)}: free some space and retry` }
      expect(await put('model.bin', 'version 2, refused')).toEqual({ status: 507, body: full })
      expect(await put('new.bin', 'never acknowledged')).toEqual({ status: 507, body: full })
      expect(await read('model.bin')).toBe('version 1, acknowledged')
      expect((await rawRequest(url('new.bin'), { token: api.token })).status).toBe(404)
      expect(readdirSync(join(api.dataDir, 'artifacts', '.incoming'))).toEqual([])

      await sql.query('DROP TRIGGER disk_full ON ml_artifact')
      expect((await put('model.bin', 'version 2, once space is freed')).status).toBe(200)
      expect(await read('model.bin')).toBe('version 2, once space is freed')
    } finally {
      await sql.end()
      await api.close()
    }
  })
})

describe('metrics on a full database disk (embedded PostgreSQL in the data folder)', () => {
  it.skipIf(mountProblem !== null)(`answer 507 on /v1 and the MLflow door naming the data folder, and nothing acknowledged is lost${skipReason}`, async () => {
    const folder = makeDataDir('hypercube-disk-full-')
    folders.push(folder)
    const dataDir = join(folder.dir, 'data')
    mountTmpfs(dataDir, '256m')
    let core: Core | undefined
    let filler: string | undefined
    try {
      core = await startCore({ dataDir, logger: createSilentLogger(), plugins: false, http: { port: 0 } })
      const { url, token } = core.http!
      const post = (path: string, body: unknown) => rawRequest(`${url}${path}`, { method: 'POST', token, body: JSON.stringify(body) })
      const experiment = await post('/v1/ml/experiments', { name: 'full' })
      const run = await post('/v1/ml/runs', { experiment_id: experiment.body.experiment_id, run_name: 'r' })
      const runId = run.body.run_id as number
      const runUuid = run.body.run_uuid as string
      let step = 0
      const batch = (size: number) => ({ run_id: runId, points: Array.from({ length: size }, () => ({ key: 'loss', value: 0.5, step: step++ })) })

      let acknowledged = 0
      const first = await post('/v1/ml/metrics', batch(1000))
      expect(first.status).toBe(200)
      acknowledged += first.body.inserted as number

      filler = fill(dataDir)
      // A table with free room in its last page may take a little more: write until refused.
      let refused: { status: number; body: unknown } | undefined
      for (let attempt = 0; attempt < 50 && !refused; attempt++) {
        const answer = await post('/v1/ml/metrics', batch(5000))
        if (answer.status === 200) acknowledged += answer.body.inserted as number
        else refused = answer
      }
      expect(refused).toEqual({ status: 507, body: { error: { code: 'insufficient_storage', message: DISK_FULL(dataDir) } } })
      const mlflow = await post('/api/2.0/mlflow/runs/log-batch', { run_id: runUuid, metrics: Array.from({ length: 1000 }, (_, i) => ({ key: 'mlflow', value: i, timestamp: 1, step: i })) })
      expect(mlflow).toEqual({ status: 507, body: { error_code: 'RESOURCE_EXHAUSTED', message: DISK_FULL(dataDir) } })

      rmSync(filler)
      filler = undefined
      const after = await post('/v1/ml/metrics', batch(1000))
      expect(after.status).toBe(200)
      acknowledged += after.body.inserted as number
      const history = await rawRequest(`${url}/v1/ml/runs/${runId}/metrics/history?key=loss&max_points=100000`, { token })
      expect(history.body.total_points).toBe(acknowledged)
      const steps = (history.body.points as Array<{ step: number }>).map((point) => point.step)
      expect(new Set(steps).size).toBe(steps.length)
    } finally {
      if (filler && existsSync(filler)) rmSync(filler)
      await core?.close()
      spawnSync('umount', [dataDir])
    }
  })
})

describe('the error handler on a full disk', () => {
  it('answers in the one error shape even when the log cannot be written', async () => {
    const folder = makeDataDir('hypercube-full-log-')
    folders.push(folder)
    // A log on a full device: pino's sync destination throws ENOSPC from log.error, as the log
    // file once did when the data folder's disk was full.
    const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/full', sync: true }))
    const server = await startHttpServer({
      dataDir: folder.dir,
      logger,
      port: 0,
      version: 'test',
      routes: [
        defineRoute({ method: 'POST', path: '/v1/bug', summary: 'a bug', tag: 'test', handler: async () => Promise.reject(new Error('a bug')) }),
        defineRoute({
          method: 'POST',
          path: '/v1/full',
          summary: 'a full disk',
          tag: 'test',
          handler: async () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 }))
        })
      ]
    })
    try {
      const bug = await rawRequest(`${server.url}/v1/bug`, { method: 'POST', token: server.token, body: '{}' })
      expect(bug).toEqual({ status: 500, body: { error: { code: 'internal', message: 'internal error; the server log has the details' } } })
      const full = await rawRequest(`${server.url}/v1/full`, { method: 'POST', token: server.token, body: '{}' })
      expect(full).toEqual({ status: 507, body: { error: { code: 'insufficient_storage', message: DISK_FULL(folder.dir) } } })
    } finally {
      await server.close()
    }
  })
})
