import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import { DomainError, notFound } from '../../shared/errors'

/**
 * Downloads pulled over the renderer↔main contract, for the Electron window (a file:// page has
 * no URL to stream from): `begin` keeps a byte stream (a folder's zip as yazl writes it), each
 * `next` answers its next bytes, at most `maxBytes`, pulled only when asked — so the stream runs
 * at the pace the window takes it and main holds about one answer's worth. A download not
 * pulled for 5 minutes is dropped (its stream destroyed).
 */
const IDLE_MS = 5 * 60_000
const MAX_OPEN_DOWNLOADS = 16

interface Download {
  name: string
  iterator: AsyncIterator<Buffer>
  /** Bytes read from the stream beyond the last answer. */
  carry: Buffer | undefined
  stream: Readable
  sent: number
  idle: NodeJS.Timeout
}

export class ArtifactDownloads {
  private readonly downloads = new Map<string, Download>()

  begin(name: string, stream: Readable): string {
    if (this.downloads.size >= MAX_OPEN_DOWNLOADS) {
      stream.destroy()
      throw new DomainError('unavailable', `${MAX_OPEN_DOWNLOADS} downloads are already in progress; wait for one to finish`)
    }
    const downloadId = randomBytes(16).toString('hex')
    const idle = setTimeout(() => this.cancel(downloadId), IDLE_MS)
    idle.unref?.()
    this.downloads.set(downloadId, { name, stream, iterator: stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>, carry: undefined, sent: 0, idle })
    return downloadId
  }

  /** The next bytes (at most maxBytes); `done` once the stream has ended (the download is then forgotten). */
  async next(downloadId: string, maxBytes: number): Promise<{ bytes: Buffer; done: boolean; offset: number }> {
    const download = this.downloads.get(downloadId)
    if (!download) throw notFound(`downloadId: no download ${downloadId} is in progress (it ended, failed, was cancelled or sat idle for 5 minutes)`, 'downloadId')
    download.idle.refresh()
    const parts: Buffer[] = download.carry ? [download.carry] : []
    let length = download.carry?.length ?? 0
    download.carry = undefined
    let done = false
    try {
      while (length < maxBytes) {
        const step = await download.iterator.next()
        if (step.done) {
          done = true
          break
        }
        parts.push(step.value)
        length += step.value.length
      }
    } catch (error) {
      this.cancel(downloadId)
      throw error
    }
    const all = Buffer.concat(parts)
    const bytes = all.subarray(0, maxBytes)
    if (all.length > maxBytes) download.carry = all.subarray(maxBytes)
    const offset = download.sent
    download.sent += bytes.length
    if (done && !download.carry) this.forget(downloadId)
    return { bytes, done: done && !download.carry, offset }
  }

  cancel(downloadId: string): void {
    const download = this.downloads.get(downloadId)
    if (!download) return
    download.stream.destroy()
    this.forget(downloadId)
  }

  dispose(): void {
    for (const downloadId of [...this.downloads.keys()]) this.cancel(downloadId)
  }

  private forget(downloadId: string): void {
    const download = this.downloads.get(downloadId)
    if (download) clearTimeout(download.idle)
    this.downloads.delete(downloadId)
  }
}
