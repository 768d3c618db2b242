import { randomBytes } from 'node:crypto'
import { createReadStream, type ReadStream } from 'node:fs'
import { lstat, mkdir, open, readdir, realpath, rename, rm, unlink } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { createBLAKE3 } from 'hash-wasm'
import { LIMITS } from '../../shared/schemas'
import { invalidArgument, notFound } from '../../shared/errors'
import { runComputeJob } from '../workers/compute-worker-client'

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

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(sep) ? root : root + sep)
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT'
}

/**
 * Files of runs under `<dataDir>/artifacts/<experimentId>/<runUuid>/…`. Every path is
 * confined to its run's folder: checked lexically (checkArtifactPath) and again after
 * resolving symlinks, so a link planted inside the store cannot lead a read or write out of
 * it. Writes go to a temp file that is renamed into place once complete and synced, so a file
 * under its final name is never partial.
 */
export class ArtifactStore {
  /** Temp files live beside the runs (same file system, so rename is atomic) but outside every run folder. */
  private readonly incomingDir: string

  constructor(readonly root: string) {
    this.incomingDir = join(root, '.incoming')
  }

  runDir(experimentId: number, runUuid: string): string {
    // Both come from the database (an integer id and 32 hex digits), never from a client.
    return join(this.root, String(experimentId), runUuid)
  }

  async write(experimentId: number, runUuid: string, relativePath: string, content: FileContent): Promise<WrittenFile> {
    const path = checkArtifactPath(relativePath)
    const runDir = this.runDir(experimentId, runUuid)
    const segments = path.split('/')
    const target = join(runDir, ...segments)
    await this.makeFolders(runDir, segments.slice(0, -1))
    await this.assertConfined(runDir, dirname(target))
    const existing = await lstat(target).catch((error) => (isMissing(error) ? undefined : Promise.reject(error)))
    if (existing?.isDirectory()) throw invalidArgument(`path: ${path} is a directory`, 'path')

    await mkdir(this.incomingDir, { recursive: true })
    const temp = join(this.incomingDir, `${randomBytes(12).toString('hex')}.part`)
    const hasher = await createBLAKE3()
    hasher.init()
    let sizeBytes = 0
    const handle = await open(temp, 'wx', 0o644)
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
      // rename replaces a symlink at the target itself, never the file it points to.
      await rename(temp, target)
    } catch (error) {
      await rm(temp, { force: true })
      throw error
    }
    return { path, sizeBytes, blake3: hasher.digest('hex') }
  }

  /** A read stream of a stored file; not_found if absent. */
  async open(experimentId: number, runUuid: string, relativePath: string): Promise<{ stream: ReadStream; sizeBytes: number }> {
    const real = await this.resolveExistingFile(experimentId, runUuid, relativePath)
    const stats = await lstat(real)
    return { stream: createReadStream(real), sizeBytes: stats.size }
  }

  /**
   * Size and BLAKE3 of a stored file, read in a stream. A large file is hashed on a compute
   * worker thread: hashing gigabytes is seconds of CPU that must not run where the window waits
   * (starting the worker costs more than hashing a small file, hence the threshold).
   */
  async hash(experimentId: number, runUuid: string, relativePath: string): Promise<{ sizeBytes: number; blake3: string }> {
    const real = await this.resolveExistingFile(experimentId, runUuid, relativePath)
    if ((await lstat(real)).size > HASH_ON_WORKER_BYTES) return runComputeJob('blake3File', { path: real })
    const hasher = await createBLAKE3()
    hasher.init()
    let sizeBytes = 0
    for await (const chunk of createReadStream(real, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
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
    const runDir = this.runDir(experimentId, runUuid)
    const start = checkedPrefix === '' ? runDir : join(runDir, ...checkedPrefix.split('/'))
    try {
      await this.assertConfined(runDir, start)
    } catch (error) {
      if ((error as { code?: string }).code === 'not_found') return []
      throw error
    }
    const files: StoredFile[] = []
    const walk = async (dir: string): Promise<void> => {
      let entries
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch (error) {
        // A prefix naming a file or nothing lists nothing.
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
    await walk(start)
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  }

  async delete(experimentId: number, runUuid: string, relativePath: string): Promise<void> {
    const real = await this.resolveExistingFile(experimentId, runUuid, relativePath)
    await unlink(real)
  }

  /**
   * Creates the folders of a path one segment at a time, refusing a symlink or a file on the
   * way: `mkdir -p` would follow a planted link and create folders outside the store.
   */
  private async makeFolders(runDir: string, segments: string[]): Promise<void> {
    await mkdir(runDir, { recursive: true })
    let current = runDir
    for (const segment of segments) {
      current = join(current, segment)
      const stats = await lstat(current).catch((error) => (isMissing(error) ? undefined : Promise.reject(error)))
      // EEXIST: a concurrent write made it; the confinement check after this loop still applies.
      if (!stats) await mkdir(current).catch((error) => ((error as NodeJS.ErrnoException).code === 'EEXIST' ? undefined : Promise.reject(error)))
      else if (stats.isSymbolicLink()) throw invalidArgument('path: leads outside the run\'s artifact folder (through a symlink)', 'path')
      else if (!stats.isDirectory()) throw invalidArgument(`path: ${relative(runDir, current).split(sep).join('/')} is a file, not a folder`, 'path')
    }
  }

  /** The real path of an existing regular file inside the run's folder; not_found otherwise. */
  private async resolveExistingFile(experimentId: number, runUuid: string, relativePath: string): Promise<string> {
    const path = checkArtifactPath(relativePath)
    const runDir = this.runDir(experimentId, runUuid)
    const real = await this.assertConfined(runDir, join(runDir, ...path.split('/')), path)
    const stats = await lstat(real)
    if (!stats.isFile()) throw notFound(`artifact ${path} is not a file`, 'path')
    return real
  }

  /** Resolves symlinks and refuses a path whose real location is outside the run's folder. */
  private async assertConfined(runDir: string, candidate: string, shownPath?: string): Promise<string> {
    let realRunDir: string
    let realCandidate: string
    try {
      realRunDir = await realpath(runDir)
      realCandidate = await realpath(candidate)
    } catch (error) {
      if (isMissing(error)) throw notFound(`artifact ${shownPath ?? relative(runDir, candidate)} does not exist`, 'path')
      throw error
    }
    if (!isInside(realRunDir, realCandidate)) throw invalidArgument('path: leads outside the run\'s artifact folder (through a symlink)', 'path')
    return realCandidate
  }
}
