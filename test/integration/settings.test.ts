import { afterAll, describe, expect, it } from 'vitest'
import { startCore } from '../../src/main/core'
import { findFreePort } from '../../src/main/db/embedded-postgres'
import { createSilentLogger } from '../../src/main/logging'
import { readSettings, writeSettings } from '../../src/main/settings'
import { createTestDatabase, makeDataDir } from '../support/test-env'

describe('settings.json', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  it('keeps each setting when another changes, and ignores values it cannot use', () => {
    const data = makeDataDir()
    cleanups.push(data.remove)
    expect(readSettings(data.dir)).toEqual({ databaseUrl: null, apiPort: null, reviewerName: null })
    writeSettings(data.dir, { databaseUrl: 'postgresql://h/db' })
    writeSettings(data.dir, { apiPort: 18_000 })
    writeSettings(data.dir, { reviewerName: 'Ana Lima' })
    expect(readSettings(data.dir)).toEqual({ databaseUrl: 'postgresql://h/db', apiPort: 18_000, reviewerName: 'Ana Lima' })
    // A blank reviewer name is no name: the OS user's full name is used instead.
    writeSettings(data.dir, { reviewerName: '   ' })
    expect(readSettings(data.dir).reviewerName).toBeNull()
  })

  it('gives the core its database and API port when the command line does not', async () => {
    const data = makeDataDir()
    cleanups.push(data.remove)
    const database = await createTestDatabase()
    cleanups.push(database.drop)
    const port = await findFreePort()
    writeSettings(data.dir, { databaseUrl: database.url, apiPort: port })
    const core = await startCore({ dataDir: data.dir, logger: createSilentLogger(), plugins: false, http: {} })
    cleanups.push(() => core.close())
    expect(core.database.mode).toBe('external')
    expect(core.http!.port).toBe(port)
  })
})
