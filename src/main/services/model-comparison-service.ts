import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import type { ComparisonProgress, JsonValue, ModelVersion, TensorComparison, VersionComparison } from '../../shared/domain'
import { DomainError } from '../../shared/errors'
import { id, parseInput } from '../../shared/schemas'
import { SafetensorsFile, type TensorInfo } from '../artifacts/safetensors'
import type { PluginRegistry } from '../plugins/plugin-registry'
import type { ModelService } from './model-service'

const compareInput = z.object({ versionIdA: id, versionIdB: id }).strict()

/** Elements per slice sent to a plugin: 1M doubles is 8 MB, small beside any model. */
const SLICE_ELEMENTS = 1 << 20

function localPath(uri: string): string | null {
  if (uri.startsWith('file://')) return fileURLToPath(uri)
  if (isAbsolute(uri)) return uri
  return null
}

/**
 * Compares two model versions: their performance metrics side by side and, when both artifacts
 * are local safetensors files, every tensor — L2 by the euclidean plugin, L1 by the manhattan
 * plugin, cosine distance from the L2 norms — streamed slice by slice through the plugin host
 * so a multi-gigabyte model never has to fit in memory.
 */
export class ModelComparisonService {
  constructor(
    private readonly models: ModelService,
    private readonly plugins: PluginRegistry | undefined
  ) {}

  async compareVersions(input: unknown, onProgress?: (progress: ComparisonProgress) => void): Promise<VersionComparison> {
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
    const fileA = await SafetensorsFile.open(pathA, 'versionIdA')
    try {
      const fileB = await SafetensorsFile.open(pathB, 'versionIdB')
      try {
        return { ...base, ...(await this.compareTensors(fileA, fileB, onProgress)), tensorsUnavailable: null }
      } finally {
        await fileB.close()
      }
    } finally {
      await fileA.close()
    }
  }

  private async compareTensors(
    fileA: SafetensorsFile,
    fileB: SafetensorsFile,
    onProgress?: (progress: ComparisonProgress) => void
  ): Promise<{ tensors: TensorComparison[]; bytesCompared: number }> {
    const names = [...new Set([...fileA.tensors.keys(), ...fileB.tensors.keys()])].sort()
    const comparable = names.filter((name) => {
      const a = fileA.tensors.get(name)
      const b = fileB.tensors.get(name)
      return a && b && sameShape(a, b)
    })
    const bytesTotal = comparable.reduce((sum, name) => sum + span(fileA.tensors.get(name)!) + span(fileB.tensors.get(name)!), 0)
    let bytesDone = 0
    const tensors: TensorComparison[] = []
    for (const name of names) {
      const a = fileA.tensors.get(name)
      const b = fileB.tensors.get(name)
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
      if (!a || !b) {
        tensors.push({ ...described, status: a ? 'only_in_a' : 'only_in_b', elements: (a ?? b)!.elements })
        continue
      }
      if (!sameShape(a, b)) {
        tensors.push({ ...described, status: 'shape_changed', elements: 0 })
        continue
      }
      let squaredL2 = 0
      let l1 = 0
      let squaredNormA = 0
      let squaredNormB = 0
      for (let first = 0; first < a.elements; first += SLICE_ELEMENTS) {
        const count = Math.min(SLICE_ELEMENTS, a.elements - first)
        const [sliceA, sliceB] = await Promise.all([fileA.readSlice(a, first, count), fileB.readSlice(b, first, count)])
        const zeros = new Float32Array(count)
        const [l2Slice, l1Slice, normA, normB] = await Promise.all([
          this.distance('euclidean', sliceA, sliceB),
          this.distance('manhattan', sliceA, sliceB),
          this.distance('euclidean', sliceA, zeros),
          this.distance('euclidean', sliceB, zeros)
        ])
        squaredL2 += l2Slice * l2Slice
        l1 += l1Slice
        squaredNormA += normA * normA
        squaredNormB += normB * normB
        bytesDone += (span(a) + span(b)) * (count / a.elements)
        onProgress?.({ bytesDone: Math.round(bytesDone), bytesTotal, tensor: name })
      }
      // ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b, so cosine follows from the three L2 sums.
      const dot = (squaredNormA + squaredNormB - squaredL2) / 2
      const norms = Math.sqrt(squaredNormA) * Math.sqrt(squaredNormB)
      const cosineDistance = norms === 0 ? (squaredNormA === squaredNormB ? 0 : 1) : Math.min(2, Math.max(0, 1 - dot / norms))
      tensors.push({ ...described, status: 'compared', elements: a.elements, l2: Math.sqrt(squaredL2), l1, cosineDistance })
    }
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
