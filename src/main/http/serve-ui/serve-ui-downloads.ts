import type { FastifyInstance } from 'fastify'
import type { Readable } from 'node:stream'
import { z } from 'zod'
import { id, LIMITS, parseInput } from '../../../shared/schemas'
import { sendAttachment } from '../attachment'
import { pathId } from '../routes/v1-fields'

/** What the downloads need of ArtifactService. */
export interface ArtifactDownloads {
  openFile(runId: unknown, path: unknown): Promise<{ stream: Readable; sizeBytes: number }>
  openFolderZip(runId: unknown, prefix: unknown): Promise<{ stream: Readable; name: string }>
}

const runParams = z.object({ runId: pathId(id) }).strict()
const fileQuery = z.object({ path: z.string().min(1).max(LIMITS.path) }).strict()
const zipQuery = z.object({ prefix: z.string().max(LIMITS.path).default('') }).strict()

/**
 * Downloads for the serve-mode UI, under /ui/ so the session cookie authenticates them (the
 * page links to them; the browser streams the answer to disk, whatever its size): a run's file,
 * and a folder (or the whole run) as a zip streamed as it is built. Both are attachments with
 * nosniff, so nothing downloaded is ever rendered as this origin's page. The Electron window
 * has no such URL: it downloads over the contract (artifacts.read), see ArtifactBrowser.
 */
export function registerArtifactDownloads(ui: FastifyInstance, artifacts: ArtifactDownloads): void {
  ui.get('/ui/artifacts/:runId/file', async (request, reply) => {
    const { runId } = parseInput(runParams, request.params)
    const { path } = parseInput(fileQuery, request.query ?? {})
    return sendAttachment(reply, path, await artifacts.openFile(runId, path))
  })
  ui.get('/ui/artifacts/:runId/zip', async (request, reply) => {
    const { runId } = parseInput(runParams, request.params)
    const { prefix } = parseInput(zipQuery, request.query ?? {})
    const zip = await artifacts.openFolderZip(runId, prefix)
    return sendAttachment(reply, zip.name, { stream: zip.stream }, 'application/zip')
  })
}
