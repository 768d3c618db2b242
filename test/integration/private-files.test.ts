import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { storageFailure } from '../../src/main/artifacts/artifact-store'
import { startCore } from '../../src/main/core'
import { makeDataFolderPrivate } from '../../src/main/data-folder'
import { logsDir } from '../../src/main/logging'
import { isDomainError } from '../../src/shared/errors'
import { rawRequest, startApiTestCore } from '../support/api-env'
import { createTestDatabase, makeDataDir } from '../support/test-env'

const modeOf = (path: string): string => (lstatSync(path).mode & 0o777).toString(8)

/** A logger whose lines the test reads. */
function capturingLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>)
      done()
    }
  })
  return { logger: pino({ level: 'info' }, stream), lines: () => lines }
}

const folders: Array<{ dir: string; remove: () => void }> = []
function dataFolder(): string {
  const made = makeDataDir('hypercube-private-')
  folders.push(made)
  return made.dir
}
afterAll(() => folders.forEach((folder) => folder.remove()))

/** A data folder as an older Hypercube left it: readable by everyone, an upload cut by kill -9. */
function seedLooseFolder(dir: string): { runDir: string; outsideFile: string } {
  chmodSync(dir, 0o755)
  const logs = logsDir(dir)
  mkdirSync(logs, { mode: 0o755 })
  chmodSync(logs, 0o755)
  for (const name of ['hypercube.log.1', 'postgresql.log']) writeFileSync(join(logs, name), 'old\n', { mode: 0o644 })
  writeFileSync(join(dir, 'api-token'), 'token\n', { mode: 0o644 })
  const runDir = join(dir, 'artifacts', '1', 'a'.repeat(32))
  mkdirSync(join(runDir, 'model'), { recursive: true, mode: 0o755 })
  for (const folder of [join(dir, 'artifacts'), join(dir, 'artifacts', '1'), runDir, join(runDir, 'model')]) chmodSync(folder, 0o755)
  writeFileSync(join(runDir, 'model', 'weights.bin'), 'w', { mode: 0o644 })
  mkdirSync(join(dir, 'artifacts', '.incoming'))
  writeFileSync(join(dir, 'artifacts', '.incoming', '0123abcd.part'), 'half an upload')
  // A link in the tree is never chmod-ed: that would change the file it points to.
  const outsideFile = join(dataFolder(), 'not-ours.txt')
  writeFileSync(outsideFile, 'x', { mode: 0o644 })
  chmodSync(outsideFile, 0o644)
  symlinkSync(outsideFile, join(runDir, 'link'))
  return { runDir, outsideFile }
}

describe('private files (POSIX modes)', () => {
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    while (closers.length > 0) await closers.pop()!()
  })

  async function start(dir: string) {
    const database = await createTestDatabase()
    const core = await startCore({ dataDir: dir, databaseUrl: database.url, plugins: false, http: false })
    closers.push(async () => {
      await core.close()
      await database.drop()
    })
    return core
  }

  it('creates the data folder 0700, logs 0700/0600, artifact folders 0700 and files 0600', async () => {
    const dir = dataFolder() // made 0755, as a default umask would
    const core = await start(dir)
    const experiment = await core.services.experiments.create({ name: 'private' })
    const run = await core.services.runs.start({ experimentId: experiment.id })
    await core.services.artifacts.putFile(run.id, 'model/weights.bin', Buffer.from('weights'))
    const runDir = join(dir, 'artifacts', String(experiment.id), run.uuid)
    expect({
      dataDir: modeOf(dir),
      logs: modeOf(logsDir(dir)),
      log: modeOf(join(logsDir(dir), 'hypercube.log')),
      artifacts: modeOf(join(dir, 'artifacts')),
      experiment: modeOf(join(dir, 'artifacts', String(experiment.id))),
      run: modeOf(runDir),
      folder: modeOf(join(runDir, 'model')),
      file: modeOf(join(runDir, 'model', 'weights.bin')),
      incoming: modeOf(join(dir, 'artifacts', '.incoming'))
    }).toEqual({ dataDir: '700', logs: '700', log: '600', artifacts: '700', experiment: '700', run: '700', folder: '700', file: '600', incoming: '700' })
  })

  it('repairs an older folder at start, with a log line, and removes unfinished uploads', async () => {
    const dir = dataFolder()
    const { runDir, outsideFile } = seedLooseFolder(dir)
    await start(dir)
    // What start does at once, before anything is served.
    expect([modeOf(dir), modeOf(logsDir(dir)), modeOf(join(logsDir(dir), 'postgresql.log')), modeOf(join(dir, 'api-token'))]).toEqual(['700', '700', '600', '600'])
    expect(existsSync(join(dir, 'artifacts', '.incoming', '0123abcd.part'))).toBe(false)
    await expect.poll(() => readFileSync(join(logsDir(dir), 'hypercube.log'), 'utf8')).toMatch(/made private .*1 unfinished uploads removed/)
    expect(modeOf(join(dir, 'artifacts'))).toBe('700')
    // The artifact tree follows in the background.
    await expect.poll(() => modeOf(join(runDir, 'model', 'weights.bin')), { timeout: 5000 }).toBe('600')
    expect([modeOf(runDir), modeOf(join(runDir, 'model'))]).toEqual(['700', '700'])
    expect(modeOf(outsideFile)).toBe('644')
  })

  // Only a root run hands the cluster to another OS user (PostgreSQL refuses to run as root).
  const notRoot = process.getuid?.() !== 0
  it.skipIf(notRoot)(`as root with the embedded PostgreSQL (run as another OS user), the data folder is 0711 and what is below stays private${notRoot ? ' — skipped: not running as root, so PostgreSQL runs as this user and the folder stays 0700' : ''}`, async () => {
    const dir = dataFolder()
    const core = await startCore({ dataDir: dir, plugins: false, http: false })
    try {
      expect(core.database.mode).toBe('embedded')
      expect([modeOf(dir), modeOf(logsDir(dir)), modeOf(join(logsDir(dir), 'hypercube.log'))]).toEqual(['711', '700', '600'])
    } finally {
      await core.close()
    }
  })

  it('repairs the artifact tree in the background, bounded, and says when it stopped at the limit', async () => {
    const dir = dataFolder()
    const { runDir } = seedLooseFolder(dir)
    const limited = capturingLogger()
    await makeDataFolderPrivate(dir, limited.logger, { artifactLimit: 2 }).done
    expect(limited.lines().map((line) => line.msg)).toEqual([expect.stringMatching(/made private/), expect.stringMatching(/stopped at the limit/)])
    expect(modeOf(join(runDir, 'model', 'weights.bin'))).toBe('644')

    const full = capturingLogger()
    await makeDataFolderPrivate(dir, full.logger).done
    expect(modeOf(join(runDir, 'model', 'weights.bin'))).toBe('600')
    expect(full.lines().at(-1)).toMatchObject({ component: 'data-folder', truncated: false })

    const again = capturingLogger()
    await makeDataFolderPrivate(dir, again.logger).done
    expect(again.lines()).toEqual([]) // nothing left to repair: no line
  })
})

