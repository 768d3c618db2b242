import { randomBytes } from 'node:crypto'
import type { MetricPoint, RunStatus, Tags } from '../../shared/domain'
import { isDomainError } from '../../shared/errors'
import { parseRunFilter, RUN_FILTER_DIALECT, type FilterExpression, type RunOrder } from '../../shared/run-filter'
import { LIMITS, MAX_TIMESTAMP_MS } from '../../shared/schemas'
import {
  RUN_STATUS_TO_MLFLOW,
  paramText,
  type DatasetInputRecord,
  type LatestMetric,
  type LoggedModelRecord,
  type MlflowExperimentRecord,
  type MlflowRunDetails,
  type MlflowRunRecord,
  type ModelVersionRecord,
  PgMlflowRepository,
  type RegisteredModelRecord
} from '../repositories/mlflow-repository'
import { decodePageToken, encodePageToken, orderTerms, parseOrderBy, parseSearchFilter, searchExpression } from './mlflow-search'
import type { ExperimentService } from './experiment-service'
import {
  aliasBody,
  createExperimentBody,
  createLoggedModelBody,
  createModelVersionBody,
  createRegisteredModelBody,
  deleteModelVersionTagBody,
  experimentBody,
  deleteRegisteredModelTagBody,
  finalizeLoggedModelBody,
  latestVersionsBody,
  logInputsBody,
  loggedModelParamsBody,
  loggedModelTagsBody,
  logModelBody,
  logOutputsBody,
  metricHistoryPage,
  missingParameter,
  modelVersionBody,
  registeredModelBody,
  renameRegisteredModelBody,
  searchExperimentsBody,
  searchDatasetsBody,
  SEARCH_DATASETS_MAX_EXPERIMENT_IDS,
  searchLoggedModelsBody,
  searchModelVersionsBody,
  searchRegisteredModelsBody,
  searchRunsBody,
  setAliasBody,
  setModelVersionTagBody,
  setRegisteredModelTagBody,
  transitionStageBody,
  updateModelVersionBody,
  updateRegisteredModelBody,
  createRunBody,
  deleteExperimentTagBody,
  deleteTagBody,
  experimentByNameBody,
  logBatchBody,
  logMetricBody,
  logParamBody,
  metricHistoryBody,
  MLFLOW_LIMITS,
  MlflowError,
  parseMlflow,
  runBody,
  setExperimentTagBody,
  setTagBody,
  updateExperimentBody,
  updateRunBody
} from './mlflow-schemas'
import { checkModelVersionSource, experimentArtifactLocation, urlParse } from './mlflow-source-policy'
import type { ModelService } from './model-service'
import type { RunService } from './run-service'

/**
 * MLflow's tracking and registry semantics over Hypercube's repository: what the official
 * mlflow client (2.x and 3.x) expects, request by request, with MLflow's limits and error codes.
 * Inputs are the parsed JSON (or query) of a request; results are MLflow's response bodies.
 */

export { MLFLOW_LIMITS, MLFLOW_STATUS, MlflowError, type MlflowErrorCode } from './mlflow-schemas'

const invalid = (message: string): MlflowError => new MlflowError('INVALID_PARAMETER_VALUE', message)
const missing = (message: string): MlflowError => new MlflowError('RESOURCE_DOES_NOT_EXIST', message)

type Body = Record<string, unknown>

const MLFLOW_TO_RUN_STATUS: Record<string, RunStatus> = {
  RUNNING: 'running',
  SCHEDULED: 'pending',
  FINISHED: 'completed',
  FAILED: 'failed',
  KILLED: 'killed'
}

/** int64 as MLflow clients send it: a JSON number or a decimal string. */
function int64Field(value: unknown, field: string): bigint | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
  if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) {
    const parsed = BigInt(value)
    if (parsed >= -(2n ** 63n) && parsed < 2n ** 63n) return parsed
  }
  throw invalid(`Invalid value ${JSON.stringify(value)} for parameter '${field}' supplied: must be a 64-bit integer`)
}

function timestampField(value: unknown, field: string): number | undefined {
  const parsed = int64Field(value, field)
  if (parsed === undefined) return undefined
  if (parsed < 0n || parsed > BigInt(MAX_TIMESTAMP_MS)) throw invalid(`Invalid value ${String(value)} for parameter '${field}': must be milliseconds since 1970`)
  return Number(parsed)
}

function validateKey(key: unknown, what: string): string {
  if (typeof key !== 'string' || key === '') throw invalid(`Missing value for required parameter 'key' of ${what}`)
  if (key.length > MLFLOW_LIMITS.keyLength) throw invalid(`${what} key '${key.slice(0, 40)}…' had length ${key.length}, which exceeded length limit of ${MLFLOW_LIMITS.keyLength}`)
  if (key.includes('\0')) throw invalid(`Invalid ${what} key: must not contain a NUL byte`)
  // MLflow keys are path-like names; '..' and absolute paths are refused as MLflow does.
  if (key.startsWith('/') || key.split('/').includes('..')) throw invalid(`Invalid value "${key}" for parameter 'key' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such.`)
  return key
}

function toMetricValue(value: unknown, at: string): number {
  if (typeof value === 'number') return value
  if (value === 'NaN') return NaN
  if (value === 'Infinity') return Infinity
  if (value === '-Infinity') return -Infinity
  // proto3 JSON also allows a number as a string
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value)
  throw invalid(`Got invalid value ${JSON.stringify(value)} for metric '${at}' (value must be a double; NaN and Infinity are sent as strings)`)
}

/** A metric of log-metric / log-batch → a MetricPoint. Hand-written: a batch has 1000 of them. */
function toPoint(raw: Record<string, unknown>, now: number): MetricPoint {
  const key = validateKey(raw.key, 'metric')
  const value = toMetricValue(raw.value, key)
  const rawStep = raw.step
  const step = typeof rawStep === 'number' && Number.isSafeInteger(rawStep) ? BigInt(rawStep) : (int64Field(rawStep, 'step') ?? 0n)
  const rawTimestamp = raw.timestamp
  const timestamp =
    typeof rawTimestamp === 'number' && Number.isSafeInteger(rawTimestamp) && rawTimestamp >= 0 && rawTimestamp <= MAX_TIMESTAMP_MS
      ? rawTimestamp
      : (timestampField(rawTimestamp, 'timestamp') ?? now)
  return { key, value, step, epoch: null, timestamp, kind: 'train' }
}

/** A required text field of a batch entry, refused with MLflow's message when it is not a string. */
function textField(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.includes('\u0000')) throw invalid(`Invalid value ${JSON.stringify(value)} for parameter '${name}' supplied`)
  return value
}

