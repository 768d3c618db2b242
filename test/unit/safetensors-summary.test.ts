import { describe, expect, it } from 'vitest'
import { summarizeSafetensors } from '../../src/main/artifacts/safetensors-summary'

/** A safetensors file's bytes: the 8-byte header length, the header, then `dataBytes` of data. */
function file(header: unknown, dataBytes: number, headerText = JSON.stringify(header)): Buffer {
  const json = Buffer.from(headerText)
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(json.length))
  return Buffer.concat([length, json, Buffer.alloc(dataBytes)])
}

const summarize = (bytes: Buffer) => summarizeSafetensors('m.safetensors', bytes.length, async (start, end) => bytes.subarray(start, end))

describe('a safetensors header as the artifact browser shows it', () => {
  it('lists tensors by name with dtype, shape and byte size, and the metadata, reading only the header', async () => {
    const bytes = file({ __metadata__: { format: 'pt' }, 'b.bias': { dtype: 'BF16', shape: [4], data_offsets: [24, 32] }, 'a.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] } }, 32)
    const reads: Array<[number, number]> = []
    const summary = await summarizeSafetensors('m.safetensors', bytes.length, async (start, end) => {
      reads.push([start, end])
      return bytes.subarray(start, end)
    })
    expect(summary.tensors).toEqual([
      { name: 'a.weight', dtype: 'F32', shape: [2, 3], sizeBytes: 24 },
      { name: 'b.bias', dtype: 'BF16', shape: [4], sizeBytes: 8 }
    ])
    expect(summary.metadata).toEqual({ format: 'pt' })
    expect(reads.every(([, end]) => end <= 8 + summary.headerBytes)).toBe(true)
  })

  it.each([
    ['a file shorter than its length field', Buffer.alloc(4), /shorter than its 8-byte header length/],
    ['a header length past the end', Buffer.concat([Buffer.from([255, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(10)]), /does not fit/],
    ['a header that is not JSON', file(null, 0, '{not json'), /not UTF-8 JSON/],
    ['a header that is an array', file([1, 2], 0), /not a JSON object/],
    ['a tensor without offsets', file({ t: { dtype: 'F32', shape: [1] } }, 4), /no valid dtype, shape and data_offsets/],
    ['a tensor past the data', file({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /ends past the file's data/]
  ])('refuses %s, naming the path field', async (_what, bytes, message) => {
    await expect(summarize(bytes)).rejects.toMatchObject({ code: 'invalid_argument', field: 'path', message: expect.stringMatching(message) })
  })
})
