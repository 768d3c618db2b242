import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DomainError, isDomainError } from '../shared/errors'
import { Database } from './db/database'
import { parseWindowState, type SavedWindowState } from './desktop/window-state'
import type { Logger } from './logging'

/**
 * `<dataDir>/settings.json`: what the user chose in Settings that the core reads at start.
 * A URL or port given on the command line (or HYPERCUBE_DATABASE_URL) still wins, so a script
 * can always point a core elsewhere.
 */
export interface StoredSettings {
  /** A PostgreSQL server URL, or null for the embedded server in the data folder. */
  databaseUrl: string | null
  /** The HTTP API's port (if it is taken, the start fails naming it), or null for the default (8377, or a free one if that is taken). */
  apiPort: number | null
  /** The name recorded as reviewer and deployer, or null for the OS user's full name. */
  reviewerName: string | null
  /** The desktop window's last size and place (checked against the displays when it opens), or null. */
  window: SavedWindowState | null
  /** Start the desktop app when the user logs in (off until turned on in the menu). */
  openAtLogin: boolean
}

const DEFAULT_SETTINGS: StoredSettings = { databaseUrl: null, apiPort: null, reviewerName: null, window: null, openAtLogin: false }

export function settingsFile(dataDir: string): string {
  return join(dataDir, 'settings.json')
}

export function readSettings(dataDir: string): StoredSettings {
  const file = settingsFile(dataDir)
  if (!existsSync(file)) return { ...DEFAULT_SETTINGS }
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { databaseUrl?: unknown; apiPort?: unknown; reviewerName?: unknown; window?: unknown; openAtLogin?: unknown } | null
    const url = parsed?.databaseUrl
    const port = parsed?.apiPort
    const reviewer = parsed?.reviewerName
    return {
      databaseUrl: typeof url === 'string' && url !== '' ? url : null,
      apiPort: typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535 ? port : null,
      reviewerName: typeof reviewer === 'string' && reviewer.trim() !== '' ? reviewer.slice(0, 256) : null,
      window: parseWindowState(parsed?.window),
      openAtLogin: parsed?.openAtLogin === true
    }
  } catch {
    // A hand-edited file that no longer parses must not keep the app from starting.
    return { ...DEFAULT_SETTINGS }
  }
}

/** Changes some settings, keeping the others. */
export function writeSettings(dataDir: string, changes: Partial<StoredSettings>): void {
  const settings: StoredSettings = { ...readSettings(dataDir), ...changes }
  // Write then rename, so a crash mid-write never leaves half a file; 0600 because a URL may hold a password.
  const file = settingsFile(dataDir)
  writeFileSync(`${file}.tmp`, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 })
  renameSync(`${file}.tmp`, file)
}

/**
 * Connects to a server URL the way the core would (PostgreSQL ≥ 14, durability on — both
 * checked by Database.connect) and disconnects. Any failure becomes an invalid_argument on
 * `url`, with the reason, so Settings can say why a URL was not saved.
 */
export async function validateDatabaseUrl(url: string, logger: Logger): Promise<{ serverVersion: string }> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new DomainError('invalid_argument', 'a server URL starts with postgresql:// (or postgres://)', 'url')
  }
  let database: Database
  try {
    database = await Database.connect(url, logger, 1)
  } catch (error) {
    const reason = isDomainError(error) ? error.message : error instanceof Error ? error.message : String(error)
    throw new DomainError('invalid_argument', `cannot use this server: ${reason}`, 'url')
  }
  try {
    return { serverVersion: database.serverVersion }
  } finally {
    await database.close()
  }
}
