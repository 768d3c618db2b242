import { z } from 'zod'
import type { Deployment, DeploymentEvent, ModelAlias, ModelVersion } from '../../../shared/domain'
import { DEPLOYMENT_STRATEGIES } from '../../../shared/domain'
import { aliasName, id, jsonObject, name, tags, text, LIMITS } from '../../../shared/schemas'
import type { DoorServices } from '../../services/core-services'
import { defineRoute, type AnyRoute } from '../route-table'
import { pathId } from './v1-fields'

export function toApiModelVersion(version: ModelVersion) {
  return {
    version_id: version.id,
    model_name: version.modelName,
    version: version.version,
    parent_version_id: version.parentVersionId,
    source_run_id: version.sourceRunId,
    artifact_uri: version.artifactUri,
    artifact_size_bytes: version.artifactSizeBytes,
    artifact_blake3: version.artifactBlake3,
    performance_metrics: version.performanceMetrics,
    description: version.description,
    tags: version.tags,
    approval_status: version.approvalStatus,
    approval_notes: version.approvalNotes,
    reviewed_by: version.reviewedBy,
    reviewed_at: version.reviewedAt,
    deprecated_by: version.deprecatedBy,
    deprecated_at: version.deprecatedAt,
    deprecation_notes: version.deprecationNotes,
    is_deployed: version.isDeployed,
    deployment_target: version.deploymentTarget,
    aliases: version.aliases,
    created_by: version.createdBy,
    created_at: version.createdAt,
    updated_at: version.updatedAt
  }
}

export function toApiDeployment(deployment: Deployment) {
  return {
    deployment_id: deployment.id,
    model_name: deployment.modelName,
    target: deployment.target,
    current_version_id: deployment.currentVersionId,
    previous_version_id: deployment.previousVersionId,
    strategy: deployment.strategy,
    canary_traffic_percent: deployment.canaryTrafficPercent,
    sla: {
      latency_p99_ms: deployment.sla.latencyP99Ms,
      throughput_rps: deployment.sla.throughputRps,
      availability_percent: deployment.sla.availabilityPercent
    },
    health: {
      url: deployment.health.url,
      status: deployment.health.status,
      checked_at: deployment.health.checkedAt,
      latency_ms: deployment.health.latencyMs,
      throughput_rps: deployment.health.throughputRps,
      availability_percent: deployment.health.availabilityPercent
    },
    deployed_by: deployment.deployedBy,
    deployed_at: deployment.deployedAt,
    updated_at: deployment.updatedAt
  }
}

function toApiDeploymentEvent(event: DeploymentEvent) {
  return {
    event_id: event.id,
    model_name: event.modelName,
    target: event.target,
    action: event.action,
    from_version_id: event.fromVersionId,
    to_version_id: event.toVersionId,
    strategy: event.strategy,
    canary_traffic_percent: event.canaryTrafficPercent,
    actor: event.actor,
    notes: event.notes,
    occurred_at: event.occurredAt
  }
}

function toApiAlias(alias: ModelAlias) {
  return { model_name: alias.modelName, alias: alias.alias, version_id: alias.versionId, updated_at: alias.updatedAt }
}

const registerVersionBody = z
  .object({
    model_name: name,
    version: text(LIMITS.version, 1).optional().describe('absent: the next integer version of this model'),
    artifact_uri: text(4_096, 1),
    source_run_id: id.nullable().optional(),
    parent_version_id: id.nullable().optional(),
    performance_metrics: jsonObject.optional(),
    artifact_blake3: z.string().nullable().optional(),
    artifact_size_bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().optional(),
    description: text(LIMITS.description).optional(),
    tags: tags.optional(),
    created_by: text(LIMITS.name).nullable().optional()
  })
  .strict()

const reviewBody = z
  .object({ version_id: id, notes: text(LIMITS.notes).nullable().optional(), actor: text(LIMITS.name).nullable().optional() })
  .strict()

const deployBody = z
  .object({
    model_name: name,
    version_id: id,
    target: text(LIMITS.target, 1).optional().describe('deployment target, "production" unless given'),
    strategy: z.enum(DEPLOYMENT_STRATEGIES).optional(),
    canary_traffic_percent: z.number().nullable().optional().describe('a canary deployment needs it, and only a canary has one'),
    sla: z
      .object({
        latency_p99_ms: z.number().nullable().optional(),
        throughput_rps: z.number().nullable().optional(),
        availability_percent: z.number().nullable().optional()
      })
      .strict()
      .optional(),
    health_url: z.string().nullable().optional(),
    actor: text(LIMITS.name).nullable().optional()
  })
  .strict()

const rollbackBody = z
  .object({
    model_name: name,
    target: text(LIMITS.target, 1).optional(),
    actor: text(LIMITS.name).nullable().optional(),
    notes: text(LIMITS.notes).nullable().optional()
  })
  .strict()

const versionParams = z.object({ versionId: pathId(id) }).strict()
const modelParams = z.object({ modelName: name }).strict()
const aliasParams = z.object({ modelName: name, alias: aliasName }).strict()
const targetQuery = z.object({ target: text(LIMITS.target, 1).optional() }).strict()

