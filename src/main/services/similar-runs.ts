// "Similar runs": runs as feature vectors, compared by a geometric plugin in its host.
import { toDomainError } from '../plugins/plugin-errors'
import type { PluginRegistry } from '../plugins/plugin-registry'
import { DomainError } from '../../shared/errors'

export interface RunFeatureInput {
  runId: number
  /** Hyperparameters as logged (MLflow logs them as strings: '0.001' counts as a number). */
  params: Record<string, unknown>
  /** Final (latest) value of each metric. */
  metrics: Record<string, number>
}

export interface RunFeatureVectors {
  dim: number
  /** Column names: `params.<key>`, `params.<key>=<value>` (one-hot) and `metrics.<key>`. */
  keys: string[]
  /** runIds.length × dim values, row-major, each in [0, 1]. */
  vectors: Float64Array
  runIds: number[]
}

/** A categorical parameter with more distinct values than this is an identifier, not a feature. */
export const MAX_CATEGORIES = 20

/** The value given to a missing numeric feature: the middle of [0, 1], neutral to every run. */
export const MISSING_VALUE = 0.5

function numericValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value.trim())
    return Number.isFinite(parsed) ? parsed : undefined
  }
  return undefined
}

/**
 * Builds one feature vector per run, the input of nearestRuns and distanceMatrix:
 *
 * - A parameter whose values (where present) are all numeric — numbers, numeric strings such
 *   as '0.001', booleans as 0/1 — is one column, min-max normalised to [0, 1] over the runs.
 * - Any other parameter is categorical: one-hot columns `params.<key>=<value>` (1 for the
 *   run's value, 0 otherwise, all 0 when missing), if it has at most 20 distinct values;
 *   beyond that (run names, paths, seeds as strings) it is ignored.
 * - Each final metric is one column, min-max normalised to [0, 1]; NaN and ±Inf count as
 *   missing (a plugin would turn any non-finite coordinate into a NaN distance).
 * - A missing numeric value is 0.5 (MISSING_VALUE).
 * - A numeric column with a single distinct value carries no information and is dropped, as
 *   is a one-hot column that is 1 for every run.
 * - Columns are sorted by name, so the same runs always give the same layout.
 */
export function buildRunFeatureVectors(runs: RunFeatureInput[]): RunFeatureVectors {
  const numericColumns = new Map<string, Array<number | undefined>>()
  const paramValues = new Map<string, Array<unknown>>()
  runs.forEach((run, row) => {
    for (const [key, value] of Object.entries(run.params)) {
      if (value === null || value === undefined) continue
      let column = paramValues.get(key)
      if (!column) paramValues.set(key, (column = new Array<unknown>(runs.length).fill(undefined)))
      column[row] = value
    }
    for (const [key, value] of Object.entries(run.metrics)) {
      const name = `metrics.${key}`
      let column = numericColumns.get(name)
      if (!column) numericColumns.set(name, (column = new Array<number | undefined>(runs.length).fill(undefined)))
      column[row] = numericValue(value)
    }
  })

  const oneHotColumns = new Map<string, number[]>()
  for (const [key, values] of paramValues) {
    const present = values.filter((value) => value !== undefined)
    if (present.every((value) => numericValue(value) !== undefined)) {
      numericColumns.set(`params.${key}`, values.map((value) => (value === undefined ? undefined : numericValue(value))))
      continue
    }
    const categories = new Set(present.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))))
    if (categories.size > MAX_CATEGORIES) continue
    for (const category of categories) {
      const column = values.map((value) =>
        value !== undefined && (typeof value === 'string' ? value : JSON.stringify(value)) === category ? 1 : 0
      )
      if (column.every((bit) => bit === 1)) continue
      oneHotColumns.set(`params.${key}=${category}`, column)
    }
  }

  const columns: Array<{ key: string; values: number[] }> = []
  for (const [key, values] of numericColumns) {
    let min = Infinity
    let max = -Infinity
    for (const value of values) {
      if (value === undefined) continue
      if (value < min) min = value
      if (value > max) max = value
    }
    if (!(max > min)) continue
    const range = max - min
    columns.push({ key, values: values.map((value) => (value === undefined ? MISSING_VALUE : (value - min) / range)) })
  }
  for (const [key, values] of oneHotColumns) columns.push({ key, values })
  columns.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))

  const dim = columns.length
  const vectors = new Float64Array(runs.length * dim)
  columns.forEach((column, c) => {
    for (let row = 0; row < runs.length; row++) vectors[row * dim + c] = column.values[row]
  })
  return { dim, keys: columns.map((column) => column.key), vectors, runIds: runs.map((run) => run.runId) }
}

