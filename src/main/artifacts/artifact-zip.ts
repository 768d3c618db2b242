import type { Readable } from 'node:stream'
import { ZipFile } from 'yazl'

/**
 * A folder of artifacts as a zip, streamed: yazl writes each entry as its file is read, opening
 * one file at a time (addReadStreamLazy), so a folder of gigabytes is never held in memory nor
 * staged on disk, and the download starts at once. yazl (by the author of yauzl, which Electron's
 * own tooling reads zips with) is small, has one dependency and writes ZIP64 when sizes need it.
 * Entries are stored, not deflated: model weights and images do not compress, and deflating
 * gigabytes would be seconds of CPU in the process that serves the window.
 */
export interface ZipEntrySource {
  /** Path inside the zip (forward slashes, relative). */
  name: string
  sizeBytes: number
  open: () => Promise<Readable>
}

export function zipStream(entries: readonly ZipEntrySource[]): Readable {
  const zip = new ZipFile()
  for (const entry of entries) {
    zip.addReadStreamLazy(entry.name, { size: entry.sizeBytes, compress: false }, (callback) => {
      entry.open().then(
        (stream) => callback(null, stream),
        (error: unknown) => callback(error, undefined as never)
      )
    })
  }
  zip.end()
  const output = zip.outputStream as Readable
  // A file that cannot be read (gone, corrupted: the verifying stream fails) ends the download
  // with an error instead of a zip that silently lacks it.
  zip.on('error', (error: Error) => output.destroy(error))
  return output
}
