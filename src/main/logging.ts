import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'

export type Logger = pino.Logger

const MAX_LOG_BYTES = 10 * 1024 * 1024
const KEPT_ROTATIONS = 5

/**
 * Rotates `file` when it has grown past the size limit: file → file.1 → … → file.5.
 * Rotation happens when a log is opened (each start of the app), which keeps a long-lived
 * process from needing a background roller thread — that thread would have to be bundled
 * separately for Electron.
 */
export function rotateLogFile(file: string, maxBytes = MAX_LOG_BYTES): void {
  let size: number
  try {
    size = statSync(file).size
  } catch {
    return
  }
  if (size < maxBytes) return
  rmSync(`${file}.${KEPT_ROTATIONS}`, { force: true })
  for (let i = KEPT_ROTATIONS - 1; i >= 1; i--) {
    try {
      renameSync(`${file}.${i}`, `${file}.${i + 1}`)
    } catch {
      /* that rotation does not exist yet */
    }
  }
  renameSync(file, `${file}.1`)
}

export function logsDir(dataDir: string): string {
  return join(dataDir, 'logs')
}

/**
 * JSON-lines logger writing to `<dataDir>/logs/hypercube.log`. Every layer logs through a
 * child of this logger (`logger.child({ component: 'db' })`) so one folder holds the story.
 */
export function createFileLogger(dataDir: string, level = process.env.HYPERCUBE_LOG_LEVEL ?? 'info'): Logger {
  const dir = logsDir(dataDir)
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'hypercube.log')
  rotateLogFile(file)
  // sync: a crash must not lose the lines that explain it.
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: file, sync: true, mkdir: true }))
}

/** A logger that drops everything; for unit tests and library use. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' })
}
