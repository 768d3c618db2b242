import { z } from 'zod'
import type { Deployment, DeploymentEvent, HealthCheck, ModelAlias, ModelVersion } from '../../shared/domain'
import {
  aliasName,
  deployModelInput,
  id,
  name,
  parseInput,
  registerModelVersionInput,
  reviewModelVersionInput,
  rollbackInput,
  setAliasInput,
  text,
  LIMITS
} from '../../shared/schemas'
import type { PgModelRepository, ReviewDecision } from '../repositories/model-repository'
import { randomBytes } from 'node:crypto'
import { conflict, invalidArgument } from '../../shared/errors'
import { experimentId, tags } from '../../shared/schemas'

const deploymentKeyInput = z.object({ modelName: name, target: text(LIMITS.target, 1).default('production') }).strict()
// No default target here: without one, the history of every target.
const historyInput = z.object({ modelName: name, target: text(LIMITS.target, 1).optional() }).strict()
const healthChecksInput = z
  .object({
    modelName: name,
    target: text(LIMITS.target, 1).default('production'),
    limit: z.number().int().min(1).max(1_000).default(100),
    /** Only the checks of the version deployed there now, since it was deployed (its health history starts afresh). */
    currentVersionOnly: z.boolean().default(false)
  })
  .strict()
const MODEL_STAGES = ['None', 'Staging', 'Production', 'Archived'] as const
const loggedModelId = z.string().regex(/^m-[0-9a-f]{32}$/, 'must be m- and 32 lowercase hex digits')
const registeredModelInput = z.object({ modelName: name, description: text(LIMITS.description).default(''), tags: tags.default({}) }).strict()
const tagChanges = { setTags: tags.optional(), removeTag: text(LIMITS.tagKey, 1).optional() }
const registeredModelChangesInput = z.object({ modelName: name, description: text(LIMITS.description).optional(), ...tagChanges }).strict()
const renameModelInput = z.object({ modelName: name, newName: name }).strict()
const registerLinkedVersionInput = registerModelVersionInput
  .extend({
    runLink: text(4_096).default(''),
    loggedModelId: loggedModelId.nullable().default(null),
    // MLflow's run_id text, kept as given: it need not name a run (sourceRunId links one that exists).
    mlflowRunId: text(LIMITS.name).nullable().default(null),
    storageLocation: text(LIMITS.path * 4).nullable().default(null)
  })
  .strict()
const versionChangesInput = z.object({ versionId: id, description: text(LIMITS.description).optional(), ...tagChanges }).strict()
const versionStageInput = z.object({ versionId: id, stage: z.enum(MODEL_STAGES), archiveOthers: z.boolean().default(false) }).strict()
const newLoggedModelInput = z
  .object({
    experimentId,
    name,
    modelType: text(LIMITS.name).default(''),
    sourceRunId: id.nullable().default(null),
    /** The source run id as an MLflow client gave it (kept even when no such run exists here). */
    mlflowSourceRunId: text(LIMITS.name).nullable().default(null),
    params: tags.default({}),
    tags: tags.default({}),
    userId: text(LIMITS.name).nullable().default(null),
    /** An id given from outside (an imported MLflow logged model keeps its id); default a new one. */
    modelId: loggedModelId.optional()
  })
  .strict()
const loggedModelMetricInput = z
  .object({
    modelId: loggedModelId,
    runId: z.number().int().positive().nullable(),
    key: z.string().min(1).max(LIMITS.metricKey),
    // Any double, NaN and ±Infinity included (z.number() refuses them).
    value: z.custom<number>((value) => typeof value === 'number', 'must be a number'),
    step: z.bigint(),
    timestampMs: z.number().int().nonnegative(),
    datasetName: z.string().max(LIMITS.name).nullable(),
    datasetDigest: z.string().max(LIMITS.name).nullable()
  })
  .strict()

const loggedModelChangesInput = z
  .object({
    modelId: loggedModelId,
    status: z.enum(['LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED']).optional(),
    params: tags.optional(),
    ...tagChanges
  })
  .strict()
const aliasKeyInput = z.object({ modelName: name, alias: aliasName }).strict()

