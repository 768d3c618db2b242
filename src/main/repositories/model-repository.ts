import type {
  ApprovalStatus,
  Deployment,
  DeploymentAction,
  DeploymentEvent,
  DeploymentStrategy,
  HealthCheck,
  HealthStatus,
  JsonObject,
  ModelAlias,
  ModelVersion,
  SlaTarget,
  Tags
} from '../../shared/domain'
import { conflict, invalidArgument, notFound } from '../../shared/errors'
import type { Queryable } from '../db/database'
import { pythonJsonDumps } from '../../shared/python-json'
import { translated } from './pg-errors'
import { toId, toIso, toJsonObject, toOptionalId, toOptionalIso, toOptionalNumber, toOptionalString, toTags } from './row-mapping'

export interface NewModelVersion {
  modelName: string
  /** null: the next integer version of this model. */
  version: string | null
  artifactUri: string
  sourceRunId: number | null
  parentVersionId: number | null
  performanceMetrics: JsonObject
  artifactBlake3: string | null
  artifactSizeBytes: number | null
  description: string
  tags: Tags
  createdBy: string | null
}

export interface NewDeployment {
  modelName: string
  versionId: number
  target: string
  strategy: DeploymentStrategy
  canaryTrafficPercent: number | null
  slaLatencyP99Ms: number | null
  slaThroughputRps: number | null
  slaAvailabilityPercent: number | null
  healthUrl: string | null
  actor: string | null
}

export type ReviewDecision = 'approved' | 'rejected' | 'deprecated'

function toModelVersion(row: Record<string, unknown>): ModelVersion {
  return {
    id: toId(row.version_id),
    modelName: row.model_name as string,
    version: row.version as string,
    parentVersionId: toOptionalId(row.parent_version_id),
    sourceRunId: toOptionalId(row.source_run_id),
    artifactUri: row.artifact_uri as string,
    artifactSizeBytes: toOptionalNumber(row.artifact_size_bytes),
    artifactBlake3: toOptionalString(row.artifact_blake3),
    performanceMetrics: toJsonObject(row.performance_metrics),
    description: row.description as string,
    tags: toTags(row.tags),
    approvalStatus: row.approval_status as ApprovalStatus,
    approvalNotes: toOptionalString(row.approval_notes),
    reviewedBy: toOptionalString(row.reviewed_by),
    reviewedAt: toOptionalIso(row.reviewed_at),
    deprecatedBy: toOptionalString(row.deprecated_by),
    deprecatedAt: toOptionalIso(row.deprecated_at),
    deprecationNotes: toOptionalString(row.deprecation_notes),
    isDeployed: row.is_deployed as boolean,
    deploymentTarget: toOptionalString(row.deployment_target),
    aliases: (row.aliases as string[] | null) ?? [],
    createdBy: toOptionalString(row.created_by),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at)
  }
}

function toDeployment(row: Record<string, unknown>): Deployment {
  return {
    id: toId(row.registry_id),
    modelName: row.model_name as string,
    target: row.deployment_target as string,
    currentVersionId: toId(row.current_version_id),
    previousVersionId: toOptionalId(row.previous_version_id),
    strategy: row.deployment_strategy as DeploymentStrategy,
    canaryTrafficPercent: toOptionalNumber(row.canary_traffic_percent),
    sla: {
      latencyP99Ms: toOptionalNumber(row.sla_latency_p99_ms),
      throughputRps: toOptionalNumber(row.sla_throughput_rps),
      availabilityPercent: toOptionalNumber(row.sla_availability_percent)
    },
    health: {
      url: toOptionalString(row.health_url),
      status: row.health_status as HealthStatus,
      checkedAt: toOptionalIso(row.health_checked_at),
      latencyMs: toOptionalNumber(row.observed_latency_ms),
      throughputRps: toOptionalNumber(row.observed_throughput_rps),
      availabilityPercent: toOptionalNumber(row.observed_availability_percent)
    },
    deployedBy: toOptionalString(row.deployed_by),
    deployedAt: toIso(row.deployed_at),
    updatedAt: toIso(row.updated_at)
  }
}

