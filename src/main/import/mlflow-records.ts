/**
 * What an MLflow tracking store holds, as the readers (file store, SQL store, REST server) hand
 * it to the importer: one shape for all, so the importer maps it once.
 */

export type MlflowRunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED'

export interface MlflowMetricPoint {
  key: string
  /** Exact as stored: NaN, ±Infinity and -0 survive (the SQLite store has no -0 or Inf to give). */
  value: number
  timestampMs: number
  step: bigint
}

export interface MlflowDatasetInput {
  name: string
  digest: string
  sourceType: string
  source: string
  schema: string | null
  profile: string | null
  tags: Record<string, string>
}

export interface MlflowImportRun {
  runId: string
  /** The store's own experiment id (not Hypercube's). */
  experimentId: string
  name: string
  status: MlflowRunStatus
  startTime: number | null
  endTime: number | null
  deleted: boolean
  userId: string | null
  /** As the store recorded it (an absolute path of the machine that wrote it). */
  artifactUri: string
  /** Where the run's artifacts are in the store being read; null when it has none. */
  artifactDir: string | null
  params: Record<string, string>
  tags: Record<string, string>
  metrics: MlflowMetricPoint[]
  datasetInputs: MlflowDatasetInput[]
  modelOutputs: { modelId: string; step: bigint }[]
}

export interface MlflowImportExperiment {
  experimentId: string
  name: string
  deleted: boolean
  artifactLocation: string
  creationTime: number | null
  lastUpdateTime: number | null
  tags: Record<string, string>
  runs: MlflowImportRun[]
}

export interface MlflowImportLoggedModel {
  modelId: string
  experimentId: string
  name: string
  modelType: string | null
  sourceRunId: string | null
  status: string
  tags: Record<string, string>
  params: Record<string, string>
  metrics: (MlflowMetricPoint & { runId: string | null; datasetName: string | null; datasetDigest: string | null })[]
  artifactLocation: string
  artifactDir: string | null
}

export interface MlflowImportModelVersion {
  version: number
  source: string
  runId: string | null
  status: string
  currentStage: string
  description: string | null
  tags: Record<string, string>
  /** The logged model a models:/<id> source names (the SQL registry keeps it only in the source). */
  modelId: string | null
  runLink: string | null
  creationTimestamp: number | null
}

export interface MlflowImportRegisteredModel {
  name: string
  description: string | null
  tags: Record<string, string>
  aliases: Record<string, number>
  versions: MlflowImportModelVersion[]
}

/** A whole store, read. Metric points are held in memory: see the README's limits. */
export interface MlflowStoreSnapshot {
  kind: 'file' | 'sqlite' | 'postgresql' | 'rest'
  location: string
  experiments: MlflowImportExperiment[]
  loggedModels: MlflowImportLoggedModel[]
  registeredModels: MlflowImportRegisteredModel[]
  /** Removes what reading left on disk (a server's artifacts, downloaded): call after the import. */
  dispose?: () => Promise<void>
}

export const RUN_STATUS_BY_NUMBER: Record<number, MlflowRunStatus> = { 1: 'RUNNING', 2: 'SCHEDULED', 3: 'FINISHED', 4: 'FAILED', 5: 'KILLED' }

/** A metric value as Python's str() writes it ("nan", "inf", "-inf", "-0.0", "1e+300"). */
export function parseMetricValue(text: string): number {
  switch (text.toLowerCase()) {
    case 'nan':
      return NaN
    case 'inf':
    case '+inf':
    case 'infinity':
      return Infinity
    case '-inf':
    case '-infinity':
      return -Infinity
  }
  const value = Number(text)
  if (text.trim() === '' || Number.isNaN(value)) throw new Error(`not a metric value: ${JSON.stringify(text)}`)
  return value
}

/** The logged model a "models:/<model_id>" source names; null for any other source. */
export function modelIdOfSource(source: string): string | null {
  const match = /^models:\/(m-[0-9a-f]{32})$/.exec(source)
  return match ? match[1]! : null
}
