import { open } from 'node:fs/promises'
import { createBLAKE3 } from 'hash-wasm'
import { invalidArgument } from '../../shared/errors'
import { SafetensorsFile, type TensorInfo } from '../artifacts/safetensors'

/**
 * The CPU-heavy jobs main hands to the compute worker (compute-worker.ts runs them there):
 * hashing whole files, parsing safetensors headers, reading and converting tensor slices.
 * Each job takes plain data, may report progress, and returns its result with the buffers to
 * transfer rather than copy.
 */

export interface JobOutput<Result> {
  result: Result
  transfer?: ArrayBuffer[]
}

type Job<Input, Result, Progress = never> = (input: Input, progress: (value: Progress) => void) => Promise<JobOutput<Result>>

const job = <Input, Result, Progress = never>(run: Job<Input, Result, Progress>): Job<Input, Result, Progress> => run

/** Bytes per read, and between progress reports, while hashing. */
const HASH_CHUNK_BYTES = 1 << 20
const HASH_PROGRESS_BYTES = 16 << 20

/** Safetensors files opened by this worker, by id; they close when the worker ends. */
const openFiles = new Map<number, SafetensorsFile>()
let nextFileId = 1

function openFile(fileId: number): SafetensorsFile {
  const file = openFiles.get(fileId)
  if (!file) throw new Error(`no open safetensors file ${fileId}`)
  return file
}

function tensorOf(file: SafetensorsFile, name: string): TensorInfo {
  const tensor = file.tensors.get(name)
  if (!tensor) throw invalidArgument(`${file.path} has no tensor ${name}`)
  return tensor
}

function squaredNorm(values: Float32Array | Float64Array): number {
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!
  return sum
}

export const computeJobs = {
  /** BLAKE3 of a whole file, read 1 MB at a time. */
  blake3File: job<{ path: string }, { blake3: string; sizeBytes: number }, { bytesDone: number; bytesTotal: number }>(async ({ path }, progress) => {
    const handle = await open(path, 'r')
    try {
      const { size } = await handle.stat()
      const hasher = await createBLAKE3()
      hasher.init()
      const chunk = Buffer.allocUnsafe(HASH_CHUNK_BYTES)
      let done = 0
      let reported = 0
      for (;;) {
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, null)
        if (bytesRead === 0) break
        hasher.update(chunk.subarray(0, bytesRead))
        done += bytesRead
        if (done - reported >= HASH_PROGRESS_BYTES) {
          reported = done
          progress({ bytesDone: done, bytesTotal: size })
        }
      }
      return { result: { blake3: hasher.digest('hex'), sizeBytes: done } }
    } finally {
      await handle.close()
    }
  }),

  /** Parses a safetensors header; errors name `field`. The file stays open for readSlicePair. */
  openSafetensors: job<{ path: string; field: string }, { fileId: number; tensors: TensorInfo[]; sizeBytes: number }>(async ({ path, field }) => {
    const file = await SafetensorsFile.open(path, field)
    const fileId = nextFileId++
    openFiles.set(fileId, file)
    return { result: { fileId, tensors: [...file.tensors.values()], sizeBytes: file.sizeBytes } }
  }),

  /**
   * Elements [first, first + count) of one tensor from two files, converted to floats, with
   * each slice's squared L2 norm (for cosine distance without a third pass).
   */
  readSlicePair: job<
    { fileIdA: number; fileIdB: number; tensor: string; first: number; count: number },
    { a: Float32Array | Float64Array; b: Float32Array | Float64Array; squaredNormA: number; squaredNormB: number }
  >(async ({ fileIdA, fileIdB, tensor, first, count }) => {
    const fileA = openFile(fileIdA)
    const fileB = openFile(fileIdB)
    const [a, b] = await Promise.all([fileA.readSlice(tensorOf(fileA, tensor), first, count), fileB.readSlice(tensorOf(fileB, tensor), first, count)])
    return {
      result: { a, b, squaredNormA: squaredNorm(a), squaredNormB: squaredNorm(b) },
      transfer: [a.buffer as ArrayBuffer, b.buffer as ArrayBuffer]
    }
  }),

  closeSafetensors: job<{ fileId: number }, null>(async ({ fileId }) => {
    const file = openFiles.get(fileId)
    openFiles.delete(fileId)
    await file?.close()
    return { result: null }
  })
}

export type ComputeJobs = typeof computeJobs
export type JobName = keyof ComputeJobs
export type JobInput<Name extends JobName> = Parameters<ComputeJobs[Name]>[0]
export type JobResult<Name extends JobName> = Awaited<ReturnType<ComputeJobs[Name]>>['result']
export type JobProgress<Name extends JobName> = Parameters<Parameters<ComputeJobs[Name]>[1]>[0]