/** A read-only mount needs CAP_SYS_ADMIN; where there is none, the mapping is still tested below. */
/** Why a read-only bind mount cannot be made here, or null when it can (Linux, as root, mount allowed). */
function readOnlyMountProblem(): string | null {
  if (process.platform !== 'linux') return `bind mounts are Linux-only (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'a read-only bind mount needs root (as root, chmod cannot make a folder unwritable)'
  const probe = join(dataFolder(), 'probe')
  mkdirSync(probe)
  const result = spawnSync('mount', ['--bind', '-o', 'ro', probe, probe], { encoding: 'utf8' })
  if (result.status !== 0) return `mount --bind -o ro is refused here: ${(result.stderr || result.error?.message || '').trim()}`
  spawnSync('umount', [probe])
  return null
}
const mountProblem = readOnlyMountProblem()

describe('a data folder that cannot be written', () => {
  it('maps EROFS, EACCES and EPERM on artifact writes to an unavailable error naming the data folder', () => {
    for (const [code, wording] of [['EROFS', 'read-only file system'], ['EACCES', 'permission denied'], ['EPERM', 'permission denied']] as const) {
      const mapped = storageFailure(Object.assign(new Error(code), { code }), '/data/hypercube')
      expect(isDomainError(mapped) && [mapped.code, mapped.message]).toEqual(['unavailable', expect.stringContaining(wording)])
      expect((mapped as Error).message).toContain('/data/hypercube')
    }
    const other = Object.assign(new Error('boom'), { code: 'EIO' })
    expect(storageFailure(other, '/data/hypercube')).toBe(other)
  })

  it.skipIf(mountProblem !== null)(`a read-only artifacts folder: the upload says "read-only file system" and names the data folder (both APIs)${mountProblem ? ` — skipped: ${mountProblem}` : ''}`, async () => {
    const api = await startApiTestCore()
    const artifacts = join(api.dataDir, 'artifacts')
    try {
      const experiment = await api.client.createExperiment({ name: 'read-only' })
      const run = await api.client.startRun({ experiment_id: experiment.experiment_id })
      mkdirSync(artifacts, { recursive: true })
      expect(spawnSync('mount', ['--bind', '-o', 'ro', artifacts, artifacts]).status).toBe(0)
      const upload = await rawRequest(`${api.url}/api/2.0/mlflow-artifacts/artifacts/${run.experiment_id}/${run.run_uuid}/artifacts/model.bin`, {
        method: 'PUT',
        token: api.token,
        body: 'weights',
        headers: { 'content-type': 'application/octet-stream' }
      })
      expect([upload.status, upload.body.error_code]).toEqual([503, 'TEMPORARILY_UNAVAILABLE'])
      expect(upload.body.message).toContain(`the data folder ${api.dataDir} is on a read-only file system`)
      const direct = await api.core.services.artifacts.putFile(run.run_id, 'model.bin', Buffer.from('w')).catch((error: unknown) => error)
      expect(isDomainError(direct) && [direct.code, direct.message]).toEqual(['unavailable', expect.stringContaining('read-only file system')])
      expect(statSync(artifacts).isDirectory()).toBe(true)
    } finally {
      spawnSync('umount', [artifacts])
      await api.close()
    }
  })
})
