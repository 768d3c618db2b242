import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import type { ComparisonProgress, JsonValue, ModelVersion, TensorComparison, VersionComparison } from '../../shared/domain'
import { DomainError } from '../../shared/errors'
import { id, parseInput } from '../../shared/schemas'
import type { TensorInfo } from '../artifacts/safetensors'
import { ComputeWorker } from '../workers/compute-worker-client'
import type { PluginRegistry } from '../plugins/plugin-registry'
import type { ModelService } from './model-service'

const compareInput = z.object({ versionIdA: id, versionIdB: id }).strict()

/**
 * Elements per slice sent to a plugin. This thread serializes each slice into the plugin host's
 * channel (a few copies of it): 256K doubles, 2 MB, keeps that to a few milliseconds a call.
 */
const SLICE_ELEMENTS = 1 << 18

function localPath(uri: string): string | null {
  if (uri.startsWith('file://')) return fileURLToPath(uri)
  if (isAbsolute(uri)) return uri
  return null
}

/**
 * Compares two model versions: their performance metrics side by side and, when both artifacts
 * are local safetensors files, every tensor — L2 by the euclidean plugin, L1 by the manhattan
 * plugin, cosine distance from the L2 norms — slice by slice, so a multi-gigabyte model never
 * has to fit in memory.
 *
 * The calling thread answers the window, so it only relays: a compute worker of the
 * comparison's own parses the headers, reads and converts each slice (with its norms) and
 * transfers it here; the plugin hosts compute the distances. The next slice is read while the
 * plugins work on the current one.
 */
export class ModelComparisonService {
  private readonly running = new Set<ComputeWorker>()

  constructor(
    private readonly models: ModelService,
    private readonly plugins: PluginRegistry | undefined,
    private readonly startWorker: () => ComputeWorker = () => ComputeWorker.start()
  ) {}

  /** `signal` cancels the comparison (its worker is terminated). */
  async compareVersions(input: unknown, onProgress?: (progress: ComparisonProgress) => void, signal?: AbortSignal): Promise<VersionComparison> {
    const { versionIdA, versionIdB } = parseInput(compareInput, input)
    const [versionA, versionB] = await Promise.all([this.models.getVersion(versionIdA), this.models.getVersion(versionIdB)])
    const metrics = compareMetrics(versionA, versionB)
    const base = { versionA, versionB, metrics, tensors: null, bytesCompared: 0 }
    const pathA = localPath(versionA.artifactUri)
    const pathB = localPath(versionB.artifactUri)
    if (!pathA || !pathB || !existsSync(pathA) || !existsSync(pathB)) {
      return { ...base, tensorsUnavailable: 'both artifacts must be local files to compare weights' }
    }
    if (!pathA.endsWith('.safetensors') || !pathB.endsWith('.safetensors')) {
      return { ...base, tensorsUnavailable: 'weights are compared for safetensors files only' }
    }
    if (!this.plugins) return { ...base, tensorsUnavailable: 'the geometric plugins are not running' }
    const worker = this.startWorker()
    this.running.add(worker)
    try {
      return { ...base, ...(await this.compareTensors(worker, pathA, pathB, onProgress, signal)), tensorsUnavailable: null }
    } finally {
      this.running.delete(worker)
      // Ending the thread closes the files it opened.
      await worker.dispose()
    }
  }

  /** Cancels the comparisons still running. */
  async dispose(): Promise<void> {
    await Promise.all([...this.running].map((worker) => worker.dispose()))
  }