function toDeploymentEvent(row: Record<string, unknown>): DeploymentEvent {
  return {
    id: toId(row.event_id),
    modelName: row.model_name as string,
    target: row.deployment_target as string,
    action: row.action as DeploymentAction,
    fromVersionId: toOptionalId(row.from_version_id),
    toVersionId: toOptionalId(row.to_version_id),
    strategy: (row.deployment_strategy as DeploymentStrategy | null) ?? null,
    canaryTrafficPercent: toOptionalNumber(row.canary_traffic_percent),
    actor: toOptionalString(row.actor),
    notes: toOptionalString(row.notes),
    occurredAt: toIso(row.occurred_at)
  }
}

const VERSION_SELECT = `SELECT v.*, (SELECT array_agg(a.alias ORDER BY a.alias) FROM ml_model_alias a WHERE a.version_id = v.version_id) AS aliases
  FROM ml_model_version v`

export class PgModelRepository {
  constructor(private readonly db: Queryable) {}

  async registerVersion(version: NewModelVersion): Promise<ModelVersion> {
    const { rows } = await translated(() =>
      this.db.query<{ id: string }>('SELECT register_ml_model_version($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) AS id', [
        version.modelName,
        version.version,
        version.artifactUri,
        version.sourceRunId,
        version.parentVersionId,
        version.performanceMetrics,
        version.artifactBlake3,
        version.artifactSizeBytes,
        version.description,
        version.tags,
        version.createdBy
      ])
    )
    return this.getVersion(toId(rows[0]!.id))
  }

  async getVersion(id: number): Promise<ModelVersion> {
    const { rows } = await this.db.query(`${VERSION_SELECT} WHERE v.version_id = $1`, [id])
    if (!rows[0]) throw notFound(`model version ${id} does not exist`, 'versionId')
    return toModelVersion(rows[0])
  }

  async findVersion(modelName: string, version: string): Promise<ModelVersion | undefined> {
    const { rows } = await this.db.query(`${VERSION_SELECT} WHERE v.model_name = $1 AND v.version = $2`, [modelName, version])
    return rows[0] ? toModelVersion(rows[0]) : undefined
  }

  /** Versions of one model, newest first. */
  async listVersions(modelName: string): Promise<ModelVersion[]> {
    const { rows } = await this.db.query(`${VERSION_SELECT} WHERE v.model_name = $1 ORDER BY v.created_at DESC, v.version_id DESC`, [
      modelName
    ])
    return rows.map(toModelVersion)
  }

  async listModelNames(): Promise<{ modelName: string; versionCount: number; latestVersionAt: string }[]> {
    const { rows } = await this.db.query(
      `SELECT model_name, count(*) AS n, max(created_at) AS latest FROM ml_model_version GROUP BY model_name ORDER BY model_name`
    )
    return rows.map((row) => ({ modelName: row.model_name as string, versionCount: Number(row.n), latestVersionAt: toIso(row.latest) }))
  }

  async review(versionId: number, decision: ReviewDecision, notes: string | null, actor: string | null): Promise<ModelVersion> {
    await translated(() => this.db.query('SELECT review_ml_model_version($1, $2, $3, $4)', [versionId, decision, notes, actor]))
    return this.getVersion(versionId)
  }

