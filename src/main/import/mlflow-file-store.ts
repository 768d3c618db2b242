import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import {
  RUN_STATUS_BY_NUMBER,
  modelIdOfSource,
  parseMetricValue,
  type MlflowDatasetInput,
  type MlflowImportExperiment,
  type MlflowImportLoggedModel,
  type MlflowImportModelVersion,
  type MlflowImportRegisteredModel,
  type MlflowImportRun,
  type MlflowMetricPoint,
  type MlflowStoreSnapshot
} from './mlflow-records'

/**
 * Reads an MLflow file store (an mlruns/ folder) as the mlflow client writes it: meta.yaml per
 * experiment, run, dataset, logged model and registry entry; one file per param, tag and
 * metric (a key with "/" is a sub-folder); metric lines "<timestamp_ms> <value> <step>".
 * Folders the client leaves empty may be missing (git keeps no empty folder): missing is empty.
 */

type Yaml = Record<string, unknown>

function readYaml(path: string): Yaml {
  const parsed: unknown = parseYaml(readFileSync(path, 'utf8'))
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${path}: not a YAML mapping`)
  return parsed as Yaml
}

const isDir = (path: string): boolean => existsSync(path) && statSync(path).isDirectory()

const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value))
const num = (value: unknown): number | null => (value === null || value === undefined || value === '' ? null : Number(value))

/** Files under a folder, recursively, named by their path relative to it with "/" (the MLflow key). */
function keyFiles(dir: string, prefix = ''): { key: string; path: string }[] {
  if (!isDir(dir)) return []
  const found: { key: string; path: string }[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const key = prefix + entry.name
    if (entry.isDirectory()) found.push(...keyFiles(join(dir, entry.name), `${key}/`))
    else if (entry.isFile()) found.push({ key, path: join(dir, entry.name) })
  }
  return found
}

/** Params and tags: the file's whole content is the value (the client writes no newline). */
function keyValues(dir: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const { key, path } of keyFiles(dir)) values[key] = readFileSync(path, 'utf8')
  return values
}

/** Metric files: one point a line, kept in file order (duplicates included, as MLflow keeps them). */
function metricPoints(dir: string): (MlflowMetricPoint & { runId: string | null })[] {
  const points: (MlflowMetricPoint & { runId: string | null })[] = []
  for (const { key, path } of keyFiles(dir)) {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line.trim() === '') continue
      const [timestamp, value, step, runId] = line.trim().split(/\s+/)
      if (timestamp === undefined || value === undefined) throw new Error(`${path}: not a metric line: ${JSON.stringify(line)}`)
      points.push({ key, value: parseMetricValue(value), timestampMs: Number(timestamp), step: BigInt(step ?? '0'), runId: runId ?? null })
    }
  }
  return points
}

const isNumericId = (name: string): boolean => /^\d+$/.test(name)

function readDatasets(experimentDir: string): Map<string, Yaml> {
  const datasets = new Map<string, Yaml>()
  const dir = join(experimentDir, 'datasets')
  if (!isDir(dir)) return datasets
  for (const id of readdirSync(dir)) {
    const meta = join(dir, id, 'meta.yaml')
    if (existsSync(meta)) datasets.set(id, readYaml(meta))
  }
  return datasets
}

function readRun(runDir: string, experimentId: string, deletedExperiment: boolean, datasets: Map<string, Yaml>): MlflowImportRun {
  const meta = readYaml(join(runDir, 'meta.yaml'))
  const runId = String(meta.run_id ?? meta.run_uuid)
  const status = RUN_STATUS_BY_NUMBER[Number(meta.status)] ?? 'FINISHED'
  const tags = keyValues(join(runDir, 'tags'))
  const datasetInputs: MlflowDatasetInput[] = []
  const inputsDir = join(runDir, 'inputs')
  if (isDir(inputsDir)) {
    for (const id of readdirSync(inputsDir).sort()) {
      const link = readYaml(join(inputsDir, id, 'meta.yaml'))
      const dataset = datasets.get(String(link.source_id))
      if (!dataset) continue
      datasetInputs.push({
        name: String(dataset.name),
        digest: String(dataset.digest),
        sourceType: String(dataset.source_type),
        source: String(dataset.source),
        schema: text(dataset.schema),
        profile: text(dataset.profile),
        tags: Object.fromEntries(Object.entries((link.tags as Yaml | null) ?? {}).map(([key, value]) => [key, String(value)]))
      })
    }
  }
  const modelOutputs: { modelId: string; step: bigint }[] = []
  const outputsDir = join(runDir, 'outputs')
  if (isDir(outputsDir)) {
    for (const id of readdirSync(outputsDir).sort()) {
      const link = readYaml(join(outputsDir, id, 'meta.yaml'))
      modelOutputs.push({ modelId: String(link.source_id ?? id), step: BigInt(String(link.step ?? 0)) })
    }
  }
  const artifactDir = join(runDir, 'artifacts')
  return {
    runId,
    experimentId,
    name: text(meta.run_name) || tags['mlflow.runName'] || runId,
    status,
    startTime: num(meta.start_time),
    endTime: num(meta.end_time),
    deleted: deletedExperiment || meta.lifecycle_stage === 'deleted',
    userId: text(meta.user_id),
    artifactUri: String(meta.artifact_uri ?? ''),
    artifactDir: isDir(artifactDir) ? artifactDir : null,
    params: keyValues(join(runDir, 'params')),
    tags,
    metrics: metricPoints(join(runDir, 'metrics')).map(({ key, value, timestampMs, step }) => ({ key, value, timestampMs, step })),
    datasetInputs,
    modelOutputs
  }
}

function readExperiment(dir: string, inTrash: boolean): { experiment: MlflowImportExperiment; loggedModels: MlflowImportLoggedModel[] } {
  const meta = readYaml(join(dir, 'meta.yaml'))
  const experimentId = String(meta.experiment_id)
  const deleted = inTrash || meta.lifecycle_stage === 'deleted'
  const datasets = readDatasets(dir)
  const runs: MlflowImportRun[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !/^[0-9a-f]{32}$/.test(entry.name)) continue
    if (!existsSync(join(dir, entry.name, 'meta.yaml'))) continue
    runs.push(readRun(join(dir, entry.name), experimentId, deleted, datasets))
  }
  runs.sort((a, b) => (a.startTime ?? 0) - (b.startTime ?? 0) || (a.runId < b.runId ? -1 : 1))
  const loggedModels: MlflowImportLoggedModel[] = []
  const modelsDir = join(dir, 'models')
  if (isDir(modelsDir)) {
    for (const id of readdirSync(modelsDir).sort()) {
      const modelDir = join(modelsDir, id)
      if (!existsSync(join(modelDir, 'meta.yaml'))) continue
      const model = readYaml(join(modelDir, 'meta.yaml'))
      const artifactDir = join(modelDir, 'artifacts')
      loggedModels.push({
        modelId: String(model.model_id),
        experimentId,
        name: String(model.name),
        modelType: text(model.model_type),
        sourceRunId: text(model.source_run_id),
        // LoggedModelStatus: 1 PENDING, 2 READY, 3 FAILED
        status: ({ 1: 'LOGGED_MODEL_PENDING', 2: 'LOGGED_MODEL_READY', 3: 'LOGGED_MODEL_UPLOAD_FAILED' } as Record<number, string>)[Number(model.status)] ?? 'LOGGED_MODEL_READY',
        tags: keyValues(join(modelDir, 'tags')),
        params: keyValues(join(modelDir, 'params')),
        metrics: metricPoints(join(modelDir, 'metrics')).map((point) => ({ ...point, datasetName: null, datasetDigest: null })),
        artifactLocation: String(model.artifact_location ?? ''),
        artifactDir: isDir(artifactDir) ? artifactDir : null
      })
    }
  }
  return {
    experiment: {
      experimentId,
      name: String(meta.name),
      deleted,
      artifactLocation: String(meta.artifact_location ?? ''),
      creationTime: num(meta.creation_time),
      lastUpdateTime: num(meta.last_update_time),
      tags: keyValues(join(dir, 'tags')),
      runs
    },
    loggedModels
  }
}

function readRegisteredModels(root: string): MlflowImportRegisteredModel[] {
  const dir = join(root, 'models')
  if (!isDir(dir)) return []
  const models: MlflowImportRegisteredModel[] = []
  for (const { key: name, path } of keyFiles(dir).filter((file) => file.key.endsWith('/meta.yaml') && !/\/version-\d+\/meta\.yaml$/.test(file.key))) {
    const modelDir = path.slice(0, -'/meta.yaml'.length)
    const meta = readYaml(path)
    const aliases: Record<string, number> = {}
    for (const [alias, version] of Object.entries((meta.aliases as Yaml | null) ?? {})) aliases[alias] = Number(version)
    for (const [alias, version] of Object.entries(keyValues(join(modelDir, 'aliases')))) aliases[alias] = Number(version.trim())
    const versions: MlflowImportModelVersion[] = []
    for (const entry of readdirSync(modelDir)) {
      if (!/^version-\d+$/.test(entry)) continue
      const version = readYaml(join(modelDir, entry, 'meta.yaml'))
      const source = String(version.source ?? '')
      versions.push({
        version: Number(version.version),
        source,
        runId: text(version.run_id) || null,
        status: String(version.status ?? 'READY'),
        currentStage: String(version.current_stage ?? 'None'),
        description: text(version.description),
        tags: keyValues(join(modelDir, entry, 'tags')),
        modelId: text(version.model_id) ?? modelIdOfSource(source),
        runLink: text(version.run_link) || null,
        creationTimestamp: num(version.creation_timestamp)
      })
    }
    versions.sort((a, b) => a.version - b.version)
    models.push({ name: String(meta.name ?? name.slice(0, -'/meta.yaml'.length)), description: text(meta.description), tags: keyValues(join(modelDir, 'tags')), aliases, versions })
  }
  return models
}

export function isMlflowFileStore(path: string): boolean {
  return isDir(path) && (existsSync(join(path, '0', 'meta.yaml')) || readdirSync(path).some((name) => isNumericId(name) && existsSync(join(path, name, 'meta.yaml'))))
}

/** The whole store. Experiments under .trash are deleted ones (MLflow moves them there). */
export function readMlflowFileStore(root: string): MlflowStoreSnapshot {
  if (!isDir(root)) throw new Error(`${root}: not a folder`)
  const experiments: MlflowImportExperiment[] = []
  const loggedModels: MlflowImportLoggedModel[] = []
  const add = (dir: string, inTrash: boolean): void => {
    for (const name of readdirSync(dir)) {
      if (!isNumericId(name) || !existsSync(join(dir, name, 'meta.yaml'))) continue
      const read = readExperiment(join(dir, name), inTrash)
      experiments.push(read.experiment)
      loggedModels.push(...read.loggedModels)
    }
  }
  add(root, false)
  if (isDir(join(root, '.trash'))) add(join(root, '.trash'), true)
  experiments.sort((a, b) => (a.creationTime ?? 0) - (b.creationTime ?? 0) || (a.experimentId < b.experimentId ? -1 : 1))
  return { kind: 'file', location: root, experiments, loggedModels, registeredModels: readRegisteredModels(root) }
}
