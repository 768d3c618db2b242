import type { FastifyReply } from 'fastify'
import type { Readable } from 'node:stream'

/**
 * A download: the file's name in Content-Disposition (ASCII, plus RFC 5987 UTF-8 when it has
 * other characters), always `attachment` and `nosniff`, so a browser saves the bytes and never
 * renders them (an .html or .svg artifact must not run as this origin's page).
 */
export function sendAttachment(reply: FastifyReply, fileName: string, opened: { stream: Readable; sizeBytes?: number }, contentType = 'application/octet-stream'): FastifyReply {
  const name = fileName.split('/').pop() || 'artifact'
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  const disposition = ascii === name ? `attachment; filename="${name}"` : `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
  reply
    .code(200)
    .type(contentType)
    .header('content-disposition', disposition)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
  if (opened.sizeBytes !== undefined) reply.header('content-length', opened.sizeBytes)
  return reply.send(opened.stream)
}