  async deploy(deployment: NewDeployment): Promise<Deployment> {
    await translated(() =>
      this.db.query('SELECT deploy_ml_model($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
        deployment.modelName,
        deployment.versionId,
        deployment.target,
        deployment.strategy,
        deployment.canaryTrafficPercent,
        deployment.slaLatencyP99Ms,
        deployment.slaThroughputRps,
        deployment.slaAvailabilityPercent,
        deployment.actor,
        deployment.healthUrl
      ])
    )
    return this.getDeployment(deployment.modelName, deployment.target)
  }

  async findDeployment(modelName: string, target: string): Promise<Deployment | undefined> {
    const { rows } = await this.db.query('SELECT * FROM ml_model_registry WHERE model_name = $1 AND deployment_target = $2', [
      modelName,
      target
    ])
    return rows[0] ? toDeployment(rows[0]) : undefined
  }

  async getDeployment(modelName: string, target: string): Promise<Deployment> {
    const deployment = await this.findDeployment(modelName, target)
    if (!deployment) throw notFound(`model ${modelName} is not deployed to ${target}`, 'target')
    return deployment
  }

  async listDeployments(modelName?: string): Promise<Deployment[]> {
    const { rows } = await this.db.query(
      'SELECT * FROM ml_model_registry WHERE $1::text IS NULL OR model_name = $1 ORDER BY model_name, deployment_target',
      [modelName ?? null]
    )
    return rows.map(toDeployment)
  }

  async rollback(modelName: string, target: string, actor: string | null, notes: string | null): Promise<Deployment> {
    await translated(() => this.db.query('SELECT rollback_ml_model($1, $2, $3, $4)', [modelName, target, actor, notes]))
    return this.getDeployment(modelName, target)
  }

  async promoteCanary(modelName: string, target: string, actor: string | null, notes: string | null): Promise<Deployment> {
    await translated(() => this.db.query('SELECT promote_ml_canary($1, $2, $3, $4)', [modelName, target, actor, notes]))
    return this.getDeployment(modelName, target)
  }

  async abortCanary(modelName: string, target: string, actor: string | null, notes: string | null): Promise<Deployment> {
    await translated(() => this.db.query('SELECT abort_ml_canary($1, $2, $3, $4)', [modelName, target, actor, notes]))
    return this.getDeployment(modelName, target)
  }

  /** Deployments that have a health URL, for the health monitor. */
  async listMonitoredDeployments(): Promise<Deployment[]> {
    const { rows } = await this.db.query('SELECT * FROM ml_model_registry WHERE health_url IS NOT NULL ORDER BY registry_id')
    return rows.map(toDeployment)
  }

  /**
   * Records one probe and refreshes the deployment's observed health: p99 latency and
   * availability over the last 100 probes of the version deployed now (since it was deployed,
   * so a rollback starts a fresh window rather than inheriting the other version's breaches),
   * throughput as the health URL reported it, and a status judged against the SLA naming
   * each target it missed.
   */
  async recordHealthCheck(
    deployment: Deployment,
    probe: { ok: boolean; statusCode: number | null; latencyMs: number | null; error: string | null; throughputRps?: number | null }
  ): Promise<Deployment> {
    return this.db.withTransaction(async (tx) => {
      const { rows } = await tx.query<{ p99: number | null; availability: number | null }>(
        `WITH recent AS (
           SELECT ok, latency_ms FROM ml_deployment_health_check
           WHERE registry_id = $1 AND version_id = $4 AND checked_at >= $5::timestamptz
           ORDER BY checked_at DESC LIMIT 99)
         SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99,
                100.0 * count(*) FILTER (WHERE ok) / count(*) AS availability
         FROM (SELECT ok, latency_ms FROM recent UNION ALL SELECT $2::boolean, $3::float8) probes`,
        [deployment.id, probe.ok, probe.latencyMs, deployment.currentVersionId, deployment.deployedAt]
      )
      const p99 = rows[0]?.p99 === null || rows[0]?.p99 === undefined ? null : Number(rows[0].p99)
      const availability = rows[0]?.availability === null || rows[0]?.availability === undefined ? null : Number(rows[0].availability)
      const throughput = probe.throughputRps ?? null
      const breached: SlaTarget[] = []
      if (deployment.sla.latencyP99Ms !== null && p99 !== null && p99 > deployment.sla.latencyP99Ms) breached.push('latency_p99')
      if (deployment.sla.throughputRps !== null && throughput !== null && throughput < deployment.sla.throughputRps) breached.push('throughput')
      if (deployment.sla.availabilityPercent !== null && availability !== null && availability < deployment.sla.availabilityPercent) breached.push('availability')
      const status = !probe.ok ? 'unhealthy' : breached.length > 0 ? 'degraded' : 'healthy'
      await tx.query(
        `INSERT INTO ml_deployment_health_check (registry_id, version_id, ok, status_code, latency_ms, error, health_status,
                                                 latency_p99_ms, availability_percent, throughput_rps, breached_targets)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [deployment.id, deployment.currentVersionId, probe.ok, probe.statusCode, probe.latencyMs, probe.error, status, p99, availability, throughput, breached]
      )
      await tx.query(
        `UPDATE ml_model_registry SET health_status = $2, health_checked_at = now(), observed_latency_ms = $3,
                observed_availability_percent = $4, observed_throughput_rps = $5 WHERE registry_id = $1`,
        [deployment.id, status, p99, availability, throughput]
      )
      const { rows: updated } = await tx.query('SELECT * FROM ml_model_registry WHERE registry_id = $1', [deployment.id])
      return toDeployment(updated[0]!)
    })
  }

  /**
   * The newest checks of a deployment. With `versionId` and `since`, only the checks of that
   * version since it was deployed: the health history of what runs there now.
   */
  async listHealthChecks(deploymentId: number, limit: number, current?: { versionId: number; since: string }): Promise<HealthCheck[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM ml_deployment_health_check
       WHERE registry_id = $1 AND ($3::bigint IS NULL OR (version_id = $3 AND checked_at >= $4::timestamptz))
       ORDER BY checked_at DESC, check_id DESC LIMIT $2`,
      [deploymentId, limit, current?.versionId ?? null, current?.since ?? null]
    )
    return rows.map((row) => ({
      id: toId(row.check_id),
      deploymentId: toId(row.registry_id),
      versionId: toOptionalId(row.version_id),
      checkedAt: toIso(row.checked_at),
      ok: row.ok as boolean,
      statusCode: toOptionalNumber(row.status_code),
      latencyMs: toOptionalNumber(row.latency_ms),
      error: toOptionalString(row.error),
      status: row.health_status as HealthCheck['status'],
      latencyP99Ms: toOptionalNumber(row.latency_p99_ms),
      availabilityPercent: toOptionalNumber(row.availability_percent),
      throughputRps: toOptionalNumber(row.throughput_rps),
      breachedTargets: (row.breached_targets as SlaTarget[] | null) ?? []
    }))
  }

  async deploymentHistory(modelName: string, target?: string): Promise<DeploymentEvent[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM ml_deployment_event WHERE model_name = $1 AND ($2::text IS NULL OR deployment_target = $2)
       ORDER BY occurred_at DESC, event_id DESC`,
      [modelName, target ?? null]
    )
    return rows.map(toDeploymentEvent)
  }

  async setAlias(modelName: string, alias: string, versionId: number): Promise<ModelAlias> {
    return translated(() =>
      this.db.withTransaction(async (tx) => {
        // The foreign key would refuse another model's version too, but as "not found": say what is wrong.
        const owner = await tx.query<{ model_name: string }>(
          'SELECT model_name FROM ml_model_version WHERE version_id = $1 FOR SHARE',
          [versionId]
        )
        if (!owner.rows[0]) throw notFound(`model version ${versionId} does not exist`, 'versionId')
        if (owner.rows[0].model_name !== modelName) {
          throw invalidArgument(`version ${versionId} belongs to model ${owner.rows[0].model_name}, not ${modelName}`, 'versionId')
        }
        const { rows } = await tx.query(
          `INSERT INTO ml_model_alias (model_name, alias, version_id) VALUES ($1, $2, $3)
           ON CONFLICT (model_name, alias) DO UPDATE SET version_id = EXCLUDED.version_id, updated_at = now()
           RETURNING *`,
          [modelName, alias, versionId]
        )
        return toAlias(rows[0]!)
      })
    )
  }

  async getAlias(modelName: string, alias: string): Promise<ModelAlias> {
    const { rows } = await this.db.query('SELECT * FROM ml_model_alias WHERE model_name = $1 AND alias = $2', [modelName, alias])
    if (!rows[0]) throw notFound(`model ${modelName} has no alias ${alias}`, 'alias')
    return toAlias(rows[0])
  }

  async deleteAlias(modelName: string, alias: string): Promise<void> {
    const { rowCount } = await this.db.query('DELETE FROM ml_model_alias WHERE model_name = $1 AND alias = $2', [modelName, alias])
    if (rowCount === 0) throw notFound(`model ${modelName} has no alias ${alias}`, 'alias')
  }

  async listAliases(modelName: string): Promise<ModelAlias[]> {
    const { rows } = await this.db.query('SELECT * FROM ml_model_alias WHERE model_name = $1 ORDER BY alias', [modelName])
    return rows.map(toAlias)
  }

  // ---- registered models (a model exists before and apart from its versions; migrations/0006) ----

  /** False when a model of that name exists already. */
  async createRegisteredModel(modelName: string, description: string, tags: Tags): Promise<boolean> {
    const { rowCount } = await translated(() =>
      this.db.query(
        'INSERT INTO ml_registered_model (model_name, description, tags) VALUES ($1, $2, $3) ON CONFLICT (model_name) DO NOTHING',
        [modelName, description, tags]
      )
    )
    return rowCount > 0
  }

  async updateRegisteredModel(modelName: string, changes: { description?: string; setTags?: Tags; removeTag?: string }): Promise<void> {
    const { rowCount } = await translated(() =>
      this.db.query(
        `UPDATE ml_registered_model SET description = coalesce($2, description), tags = (tags || coalesce($3, '{}'::jsonb)) - coalesce($4, ''),
           updated_at = now()
         WHERE model_name = $1`,
        [modelName, changes.description ?? null, changes.setTags ?? null, changes.removeTag ?? null]
      )
    )
    if (rowCount === 0) throw notFound(`registered model ${modelName} does not exist`, 'modelName')
  }

  /**
   * Renames a model everywhere its name is part of a key. One statement, so the composite
   * foreign keys (version_id, model_name) are checked only once every table has the new name.
   */
  async renameRegisteredModel(modelName: string, newName: string): Promise<void> {
    await translated(() =>
      this.db.withTransaction(async (tx) => {
        const { rows } = await tx.query('SELECT 1 FROM ml_registered_model WHERE model_name = $1', [newName])
        if (rows[0]) throw conflict(`a registered model named ${newName} already exists`, 'newName')
        const { rowCount } = await tx.query(
          `WITH a AS (UPDATE ml_model_alias SET model_name = $2 WHERE model_name = $1),
                d AS (UPDATE ml_model_registry SET model_name = $2 WHERE model_name = $1),
                e AS (UPDATE ml_deployment_event SET model_name = $2 WHERE model_name = $1),
                v AS (UPDATE ml_model_version SET model_name = $2, updated_at = now() WHERE model_name = $1)
           UPDATE ml_registered_model SET model_name = $2, updated_at = now() WHERE model_name = $1`,
          [modelName, newName]
        )
        if (rowCount === 0) throw notFound(`registered model ${modelName} does not exist`, 'modelName')
      })
    )
  }

  /** Deletes a model and its versions; refused while a version is deployed (governance first). */
  async deleteRegisteredModel(modelName: string): Promise<void> {
    await translated(() =>
      this.db.withTransaction(async (tx) => {
        const { rows } = await tx.query('SELECT deployment_target FROM ml_model_registry WHERE model_name = $1 LIMIT 1', [modelName])
        if (rows[0]) throw conflict(`Registered model '${modelName}' is deployed to '${String(rows[0].deployment_target)}'; undeploy it before deleting`, 'modelName')
        await tx.query('DELETE FROM ml_model_version WHERE model_name = $1', [modelName])
        await tx.query('DELETE FROM ml_registered_model WHERE model_name = $1', [modelName])
      })
    )
  }

  // ---- MLflow's side of a version: stage label, run link, logged model, tags, deletion ----

  /**
   * Registers a version with MLflow's side of it, in one transaction: run link, MLflow's run id
   * text, the resolved storage location, and the logged model it came from — which then lists the
   * version in its mlflow.modelVersions tag, as MLflow's tracking store does.
   */
  async registerLinkedVersion(version: NewModelVersion, links: VersionLinks): Promise<ModelVersion> {
    const id = await translated(() =>
      this.db.withTransaction(async (tx) => {
        // The logged model is locked first, so two versions of it cannot lose each other's entry.
        const listed = links.loggedModelId === null ? undefined : await lockModelVersionsTag(tx, links.loggedModelId)
        const created = await new PgModelRepository(tx).registerVersion(version)
        await tx.query('UPDATE ml_model_version SET run_link = $2, logged_model_id = $3, mlflow_run_id = $4, storage_location = $5 WHERE version_id = $1', [
          created.id,
          links.runLink,
          links.loggedModelId,
          links.mlflowRunId,
          links.storageLocation
        ])
        await tx.query('UPDATE ml_registered_model SET updated_at = now() WHERE model_name = $1', [version.modelName])
        if (listed !== undefined) {
          listed.push({ name: created.modelName, version: /^\d{1,15}$/.test(created.version) ? Number(created.version) : created.version })
          await tx.query(
            `UPDATE ml_logged_model SET tags = tags || jsonb_build_object('${MODEL_VERSIONS_TAG}', $2::text), updated_at = now() WHERE model_id = $1`,
            [links.loggedModelId, pythonJsonDumps(listed)]
          )
        }
        return created.id
      })
    )
    return this.getVersion(id)
  }

  async updateVersion(versionId: number, changes: { description?: string; setTags?: Tags; removeTag?: string }): Promise<void> {
    const { rowCount } = await translated(() =>
      this.db.query(
        `UPDATE ml_model_version SET description = coalesce($2, description), tags = (tags || coalesce($3, '{}'::jsonb)) - coalesce($4, ''),
           updated_at = now()
         WHERE version_id = $1`,
        [versionId, changes.description ?? null, changes.setTags ?? null, changes.removeTag ?? null]
      )
    )
    if (rowCount === 0) throw notFound(`model version ${versionId} does not exist`, 'versionId')
  }

  /**
   * MLflow's stage label (None, Staging, Production, Archived), apart from approval: moving a
   * version to Production neither approves nor deploys it. With archiveOthers, the model's other
   * versions in that stage go to Archived.
   */
  async setVersionStage(versionId: number, stage: string, archiveOthers: boolean): Promise<void> {
    await translated(() =>
      this.db.withTransaction(async (tx) => {
        const { rows } = await tx.query<{ model_name: string }>(
          'UPDATE ml_model_version SET stage = $2, updated_at = now() WHERE version_id = $1 RETURNING model_name',
          [versionId, stage]
        )
        if (!rows[0]) throw notFound(`model version ${versionId} does not exist`, 'versionId')
        if (archiveOthers) {
          await tx.query(
            `UPDATE ml_model_version SET stage = 'Archived', updated_at = now() WHERE model_name = $1 AND version_id <> $2 AND stage = $3`,
            [rows[0].model_name, versionId, stage]
          )
        }
        await tx.query('UPDATE ml_registered_model SET updated_at = now() WHERE model_name = $1', [rows[0].model_name])
      })
    )
  }

  /** Refused while the version is deployed or is a deployment's rollback target. */
  async deleteVersion(versionId: number): Promise<void> {
    await translated(() =>
      this.db.withTransaction(async (tx) => {
        const { rows } = await tx.query(
          'SELECT deployment_target FROM ml_model_registry WHERE current_version_id = $1 OR previous_version_id = $1 LIMIT 1',
          [versionId]
        )
        if (rows[0]) {
          throw conflict(`this model version is deployed (or the rollback target) on '${String(rows[0].deployment_target)}'; it cannot be deleted`, 'versionId')
        }
        const { rows: deleted } = await tx.query<{ model_name: string }>('DELETE FROM ml_model_version WHERE version_id = $1 RETURNING model_name', [
          versionId
        ])
        if (!deleted[0]) throw notFound(`model version ${versionId} does not exist`, 'versionId')
        await tx.query('UPDATE ml_registered_model SET updated_at = now() WHERE model_name = $1', [deleted[0].model_name])
      })
    )
  }

  // ---- logged models (MLflow 3: a model logged by a run, with its own artifacts) ----

  async createLoggedModel(model: NewLoggedModel): Promise<void> {
    await translated(() =>
      this.db.query(
        `INSERT INTO ml_logged_model (model_id, experiment_id, name, model_type, source_run_id, mlflow_source_run_id, params, tags, user_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [model.modelId, model.experimentId, model.name, model.modelType, model.sourceRunId, model.mlflowSourceRunId, model.params, model.tags, model.userId]
      )
    )
  }

  /** Removing a tag the model does not have is refused (MLflow's rule for logged models), and nothing changes. */
  async updateLoggedModel(modelId: string, changes: { status?: string; setTags?: Tags; removeTag?: string; params?: Tags }): Promise<void> {
    const { rowCount } = await translated(() =>
      this.db.query(
        `UPDATE ml_logged_model SET status = coalesce($2, status), tags = (tags || coalesce($3, '{}'::jsonb)) - coalesce($4, ''),
           params = params || coalesce($5, '{}'::jsonb), updated_at = now()
         WHERE model_id = $1 AND deleted_at IS NULL AND ($4::text IS NULL OR tags ? $4)`,
        [modelId, changes.status ?? null, changes.setTags ?? null, changes.removeTag ?? null, changes.params ?? null]
      )
    )
    if (rowCount !== 0) return
    const { rows } = await this.db.query('SELECT 1 FROM ml_logged_model WHERE model_id = $1 AND deleted_at IS NULL', [modelId])
    if (rows.length === 0) throw notFound(`logged model ${modelId} does not exist`, 'modelId')
    throw notFound(`logged model ${modelId} has no tag ${JSON.stringify(changes.removeTag)}`, 'removeTag')
  }

  /** A point logged against a logged model (and its run): the model's own record of it. */
  async logLoggedModelMetric(metric: { modelId: string; runId: number | null; key: string; value: number; step: bigint; timestampMs: number; datasetName: string | null; datasetDigest: string | null }): Promise<void> {
    const { rowCount } = await translated(() =>
      this.db.query(
        `INSERT INTO ml_logged_model_metric (model_id, run_id, metric_name, value, step, logged_at, dataset_name, dataset_digest)
         SELECT model_id, $2, $3, $4, $5, to_timestamp($6::double precision / 1000), $7, $8 FROM ml_logged_model WHERE model_id = $1 AND deleted_at IS NULL`,
        [metric.modelId, metric.runId, metric.key, metric.value, metric.step.toString(), metric.timestampMs, metric.datasetName, metric.datasetDigest]
      )
    )
    if (rowCount === 0) throw notFound(`logged model ${metric.modelId} does not exist`, 'modelId')
  }

  async deleteLoggedModel(modelId: string): Promise<void> {
    const { rowCount } = await this.db.query(
      'UPDATE ml_logged_model SET deleted_at = now(), updated_at = now() WHERE model_id = $1 AND deleted_at IS NULL',
      [modelId]
    )
    if (rowCount === 0) throw notFound(`logged model ${modelId} does not exist`, 'modelId')
  }
}

