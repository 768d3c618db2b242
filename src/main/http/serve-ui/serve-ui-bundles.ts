import type { FastifyInstance } from 'fastify'
import { createReadStream } from 'node:fs'
import { z } from 'zod'
import { parseInput } from '../../../shared/schemas'
import { sendAttachment } from '../attachment'

/** What the download needs of the bundle transfers (src/main/bundle/bundle-transfers.ts). */
export interface BundleExportDownloads {
  takeExport(exportId: string): { path: string; name: string; sizeBytes: number }
  removeFile(path: string): Promise<void>
}

const exportParams = z.object({ exportId: z.string().regex(/^[0-9a-f]{32}$/, 'must be an export id') }).strict()

/**
 * A review bundle the window exported (bundles.export), downloaded once by the signed-in browser
 * under /ui/ (the session cookie authenticates it): the temporary file is streamed as an
 * attachment named after the experiment, then removed — whether the download finished or the
 * browser went away.
 */
export function registerBundleDownloads(ui: FastifyInstance, exports: BundleExportDownloads): void {
  ui.get('/ui/bundles/exports/:exportId', async (request, reply) => {
    const { exportId } = parseInput(exportParams, request.params)
    const file = exports.takeExport(exportId)
    const stream = createReadStream(file.path)
    reply.raw.once('close', () => {
      stream.destroy()
      void exports.removeFile(file.path)
    })
    return sendAttachment(reply, file.name, { stream, sizeBytes: file.sizeBytes }, 'application/gzip')
  })
}
