import { open, type FileHandle } from 'node:fs/promises'
import { invalidArgument } from '../../shared/errors'

/**
 * Reads the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype, shape and byte range,
 * then the raw little-endian data. Tensors are read in slices, so a multi-gigabyte model is
 * never held in memory. Parsing a header and converting slices is CPU work: the compute worker
 * (src/main/workers) does it, never a thread that answers the window.
 */

export interface TensorInfo {
  name: string
  dtype: string
  shape: number[]
  /** Absolute byte range in the file. */
  begin: number
  end: number
  elements: number
}

const BYTES_PER_ELEMENT: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  BOOL: 1
}
const MAX_HEADER_BYTES = 100 * 1024 * 1024
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

export class SafetensorsFile {
  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly tensors: Map<string, TensorInfo>,
    readonly sizeBytes: number
  ) {}

  static async open(path: string, field = 'artifact'): Promise<SafetensorsFile> {
    let handle: FileHandle
    try {
      handle = await open(path, 'r')
    } catch (error) {
      throw invalidArgument(`${field}: cannot open ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, field)
    }
    try {
      const { size } = await handle.stat()
      const lengthBytes = Buffer.alloc(8)
      await handle.read(lengthBytes, 0, 8, 0)
      const headerLength = Number(lengthBytes.readBigUInt64LE())
      if (size < 8 || headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
        throw invalidArgument(`${field}: ${path} is not a safetensors file (bad header length)`, field)
      }
      const headerBytes = Buffer.alloc(headerLength)
      await handle.read(headerBytes, 0, headerLength, 8)
      let header: Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>
      try {
        header = JSON.parse(headerBytes.toString('utf8'))
      } catch {
        throw invalidArgument(`${field}: ${path} is not a safetensors file (header is not JSON)`, field)
      }
      const dataStart = 8 + headerLength
      const tensors = new Map<string, TensorInfo>()
      for (const [name, entry] of Object.entries(header)) {
        if (name === '__metadata__') continue
        const dtype = String(entry.dtype)
        const shape = entry.shape
        const offsets = entry.data_offsets
        const width = BYTES_PER_ELEMENT[dtype]
        if (!width || !Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) {
          throw invalidArgument(`${field}: tensor ${name} in ${path} has an unsupported dtype or a malformed entry`, field)
        }
        const elements = shape.reduce((product: number, dimension: number) => product * dimension, 1)
        const begin = dataStart + Number(offsets[0])
        const end = dataStart + Number(offsets[1])
        if (end > size || end - begin !== elements * width) {
          throw invalidArgument(`${field}: tensor ${name} in ${path} does not fit its byte range`, field)
        }
        tensors.set(name, { name, dtype, shape: shape.map(Number), begin, end, elements })
      }
      return new SafetensorsFile(handle, path, tensors, size)
    } catch (error) {
      await handle.close()
      throw error
    }
  }

  /**
   * Elements [first, first + count) of a tensor: F32 and BF16 as Float32Array, everything else
   * as Float64Array (every value converted exactly). A per-element loop over megabytes: call it
   * from the compute worker, not from a thread that answers the window.
   */
  async readSlice(tensor: TensorInfo, first: number, count: number): Promise<Float64Array | Float32Array> {
    const width = BYTES_PER_ELEMENT[tensor.dtype]!
    const position = tensor.begin + first * width
    if (LITTLE_ENDIAN_HOST && (tensor.dtype === 'F32' || tensor.dtype === 'F64')) {
      // The file's layout is the host's: read straight into the result, no conversion.
      const out = tensor.dtype === 'F32' ? new Float32Array(count) : new Float64Array(count)
      await this.readFully(new Uint8Array(out.buffer), position)
      return out
    }
    const bytes = Buffer.alloc(count * width)
    await this.readFully(bytes, position)
    return decode(tensor.dtype, bytes, count)
  }

  private async readFully(into: Uint8Array, position: number): Promise<void> {
    let done = 0
    while (done < into.length) {
      const { bytesRead } = await this.handle.read(into, done, into.length - done, position + done)
      if (bytesRead === 0) throw invalidArgument(`${this.path} ended before the tensor data it declares`)
      done += bytesRead
    }
  }

  close(): Promise<void> {
    return this.handle.close()
  }
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const fraction = bits & 0x3ff
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024)
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024)
}

function bf16ToFloat(bits: number): number {
  const word = new DataView(new ArrayBuffer(4))
  word.setUint32(0, bits << 16)
  return word.getFloat32(0)
}

function decode(dtype: string, bytes: Buffer, count: number): Float64Array | Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(count)
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true)
      return out
    }
    case 'F64': {
      const out = new Float64Array(count)
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true)
      return out
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const out = new Float32Array(count)
      const words = new Uint32Array(out.buffer)
      if (LITTLE_ENDIAN_HOST) {
        const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, count)
        for (let i = 0; i < count; i++) words[i] = halves[i]! << 16
      } else {
        for (let i = 0; i < count; i++) out[i] = bf16ToFloat(view.getUint16(i * 2, true))
      }
      return out
    }
    default: {
      const out = new Float64Array(count)
      for (let i = 0; i < count; i++) {
        switch (dtype) {
          case 'F16':
            out[i] = halfToFloat(view.getUint16(i * 2, true))
            break
          case 'I64':
            out[i] = Number(view.getBigInt64(i * 8, true))
            break
          case 'U64':
            out[i] = Number(view.getBigUint64(i * 8, true))
            break
          case 'I32':
            out[i] = view.getInt32(i * 4, true)
            break
          case 'U32':
            out[i] = view.getUint32(i * 4, true)
            break
          case 'I16':
            out[i] = view.getInt16(i * 2, true)
            break
          case 'U16':
            out[i] = view.getUint16(i * 2, true)
            break
          case 'I8':
            out[i] = view.getInt8(i)
            break
          default: // U8, BOOL
            out[i] = view.getUint8(i)
        }
      }
      return out
    }
  }
}