/** MLflow's side of a version registered through the MLflow door. */
export interface VersionLinks {
  runLink: string
  loggedModelId: string | null
  /** The run_id the client sent, kept whether or not such a run exists. */
  mlflowRunId: string | null
  /** Where a models:/ source resolved to; null when the source itself is the location. */
  storageLocation: string | null
}

/** The logged model tag listing its registered versions (MLflow's MLFLOW_MODEL_VERSIONS). */
const MODEL_VERSIONS_TAG = 'mlflow.modelVersions'

/** Locks a logged model and returns the versions its tag lists (a tag that is not a JSON list: none yet). */
async function lockModelVersionsTag(tx: Queryable, modelId: string): Promise<unknown[]> {
  const { rows } = await tx.query<{ listed: string | null }>(
    `SELECT tags->>'${MODEL_VERSIONS_TAG}' AS listed FROM ml_logged_model WHERE model_id = $1 AND deleted_at IS NULL FOR UPDATE`,
    [modelId]
  )
  if (!rows[0]) throw notFound(`logged model ${modelId} does not exist`, 'loggedModelId')
  try {
    const parsed: unknown = JSON.parse(rows[0].listed ?? '[]')
    return Array.isArray(parsed) ? parsed : []
  } catch {
    return []
  }
}

export interface NewLoggedModel {
  modelId: string
  experimentId: number
  name: string
  modelType: string
  sourceRunId: number | null
  /** The source run id as an MLflow client gave it; null when it came from a run here. */
  mlflowSourceRunId: string | null
  params: Tags
  tags: Tags
  userId: string | null
}

function toAlias(row: Record<string, unknown>): ModelAlias {
  return { modelName: row.model_name as string, alias: row.alias as string, versionId: toId(row.version_id), updatedAt: toIso(row.updated_at) }
}
