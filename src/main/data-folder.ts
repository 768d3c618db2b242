import { chmodSync, lstatSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs'
import { chmod, lstat, readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { ARTIFACT_FILE_MODE, ARTIFACT_FOLDER_MODE } from './artifacts/artifact-confinement'
import { ArtifactStore } from './artifacts/artifact-store'
import { LOG_FILE_MODE, LOGS_FOLDER_MODE, logsDir, type Logger } from './logging'

/** The data folder is its owner's only (README, "Security"). */
export const DATA_FOLDER_MODE = 0o700
/**
 * As root, the embedded PostgreSQL runs as another OS user that must traverse the data folder
 * to reach `pg/` (core.ts sets it then): search only, no listing; everything below stays private.
 */
export const DATA_FOLDER_MODE_FOR_POSTGRES_USER = 0o711
/** Files directly in the data folder that hold secrets or settings. */
const PRIVATE_FILES = ['api-token', 'settings.json']
/** Artifact entries the start-time repair looks at, at most: a huge tree is left for the next start. */
const ARTIFACT_REPAIR_LIMIT = 100_000

export interface DataFolderRepair {
  /** Settles when the artifact tree's repair has finished (it never rejects). */
  readonly done: Promise<void>
  /** Stops the artifact tree's repair at its next entry. */
  dispose(): void
}

function modeOf(path: string): { mode: number; isFile: boolean; isDirectory: boolean } | undefined {
  try {
    const stats = lstatSync(path)
    // A link is never chmod-ed: that would change whatever it points to.
    if (stats.isSymbolicLink()) return undefined
    return { mode: stats.mode & 0o777, isFile: stats.isFile(), isDirectory: stats.isDirectory() }
  } catch {
    return undefined
  }
}

/**
 * Makes the data folder private at start, and removes what a killed process left behind.
 *
 * At once (a bounded handful of entries): the data folder 0700, `logs/` 0700 and its files 0600,
 * `api-token` and `settings.json` 0600, `artifacts/` 0700, and every unfinished upload in
 * `artifacts/.incoming` deleted — only one app runs per data folder, so before start no upload
 * can be in flight. Then, in the background with asynchronous calls and at most 100,000
 * entries, the artifact tree: folders 0700, files 0600. Each repair is logged once.
 *
 * Not on Windows: there the folder is under the user's profile and inherits its ACL.
 */
export function makeDataFolderPrivate(dataDir: string, logger: Logger, options: { artifactLimit?: number } = {}): DataFolderRepair {
  if (process.platform === 'win32') return { done: Promise.resolve(), dispose: () => undefined }
  const fixed: string[] = []
  const failed: string[] = []
  const fix = (path: string, mode: number): void => {
    const current = modeOf(path)
    if (!current || current.mode === mode) return
    try {
      chmodSync(path, mode)
    } catch (error) {
      // Someone else's file (EPERM): say so and start anyway.
      failed.push(`${relative(dataDir, path) || '.'}: ${(error as Error).message}`)
      return
    }
    // The previous start as root made it 0711 on purpose (see above); not worth a line.
    if (!(path === dataDir && current.mode === DATA_FOLDER_MODE_FOR_POSTGRES_USER && process.getuid?.() === 0)) {
      fixed.push(`${relative(dataDir, path) || '.'} ${current.mode.toString(8)} → ${mode.toString(8)}`)
    }
  }

  mkdirSync(dataDir, { recursive: true, mode: DATA_FOLDER_MODE })
  fix(dataDir, DATA_FOLDER_MODE)
  const logs = logsDir(dataDir)
  fix(logs, LOGS_FOLDER_MODE)
  for (const name of readdirOrEmpty(logs)) if (modeOf(join(logs, name))?.isFile) fix(join(logs, name), LOG_FILE_MODE)
  for (const name of PRIVATE_FILES) fix(join(dataDir, name), 0o600)
  const artifacts = join(dataDir, 'artifacts')
  fix(artifacts, ARTIFACT_FOLDER_MODE)

  const incoming = join(artifacts, ArtifactStore.INCOMING)
  let removedUploads = 0
  if (modeOf(incoming)?.isDirectory) {
    for (const name of readdirOrEmpty(incoming)) {
      if (!name.endsWith('.part') || !modeOf(join(incoming, name))?.isFile) continue
      try {
        unlinkSync(join(incoming, name))
        removedUploads++
      } catch (error) {
        failed.push(`${relative(dataDir, join(incoming, name))}: ${(error as Error).message}`)
      }
    }
  }
  if (fixed.length > 0 || removedUploads > 0 || failed.length > 0) {
    logger.warn({ component: 'data-folder', fixed, removedUploads, failed }, `data folder ${dataDir}: made private (${fixed.length} modes fixed), ${removedUploads} unfinished uploads removed`)
  }

  let disposed = false
  const done = repairArtifactTree(artifacts, options.artifactLimit ?? ARTIFACT_REPAIR_LIMIT, () => disposed).then(
    (result) => {
      if (result.fixed > 0 || result.truncated) {
        logger.warn({ component: 'data-folder', ...result }, `artifacts: ${result.fixed} files and folders made private${result.truncated ? ' (stopped at the limit; the rest on a later start)' : ''}`)
      }
    },
    (error: unknown) => logger.warn({ component: 'data-folder', err: error }, 'artifacts: could not finish making the tree private')
  )
  return { done, dispose: () => void (disposed = true) }
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** Folders 0700 and files 0600 below `root`, breadth first, links skipped, at most `limit` entries. */
async function repairArtifactTree(root: string, limit: number, stopped: () => boolean): Promise<{ checked: number; fixed: number; truncated: boolean }> {
  let checked = 0
  let fixed = 0
  const queue = [root]
  while (queue.length > 0) {
    const dir = queue.shift()!
    let names: string[]
    try {
      names = await readdir(dir)
    } catch {
      continue
    }
    for (const name of names) {
      if (stopped()) return { checked, fixed, truncated: true }
      if (checked >= limit) return { checked, fixed, truncated: true }
      checked++
      const path = join(dir, name)
      const stats = await lstat(path).catch(() => undefined)
      if (!stats || stats.isSymbolicLink()) continue
      const wanted = stats.isDirectory() ? ARTIFACT_FOLDER_MODE : stats.isFile() ? ARTIFACT_FILE_MODE : undefined
      if (wanted !== undefined && (stats.mode & 0o777) !== wanted) {
        await chmod(path, wanted).catch(() => undefined)
        fixed++
      }
      if (stats.isDirectory()) queue.push(path)
    }
  }
  return { checked, fixed, truncated: false }
}
