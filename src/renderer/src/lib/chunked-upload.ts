import { MAX_UPLOAD_CHUNK_BYTES } from '../../../shared/artifact-browser'

/**
 * A file sent from the window to main in chunks over the contract — an artifact or a review
 * bundle: main streams the chunks to a temporary file in order and never holds the file whole.
 */

/** Chunks sent before the first is acknowledged: the next is on its way while main writes this one. */
const CHUNKS_IN_FLIGHT = 4

function toBase64(bytes: Uint8Array): string {
  let binary = ''
  // In slices: String.fromCharCode with half a million arguments overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

/**
 * Sends `file` through `sendChunk` (one contract call a chunk, at its offset, as base64),
 * reporting the bytes main has acknowledged as they go. The transport keeps the calls' order;
 * the first failure is thrown once the chunks in flight have settled.
 */
export async function sendInChunks(
  file: Blob,
  sendChunk: (offset: number, base64: string) => Promise<{ received: number }>,
  onProgress: (sentBytes: number) => void,
  signal?: AbortSignal
): Promise<void> {
  const inFlight: Array<Promise<unknown>> = []
  let acknowledged = 0
  for (let offset = 0; offset < file.size; offset += MAX_UPLOAD_CHUNK_BYTES) {
    if (signal?.aborted) throw new DOMException('the upload was cancelled', 'AbortError')
    const chunk = new Uint8Array(await file.slice(offset, offset + MAX_UPLOAD_CHUNK_BYTES).arrayBuffer())
    const sent = sendChunk(offset, toBase64(chunk)).then(({ received }) => {
      acknowledged = Math.max(acknowledged, received)
      onProgress(acknowledged)
    })
    // Awaited below; this keeps a failure of a later chunk, after an earlier one failed, from being unhandled.
    sent.catch(() => undefined)
    inFlight.push(sent)
    if (inFlight.length >= CHUNKS_IN_FLIGHT) await inFlight.shift()
  }
  await Promise.all(inFlight)
}