export interface SimilarRun {
  runId: number
  distance: number
}

export interface RunDistanceMatrix {
  runIds: number[]
  /** runIds.length² distances, row-major: matrix[i * n + j] = d(run i, run j). */
  matrix: Float64Array
  keys: string[]
}

export interface SimilarRunsServiceOptions {
  registry: PluginRegistry
  loadRuns: (experimentId: number) => Promise<RunFeatureInput[]>
}

// Errors are DomainErrors so every transport reports them with their code and field.
function similarRunsError(code: 'run_not_found' | 'no_features' | 'invalid_argument', message: string): DomainError {
  switch (code) {
    case 'run_not_found':
      return new DomainError('not_found', message, 'runId')
    case 'no_features':
      return new DomainError('conflict', message, 'experimentId')
    default:
      return new DomainError('invalid_argument', message)
  }
}

/**
 * Nearest runs and distance matrices over run feature vectors (see buildRunFeatureVectors),
 * computed by the chosen geometric plugin in its host process. Vectors are normalised over
 * the experiment's runs, so distances compare runs of one experiment.
 */
export class SimilarRunsService {
  constructor(private readonly options: SimilarRunsServiceOptions) {}

  /** A plugin that crashed or timed out is unavailable (503) to the caller, never a bug (500). */
  private async plugin<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (error) {
      throw toDomainError(error)
    }
  }

  private async features(experimentId: number): Promise<RunFeatureVectors> {
    const features = buildRunFeatureVectors(await this.options.loadRuns(experimentId))
    if (features.dim === 0) {
      throw similarRunsError('no_features', `the runs of experiment ${experimentId} have no parameters or metrics that differ between them`)
    }
    return features
  }

  /** The k runs nearest to `runId` (itself excluded), nearest first. */
  async nearestRuns(experimentId: number, runId: number, pluginName: string, k: number): Promise<SimilarRun[]> {
    if (!Number.isInteger(k) || k < 1) throw similarRunsError('invalid_argument', `k must be a positive integer, got ${k}`)
    const features = await this.features(experimentId)
    const row = features.runIds.indexOf(runId)
    if (row < 0) throw similarRunsError('run_not_found', `run ${runId} is not in experiment ${experimentId}`)
    const others = features.runIds.length - 1
    if (others === 0) return []
    const { dim, vectors } = features
    const query = vectors.slice(row * dim, (row + 1) * dim)
    // k + 1: the run itself is among the points (another run may tie with it at distance 0).
    const nearest = await this.plugin(() => this.options.registry.knn(pluginName, query, vectors, dim, Math.min(k + 1, features.runIds.length)))
    const result: SimilarRun[] = []
    for (let i = 0; i < nearest.indices.length && result.length < k; i++) {
      const candidate = features.runIds[nearest.indices[i]]
      if (candidate !== runId) result.push({ runId: candidate, distance: nearest.distances[i] })
    }
    return result
  }

  /** Pairwise distances between the given runs of one experiment. */
  async distanceMatrix(experimentId: number, runIds: number[], pluginName: string): Promise<RunDistanceMatrix> {
    if (runIds.length === 0) throw similarRunsError('invalid_argument', 'runIds is empty')
    const features = await this.features(experimentId)
    const { dim, vectors } = features
    const rows = runIds.map((runId) => {
      const row = features.runIds.indexOf(runId)
      if (row < 0) throw similarRunsError('run_not_found', `run ${runId} is not in experiment ${experimentId}`)
      return row
    })
    const points = new Float64Array(rows.length * dim)
    rows.forEach((row, i) => points.set(vectors.subarray(row * dim, (row + 1) * dim), i * dim))
    const n = rows.length
    const matrix = new Float64Array(n * n)
    for (let i = 0; i < n; i++) {
      const distances = await this.plugin(() => this.options.registry.distances(pluginName, points.slice(i * dim, (i + 1) * dim), points, dim))
      matrix.set(distances, i * n)
    }
    return { runIds: [...runIds], matrix, keys: features.keys }
  }
}