function optionalTextField(value: unknown, name: string): string | null {
  return value === undefined || value === null || value === '' ? null : textField(value, name)
}

// Run names like MLflow's ("upset-rat-98") when the client gives none.
const ADJECTIVES = ['able', 'bold', 'brave', 'bright', 'calm', 'clever', 'eager', 'gentle', 'happy', 'keen', 'lively', 'merry', 'quiet', 'rare', 'swift', 'wise']
const NOUNS = ['ant', 'bat', 'colt', 'crane', 'deer', 'eel', 'finch', 'fox', 'hare', 'lark', 'mole', 'owl', 'rat', 'seal', 'swan', 'wren']
function generateRunName(): string {
  const pick = (list: readonly string[]): string => list[randomBytes(1)[0]! % list.length]!
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomBytes(2).readUInt16BE() % 1000}`
}

/** Omits empty lists, as MLflow's protobuf JSON does. */
function withList<T>(target: Record<string, unknown>, field: string, list: readonly T[]): void {
  if (list.length > 0) target[field] = list
}

/** Where a logged model's files are, as its artifact_uri names them. */
const loggedModelArtifactUri = (model: LoggedModelRecord): string => `mlflow-artifacts:/${model.experimentId}/models/${model.modelId}/artifacts`

// A registry version tagged so is a prompt (MLflow's IS_PROMPT_TAG_KEY): its source is no model's.
const IS_PROMPT_TAG = 'mlflow.prompt.is_prompt'

const tagList = (tags: Tags): { key: string; value: string }[] => Object.entries(tags).map(([key, value]) => ({ key, value }))

export class MlflowService {
  private defaultExperimentReady = false

  constructor(
    /** MLflow's projections of experiments, runs and the registry (reads only). */
    private readonly repository: PgMlflowRepository,
    private readonly experiments: ExperimentService,
    private readonly runs: RunService,
    // Aliases go through ModelService, which owns their format rules.
    private readonly models: ModelService,
    /**
     * MLflow's --default-artifact-root (already absolute, see experimentArtifactLocation): where
     * an experiment created without artifact_location keeps its artifacts, <root>/<id>. Absent:
     * in this server's own store, mlflow-artifacts:/<id>.
     */
    private readonly defaultArtifactRoot: string | null = null
  ) {}

  // ---- JSON shapes ----

  artifactLocation(experiment: { id: number; artifactLocation: string | null }): string {
    return experiment.artifactLocation ?? `mlflow-artifacts:/${experiment.id}`
  }

  experimentJson(experiment: MlflowExperimentRecord): Record<string, unknown> {
    const json: Record<string, unknown> = {
      experiment_id: String(experiment.id),
      name: experiment.name,
      artifact_location: this.artifactLocation(experiment),
      lifecycle_stage: experiment.deleted ? 'deleted' : 'active',
      last_update_time: experiment.lastUpdateTime,
      creation_time: experiment.creationTime
    }
    withList(json, 'tags', tagList(experiment.tags))
    return json
  }

  private async runArtifactUri(run: MlflowRunRecord): Promise<string> {
    const experiment = await this.repository.getExperiment(run.experimentId)
    const root = experiment ? this.artifactLocation(experiment) : `mlflow-artifacts:/${run.experimentId}`
    return `${root}/${run.uuid}/artifacts`
  }

  private runInfoJson(run: MlflowRunRecord, artifactUri: string): Record<string, unknown> {
    const info: Record<string, unknown> = {
      run_uuid: run.uuid,
      experiment_id: String(run.experimentId),
      run_name: run.name,
      user_id: run.userId,
      status: RUN_STATUS_TO_MLFLOW[run.status]
    }
    if (run.startTime !== null) info.start_time = run.startTime
    if (run.endTime !== null) info.end_time = run.endTime
    info.artifact_uri = artifactUri
    info.lifecycle_stage = run.deleted ? 'deleted' : 'active'
    info.run_id = run.uuid
    return info
  }

  private metricJson(metric: LatestMetric): Record<string, unknown> {
    return { key: metric.key, value: metric.value, timestamp: metric.timestamp, step: metric.step }
  }

  private async runJson(run: MlflowRunRecord): Promise<Record<string, unknown>> {
    const details: MlflowRunDetails = await this.repository.getRunDetails(run)
    const data: Record<string, unknown> = {}
    withList(data, 'metrics', details.metrics.map((metric) => this.metricJson(metric)))
    withList(data, 'params', Object.entries(details.params).map(([key, value]) => ({ key, value: paramText(value) })))
    withList(data, 'tags', tagList(details.tags))
    const inputs: Record<string, unknown> = {}
    withList(inputs, 'dataset_inputs', details.datasetInputs.map((dataset) => datasetInputJson(dataset)))
    withList(inputs, 'model_inputs', details.modelInputs.map((modelId) => ({ model_id: modelId })))
    const json: Record<string, unknown> = { info: this.runInfoJson(run, await this.runArtifactUri(run)), data, inputs }
    // MLflow sends inputs always (possibly {}) and outputs only once a run logged a model.
    if (details.modelOutputs.length > 0) {
      json.outputs = { model_outputs: details.modelOutputs.map((output) => ({ model_id: output.modelId, step: output.step })) }
    }
    return json
  }

  registeredModelJson(model: RegisteredModelRecord, latest: ModelVersionRecord[]): Record<string, unknown> {
    const json: Record<string, unknown> = {
      name: model.name,
      creation_timestamp: model.creationTime,
      last_updated_timestamp: model.lastUpdateTime
    }
    if (model.description !== '') json.description = model.description
    withList(json, 'latest_versions', latest.map((version) => this.modelVersionJson(version)))
    withList(json, 'tags', tagList(model.tags))
    withList(json, 'aliases', model.aliases)
    return json
  }

  modelVersionJson(version: ModelVersionRecord): Record<string, unknown> {
    const json: Record<string, unknown> = {
      name: version.name,
      version: version.version,
      creation_timestamp: version.creationTime,
      last_updated_timestamp: version.lastUpdateTime,
      current_stage: version.stage,
      description: version.description,
      source: version.source
    }
    if (version.runUuid !== null) json.run_id = version.runUuid
    json.status = 'READY'
    withList(json, 'tags', tagList(version.tags))
    json.run_link = version.runLink
    withList(json, 'aliases', version.aliases)
    if (version.loggedModelId !== null) json.model_id = version.loggedModelId
    return json
  }

  private loggedModelJson(model: LoggedModelRecord): Record<string, unknown> {
    const info: Record<string, unknown> = {
      model_id: model.modelId,
      experiment_id: String(model.experimentId),
      name: model.name,
      creation_timestamp_ms: model.creationTime,
      last_updated_timestamp_ms: model.lastUpdateTime,
      artifact_uri: loggedModelArtifactUri(model),
      status: model.status,
      model_type: model.modelType
    }
    if (model.sourceRunUuid !== null) info.source_run_id = model.sourceRunUuid
    withList(info, 'tags', tagList(model.tags))
    const data: Record<string, unknown> = {}
    withList(data, 'params', tagList(model.params))
    withList(
      data,
      'metrics',
      model.metrics.map((metric) => {
        const json: Record<string, unknown> = { key: metric.key, value: metric.value, timestamp: metric.timestamp, step: metric.step, model_id: model.modelId }
        if (metric.datasetName !== null) json.dataset_name = metric.datasetName
        if (metric.datasetDigest !== null) json.dataset_digest = metric.datasetDigest
        if (metric.runUuid !== null) json.run_id = metric.runUuid
        return json
      })
    )
    return { info, data }
  }

  // ---- lookups ----

  private async ensureDefaultExperiment(): Promise<void> {
    if (this.defaultExperimentReady) return
    await this.experiments.ensureDefault(this.defaultArtifactRoot)
    this.defaultExperimentReady = true
  }

  private parseExperimentId(value: unknown, field = 'experiment_id'): number {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value
    if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value)
    if (value === undefined || value === null || value === '') throw invalid(missingParameter(field))
    throw missing(`No Experiment with id=${String(value)} exists`)
  }

  private async experimentById(value: unknown, field = 'experiment_id'): Promise<MlflowExperimentRecord> {
    const id = this.parseExperimentId(value, field)
    if (id === 0) await this.ensureDefaultExperiment()
    const experiment = await this.repository.getExperiment(id)
    if (!experiment) throw missing(`No Experiment with id=${id} exists`)
    return experiment
  }

  /** The run a request names by run_id (or the older run_uuid). */
  private async runFrom(body: Body): Promise<MlflowRunRecord> {
    return this.runByUuid(parseMlflow(runBody, withRunId(body)).run_id)
  }

  private async runByUuid(runId: string): Promise<MlflowRunRecord> {
    const run = /^[0-9a-f]{32}$/.test(runId) ? await this.repository.findRun(runId) : undefined
    if (!run) throw missing(`Run with id=${runId} not found`)
    return run
  }

  private async registeredModel(name: string): Promise<RegisteredModelRecord> {
    const model = await this.repository.getRegisteredModel(name)
    if (!model) throw missing(`Registered Model with name=${name} not found`)
    return model
  }

  private async modelVersion({ name, version: given }: { name: string; version: string }): Promise<ModelVersionRecord> {
    // MLflow numbers versions and reads the parameter as Python's int() does ("+1", " 1 ", "1_0").
    if (!/^\s*[+-]?\d+(_\d+)*\s*$/.test(given)) throw invalid(`Parameter 'version' must be an integer, got '${given}'.`)
    const version = BigInt(given.trim().replace(/_/g, '')).toString()
    const found = await this.repository.getModelVersion(name, version)
    if (!found) throw missing(`Model Version (name=${name}, version=${version}) not found`)
    return found
  }

  // ---- experiments ----

  async createExperiment(body: Body): Promise<unknown> {
    const { name, artifact_location: artifactLocation, tags: tagItems } = parseMlflow(createExperimentBody, body)
    const tags = tagsOf(tagItems)
    const location = artifactLocation ? experimentArtifactLocation(artifactLocation) : null
    const experiment = await alreadyExists(
      this.experiments.create({ name, tags, artifactLocation: location, artifactRoot: this.defaultArtifactRoot }),
      `Experiment(name=${name}) already exists.`
    )
    return { experiment_id: String(experiment.id) }
  }

  async getExperiment(query: Body): Promise<unknown> {
    return { experiment: this.experimentJson(await this.experimentById(query.experiment_id)) }
  }

  async getExperimentByName(query: Body): Promise<unknown> {
    const { experiment_name: name } = parseMlflow(experimentByNameBody, query)
    if (name === 'Default') await this.ensureDefaultExperiment()
    const experiment = await this.repository.findExperimentByName(name)
    if (!experiment) throw missing(`Could not find experiment with name '${name}'`)
    return { experiment: this.experimentJson(experiment) }
  }

  async searchExperiments(body: Body): Promise<unknown> {
    await this.ensureDefaultExperiment()
    const request = parseMlflow(searchExperimentsBody, body)
    const offset = decodePageToken(request.page_token)
    const page = await this.repository.searchExperiments(searchFilter(request.filter), request.view_type, searchOrder(request.order_by), {
      offset,
      limit: request.max_results
    })
    const json: Record<string, unknown> = {}
    withList(json, 'experiments', page.items.map((experiment) => this.experimentJson(experiment)))
    if (page.nextOffset !== undefined) json.next_page_token = encodePageToken(page.nextOffset)
    return json
  }

  /**
   * The datasets logged to runs of the experiments, one per (experiment, name, digest, context)
   * (context: the input's mlflow.data.context tag), as MLflow's search-datasets answers.
   */
  async searchDatasets(body: Body): Promise<unknown> {
    const experimentIds = parseMlflow(searchDatasetsBody, body).experiment_ids ?? []
    if (experimentIds.length === 0) throw invalid('SearchDatasets request must specify at least one experiment_id.')
    if (experimentIds.length > SEARCH_DATASETS_MAX_EXPERIMENT_IDS) {
      throw invalid(
        `SearchDatasets request cannot specify more than ${SEARCH_DATASETS_MAX_EXPERIMENT_IDS} experiment_ids. Received ${experimentIds.length} experiment_ids.`
      )
    }
    // An id that is not one of ours names no experiment, as in MLflow.
    const ids = experimentIds.filter((id) => /^[1-9][0-9]{0,17}$/.test(id)).map(Number)
    const summaries = await this.repository.searchDatasetSummaries(ids)
    const json: Record<string, unknown> = {}
    withList(
      json,
      'dataset_summaries',
      summaries.map((summary) => ({
        experiment_id: String(summary.experimentId),
        name: summary.name,
        digest: summary.digest,
        ...(summary.context === null ? {} : { context: summary.context })
      }))
    )
    return json
  }

  async updateExperiment(body: Body): Promise<unknown> {
    const { experiment_id: experimentId, new_name: newName } = parseMlflow(updateExperimentBody, body)
    const experiment = await this.experimentById(experimentId)
    if (newName !== undefined && newName !== '') {
      if (experiment.deleted) throw invalid(`Cannot rename a non-active experiment.`)
      await alreadyExists(this.experiments.update({ experimentId: experiment.id, name: newName }), `Experiment(name=${newName}) already exists.`)
    }
    return {}
  }

  async deleteExperiment(body: Body): Promise<unknown> {
    const experiment = await this.experimentById(parseMlflow(experimentBody, body).experiment_id)
    await this.experiments.delete(experiment.id)
    return {}
  }

  async restoreExperiment(body: Body): Promise<unknown> {
    const experiment = await this.experimentById(parseMlflow(experimentBody, body).experiment_id)
    await this.experiments.restore(experiment.id)
    return {}
  }

  async setExperimentTag(body: Body): Promise<unknown> {
    const { experiment_id: experimentId, key, value } = parseMlflow(setExperimentTagBody, body)
    const experiment = await this.experimentById(experimentId)
    if (experiment.deleted) throw invalid(`The experiment ${experiment.id} must be in the 'active' state. Current state is deleted.`)
    await this.experiments.setTag({ experimentId: experiment.id, key, value })
    return {}
  }

  async deleteExperimentTag(body: Body): Promise<unknown> {
    const { experiment_id: experimentId, key } = parseMlflow(deleteExperimentTagBody, body)
    const experiment = await this.experimentById(experimentId)
    if (!(await this.experiments.deleteTag({ experimentId: experiment.id, key }))) throw missing(`No tag with name: ${key} in experiment with id ${experiment.id}`)
    return {}
  }

  // ---- runs ----

  async createRun(body: Body): Promise<unknown> {
    const request = parseMlflow(createRunBody, body)
    const experiment = await this.experimentById(request.experiment_id ?? '0')
    if (experiment.deleted) throw invalid(`The experiment ${experiment.id} must be in the 'active' state. Current state is deleted.`)
    const tags = tagsOf(request.tags)
    const name = request.run_name || tags['mlflow.runName'] || generateRunName()
    if (name.length > LIMITS.name) throw invalid(`Run name '${name.slice(0, 40)}…' exceeds the maximum length of ${LIMITS.name} characters`)
    // MLflow keeps the name in a system tag as well; clients read either.
    tags['mlflow.runName'] = name
    const userId = request.user_id ?? null
    const startedAt = request.start_time ?? Date.now()
    const run = await this.runs.start({ experimentId: experiment.id, name, tags, status: 'running', startedAt, userId })
    return { run: await this.runJson((await this.repository.findRun(run.uuid))!) }
  }

  async getRun(query: Body): Promise<unknown> {
    return { run: await this.runJson(await this.runFrom(query)) }
  }

  async updateRun(body: Body): Promise<unknown> {
    const request = parseMlflow(updateRunBody, withRunId(body))
    const run = await this.runByUuid(request.run_id)
    const status = request.status === undefined ? undefined : MLFLOW_TO_RUN_STATUS[request.status]
    const endTime = request.end_time ?? null
    const name = request.run_name || undefined
    if (status !== undefined) await this.runs.setStatusAsMlflow({ runId: run.id, status, endTime })
    if (name !== undefined) await this.runs.rename({ runId: run.id, name, tags: { 'mlflow.runName': name } })
    const updated = (await this.repository.findRun(run.uuid))!
    return { run_info: this.runInfoJson(updated, await this.runArtifactUri(updated)) }
  }

  async deleteRun(body: Body): Promise<unknown> {
    const run = await this.runFrom(body)
    await this.runs.delete(run.id)
    return {}
  }

  async restoreRun(body: Body): Promise<unknown> {
    const run = await this.runFrom(body)
    await this.runs.restore(run.id)
    return {}
  }

  async logMetric(body: Body): Promise<unknown> {
    const request = parseMlflow(logMetricBody, withRunId(body))
    const run = await this.runByUuid(request.run_id)
    const point: MetricPoint = { key: request.key, value: toMetricValue(request.value, request.key), step: request.step ?? 0n, epoch: null, timestamp: request.timestamp, kind: 'train' }
    // The model is checked first, so an unknown model_id stores nothing.
    if (request.model_id !== undefined) await this.loggedModel(request.model_id)
    await this.runs.logValidatedPoint(run.id, point)
    if (request.model_id !== undefined) {
      await this.models.logLoggedModelMetric({
        modelId: request.model_id,
        runId: run.id,
        key: point.key,
        value: point.value,
        step: point.step,
        timestampMs: point.timestamp,
        datasetName: request.dataset_name ?? null,
        datasetDigest: request.dataset_digest ?? null
      })
    }
    return {}
  }

  async logParam(body: Body): Promise<unknown> {
    const { run_id: runId, key, value } = parseMlflow(logParamBody, withRunId(body))
    const run = await this.runByUuid(runId)
    await this.writeParams(run, { [key]: value })
    return {}
  }

  private async writeParams(run: MlflowRunRecord, params: Record<string, string>): Promise<void> {
    await this.paramsWritten(run, params, this.runs.logTextParams({ runId: run.id, params }))
  }

  /** The write-once rule is the service's (SQL's); its refusal is worded here as MLflow words it. */
  private async paramsWritten<T>(run: MlflowRunRecord, params: Record<string, string>, write: Promise<T>): Promise<T> {
    try {
      return await write
    } catch (error) {
      if (!isDomainError(error) || error.code !== 'conflict') throw error
      const stored = (await this.runs.get(run.id)).hyperparameters
      const key = Object.keys(params)
        .sort()
        .find((candidate) => candidate in stored && paramText(stored[candidate]) !== params[candidate])
      if (key === undefined) throw error
      throw invalid(
        `Changing param values is not allowed. Param with key='${key}' was already logged with value='${paramText(stored[key])}' for run ID='${run.uuid}'. Attempted logging new value '${params[key]}'.`
      )
    }
  }

  /** A tag write; mlflow.runName is MLflow's way to rename a run, so it renames the run too. */
  private async writeTags(run: MlflowRunRecord, tags: Tags): Promise<void> {
    const name = runNameFrom(tags)
    if (name !== undefined) await this.runs.rename({ runId: run.id, name, tags })
    else await this.runs.setTags({ runId: run.id, tags })
  }

  async setTag(body: Body): Promise<unknown> {
    const { run_id: runId, key, value } = parseMlflow(setTagBody, withRunId(body))
    const run = await this.runByUuid(runId)
    await this.writeTags(run, { [key]: value })
    return {}
  }

  async deleteTag(body: Body): Promise<unknown> {
    const { run_id: runId, key } = parseMlflow(deleteTagBody, withRunId(body))
    const run = await this.runByUuid(runId)
    if (!(await this.runs.deleteTag({ runId: run.id, key }))) throw missing(`No tag with name: ${key} in run with id ${run.uuid}`)
    return {}
  }

  /**
   * log-batch. Everything is validated before anything is written; then params, tags and metrics
   * go in one transaction (through RunService, so live views hear of the points), so a refused
   * param stores nothing. A retry is harmless: the same param value is accepted, tags are
   * overwritten with the same values and exact duplicate points are stored once.
   */
  async logBatch(body: Body, bodyBytes: number): Promise<unknown> {
    if (bodyBytes > MLFLOW_LIMITS.batchBytes) {
      throw invalid(`Batched logging API requests must be at most ${MLFLOW_LIMITS.batchBytes} bytes, got a request of ${bodyBytes} bytes`)
    }
    const request = parseMlflow(logBatchBody, withRunId(body))
    const metrics = request.metrics ?? []
    const paramItems = request.params ?? []
    const tagItems = request.tags ?? []
    if (metrics.length > MLFLOW_LIMITS.batchMetrics) throw invalid(`A batch logging request can contain at most ${MLFLOW_LIMITS.batchMetrics} metrics. Got ${metrics.length} metrics.`)
    if (paramItems.length > MLFLOW_LIMITS.batchParams) throw invalid(`A batch logging request can contain at most ${MLFLOW_LIMITS.batchParams} params. Got ${paramItems.length} params.`)
    if (tagItems.length > MLFLOW_LIMITS.batchTags) throw invalid(`A batch logging request can contain at most ${MLFLOW_LIMITS.batchTags} tags. Got ${tagItems.length} tags.`)
    const total = metrics.length + paramItems.length + tagItems.length
    if (total > MLFLOW_LIMITS.batchEntities) throw invalid(`A batch logging request can contain at most ${MLFLOW_LIMITS.batchEntities} total entities (metrics + params + tags). Got ${total}.`)

    const now = Date.now()
    const points = new Array<MetricPoint>(metrics.length)
    // MLflow 3 metrics that name a logged model (evaluation results) are recorded on it too.
    const modelMetrics: { index: number; modelId: string; datasetName: string | null; datasetDigest: string | null }[] = []
    for (let i = 0; i < metrics.length; i++) {
      const raw = metrics[i]
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`Invalid value ${JSON.stringify(raw)} for parameter 'metrics[${i}]' supplied: must be an object`)
      const metric = raw as Record<string, unknown>
      for (const field of ['key', 'value', 'timestamp']) {
        if (metric[field] === undefined || metric[field] === null) {
          throw invalid(missingParameter(`metrics[${i}].${field}`))
        }
      }
      points[i] = toPoint(metric, now)
      if (metric.model_id !== undefined && metric.model_id !== null && metric.model_id !== '') {
        modelMetrics.push({
          index: i,
          modelId: textField(metric.model_id, `metrics[${i}].model_id`),
          datasetName: optionalTextField(metric.dataset_name, `metrics[${i}].dataset_name`),
          datasetDigest: optionalTextField(metric.dataset_digest, `metrics[${i}].dataset_digest`)
        })
      }
    }
    const params: Record<string, string> = {}
    for (const { key, value } of paramItems) {
      if (key in params && params[key] !== value) {
        throw invalid(`Duplicate parameter keys have been submitted: '${key}' with different values in one batch`)
      }
      params[key] = value
    }
    const tags = tagsOf(tagItems)

    const run = await this.runByUuid(request.run_id)
    // The models are checked first, so an unknown model_id stores nothing (as log-metric).
    for (const modelId of new Set(modelMetrics.map((metric) => metric.modelId))) await this.loggedModel(modelId)
    // Params, tags and metrics in one transaction: a refused param (write-once) stores nothing.
    await this.paramsWritten(run, params, this.runs.logBatch({ runId: run.id, points, params, tags, name: runNameFrom(tags) }))
    for (const { index, modelId, datasetName, datasetDigest } of modelMetrics) {
      const point = points[index]!
      await this.models.logLoggedModelMetric({
        modelId,
        runId: run.id,
        key: point.key,
        value: point.value,
        step: point.step,
        timestampMs: point.timestamp,
        datasetName,
        datasetDigest
      })
    }
    return {}
  }

  async logInputs(body: Body): Promise<unknown> {
    const request = parseMlflow(logInputsBody, withRunId(body))
    const run = await this.runByUuid(request.run_id)
    const datasets: DatasetInputRecord[] = (request.datasets ?? []).map(({ dataset, tags }) => ({
      name: dataset.name,
      digest: dataset.digest,
      sourceType: dataset.source_type,
      source: dataset.source,
      schema: dataset.schema ?? null,
      profile: dataset.profile ?? null,
      tags: tagsOf(tags)
    }))
    const modelIds = await this.existingLoggedModels((request.models ?? []).map((model) => model.model_id))
    await this.runs.logInputs({ runId: run.id, datasets, modelIds })
    return {}
  }

  async logOutputs(body: Body): Promise<unknown> {
    const request = parseMlflow(logOutputsBody, withRunId(body))
    const run = await this.runByUuid(request.run_id)
    const models = request.models ?? []
    await this.existingLoggedModels(models.map((model) => model.model_id))
    await this.runs.logOutputs({ runId: run.id, outputs: models.map((model) => ({ modelId: model.model_id, step: model.step ?? 0n })) })
    return {}
  }

  /** The ids, once each names a logged model (MLflow's RESOURCE_DOES_NOT_EXIST otherwise). */
  private async existingLoggedModels(modelIds: string[]): Promise<string[]> {
    for (const modelId of modelIds) await this.loggedModel(modelId)
    return modelIds
  }

  /** MLflow 2.x log_model: the model's metadata is recorded as the run's mlflow.log-model.history tag, as MLflow does. */
  async logModel(body: Body): Promise<unknown> {
    const request = parseMlflow(logModelBody, withRunId(body))
    const run = await this.runByUuid(request.run_id)
    let model: unknown
    try {
      model = JSON.parse(request.model_json)
    } catch {
      throw invalid(`Invalid value for parameter 'model_json': not valid JSON`)
    }
    if (typeof model !== 'object' || model === null || Array.isArray(model)) throw invalid(`Invalid value for parameter 'model_json': must be a JSON object`)
    const history = run.tags['mlflow.log-model.history']
    let entries: unknown[] = []
    try {
      const parsed: unknown = history ? JSON.parse(history) : []
      if (Array.isArray(parsed)) entries = parsed
    } catch {
      entries = []
    }
    entries.push(model)
    const text = JSON.stringify(entries)
    if (text.length > MLFLOW_LIMITS.tagValueLength) throw invalid(`The model history of run ${run.uuid} exceeds ${MLFLOW_LIMITS.tagValueLength} characters`)
    await this.runs.setTags({ runId: run.id, tags: { 'mlflow.log-model.history': text } })
    return {}
  }

  async searchRuns(body: Body): Promise<unknown> {
    const request = parseMlflow(searchRunsBody, body)
    const experimentIds = (request.experiment_ids ?? []).map((id) => this.parseExperimentId(id, 'experiment_ids'))
    const offset = decodePageToken(request.page_token)
    // Runs take the whole filter language (OR and parentheses too), as /v1 run search does.
    const filter = request.filter ?? ''
    const parsed = parseRunFilter(filter)
    if (!parsed.ok) throw invalid(`Invalid filter '${filter}': ${parsed.message}`)
    const orderBy = orderTerms(parseOrderBy(request.order_by, RUN_FILTER_DIALECT))
    const page = await this.repository.searchRuns(experimentIds, parsed.expression, request.run_view_type, orderBy, { offset, limit: request.max_results })
    const json: Record<string, unknown> = {}
    withList(json, 'runs', await Promise.all(page.items.map((run) => this.runJson(run))))
    if (page.nextOffset !== undefined) json.next_page_token = encodePageToken(page.nextOffset)
    return json
  }

  async getMetricHistory(query: Body): Promise<unknown> {
    const { run_id: runId, metric_key: key } = parseMlflow(metricHistoryBody, withRunId(query))
    const run = await this.runByUuid(runId)
    const page = parseMlflow(metricHistoryPage, query)
    const history = await this.repository.metricHistory(run.id, key, { offset: decodePageToken(page.page_token), limit: page.max_results })
    const json: Record<string, unknown> = {}
    withList(json, 'metrics', history.items.map((metric) => this.metricJson(metric)))
    if (history.nextOffset !== undefined) json.next_page_token = encodePageToken(history.nextOffset)
    return json
  }

  // ---- registered models ----

  private async registeredModelResponse(name: string): Promise<unknown> {
    const model = await this.registeredModel(name)
    return { registered_model: this.registeredModelJson(model, await this.repository.latestVersions(model.name, undefined)) }
  }

  async createRegisteredModel(body: Body): Promise<unknown> {
    const { name, description, tags } = parseMlflow(createRegisteredModelBody, body)
    await alreadyExists(
      this.models.createRegisteredModel({ modelName: name, description: description ?? '', tags: tagsOf(tags) }),
      `Registered Model (name=${name}) already exists.`
    )
    return this.registeredModelResponse(name)
  }

  async getRegisteredModel(query: Body): Promise<unknown> {
    return this.registeredModelResponse(parseMlflow(registeredModelBody, query).name)
  }

  async searchRegisteredModels(query: Body): Promise<unknown> {
    const request = parseMlflow(searchRegisteredModelsBody, query)
    const offset = decodePageToken(request.page_token)
    const page = await this.repository.searchRegisteredModels(searchFilter(request.filter), searchOrder(request.order_by), { offset, limit: request.max_results })
    const models = await Promise.all(page.items.map(async (model) => this.registeredModelJson(model, await this.repository.latestVersions(model.name, undefined))))
    const json: Record<string, unknown> = {}
    withList(json, 'registered_models', models)
    if (page.nextOffset !== undefined) json.next_page_token = encodePageToken(page.nextOffset)
    return json
  }

  async updateRegisteredModel(body: Body): Promise<unknown> {
    const { name, description } = parseMlflow(updateRegisteredModelBody, body)
    const model = await this.registeredModel(name)
    if (description !== undefined) await this.models.updateRegisteredModel({ modelName: model.name, description })
    return this.registeredModelResponse(model.name)
  }

  async renameRegisteredModel(body: Body): Promise<unknown> {
    const { name, new_name: newName } = parseMlflow(renameRegisteredModelBody, body)
    const model = await this.registeredModel(name)
    await alreadyExists(this.models.renameRegisteredModel({ modelName: model.name, newName }), `Registered Model (name=${newName}) already exists.`)
    return this.registeredModelResponse(newName)
  }

  async deleteRegisteredModel(body: Body): Promise<unknown> {
    const model = await this.registeredModel(parseMlflow(registeredModelBody, body).name)
    await this.models.deleteRegisteredModel(model.name)
    return {}
  }

  async setRegisteredModelTag(body: Body): Promise<unknown> {
    const { name, key, value } = parseMlflow(setRegisteredModelTagBody, body)
    const model = await this.registeredModel(name)
    await this.models.updateRegisteredModel({ modelName: model.name, setTags: { [key]: value } })
    return {}
  }

  async deleteRegisteredModelTag(body: Body): Promise<unknown> {
    const { name, key } = parseMlflow(deleteRegisteredModelTagBody, body)
    const model = await this.registeredModel(name)
    await this.models.updateRegisteredModel({ modelName: model.name, removeTag: key })
    return {}
  }

  async getLatestVersions(body: Body): Promise<unknown> {
    const { name, stages } = parseMlflow(latestVersionsBody, body)
    const model = await this.registeredModel(name)
    const versions = await this.repository.latestVersions(model.name, stages)
    const json: Record<string, unknown> = {}
    withList(json, 'model_versions', versions.map((version) => this.modelVersionJson(version)))
    return json
  }

  async setAlias(body: Body): Promise<unknown> {
    const { alias, ...ref } = parseMlflow(setAliasBody, body)
    const version = await this.modelVersion(ref)
    try {
      await this.models.setAlias({ modelName: version.name, alias, versionId: version.id })
    } catch (error) {
      if (isDomainError(error) && error.code === 'invalid_argument') throw invalid(`Invalid alias name '${alias}': ${error.message}`)
      throw error
    }
    return {}
  }

  async getModelVersionByAlias(query: Body): Promise<unknown> {
    const { name, alias } = parseMlflow(aliasBody, query)
    const model = await this.registeredModel(name)
    const target = model.aliases.find((entry) => entry.alias === alias)
    if (!target) throw invalid(`Registered model alias ${alias} not found.`)
    return { model_version: this.modelVersionJson((await this.repository.getModelVersion(model.name, target.version))!) }
  }

  async deleteAlias(body: Body): Promise<unknown> {
    const { name, alias } = parseMlflow(aliasBody, body)
    const model = await this.registeredModel(name)
    if (model.aliases.some((entry) => entry.alias === alias)) await this.models.deleteAlias({ modelName: model.name, alias })
    return {}
  }

  // ---- model versions ----

  /**
   * MLflow's create_model_version: the source checked as MLflow checks it (mlflow-source-policy),
   * run_id kept as given — MLflow never checks the run exists — and Hypercube's lineage linked
   * only to a run that does. A models:/ source is resolved now to where its files are, and a
   * logged model's source run becomes the version's run when the client names none.
   */
  async createModelVersion(body: Body): Promise<unknown> {
    const request = parseMlflow(createModelVersionBody, body)
    const modelId = request.model_id || ''
    if (!(request.tags ?? []).some((tag) => tag.key === IS_PROMPT_TAG)) {
      await checkModelVersionSource(
        request.source,
        modelId
          ? { field: 'model_id', id: modelId, artifactLocation: async () => loggedModelArtifactUri(await this.loggedModel(modelId)) }
          : { field: 'run_id', id: request.run_id ?? '', artifactLocation: async () => this.runArtifactUri(await this.runByUuid(request.run_id!)) }
      )
    }
    const model = await this.registeredModel(request.name)
    const resolved = await this.resolveModelsUri(request.source)
    const runId = request.run_id || resolved?.runId || null
    if (modelId) await this.loggedModel(modelId)
    const sourceRun = runId !== null && /^[0-9a-f]{32}$/.test(runId) ? await this.repository.findRun(runId) : undefined
    const created = await this.models.registerLinkedVersion({
      modelName: model.name,
      artifactUri: request.source,
      sourceRunId: sourceRun?.id ?? null,
      tags: tagsOf(request.tags),
      runLink: request.run_link ?? '',
      description: request.description ?? '',
      loggedModelId: modelId || null,
      mlflowRunId: runId,
      storageLocation: resolved?.location ?? null
    })
    return { model_version: this.modelVersionJson((await this.repository.getModelVersion(created.modelName, created.version))!) }
  }

  /**
   * Where a models:/ source's files are (MLflow's storage_location), and the logged model's run:
   * models:/<model_id> is that logged model's artifact location, models:/<name>/<version> that
   * version's download URI. Undefined for any other source (its files are where it says).
   */
  private async resolveModelsUri(source: string): Promise<{ location: string; runId: string | null } | undefined> {
    if (urlParse(source).scheme !== 'models') return undefined
    const path = source.slice(source.indexOf(':') + 1)
    const parts = path.replace(/^\/+/, '').split('/')
    if (!path.startsWith('/') || path.length <= 1 || parts.length > 2 || parts[0]!.trim() === '' || (parts.length === 2 && parts[1]!.trim() === '')) {
      throw invalid(
        `Not a proper models:/ URI: ${source}. Models URIs must be of the form 'models:/model_name/suffix' or 'models:/model_name@alias' where suffix is a model version, stage, or the string 'latest' and where alias is a registered model alias. Only one of suffix or alias can be defined at a time.`
      )
    }
    // MLflow's words for a source it cannot resolve; MLflow sends them as INTERNAL_ERROR (500),
    // which the mlflow client retries for minutes in vain: a source naming nothing is the
    // client's mistake, so it is a 400 here (as a file: source on another host is).
    const unresolved = (why: string): MlflowError =>
      new MlflowError('INVALID_PARAMETER_VALUE', `Unable to fetch model from model URI source artifact location '${source}'.Error: ${why}`)
    if (parts.length === 1 && !path.includes('@')) {
      const logged = await this.repository.getLoggedModel(parts[0]!)
      if (!logged) throw unresolved(`Logged model with ID '${parts[0]!}' not found.`)
      return { location: loggedModelArtifactUri(logged), runId: logged.sourceRunUuid }
    }
    if (parts.length === 2 && /^\d+$/.test(parts[1]!)) {
      const version = await this.repository.getModelVersion(parts[0]!, parts[1]!)
      if (!version) throw unresolved(`Model Version (name=${parts[0]!}, version=${parts[1]!}) not found`)
      return { location: version.downloadUri, runId: null }
    }
    throw unresolved(`a model version source must name a version (models:/<name>/<version>) or a logged model (models:/<model_id>), not a stage or alias`)
  }

  async getModelVersion(query: Body): Promise<unknown> {
    return { model_version: this.modelVersionJson(await this.modelVersion(parseMlflow(modelVersionBody, query))) }
  }

  async updateModelVersion(body: Body): Promise<unknown> {
    const { description, ...ref } = parseMlflow(updateModelVersionBody, body)
    const version = await this.modelVersion(ref)
    if (description !== undefined) await this.models.updateVersion({ versionId: version.id, description })
    return { model_version: this.modelVersionJson((await this.repository.getModelVersion(version.name, version.version))!) }
  }

  async transitionStage(body: Body): Promise<unknown> {
    const { stage: stageText, archive_existing_versions: archiveExisting = false, ...ref } = parseMlflow(transitionStageBody, body)
    const version = await this.modelVersion(ref)
    const stage = ['None', 'Staging', 'Production', 'Archived'].find((known) => known.toLowerCase() === stageText.toLowerCase())
    if (!stage) throw invalid(`Invalid Model Version stage: ${stageText}. Value must be one of None, Staging, Production, Archived.`)
    if (archiveExisting && stage !== 'Staging' && stage !== 'Production') {
      throw invalid(`Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are Staging and Production.`)
    }
    await this.models.setVersionStage({ versionId: version.id, stage, archiveOthers: archiveExisting })
    return { model_version: this.modelVersionJson((await this.repository.getModelVersion(version.name, version.version))!) }
  }

  async deleteModelVersion(body: Body): Promise<unknown> {
    const version = await this.modelVersion(parseMlflow(modelVersionBody, body))
    await this.models.deleteVersion(version.id)
    return {}
  }

  async searchModelVersions(query: Body): Promise<unknown> {
    const request = parseMlflow(searchModelVersionsBody, query)
    const offset = decodePageToken(request.page_token)
    const page = await this.repository.searchModelVersions(searchFilter(request.filter), searchOrder(request.order_by), { offset, limit: request.max_results })
    const json: Record<string, unknown> = {}
    withList(json, 'model_versions', page.items.map((version) => this.modelVersionJson(version)))
    if (page.nextOffset !== undefined) json.next_page_token = encodePageToken(page.nextOffset)
    return json
  }

  async setModelVersionTag(body: Body): Promise<unknown> {
    const { key, value, ...ref } = parseMlflow(setModelVersionTagBody, body)
    const version = await this.modelVersion(ref)
    await this.models.updateVersion({ versionId: version.id, setTags: { [key]: value } })
    return {}
  }

  async deleteModelVersionTag(body: Body): Promise<unknown> {
    const { key, ...ref } = parseMlflow(deleteModelVersionTagBody, body)
    const version = await this.modelVersion(ref)
    await this.models.updateVersion({ versionId: version.id, removeTag: key })
    return {}
  }

  async getDownloadUri(query: Body): Promise<unknown> {
    return { artifact_uri: (await this.modelVersion(parseMlflow(modelVersionBody, query))).downloadUri }
  }

  // ---- logged models ----

  async createLoggedModel(body: Body): Promise<unknown> {
    const request = parseMlflow(createLoggedModelBody, body)
    const experiment = await this.experimentById(request.experiment_id)
    if (experiment.deleted) throw invalid(`The experiment ${experiment.id} must be in the 'active' state. Current state is deleted.`)
    // Kept as given, as MLflow keeps it; the lineage links only a run that exists here.
    const sourceRun = request.source_run_id ? await this.runs.findByUuid(request.source_run_id) : undefined
    const tags = tagsOf(request.tags)
    const modelId = await this.models.createLoggedModel({
      experimentId: experiment.id,
      name: request.name || generateRunName(),
      modelType: request.model_type ?? '',
      sourceRunId: sourceRun?.id ?? null,
      mlflowSourceRunId: request.source_run_id && !sourceRun ? request.source_run_id : null,
      params: tagsOf(request.params),
      tags,
      userId: tags['mlflow.user'] ?? null
    })
    return { model: this.loggedModelJson((await this.repository.getLoggedModel(modelId))!) }
  }

  private async loggedModel(modelId: unknown): Promise<LoggedModelRecord> {
    const model = typeof modelId === 'string' ? await this.repository.getLoggedModel(modelId) : undefined
    if (!model) throw missing(`Logged model with ID '${String(modelId)}' not found.`)
    return model
  }

  async getLoggedModel(modelId: string): Promise<unknown> {
    return { model: this.loggedModelJson(await this.loggedModel(modelId)) }
  }

  async finalizeLoggedModel(modelId: string, body: Body): Promise<unknown> {
    const model = await this.loggedModel(modelId)
    const { status } = parseMlflow(finalizeLoggedModelBody, body)
    await this.models.updateLoggedModel({ modelId: model.modelId, status })
    return this.getLoggedModel(model.modelId)
  }

  async deleteLoggedModel(modelId: string): Promise<unknown> {
    await this.models.deleteLoggedModel((await this.loggedModel(modelId)).modelId)
    return {}
  }

  async setLoggedModelTags(modelId: string, body: Body): Promise<unknown> {
    const model = await this.loggedModel(modelId)
    await this.models.updateLoggedModel({ modelId: model.modelId, setTags: tagsOf(parseMlflow(loggedModelTagsBody, body).tags) })
    return this.getLoggedModel(model.modelId)
  }

  async deleteLoggedModelTag(modelId: string, key: string): Promise<unknown> {
    const model = await this.loggedModel(modelId)
    try {
      await this.models.updateLoggedModel({ modelId: model.modelId, removeTag: key })
    } catch (error) {
      if (isDomainError(error) && error.code === 'not_found' && error.field === 'removeTag') {
        throw missing(`No tag with key '${key}' found for model with ID '${model.modelId}'.`)
      }
      throw error
    }
    return {}
  }

  async logLoggedModelParams(modelId: string, body: Body): Promise<unknown> {
    const model = await this.loggedModel(modelId)
    await this.models.updateLoggedModel({ modelId: model.modelId, params: tagsOf(parseMlflow(loggedModelParamsBody, body).params) })
    return {}
  }

  async searchLoggedModels(body: Body): Promise<unknown> {
    const request = parseMlflow(searchLoggedModelsBody, body)
    const experimentIds = (request.experiment_ids ?? []).map((id) => this.parseExperimentId(id, 'experiment_ids'))
    const offset = decodePageToken(request.page_token)
    const orderBy = (request.order_by ?? []).map((entry) => ({ ...searchOrder([entry.field_name])[0]!, descending: entry.ascending === false }))
    // MLflow's words for a datasets entry without its name.
    if ((request.datasets ?? []).some((dataset) => !dataset.dataset_name)) throw invalid('`dataset_name` in the `datasets` clause must be specified.')
    const datasets = (request.datasets ?? []).map((dataset) => ({ name: dataset.dataset_name!, digest: dataset.dataset_digest || null }))
    const page = await this.repository.searchLoggedModels(experimentIds, searchFilter(request.filter), orderBy, { offset, limit: request.max_results }, datasets)
    const json: Record<string, unknown> = {}
    withList(json, 'models', page.items.map((model) => this.loggedModelJson(model)))
    if (page.nextOffset !== undefined) json.next_page_token = encodePageToken(page.nextOffset)
    return json
  }

  /** Where a logged model's artifacts live: its experiment, for the artifact store. */
  async loggedModelExperiment(modelId: string): Promise<number | undefined> {
    return (await this.repository.getLoggedModel(modelId))?.experimentId
  }

  async runForArtifacts(runUuid: string): Promise<MlflowRunRecord | undefined> {
    return /^[0-9a-f]{32}$/.test(runUuid) ? this.repository.findRun(runUuid) : undefined
  }
}

/** The older run_uuid names the run when run_id is absent. */
function withRunId(body: Body): Body {
  return body.run_id === undefined || body.run_id === null ? { ...body, run_id: body.run_uuid } : body
}

/** {key, value} entries as a tag map (the schema has checked them). */
function tagsOf(entries: readonly { key: string; value: string }[] | undefined): Tags {
  const tags: Tags = {}
  for (const { key, value } of entries ?? []) tags[key] = value
  return tags
}

/** MLflow's AND-only filter of experiments and the registry, as the shared filter AST. */
function searchFilter(filter: string | undefined): FilterExpression | null {
  return searchExpression(parseSearchFilter(filter))
}

function searchOrder(orderBy: readonly string[] | undefined): RunOrder[] {
  return orderTerms(parseOrderBy(orderBy))
}

/** The run name a tag map sets (MLflow keeps a run's name in the mlflow.runName tag). */
function runNameFrom(tags: Tags): string | undefined {
  const name = tags['mlflow.runName']
  return name === undefined || name === '' ? undefined : name
}

/** A service call that may refuse a name already taken, as MLflow's RESOURCE_ALREADY_EXISTS. */
async function alreadyExists<T>(work: Promise<T>, message: string): Promise<T> {
  try {
    return await work
  } catch (error) {
    if (isDomainError(error) && error.code === 'conflict') throw new MlflowError('RESOURCE_ALREADY_EXISTS', message)
    throw error
  }
}

function datasetInputJson(dataset: DatasetInputRecord): Record<string, unknown> {
  const json: Record<string, unknown> = {}
  withList(json, 'tags', tagList(dataset.tags))
  const described: Record<string, unknown> = { name: dataset.name, digest: dataset.digest, source_type: dataset.sourceType, source: dataset.source }
  if (dataset.schema !== null) described.schema = dataset.schema
  if (dataset.profile !== null) described.profile = dataset.profile
  json.dataset = described
  return json
}
