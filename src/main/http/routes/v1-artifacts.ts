import { Readable } from 'node:stream'
import { z } from 'zod'
import type { Artifact } from '../../../shared/domain'
import { ARTIFACT_KINDS } from '../../../shared/domain'
import { id, jsonObject, text, LIMITS } from '../../../shared/schemas'
import type { DoorServices } from '../../services/core-services'
import { sendAttachment } from '../attachment'
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
const artifactFileParams = z
  .object({ runId: runParams.shape.runId, '*': z.string().describe("the file's path within the run (relative, forward slashes), e.g. plots/loss.png") })
  .strict()
const uploadQuery = z.object({ kind: z.enum(ARTIFACT_KINDS).optional().describe('what the file is (default other)') }).strict()

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
      method: 'PUT',
      path: '/v1/ml/runs/:runId/artifacts/*',
      summary: 'Upload a file of a run: the body is its bytes (any content type, streamed to disk); it is stored with its size and BLAKE3, replacing a file at the same path',
      tag: 'artifacts',
      params: artifactFileParams,
      query: uploadQuery,
      rawBody: { description: "the file's bytes" },
      status: 201,
      handler: async ({ params, query, request }) => {
        // An empty upload arrives without a body stream.
        const upload = request.body instanceof Readable ? request.body : undefined
        // Read without destroying the stream when the write fails (a full disk, a bad path): the
        // rest of the upload is then read and dropped, so a client still sending gets the answer
        // rather than a reset connection.
        const content = upload ? (upload.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>) : new Uint8Array(0)
        try {
          return toApiArtifact(await artifacts.putFile(params.runId, params['*'], content, { kind: query.kind }))
        } catch (error) {
          if (upload && !upload.readableEnded) upload.resume()
          throw error
        }
      }
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/runs/:runId/artifacts/*',
      summary: "Download a stored file of a run (as an attachment); a registered file's bytes are checked against its BLAKE3 as they stream",
      tag: 'artifacts',
      params: artifactFileParams,
      fileResponse: true,
      handler: async ({ params, reply }) => sendAttachment(reply, params['*'], await artifacts.openFile(params.runId, params['*']))
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
