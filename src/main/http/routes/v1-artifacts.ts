import { z } from 'zod'
import type { Artifact } from '../../../shared/domain'
import { ARTIFACT_KINDS } from '../../../shared/domain'
import { id, jsonObject, text, LIMITS } from '../../../shared/schemas'
import type { DoorServices } from '../../services/core-services'
import { defineRoute, type AnyRoute } from '../route-table'
import { runParams } from './v1-runs'
import { pathId } from './v1-fields'

export function toApiArtifact(artifact: Artifact) {
  return {
    artifact_id: artifact.id,
    run_id: artifact.runId,
    model_version_id: artifact.modelVersionId,
    kind: artifact.kind,
    path: artifact.path,
    uri: artifact.uri,
    size_bytes: artifact.sizeBytes,
    blake3: artifact.blake3,
    metadata: artifact.metadata,
    created_at: artifact.createdAt,
    verified_at: artifact.verifiedAt
  }
}

const registerArtifactBody = z
  .object({
    path: text(LIMITS.path, 1).describe("the artifact's path within the run (relative, forward slashes); without uri, a file Hypercube stores"),
    uri: z.string().nullable().optional().describe('where an artifact kept outside Hypercube lives: s3://…, gs://…, file://…, https://…'),
    kind: z.enum(ARTIFACT_KINDS).optional(),
    size_bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().optional(),
    blake3: z.string().nullable().optional().describe('64 lowercase hex digits; for a stored file it must match the file'),
    metadata: jsonObject.optional()
  })
  .strict()

const artifactParams = z.object({ artifactId: pathId(id) }).strict()

export function artifactRoutes(services: DoorServices): AnyRoute[] {
  const { artifacts } = services
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/ml/runs/:runId/artifacts',
      summary: 'Register an artifact of a run: a stored file (size and BLAKE3 computed) or one elsewhere by URI',
      tag: 'artifacts',
      params: runParams,
      body: registerArtifactBody,
      status: 201,
      handler: async ({ params, body }) =>
        toApiArtifact(
          await artifacts.register({
            runId: params.runId,
            path: body.path,
            uri: body.uri,
            kind: body.kind,
            sizeBytes: body.size_bytes,
            blake3: body.blake3,
            metadata: body.metadata
          })
        )
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/runs/:runId/artifacts',
      summary: 'List the artifacts of a run by path',
      tag: 'artifacts',
      params: runParams,
      handler: async ({ params }) => ({ artifacts: (await artifacts.list(params.runId)).map(toApiArtifact) })
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/artifacts/:artifactId',
      summary: 'Get an artifact',
      tag: 'artifacts',
      params: artifactParams,
      handler: async ({ params }) => toApiArtifact(await artifacts.get(params.artifactId))
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/artifacts/:artifactId/verify',
      summary: "Recompute a stored artifact's BLAKE3 and compare it with the recorded one (verified_at is set when they match)",
      tag: 'artifacts',
      params: artifactParams,
      handler: async ({ params }) => {
        const result = await artifacts.verify(params.artifactId)
        return {
          verified: result.verified,
          expected_blake3: result.expectedBlake3,
          actual_blake3: result.actualBlake3,
          expected_size_bytes: result.expectedSizeBytes,
          actual_size_bytes: result.actualSizeBytes,
          artifact: toApiArtifact(result.artifact)
        }
      }
    })
  ]
}
