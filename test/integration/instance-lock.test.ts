import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { instanceLockFile } from '../../src/main/instance-lock'
import { startCore, type Core } from '../../src/main/core'
import { createSilentLogger } from '../../src/main/logging'
import { DomainError } from '../../src/shared/errors'
import { createTestDatabase, makeDataDir } from '../support/test-env'

/** One app per data folder: a lock file with the owner's pid, taken over only when stale. */
describe('the data folder lock', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterAll(async () => {
    while (cleanups.length > 0) await cleanups.pop()!()
  })

  async function start(dataDir: string, databaseUrl: string): Promise<Core> {
    return startCore({ dataDir, databaseUrl, logger: createSilentLogger(), plugins: false, healthCheckIntervalMs: false, http: { port: 0 } })
  }

  it('refuses a second core on a folder in use by a live process, naming it; takes over a stale lock', async () => {
    const data = makeDataDir()
    const database = await createTestDatabase()
    cleanups.push(data.remove, database.drop)

    // A lock left by a process that is gone (kill -9): taken over.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    writeFileSync(instanceLockFile(data.dir), JSON.stringify({ pid: Number(gone.stdout), startedAt: 'yesterday', apiUrl: null }))
    const core = await start(data.dir, database.url)
    cleanups.push(() => core.close())
    const record = JSON.parse(readFileSync(instanceLockFile(data.dir), 'utf8')) as { pid: number; apiUrl: string }
    expect(record).toMatchObject({ pid: process.pid, apiUrl: core.api!.url })

    // A live holder (another process): refused with its pid and API URL, nothing touched.
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' })
    const holderPid = holder.pid!
    cleanups.push(() => void holder.kill('SIGKILL'))
    const other = makeDataDir()
    cleanups.push(other.remove)
    writeFileSync(instanceLockFile(other.dir), JSON.stringify({ pid: holderPid, startedAt: '2026-12-02T00:00:00Z', apiUrl: 'http://127.0.0.1:9' }))
    const refused = await start(other.dir, database.url).then(
      () => undefined,
      (error: unknown) => error
    )
    expect(refused).toBeInstanceOf(DomainError)
    expect((refused as DomainError).code).toBe('conflict')
    expect((refused as DomainError).message).toBe(
      `another Hypercube (pid ${holderPid}, API at http://127.0.0.1:9, started 2026-12-02T00:00:00Z) is using the data folder ${other.dir}; close it first, or use another --data-dir`
    )
    expect(JSON.parse(readFileSync(instanceLockFile(other.dir), 'utf8'))).toMatchObject({ pid: holderPid })

    // Closing releases the lock; the folder opens again.
    await core.close()
    expect(existsSync(instanceLockFile(data.dir))).toBe(false)
    const again = await start(data.dir, database.url)
    cleanups.push(() => again.close())
    expect((await again.contract.dispatch('system.status', {})).ok).toBe(true)
  })
})
