import { writeFileSync } from 'node:fs'

/** Writes a small safetensors file (F32 / F16 tensors) for tests. */
export function writeSafetensors(path: string, tensors: Record<string, { dtype: 'F32' | 'F16' | 'F64'; shape: number[]; data: number[] | Float32Array }>): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } }
  const chunks: Buffer[] = []
  let offset = 0
  for (const [name, tensor] of Object.entries(tensors)) {
    const width = tensor.dtype === 'F64' ? 8 : tensor.dtype === 'F32' ? 4 : 2
    const bytes = Buffer.alloc(tensor.data.length * width)
    if (tensor.dtype === 'F32' && tensor.data instanceof Float32Array && new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) {
      // Large test tensors: the array's bytes are the file's (little-endian host), no per-value loop.
      bytes.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, bytes.length))
    } else {
      Array.from(tensor.data).forEach((value, i) => {
        if (tensor.dtype === 'F64') bytes.writeDoubleLE(value, i * 8)
        else if (tensor.dtype === 'F32') bytes.writeFloatLE(value, i * 4)
        else bytes.writeUInt16LE(toHalf(value), i * 2)
      })
    }
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes.length] }
    chunks.push(bytes)
    offset += bytes.length
  }
  const headerBytes = Buffer.from(JSON.stringify(header))
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(headerBytes.length))
  writeFileSync(path, Buffer.concat([length, headerBytes, ...chunks]))
}

/** float → IEEE half (values used in tests are exactly representable). */
function toHalf(value: number): number {
  const view = new DataView(new ArrayBuffer(4))
  view.setFloat32(0, value)
  const bits = view.getUint32(0)
  const sign = (bits >>> 16) & 0x8000
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15
  const mantissa = (bits >>> 13) & 0x3ff
  if (exponent <= 0) return sign
  if (exponent >= 0x1f) return sign | 0x7c00
  return sign | (exponent << 10) | mantissa
}
