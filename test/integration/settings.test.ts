import { writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { startCore } from '../../src/main/core'
import { findFreePort } from '../../src/main/db/embedded-postgres'
import { createSilentLogger } from '../../src/main/logging'
import { readSettings, settingsFile, writeSettings } from '../../src/main/settings'
import { createTestDatabase, makeDataDir } from '../support/test-env'

describe('settings.json', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  it('keeps each setting when another changes, and ignores values it cannot use', () => {
    const data = makeDataDir()
    cleanups.push(data.remove)
    expect(readSettings(data.dir)).toEqual({ databaseUrl: null, apiPort: null, reviewerName: null, window: null, openAtLogin: false })
    writeSettings(data.dir, { databaseUrl: 'postgresql://h/db' })
    writeSettings(data.dir, { apiPort: 18_000 })
    writeSettings(data.dir, { reviewerName: 'Ana Lima' })
    writeSettings(data.dir, { window: { bounds: { x: 10, y: 20, width: 1000, height: 700 }, maximized: true } })
    writeSettings(data.dir, { openAtLogin: true })
    expect(readSettings(data.dir)).toEqual({
      databaseUrl: 'postgresql://h/db',
      apiPort: 18_000,
      reviewerName: 'Ana Lima',
      window: { bounds: { x: 10, y: 20, width: 1000, height: 700 }, maximized: true },
      openAtLogin: true
    })
    // A blank reviewer name is no name: the OS user's full name is used instead.
    writeSettings(data.dir, { reviewerName: '   ' })
    expect(readSettings(data.dir).reviewerName).toBeNull()
  })

  it('drops a saved window state it cannot use and reads "start at login" as off unless it is exactly true', () => {
    const data = makeDataDir()
    cleanups.push(data.remove)
    writeFileSync(settingsFile(data.dir), JSON.stringify({ window: { bounds: { x: 'left', y: 0, width: 800, height: 600 } }, openAtLogin: 'yes' }))
    expect(readSettings(data.dir)).toMatchObject({ window: null, openAtLogin: false })
    writeFileSync(settingsFile(data.dir), JSON.stringify({ window: { bounds: { x: 0, y: 0, width: -5, height: 600 }, maximized: true }, openAtLogin: 1 }))
    expect(readSettings(data.dir)).toMatchObject({ window: null, openAtLogin: false })
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