/** Model versions with lineage and approval, aliases, and deployments with rollback. */
export class ModelService {
  constructor(private readonly models: PgModelRepository) {}

  async registerVersion(input: unknown): Promise<ModelVersion> {
    return this.models.registerVersion(parseInput(registerModelVersionInput, input))
  }

  async getVersion(versionId: unknown): Promise<ModelVersion> {
    return this.models.getVersion(parseInput(id, versionId, 'versionId'))
  }

  async listVersions(modelName: unknown): Promise<ModelVersion[]> {
    return this.models.listVersions(parseInput(name, modelName, 'modelName'))
  }

  async listModels(): Promise<{ modelName: string; versionCount: number; latestVersionAt: string }[]> {
    return this.models.listModelNames()
  }

  async approve(input: unknown): Promise<ModelVersion> {
    return this.review(input, 'approved')
  }

  async reject(input: unknown): Promise<ModelVersion> {
    return this.review(input, 'rejected')
  }

  async deprecate(input: unknown): Promise<ModelVersion> {
    return this.review(input, 'deprecated')
  }

  async deploy(input: unknown): Promise<Deployment> {
    const { sla, ...parsed } = parseInput(deployModelInput, input)
    return this.models.deploy({
      ...parsed,
      slaLatencyP99Ms: sla.latencyP99Ms,
      slaThroughputRps: sla.throughputRps,
      slaAvailabilityPercent: sla.availabilityPercent
    })
  }

  /** The seed's get_deployed_model: what is live for a model on a target. */
  async getDeployment(input: unknown): Promise<Deployment> {
    const { modelName, target } = parseInput(deploymentKeyInput, input)
    return this.models.getDeployment(modelName, target)
  }

  async listDeployments(modelName?: unknown): Promise<Deployment[]> {
    return this.models.listDeployments(modelName === undefined ? undefined : parseInput(name, modelName, 'modelName'))
  }

  async rollback(input: unknown): Promise<Deployment> {
    const { modelName, target, actor, notes } = parseInput(rollbackInput, input)
    return this.models.rollback(modelName, target, actor, notes)
  }

  /** A canary that proved itself takes all traffic. */
  async promoteCanary(input: unknown): Promise<Deployment> {
    const { modelName, target, actor, notes } = parseInput(rollbackInput, input)
    return this.models.promoteCanary(modelName, target, actor, notes)
  }

  /** An aborted canary hands its target back to the version it was tested against. */
  async abortCanary(input: unknown): Promise<Deployment> {
    const { modelName, target, actor, notes } = parseInput(rollbackInput, input)
    return this.models.abortCanary(modelName, target, actor, notes)
  }

  async listHealthChecks(input: unknown): Promise<HealthCheck[]> {
    const { modelName, target, limit, currentVersionOnly } = parseInput(healthChecksInput, input)
    const deployment = await this.models.getDeployment(modelName, target)
    return this.models.listHealthChecks(
      deployment.id,
      limit,
      currentVersionOnly ? { versionId: deployment.currentVersionId, since: deployment.deployedAt } : undefined
    )
  }

  /** Records a probe of a deployment's health URL (the health monitor's only write). */
  async recordHealthCheck(
    deployment: Deployment,
    probe: { ok: boolean; statusCode: number | null; latencyMs: number | null; error: string | null; throughputRps?: number | null }
  ): Promise<Deployment> {
    return this.models.recordHealthCheck(deployment, probe)
  }

  listMonitoredDeployments(): Promise<Deployment[]> {
    return this.models.listMonitoredDeployments()
  }

  async deploymentHistory(input: unknown): Promise<DeploymentEvent[]> {
    const { modelName, target } = parseInput(historyInput, input)
    return this.models.deploymentHistory(modelName, target)
  }

  async setAlias(input: unknown): Promise<ModelAlias> {
    const { modelName, alias, versionId } = parseInput(setAliasInput, input)
    return this.models.setAlias(modelName, alias, versionId)
  }

  async getAlias(input: unknown): Promise<ModelAlias> {
    const { modelName, alias } = parseInput(aliasKeyInput, input)
    return this.models.getAlias(modelName, alias)
  }

