import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { asInsufficientStorage, conflict, notFound, type DomainError } from '../../shared/errors'
import { ArtifactUploads } from '../artifacts/artifact-uploads'

/**
 * Review bundles on their way between the window and the core: uploads (chunks over the
 * contract, as the artifact browser's, streamed to a temporary file — never held whole in
 * memory) waiting to be checked, imported or reviewed, and exports written to a temporary file
 * waiting to be downloaded once (serve mode) or saved once where the user chose (the desktop app). Each file lives in one private temporary folder, is removed
 * when it has been used or after an hour untouched, and the folder goes with the core.
 */

/**
 * Asks the user where to save an export, offering `fileName`; answers the chosen path, or null
 * when they cancelled. Injected by the desktop shell (its save dialog); absent in serve mode,
 * where the browser downloads the export instead.
 */
export type ChooseExportPath = (fileName: string) => Promise<string | null>

export interface StagedBundle {
  id: string
  path: string
  /** The name the user knows it by (the uploaded file's, the download's). */
  name: string
  sizeBytes: number
}

/** A file untouched this long is removed (the user walked away from the dialog). */
const STALE_MS = 60 * 60_000

/**
 * A name safe to show and to send as a download's file name: letters, digits, . _ - only. An
 * export's name gets the .hcube extension; an upload keeps the name the user gave it.
 */
export function bundleFileName(name: string, extension: 'add .hcube' | 'as given' = 'add .hcube'): string {
  const base = name.split(/[\\/]/).pop() ?? ''
  const cleaned = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').replace(/-+$/, '').slice(0, 120)
  const stem = cleaned === '' ? 'bundle' : cleaned
  return extension === 'as given' || stem.endsWith('.hcube') ? stem : `${stem}.hcube`
}

/** A save the file system refused (a folder not writable, a full disk) is the destination's fault, named, not a bug. */
function cannotSave(error: unknown, destination: string): DomainError {
  const where = dirname(destination)
  return (
    asInsufficientStorage(error, where) ??
    conflict(`destination: cannot save the bundle to ${destination} (${(error as Error).message}); it is still waiting: save it elsewhere`, 'destination')
  )
}

interface Entry extends StagedBundle {
  expiry: NodeJS.Timeout
}

export class BundleTransfers {
  private root: string | undefined
  private readonly uploads = new ArtifactUploads<StagedBundle>()
  private readonly staged = new Map<string, Entry>()
  private readonly exports = new Map<string, Entry>()
  private disposed = false

  constructor(private readonly baseDir: string = tmpdir()) {}

  /** Starts an upload of a bundle of `sizeBytes` bytes; answers its upload id (chunks then go to append). */
  beginUpload(name: string, sizeBytes: number): string {
    const id = randomBytes(16).toString('hex')
    const path = join(this.folder(), `upload-${id}.hcube`)
    return this.uploads.begin(sizeBytes, async (content) => {
      try {
        await pipeline(Readable.from(content), createWriteStream(path, { mode: 0o600 }))
      } catch (error) {
        await rm(path, { force: true })
        throw error
      }
      return this.keep(this.staged, { id, path, name: bundleFileName(name, 'as given'), sizeBytes: statSync(path).size })
    })
  }

  appendUpload(uploadId: string, offset: number, chunk: Uint8Array): Promise<{ received: number }> {
    return this.uploads.append(uploadId, offset, chunk)
  }

  /** Ends an upload once every byte has come: the bundle is then staged under its own id. */
  finishUpload(uploadId: string): Promise<StagedBundle> {
    return this.uploads.finish(uploadId)
  }

  cancelUpload(uploadId: string): Promise<void> {
    return this.uploads.cancel(uploadId)
  }

  /** An uploaded bundle, still staged (its expiry starts again). */
  uploaded(bundleId: string): StagedBundle {
    return this.stagedEntry(bundleId)
  }

  private stagedEntry(bundleId: string): Entry {
    const entry = this.staged.get(bundleId)
    if (!entry) throw notFound(`bundleId: no uploaded bundle ${bundleId} is waiting (it was imported, discarded, or left for an hour); upload it again`, 'bundleId')
    entry.expiry.refresh()
    return entry
  }