export function modelRoutes(services: DoorServices): AnyRoute[] {
  const { models } = services
  const review = (decision: 'approve' | 'reject' | 'deprecate', summary: string) =>
    defineRoute({
      method: 'POST',
      path: `/v1/ml/models/versions/${decision}`,
      summary,
      tag: 'models',
      body: reviewBody,
      handler: async ({ body }) => toApiModelVersion(await models[decision]({ versionId: body.version_id, notes: body.notes, actor: body.actor }))
    })
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/ml/models/versions',
      summary: 'Register a model version with lineage, metrics and the BLAKE3 of its artifact (the seed RegisterModelVersionRequest)',
      tag: 'models',
      body: registerVersionBody,
      status: 201,
      handler: async ({ body }) =>
        toApiModelVersion(
          await models.registerVersion({
            modelName: body.model_name,
            version: body.version,
            artifactUri: body.artifact_uri,
            sourceRunId: body.source_run_id,
            parentVersionId: body.parent_version_id,
            performanceMetrics: body.performance_metrics,
            artifactBlake3: body.artifact_blake3,
            artifactSizeBytes: body.artifact_size_bytes,
            description: body.description,
            tags: body.tags,
            createdBy: body.created_by
          })
        )
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/models/versions/:versionId',
      summary: 'Get a model version',
      tag: 'models',
      params: versionParams,
      handler: async ({ params }) => toApiModelVersion(await models.getVersion(params.versionId))
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/models/:modelName/versions',
      summary: 'List the versions of a model, newest first',
      tag: 'models',
      params: modelParams,
      handler: async ({ params }) => ({ model_name: params.modelName, versions: (await models.listVersions(params.modelName)).map(toApiModelVersion) })
    }),
    review('approve', 'Approve a pending model version'),
    review('reject', 'Reject a pending model version'),
    review('deprecate', 'Deprecate an approved model version'),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/models/deploy',
      summary: 'Deploy an approved version to a target (blue-green, canary with a traffic share, rolling or shadow) with SLA targets',
      tag: 'deployments',
      body: deployBody,
      handler: async ({ body }) =>
        toApiDeployment(
          await models.deploy({
            modelName: body.model_name,
            versionId: body.version_id,
            target: body.target,
            strategy: body.strategy,
            canaryTrafficPercent: body.canary_traffic_percent,
            sla: body.sla && {
              latencyP99Ms: body.sla.latency_p99_ms,
              throughputRps: body.sla.throughput_rps,
              availabilityPercent: body.sla.availability_percent
            },
            healthUrl: body.health_url,
            actor: body.actor
          })
        )
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/models/:modelName/deployment',
      summary: 'What is deployed for a model on a target (?target=, "production" unless given)',
      tag: 'deployments',
      params: modelParams,
      query: targetQuery,
      handler: async ({ params, query }) => toApiDeployment(await models.getDeployment({ modelName: params.modelName, target: query.target }))
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/models/:modelName/deployment/history',
      summary: 'Every deploy and rollback of a model (on one target with ?target=), newest first',
      tag: 'deployments',
      params: modelParams,
      query: targetQuery,
      handler: async ({ params, query }) => ({
        events: (await models.deploymentHistory({ modelName: params.modelName, target: query.target })).map(toApiDeploymentEvent)
      })
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/models/rollback',
      summary: 'Roll a deployment back to its previous version',
      tag: 'deployments',
      body: rollbackBody,
      handler: async ({ body }) =>
        toApiDeployment(await models.rollback({ modelName: body.model_name, target: body.target, actor: body.actor, notes: body.notes }))
    }),
    ...(['promote', 'abort'] as const).map((move) =>
      defineRoute({
        method: 'POST',
        path: `/v1/ml/models/canary/${move}`,
        summary:
          move === 'promote'
            ? 'Promote the canary on a target to all traffic'
            : 'Abort the canary on a target: the version it was tested against takes all traffic again',
        tag: 'deployments',
        body: rollbackBody,
        handler: async ({ body }) => {
          const input = { modelName: body.model_name, target: body.target, actor: body.actor, notes: body.notes }
          return toApiDeployment(move === 'promote' ? await models.promoteCanary(input) : await models.abortCanary(input))
        }
      })
    ),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/models/:modelName/deployment/health',
      summary: "The latest health checks of a deployment's health URL (on one target with ?target=), newest first",
      tag: 'deployments',
      params: modelParams,
      query: targetQuery,
      handler: async ({ params, query }) => ({
        checks: (await models.listHealthChecks({ modelName: params.modelName, target: query.target })).map((check) => ({
          check_id: check.id,
          version_id: check.versionId,
          checked_at: check.checkedAt,
          ok: check.ok,
          status_code: check.statusCode,
          latency_ms: check.latencyMs,
          error: check.error,
          status: check.status,
          breached_targets: check.breachedTargets
        }))
      })
    }),
    defineRoute({
      method: 'PUT',
      path: '/v1/ml/models/:modelName/aliases/:alias',
      summary: 'Point an alias ("champion") at a version of the model',
      tag: 'aliases',
      params: aliasParams,
      body: z.object({ version_id: id }).strict(),
      handler: async ({ params, body }) => toApiAlias(await models.setAlias({ modelName: params.modelName, alias: params.alias, versionId: body.version_id }))
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/models/:modelName/aliases/:alias',
      summary: 'Read an alias',
      tag: 'aliases',
      params: aliasParams,
      handler: async ({ params }) => toApiAlias(await models.getAlias({ modelName: params.modelName, alias: params.alias }))
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/ml/models/:modelName/aliases/:alias',
      summary: 'Delete an alias',
      tag: 'aliases',
      params: aliasParams,
      handler: async ({ params }) => {
        await models.deleteAlias({ modelName: params.modelName, alias: params.alias })
        return { deleted: true }
      }
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/models/:modelName/aliases',
      summary: 'List the aliases of a model',
      tag: 'aliases',
      params: modelParams,
      handler: async ({ params }) => ({ aliases: (await models.listAliases(params.modelName)).map(toApiAlias) })
    })
  ]
}