  async deleteAlias(input: unknown): Promise<void> {
    const { modelName, alias } = parseInput(aliasKeyInput, input)
    return this.models.deleteAlias(modelName, alias)
  }

  async listAliases(modelName: unknown): Promise<ModelAlias[]> {
    return this.models.listAliases(parseInput(name, modelName, 'modelName'))
  }

  // ---- registered models, MLflow's stage label and logged models (what the MLflow door needs) ----

  /** A model without versions yet; conflict when the name is taken. */
  async createRegisteredModel(input: unknown): Promise<void> {
    const { modelName, description, tags } = parseInput(registeredModelInput, input)
    if (!(await this.models.createRegisteredModel(modelName, description, tags))) {
      throw conflict(`a registered model named ${modelName} already exists`, 'modelName')
    }
  }

  /** Description and tags of a registered model (set some tags, or remove one). */
  async updateRegisteredModel(input: unknown): Promise<void> {
    const { modelName, ...changes } = parseInput(registeredModelChangesInput, input)
    await this.models.updateRegisteredModel(modelName, changes)
  }

  async renameRegisteredModel(input: unknown): Promise<void> {
    const { modelName, newName } = parseInput(renameModelInput, input)
    if (newName !== modelName) await this.models.renameRegisteredModel(modelName, newName)
  }

  /** Deletes a model and its versions; conflict while any version is deployed. */
  async deleteRegisteredModel(modelName: unknown): Promise<void> {
    await this.models.deleteRegisteredModel(parseInput(name, modelName, 'modelName'))
  }

  /** Registers a version with MLflow's run link, run id, storage location and logged model id. */
  async registerLinkedVersion(input: unknown): Promise<ModelVersion> {
    const { runLink, loggedModelId, mlflowRunId, storageLocation, ...version } = parseInput(registerLinkedVersionInput, input)
    return this.models.registerLinkedVersion(version, { runLink, loggedModelId, mlflowRunId, storageLocation })
  }

  async updateVersion(input: unknown): Promise<ModelVersion> {
    const { versionId, ...changes } = parseInput(versionChangesInput, input)
    await this.models.updateVersion(versionId, changes)
    return this.models.getVersion(versionId)
  }

  /** MLflow's stage label; it neither approves nor deploys (approval is the review workflow). */
  async setVersionStage(input: unknown): Promise<ModelVersion> {
    const { versionId, stage, archiveOthers } = parseInput(versionStageInput, input)
    if (archiveOthers && stage !== 'Staging' && stage !== 'Production') {
      throw invalidArgument(`only Staging and Production archive the other versions in their stage, not ${stage}`, 'archiveOthers')
    }
    await this.models.setVersionStage(versionId, stage, archiveOthers)
    return this.models.getVersion(versionId)
  }

  /** Conflict while the version is deployed or a rollback target. */
  async deleteVersion(versionId: unknown): Promise<void> {
    await this.models.deleteVersion(parseInput(id, versionId, 'versionId'))
  }

  /** An MLflow 3 logged model; returns its new id (m-<32 hex>). */
  async createLoggedModel(input: unknown): Promise<string> {
    const { modelId: givenId, ...parsed } = parseInput(newLoggedModelInput, input)
    const modelId = givenId ?? `m-${randomBytes(16).toString('hex')}`
    await this.models.createLoggedModel({ ...parsed, modelId })
    return modelId
  }

  async updateLoggedModel(input: unknown): Promise<void> {
    const { modelId, ...changes } = parseInput(loggedModelChangesInput, input)
    await this.models.updateLoggedModel(modelId, changes)
  }

  /** Records a metric point against a logged model (MLflow 3's log_metric with model_id). */
  async logLoggedModelMetric(input: unknown): Promise<void> {
    await this.models.logLoggedModelMetric(parseInput(loggedModelMetricInput, input))
  }

  async deleteLoggedModel(modelId: unknown): Promise<void> {
    await this.models.deleteLoggedModel(parseInput(loggedModelId, modelId, 'modelId'))
  }

  private async review(input: unknown, decision: ReviewDecision): Promise<ModelVersion> {
    const { versionId, notes, actor } = parseInput(reviewModelVersionInput, input)
    return this.models.review(versionId, decision, notes, actor)
  }

}