  /** Hands an uploaded bundle over to the caller, who removes it when done (a review keeps it while open). */
  takeUpload(bundleId: string): StagedBundle {
    const entry = this.stagedEntry(bundleId)
    clearTimeout(entry.expiry)
    this.staged.delete(bundleId)
    return entry
  }

  /** Removes an uploaded bundle now. */
  async discardUpload(bundleId: string): Promise<void> {
    const entry = this.staged.get(bundleId)
    if (!entry) return
    clearTimeout(entry.expiry)
    this.staged.delete(bundleId)
    await rm(entry.path, { force: true })
  }

  /** Where to write an export; `keepExport` then makes it downloadable. */
  exportPath(): { id: string; path: string } {
    const id = randomBytes(16).toString('hex')
    return { id, path: join(this.folder(), `export-${id}.hcube`) }
  }

  keepExport(id: string, path: string, name: string): StagedBundle {
    return this.keep(this.exports, { id, path, name: bundleFileName(name), sizeBytes: statSync(path).size })
  }

  /** Hands a written export to its download, once: the caller streams it and then removes it (removeFile). */
  takeExport(exportId: string): StagedBundle {
    const entry = this.exportEntry(exportId)
    clearTimeout(entry.expiry)
    this.exports.delete(exportId)
    return entry
  }

  /** A written export still waiting (its expiry starts again): its name, before asking where to save it. */
  waitingExport(exportId: string): StagedBundle {
    const entry = this.exportEntry(exportId)
    entry.expiry.refresh()
    return entry
  }

  private exportEntry(exportId: string): Entry {
    const entry = this.exports.get(exportId)
    if (!entry) throw notFound(`exportId: no export ${exportId} is waiting (it was saved or downloaded already, or left for an hour); export it again`, 'exportId')
    return entry
  }

  /**
   * Saves an export where the user chose (the desktop app: main writes the file, so the window
   * never holds a multi-GB bundle): a rename when the destination is on the same filesystem,
   * else a streamed copy, and the temporary file goes. Once: a second save answers not_found.
   * A copy that fails leaves no partial file and the export waiting, to save elsewhere.
   */
  async saveExport(exportId: string, destination: string): Promise<StagedBundle> {
    const entry = this.takeExport(exportId)
    try {
      await rename(entry.path, destination)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') {
        this.keep(this.exports, entry)
        throw cannotSave(error, destination)
      }
      try {
        await pipeline(createReadStream(entry.path), createWriteStream(destination))
      } catch (copyError) {
        await rm(destination, { force: true })
        this.keep(this.exports, entry)
        throw cannotSave(copyError, destination)
      }
      await rm(entry.path, { force: true })
    }
    return { id: entry.id, path: destination, name: entry.name, sizeBytes: entry.sizeBytes }
  }

  async removeFile(path: string): Promise<void> {
    await rm(path, { force: true })
  }

  /** Files waiting (for tests: nothing is left behind). */
  get waiting(): { uploads: number; exports: number } {
    return { uploads: this.staged.size, exports: this.exports.size }
  }

  get folderPath(): string | undefined {
    return this.root
  }

  dispose(): void {
    this.disposed = true
    this.uploads.dispose()
    for (const entry of [...this.staged.values(), ...this.exports.values()]) clearTimeout(entry.expiry)
    this.staged.clear()
    this.exports.clear()
    if (this.root) rmSync(this.root, { recursive: true, force: true })
    this.root = undefined
  }

  private folder(): string {
    if (this.disposed) throw new Error('the core is closing')
    // Private (0700 by mkdtemp): a bundle holds the user's runs.
    this.root ??= mkdtempSync(join(this.baseDir, 'hypercube-bundles-'))
    return this.root
  }

  private keep(map: Map<string, Entry>, bundle: StagedBundle): StagedBundle {
    const expiry = setTimeout(() => {
      map.delete(bundle.id)
      void rm(bundle.path, { force: true })
    }, STALE_MS)
    expiry.unref?.()
    map.set(bundle.id, { ...bundle, expiry })
    return bundle
  }
}