  private async compareTensors(
    worker: ComputeWorker,
    pathA: string,
    pathB: string,
    onProgress: ((progress: ComparisonProgress) => void) | undefined,
    signal: AbortSignal | undefined
  ): Promise<{ tensors: TensorComparison[]; bytesCompared: number }> {
    // One after the other, so a bad file A is reported as A even when B is bad too.
    const fileA = await worker.run('openSafetensors', { path: pathA, field: 'versionIdA' }, { signal })
    const fileB = await worker.run('openSafetensors', { path: pathB, field: 'versionIdB' }, { signal })
    const tensorsA = new Map(fileA.tensors.map((tensor) => [tensor.name, tensor]))
    const tensorsB = new Map(fileB.tensors.map((tensor) => [tensor.name, tensor]))
    const names = [...new Set([...tensorsA.keys(), ...tensorsB.keys()])].sort()
    const comparable = names.filter((name) => {
      const a = tensorsA.get(name)
      const b = tensorsB.get(name)
      return a && b && sameShape(a, b)
    })
    const bytesTotal = comparable.reduce((sum, name) => sum + span(tensorsA.get(name)!) + span(tensorsB.get(name)!), 0)

    const slices = comparable.flatMap((name) => {
      const elements = tensorsA.get(name)!.elements
      const count = Math.max(1, Math.ceil(elements / SLICE_ELEMENTS))
      return Array.from({ length: count }, (_, i) => ({ name, first: i * SLICE_ELEMENTS, count: Math.min(SLICE_ELEMENTS, elements - i * SLICE_ELEMENTS) }))
    })
    const read = (slice: (typeof slices)[number]) => {
      const reading = worker.run('readSlicePair', { fileIdA: fileA.fileId, fileIdB: fileB.fileId, tensor: slice.name, first: slice.first, count: slice.count }, { signal })
      // Read ahead: its failure surfaces where it is awaited, or nowhere if the loop has ended.
      reading.catch(() => undefined)
      return reading
    }
    const sums = new Map<string, { squaredL2: number; l1: number; squaredNormA: number; squaredNormB: number }>()
    let bytesDone = 0
    let next = slices.length > 0 ? read(slices[0]!) : undefined
    for (let i = 0; i < slices.length; i++) {
      const slice = slices[i]!
      const { a, b, squaredNormA, squaredNormB } = await next!
      next = i + 1 < slices.length ? read(slices[i + 1]!) : undefined
      const [l2Slice, l1Slice] = await Promise.all([this.distance('euclidean', a, b), this.distance('manhattan', a, b)])
      if (signal?.aborted) throw new DomainError('unavailable', 'the comparison was cancelled')
      const sum = sums.get(slice.name) ?? { squaredL2: 0, l1: 0, squaredNormA: 0, squaredNormB: 0 }
      sum.squaredL2 += l2Slice * l2Slice
      sum.l1 += l1Slice
      sum.squaredNormA += squaredNormA
      sum.squaredNormB += squaredNormB
      sums.set(slice.name, sum)
      const tensorA = tensorsA.get(slice.name)!
      bytesDone += (span(tensorA) + span(tensorsB.get(slice.name)!)) * (slice.count / tensorA.elements)
      onProgress?.({ bytesDone: Math.round(bytesDone), bytesTotal, tensor: slice.name })
    }

    const tensors: TensorComparison[] = names.map((name) => {
      const a = tensorsA.get(name)
      const b = tensorsB.get(name)
      const described = {
        name,
        dtypeA: a?.dtype ?? null,
        dtypeB: b?.dtype ?? null,
        shapeA: a?.shape ?? null,
        shapeB: b?.shape ?? null,
        l2: null,
        l1: null,
        cosineDistance: null
      }
      if (!a || !b) return { ...described, status: a ? 'only_in_a' : 'only_in_b', elements: (a ?? b)!.elements }
      if (!sameShape(a, b)) return { ...described, status: 'shape_changed', elements: 0 }
      const { squaredL2, l1, squaredNormA, squaredNormB } = sums.get(name) ?? { squaredL2: 0, l1: 0, squaredNormA: 0, squaredNormB: 0 }
      // ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b, so cosine follows from the three L2 sums.
      const dot = (squaredNormA + squaredNormB - squaredL2) / 2
      // √(‖a‖²‖b‖²) is exact when the norms are equal; two roots multiplied are off by an ulp.
      const product = squaredNormA * squaredNormB
      const norms = Number.isFinite(product) ? Math.sqrt(product) : Math.sqrt(squaredNormA) * Math.sqrt(squaredNormB)
      const cosineDistance =
        squaredL2 === 0 ? 0 : norms === 0 ? (squaredNormA === squaredNormB ? 0 : 1) : Math.min(2, Math.max(0, 1 - dot / norms))
      return { ...described, status: 'compared', elements: a.elements, l2: Math.sqrt(squaredL2), l1, cosineDistance }
    })
    return { tensors, bytesCompared: Math.round(bytesDone) }
  }

  private async distance(plugin: string, a: Float32Array | Float64Array, b: Float32Array | Float64Array): Promise<number> {
    try {
      return await this.plugins!.distance(plugin, a, b)
    } catch (error) {
      if (error instanceof DomainError) throw error
      throw new DomainError('unavailable', `the ${plugin} plugin could not compare the weights: ${(error as Error).message}`)
    }
  }
}

function sameShape(a: TensorInfo, b: TensorInfo): boolean {
  return a.shape.length === b.shape.length && a.shape.every((dimension, i) => dimension === b.shape[i])
}

function span(tensor: TensorInfo): number {
  return tensor.end - tensor.begin
}

function compareMetrics(a: ModelVersion, b: ModelVersion): VersionComparison['metrics'] {
  const keys = [...new Set([...Object.keys(a.performanceMetrics), ...Object.keys(b.performanceMetrics)])].sort()
  return keys.map((key) => {
    const valueA: JsonValue | null = a.performanceMetrics[key] ?? null
    const valueB: JsonValue | null = b.performanceMetrics[key] ?? null
    return { key, a: valueA, b: valueB, delta: typeof valueA === 'number' && typeof valueB === 'number' ? valueB - valueA : null }
  })
}
