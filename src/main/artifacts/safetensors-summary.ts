import type { SafetensorsSummary, SafetensorsTensorRow } from '../../shared/artifact-browser'
import { invalidArgument } from '../../shared/errors'

/**
 * A safetensors file's table of tensors (name, dtype, shape, byte size) from its header alone:
 * the 8-byte little-endian header length, then the JSON header. No tensor data is read, so a
 * multi-gigabyte model costs two small reads. The header is bounded (a preview needs no more;
 * SafetensorsFile, which reads weights, allows 100 MiB).
 */
export const MAX_PREVIEW_HEADER_BYTES = 16 * 1024 * 1024

/** Reads bytes [start, end) of the file. */
export type ReadRange = (start: number, end: number) => Promise<Uint8Array>

export async function summarizeSafetensors(path: string, sizeBytes: number, read: ReadRange): Promise<SafetensorsSummary> {
  const notSafetensors = (why: string): never => {
    throw invalidArgument(`path: ${path} is not a safetensors file (${why})`, 'path')
  }
  if (sizeBytes < 8) notSafetensors('shorter than its 8-byte header length')
  const lengthBytes = await read(0, 8)
  const headerLength = Number(new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true))
  if (headerLength <= 0 || 8 + headerLength > sizeBytes) notSafetensors(`its header length ${headerLength} does not fit the file's ${sizeBytes} bytes`)
  if (headerLength > MAX_PREVIEW_HEADER_BYTES) {
    throw invalidArgument(`path: the header of ${path} is ${headerLength} bytes, more than the ${MAX_PREVIEW_HEADER_BYTES} a preview reads`, 'path')
  }
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await read(8, 8 + headerLength)))
  } catch {
    notSafetensors('its header is not UTF-8 JSON')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) notSafetensors('its header is not a JSON object')
  const dataBytes = sizeBytes - 8 - headerLength
  const tensors: SafetensorsTensorRow[] = []
  let metadata: Record<string, string> = {}
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry === 'object' && entry !== null) metadata = Object.fromEntries(Object.entries(entry).map(([key, value]) => [key, String(value)]))
      continue
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    const validShape = Array.isArray(shape) && shape.every((dimension) => Number.isSafeInteger(dimension) && (dimension as number) >= 0)
    const validOffsets =
      Array.isArray(offsets) && offsets.length === 2 && offsets.every((offset) => Number.isSafeInteger(offset) && (offset as number) >= 0) && offsets[0] <= offsets[1]
    if (typeof dtype !== 'string' || !validShape || !validOffsets) notSafetensors(`tensor ${JSON.stringify(name)} has no valid dtype, shape and data_offsets`)
    const [begin, end] = offsets as [number, number]
    if (end > dataBytes) notSafetensors(`tensor ${JSON.stringify(name)} ends past the file's data`)
    tensors.push({ name, dtype: dtype as string, shape: shape as number[], sizeBytes: end - begin })
  }
  tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { path, sizeBytes, headerBytes: headerLength, tensors, metadata }
}
