import { randomBytes } from 'node:crypto'
import { constants, type Stats } from 'node:fs'
import { lstat, open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { Readable } from 'node:stream'
import { createBLAKE3 } from 'hash-wasm'
import { LIMITS } from '../../shared/schemas'
import { asInsufficientStorage, DomainError, invalidArgument, notFound } from '../../shared/errors'
import { runComputeJob } from '../workers/compute-worker-client'
import { ARTIFACT_FILE_MODE, ArtifactConfinement, symlinkRefused, type ConfinedPath } from './artifact-confinement'

/** Not on Windows, where the walk's lstat checks stand alone. */
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0

/** Files larger than this are hashed on a worker thread. */
const HASH_ON_WORKER_BYTES = 16 * 1024 * 1024

/** What the store knows of a file it holds. */
export interface StoredFile {
  /** Relative to the run's artifact folder, always with forward slashes. */
  path: string
  isDirectory: boolean
  /** null for a directory. */
  sizeBytes: number | null
}

export interface WrittenFile {
  path: string
  sizeBytes: number
  blake3: string
}

/** A written file not yet under its name (ArtifactStore.stage): commit or discard it. */
export interface StagedFile {
  file: WrittenFile
  /** Gives the file its name, replacing one there. */
  commit(): Promise<void>
  /** Removes the temp file; the path keeps what it had. */
  discard(): Promise<void>
}

/** What a file's content can come from: a Node stream, any async byte source, or bytes in memory. */
export type FileContent = AsyncIterable<Uint8Array> | Uint8Array

// Percent-encoded '.', '/', '\', NUL and '%' itself (double encoding: %252e → %2e): a path
// that holds them was encoded to slip past a check, or will be decoded later by someone who
// did not expect it. A plain '%' in a file name ("acc_50%.png") is fine.
const ENCODED_TRAVERSAL = /%(2e|2f|5c|00|25)/i
const DRIVE_LETTER = /^[A-Za-z]:/
// eslint-disable-next-line no-control-regex -- matching control characters is what this pattern is for
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/

/**
 * Checks an artifact path given by a client and returns it unchanged: relative, forward slashes
 * only, no empty, '.' or '..' segment, no drive letter, no NUL or control character, no
 * percent-encoded traversal. Everything a client names goes through here before it touches
 * the file system.
 */
export function checkArtifactPath(path: unknown, field = 'path'): string {
  if (typeof path !== 'string') throw invalidArgument(`${field}: must be a string`, field)
  const refuse = (why: string): never => {
    throw invalidArgument(`${field}: ${why}`, field)
  }
  if (path.length === 0) refuse('must not be empty')
  if (path.length > LIMITS.path) refuse(`must be at most ${LIMITS.path} characters`)
  if (CONTROL_CHARACTER.test(path)) refuse('must not contain NUL or control characters')
  if (path.includes('\\')) refuse('must use forward slashes, not backslashes')
  if (path.startsWith('/')) refuse('must be relative to the run, not absolute')
  if (DRIVE_LETTER.test(path)) refuse('must not start with a drive letter')
  if (ENCODED_TRAVERSAL.test(path)) refuse('must not contain percent-encoded ".", "/", "\\", NUL or "%"')
  for (const segment of path.split('/')) {
    if (segment === '') refuse('must not have empty segments (leading, trailing or doubled "/")')
    if (segment === '.' || segment === '..') refuse('must not contain "." or ".." segments')
  }
  return path
}

/** A prefix for listing: "" (everything) or a checked artifact path. */
function checkPrefix(prefix: string): string {
  return prefix === '' ? '' : checkArtifactPath(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix')
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT'
}

/**
 * A write refused by the file system itself: a full disk (ENOSPC, or EDQUOT past the user's
 * quota) is insufficient_storage (HTTP 507), a read-only data folder (EROFS) or one this user
 * may not write (EACCES, EPERM) unavailable: the machine's state, not the client's mistake, and
 * the message names the folder to fix. Anything else passes through unchanged.
 */
export function storageFailure(error: unknown, dataDir: string): unknown {
  const full = asInsufficientStorage(error, `the data folder ${dataDir}`)
  if (full) return full
  const code = (error as NodeJS.ErrnoException)?.code
  if (code === 'EROFS') return new DomainError('unavailable', `cannot store artifacts: the data folder ${dataDir} is on a read-only file system`)
  if (code === 'EACCES' || code === 'EPERM') return new DomainError('unavailable', `cannot store artifacts: permission denied writing in the data folder ${dataDir}`)
  return error
}

/**
 * Files of runs under `<dataDir>/artifacts/<experimentId>/<runUuid>/…`. Every path is checked
 * lexically (checkArtifactPath), then walked component by component under the confinement
 * policy (artifact-confinement.ts): no symlink is followed anywhere below the store's real
 * root. Writes go to a temp file that is renamed into place once complete and synced, so a
 * file under its final name is never partial. Files are 0600 and folders 0700: artifacts are
 * their owner's only.
 */
export class ArtifactStore {
  /** Temp files live beside the runs (same file system, so rename is atomic) but outside every run folder. */
  static readonly INCOMING = '.incoming'
  private readonly confinement: ArtifactConfinement
  /** Named in errors about the disk: the folder the user would fix. */
  private readonly dataDir: string

  constructor(readonly root: string) {
    this.confinement = new ArtifactConfinement(root)
    this.dataDir = dirname(root)
  }

  runDir(experimentId: number, runUuid: string): string {
    // Both come from the database (an integer id and 32 hex digits), never from a client.
    return join(this.root, String(experimentId), runUuid)
  }

  async write(experimentId: number, runUuid: string, relativePath: string, content: FileContent): Promise<WrittenFile> {
    const staged = await this.stage(experimentId, runUuid, relativePath, content)
    await staged.commit()
    return staged.file
  }

  /**
   * Writes a file under a temporary name, complete and synced, without giving it its name yet:
   * `commit()` renames it into place (replacing a file there), `discard()` removes it. For a
   * caller that records the file elsewhere first (the artifact service registers it in the
   * database): when that fails (a full disk, the database away), the file already at the path,
   * acknowledged earlier, is left as it was. A failed write leaves no temp file.
   */
  async stage(experimentId: number, runUuid: string, relativePath: string, content: FileContent): Promise<StagedFile> {
    const path = checkArtifactPath(relativePath)
    try {
      return await this.stageChecked(experimentId, runUuid, path, content)
    } catch (error) {
      throw storageFailure(error, this.dataDir)
    }
  }

  private async stageChecked(experimentId: number, runUuid: string, path: string, content: FileContent): Promise<StagedFile> {
    const target = await this.confinement.resolve(this.segments(experimentId, runUuid, path), { createFolders: true })
    if (target.stats?.isDirectory()) throw invalidArgument(`path: ${path} is a directory`, 'path')

    const temp = join(await this.confinement.folder([ArtifactStore.INCOMING]), `${randomBytes(12).toString('hex')}.part`)
    const hasher = await createBLAKE3()
    hasher.init()
    let sizeBytes = 0
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW, ARTIFACT_FILE_MODE)
    try {
      try {
        if (content instanceof Uint8Array) {
          hasher.update(content)
          sizeBytes = content.length
          await handle.writeFile(content)
        } else {
          for await (const chunk of content) {
            hasher.update(chunk)
            sizeBytes += chunk.length
            await handle.write(chunk)
          }
        }
        // Durable before it gets its name: an acknowledged artifact survives a power cut.
        await handle.sync()
      } finally {
        await handle.close()
      }
    } catch (error) {
      await rm(temp, { force: true })
      throw error
    }
    const discard = (): Promise<void> => rm(temp, { force: true })
    return {
      file: { path, sizeBytes, blake3: hasher.digest('hex') },
      commit: async () => {
        try {
          // rename replaces a file at the target itself (the walk refused a symlink there).
          await rename(temp, target.path)
        } catch (error) {
          await discard()
          throw storageFailure(error, this.dataDir)
        }
      },
      discard
    }
  }

  /**
   * A read stream of a stored file (or of bytes [start, end) of it); not_found if absent.
   * `sizeBytes` is the whole file's size.
   */
  async open(experimentId: number, runUuid: string, relativePath: string, range?: { start: number; end: number }): Promise<{ stream: Readable; sizeBytes: number }> {
    const handle = await this.openExistingFile(experimentId, runUuid, relativePath)
    try {
      const { size } = await handle.stat()
      if (!range) return { stream: handle.createReadStream(), sizeBytes: size }
      const end = Math.min(range.end, size)
      if (end <= range.start) {
        await handle.close()
        return { stream: Readable.from([]), sizeBytes: size }
      }
      // The stream closes the handle when it ends or is destroyed; createReadStream's end is inclusive.
      return { stream: handle.createReadStream({ start: range.start, end: end - 1 }), sizeBytes: size }
    } catch (error) {
      await handle.close()
      throw error
    }
  }

  /**
   * Size and BLAKE3 of a stored file, read in a stream. A large file is hashed on a compute
   * worker thread: hashing gigabytes is seconds of CPU that must not run where the window waits
   * (starting the worker costs more than hashing a small file, hence the threshold).
   */
  async hash(experimentId: number, runUuid: string, relativePath: string): Promise<{ sizeBytes: number; blake3: string }> {
    const real = await this.resolveExistingFile(experimentId, runUuid, relativePath)
    if (real.stats.size > HASH_ON_WORKER_BYTES) return runComputeJob('blake3File', { path: real.path })
    const hasher = await createBLAKE3()
    hasher.init()
    const handle = await this.openConfined(real.path)
    let sizeBytes = 0
    for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      hasher.update(chunk)
      sizeBytes += chunk.length
    }
    return { sizeBytes, blake3: hasher.digest('hex') }
  }

  async exists(experimentId: number, runUuid: string, relativePath: string): Promise<boolean> {
    try {
      await this.resolveExistingFile(experimentId, runUuid, relativePath)
      return true
    } catch (error) {
      if ((error as { code?: string }).code === 'not_found') return false
      throw error
    }
  }

  /**
   * Files and folders directly under `prefix` (MLflow's list_artifacts is one level at a time),
   * or every file below it with `recursive`. Sorted by path.
   */
  async list(experimentId: number, runUuid: string, prefix = '', recursive = false): Promise<StoredFile[]> {
    const checkedPrefix = checkPrefix(prefix)
    const runSegments = this.segments(experimentId, runUuid, '')
    let start: ConfinedPath
    try {
      start = await this.confinement.resolve(checkedPrefix === '' ? runSegments : [...runSegments, ...checkedPrefix.split('/')])
    } catch (error) {
      if ((error as { code?: string }).code === 'not_found') return []
      throw error
    }
    // A prefix naming a file or nothing lists nothing.
    if (!start.stats?.isDirectory()) return []
    // The run's real folder: up from the prefix's (no component on the way is a link).
    const runDir = join(start.path, ...(checkedPrefix === '' ? [] : checkedPrefix.split('/').map(() => '..')))
    const files: StoredFile[] = []
    const walk = async (dir: string): Promise<void> => {
      let entries
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch (error) {
        if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return
        throw error
      }
      for (const entry of entries) {
        const full = join(dir, entry.name)
        const path = relative(runDir, full).split(sep).join('/')
        // Symlinks are never followed or shown: the store does not create them.
        if (entry.isDirectory()) {
          if (recursive) await walk(full)
          else files.push({ path, isDirectory: true, sizeBytes: null })
        } else if (entry.isFile()) {
          files.push({ path, isDirectory: false, sizeBytes: (await lstat(full)).size })
        }
      }
    }
    await walk(start.path)
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  }

  async delete(experimentId: number, runUuid: string, relativePath: string): Promise<void> {
    const real = await this.resolveExistingFile(experimentId, runUuid, relativePath)
    // unlink removes the name itself, never what a link would point to.
    await unlink(real.path).catch((error: unknown) => {
      // Another delete of the same file won the race between the check above and the unlink.
      if (isMissing(error)) throw notFound(`artifact ${relativePath} does not exist`, 'path')
      throw storageFailure(error, this.dataDir)
    })
  }

  /** Experiment, run (a logged model's folder is several segments) and the checked path. */
  private segments(experimentId: number, runUuid: string, path: string): string[] {
    return [String(experimentId), ...runUuid.split('/'), ...(path === '' ? [] : path.split('/'))]
  }

  /** The real path of an existing regular file inside the run's folder; not_found otherwise. */
  private async resolveExistingFile(experimentId: number, runUuid: string, relativePath: string): Promise<{ path: string; stats: Stats }> {
    const path = checkArtifactPath(relativePath)
    const real = await this.confinement.resolve(this.segments(experimentId, runUuid, path))
    if (!real.stats) throw notFound(`artifact ${path} does not exist`, 'path')
    if (!real.stats.isFile()) throw notFound(`artifact ${path} is not a file`, 'path')
    return { path: real.path, stats: real.stats }
  }

  private async openExistingFile(experimentId: number, runUuid: string, relativePath: string): Promise<FileHandle> {
    return this.openConfined((await this.resolveExistingFile(experimentId, runUuid, relativePath)).path)
  }

  /** Opens a file the walk found, refusing a link swapped in at its name since (O_NOFOLLOW). */
  private async openConfined(path: string): Promise<FileHandle> {
    try {
      return await open(path, constants.O_RDONLY | NO_FOLLOW)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') symlinkRefused(relative(this.root, path).split(sep).join('/'))
      throw error
    }
  }
}
