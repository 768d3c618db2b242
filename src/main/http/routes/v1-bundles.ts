import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { z } from 'zod'
import { DomainError } from '../../../shared/errors'
import { text } from '../../../shared/schemas'
import { BundleExporter } from '../../bundle/bundle-exporter'
import { BundleError } from '../../bundle/bundle-format'
import { BundleImporter, CONFLICT_MODES } from '../../bundle/bundle-importer'
import type { DoorServices } from '../../services/core-services'
import type { MlflowService } from '../../services/mlflow-service'
import { sendAttachment } from '../attachment'
import { defineRoute, type AnyRoute } from '../route-table'

/**
 * Review bundles over /v1: what `hypercube export` and `hypercube import` use when the app
 * already runs on the data folder (which it holds locked, so the CLI cannot start a core of its
 * own there), and what a script can use the same way. The same exporter and importer as the
 * CLI's, on the door's services: the one rule path. A bundle travels through a temporary file,
 * never whole in memory, and the file is removed once sent or imported.
 */

const exportBody = z
  .object({
    experiment: text(200, 1).optional().describe("an experiment's name or numeric id"),
    runs: z.array(text(64, 1)).min(1).max(50_000).optional().describe('runs of that experiment, by id or uuid (default: all its active runs)'),
    model: text(256, 1).optional().describe('a registered model: its versions and their source runs'),
    artifacts: z.boolean().default(true).describe('stored artifact files in the bundle (their records are always in it)')
  })
  .strict()

const importQuery = z.object({ on_conflict: z.enum(CONFLICT_MODES).default('skip').describe('a run or version the workspace has already: skip it, keep both, or replace it') }).strict()

/** A bundle refused by its checks is the client's file at fault: a 400 naming the member. */
function refused(error: unknown): unknown {
  return error instanceof BundleError ? new DomainError('invalid_argument', `the bundle was refused, nothing was imported: ${error.message}`, 'body') : error
}

function temporaryFolder(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'hypercube-v1-bundle-'))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

export function bundleRoutes(services: DoorServices, mlflow: MlflowService): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/bundles/export',
      summary:
        'Write a review bundle (.hcube) of an experiment, some of its runs, or a registered model, and download it; the export result (runs, points, bytes, problems) is in the Hypercube-Export-Result header as JSON',
      tag: 'bundles',
      body: exportBody,
      fileResponse: true,
      handler: async ({ body, reply }) => {
        if ((body.experiment === undefined) === (body.model === undefined)) throw new DomainError('invalid_argument', 'name an experiment or a model (one of them)', 'experiment')
        if (body.runs && body.experiment === undefined) throw new DomainError('invalid_argument', 'runs are chosen within an experiment: name it', 'runs')
        const exporter = new BundleExporter(services, mlflow)
        const plan = await exporter.plan({ experiment: body.experiment, runs: body.runs, model: body.model, artifacts: body.artifacts })
        const folder = temporaryFolder()
        try {
          const name = `${(plan.experiments[0]?.name ?? body.model ?? 'bundle').replace(/[^A-Za-z0-9._-]+/g, '-')}.hcube`
          const result = await exporter.write(plan, join(folder.path, name))
          const stream = createReadStream(result.path)
          // Removed once sent, or once the client went away.
          stream.once('close', folder.remove)
          const { path: _path, ...summary } = result
          reply.header('hypercube-export-result', JSON.stringify(summary))
          return sendAttachment(reply, name, { stream, sizeBytes: statSync(result.path).size })
        } catch (error) {
          folder.remove()
          throw error
        }
      }
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/bundles/import',
      summary:
        'Import a review bundle: the body is the .hcube file (streamed to disk). Every member is checked against the manifest before anything is written; a tampered or truncated bundle is a 400 naming the member',
      tag: 'bundles',
      query: importQuery,
      rawBody: { description: 'the bundle file' },
      handler: async ({ query, request }) => {
        const upload = request.body instanceof Readable ? request.body : undefined
        if (!upload) throw new DomainError('invalid_argument', 'the body must be the bundle file; it was empty', 'body')
        const folder = temporaryFolder()
        try {
          const file = join(folder.path, 'upload.hcube')
          await pipeline(upload, createWriteStream(file, { mode: 0o600 }))
          return await new BundleImporter(services).import(file, { onConflict: query.on_conflict }).catch((error: unknown) => {
            throw refused(error)
          })
        } finally {
          folder.remove()
        }
      }
    })
  ]
}
