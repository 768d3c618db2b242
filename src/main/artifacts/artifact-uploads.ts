import { randomBytes } from 'node:crypto'
import type { Artifact } from '../../shared/domain'
import { conflict, DomainError, invalidArgument, notFound } from '../../shared/errors'

/**
 * Uploads from the UI, in chunks over the renderer↔main contract (the one channel both Electron
 * and serve mode carry): `begin` starts the service's own streamed write (ArtifactService.putFile,
 * as the API's PUT does) on a byte source that `append` feeds; `finish` ends the source and
 * answers the registered artifact. A chunk is acknowledged once the write has pulled it (after
 * writing the one before), so the caller's progress follows the disk and memory holds about one
 * chunk per upload. An upload left without a chunk for 5 minutes is abandoned: the write fails,
 * its temp file is removed and the path keeps what it had.
 */
const IDLE_MS = 5 * 60_000
/** Uploads in flight at once (each holds a temp file and a pending write). */
const MAX_OPEN_UPLOADS = 16

/** Stores one file from a byte source; resolves once it is registered (an artifact; for a review bundle, where it was put). */
export type PutFile<T = Artifact> = (content: AsyncIterable<Uint8Array>) => Promise<T>

/** A byte source fed from outside: push() resolves when the consumer has pulled the chunk. */
class ChunkChannel implements AsyncIterable<Uint8Array> {
  private readonly queue: Array<{ chunk: Uint8Array; taken: () => void }> = []
  private wake: (() => void) | undefined
  private closed = false
  private error: Error | undefined

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      if (this.error) throw this.error
      const next = this.queue.shift()
      if (next) {
        next.taken()
        yield next.chunk
        continue
      }
      if (this.closed) return
      await new Promise<void>((resolve) => (this.wake = resolve))
      this.wake = undefined
    }
  }

  push(chunk: Uint8Array): Promise<void> {
    return new Promise((taken) => {
      this.queue.push({ chunk, taken })
      this.wake?.()
    })
  }

  close(): void {
    this.closed = true
    this.wake?.()
  }

  /** Ends the source with an error; chunks still queued are released (their push resolves). */
  fail(error: Error): void {
    this.error ??= error
    for (const item of this.queue.splice(0)) item.taken()
    this.wake?.()
  }
}

interface Upload<T> {
  expectedBytes: number
  received: number
  channel: ChunkChannel
  done: Promise<T>
  /** Set when the write failed (the run is gone, the disk is full…): every later call answers it. */
  failure: { error: unknown } | undefined
  idle: NodeJS.Timeout
}

export class ArtifactUploads<T = Artifact> {
  private readonly uploads = new Map<string, Upload<T>>()

  /** Starts an upload of `expectedBytes` bytes written by `putFile`; answers its id. */
  begin(expectedBytes: number, putFile: PutFile<T>): string {
    if (this.uploads.size >= MAX_OPEN_UPLOADS) throw new DomainError('unavailable', `${MAX_OPEN_UPLOADS} uploads are already in progress; wait for one to finish`)
    const uploadId = randomBytes(16).toString('hex')
    const channel = new ChunkChannel()
    const upload: Upload<T> = {
      expectedBytes,
      received: 0,
      channel,
      done: putFile(channel),
      failure: undefined,
      idle: setTimeout(() => this.abandon(uploadId, new DomainError('unavailable', 'the upload was abandoned: no data came for 5 minutes')), IDLE_MS)
    }
    upload.idle.unref?.()
    upload.done.catch((error: unknown) => {
      upload.failure = { error }
      channel.fail(error instanceof Error ? error : new Error(String(error)))
    })
    this.uploads.set(uploadId, upload)
    return uploadId
  }

  /** Hands the chunk that starts at `offset` to the write (chunks come in order). */
  async append(uploadId: string, offset: number, chunk: Uint8Array): Promise<{ received: number }> {
    const upload = this.get(uploadId)
    this.throwIfFailed(uploadId, upload)
    if (offset !== upload.received) throw conflict(`offset: ${upload.received} bytes of this upload have come, so the next chunk starts there, not at ${offset}`, 'offset')
    if (upload.received + chunk.length > upload.expectedBytes) throw invalidArgument(`data: the upload would exceed the ${upload.expectedBytes} bytes announced`, 'data')
    upload.idle.refresh()
    upload.received += chunk.length
    await upload.channel.push(chunk)
    // A write that failed while this chunk waited (its push was released) answers the failure.
    await Promise.resolve()
    this.throwIfFailed(uploadId, upload)
    return { received: upload.received }
  }

  /** Ends the upload once every announced byte has come; answers the stored, registered file. */
  async finish(uploadId: string): Promise<T> {
    const upload = this.get(uploadId)
    this.throwIfFailed(uploadId, upload)
    if (upload.received !== upload.expectedBytes) {
      throw conflict(`uploadId: ${upload.received} of the ${upload.expectedBytes} bytes announced have come; send the rest first`, 'uploadId')
    }
    upload.channel.close()
    try {
      return await upload.done
    } finally {
      this.forget(uploadId)
    }
  }

  /** Stops an upload: its temp file goes, the path keeps what it had. */
  async cancel(uploadId: string): Promise<void> {
    this.get(uploadId)
    this.abandon(uploadId, new DomainError('unavailable', 'the upload was cancelled'))
  }

  dispose(): void {
    for (const uploadId of [...this.uploads.keys()]) this.abandon(uploadId, new DomainError('unavailable', 'Hypercube is closing'))
  }

  get inProgress(): number {
    return this.uploads.size
  }

  private abandon(uploadId: string, reason: Error): void {
    const upload = this.uploads.get(uploadId)
    if (!upload) return
    upload.channel.fail(reason)
    this.forget(uploadId)
  }

  private forget(uploadId: string): void {
    const upload = this.uploads.get(uploadId)
    if (upload) clearTimeout(upload.idle)
    this.uploads.delete(uploadId)
  }

  private throwIfFailed(uploadId: string, upload: Upload<T>): void {
    if (!upload.failure) return
    this.forget(uploadId)
    throw upload.failure.error
  }

  private get(uploadId: string): Upload<T> {
    const upload = this.uploads.get(uploadId)
    if (!upload) throw notFound(`uploadId: no upload ${uploadId} is in progress (it finished, failed, was cancelled or had no data for 5 minutes)`, 'uploadId')
    return upload
  }
}
