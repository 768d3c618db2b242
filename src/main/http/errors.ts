import type { FastifyError, FastifyRequest } from 'fastify'
import { asInsufficientStorage, DomainError, isDomainError, type ErrorCode, type ErrorInfo } from '../../shared/errors'

/** The one error shape of the /v1 API: `{ "error": { "code", "message", "field"? } }`. */
export interface ApiErrorBody {
  error: ErrorInfo
}

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  // WebDAV's Insufficient Storage: the request was fine, the disk is full, nothing was stored.
  insufficient_storage: 507,
  // A review of a bundle answers every write so: the request was fine, this app only shows.
  read_only: 403,
  internal: 500
}

/** An HTTP-level refusal (auth, Host, Origin, media type): not a domain rule. */
export class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message)
  }
}

/** Where the request's data would have gone, for errors about the machine rather than the request. */
export interface ErrorContext {
  dataDir?: string
}

/**
 * A full disk reported by the file system (a write anywhere in the data folder) as the domain's
 * insufficient_storage, naming the data folder; undefined for anything else. Services map the
 * writes they know of themselves (artifact-store.ts, database.ts): this catches the rest, so a
 * full disk is never a 500.
 */
export function diskFullError(error: unknown, context: ErrorContext = {}): DomainError | undefined {
  return asInsufficientStorage(error, context.dataDir === undefined ? 'the data folder' : `the data folder ${context.dataDir}`)
}

/**
 * Maps anything thrown while serving a request to a status and body. A client's mistake is
 * always a 4xx, a full disk a 507; a 500 means a bug, and its details go to the log, not the
 * client.
 */
export function toErrorResponse(error: unknown, context: ErrorContext = {}): { status: number; body: ApiErrorBody; isBug: boolean } {
  error = diskFullError(error, context) ?? error
  if (isDomainError(error)) {
    return { status: STATUS_BY_CODE[error.code], body: { error: error.toJSON() }, isBug: error.code === 'internal' }
  }
  if (error instanceof HttpRefusal) {
    return { status: error.status, body: { error: { code: error.code as ErrorCode, message: error.message } }, isBug: false }
  }
  const fastifyError = error as FastifyError
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500
  if (status >= 400 && status < 500) {
    // Fastify's own refusals: malformed JSON, body too large, unsupported media type, …
    const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'invalid_argument'
    const field = status === 400 ? 'body' : undefined
    const body: ApiErrorBody = { error: { code: code as ErrorCode, message: describeFastifyError(fastifyError) } }
    if (field) body.error.field = field
    return { status, body, isBug: false }
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error; the server log has the details' } }, isBug: true }
}

function describeFastifyError(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'only application/json request bodies are accepted'
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body is too large'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request body is empty; send a JSON object'
    default:
      return error.message.startsWith('Body is not valid JSON') || error.name === 'SyntaxError'
        ? `request body is not valid JSON: ${error.message}`
        : error.message
  }
}

export function notFoundRoute(method: string, url: string): DomainError {
  return new DomainError('not_found', `no route ${method} ${url.split('?')[0]}`)
}

/**
 * Logs a request's unexpected failure, best effort. An error handler that throws hands the
 * request to Fastify's fallback, which answers in its own shape: that is how a metrics POST on
 * a full disk answered `{"statusCode":500,"code":"ENOSPC"}` while the log file was written
 * synchronously (pino's sync destination throws ENOSPC from `log.error`). The log may fail;
 * the answer may not.
 */
export function logRequestFailure(request: FastifyRequest, error: unknown, message = 'request failed'): void {
  try {
    request.log.error({ err: error, url: request.url, method: request.method }, message)
  } catch {
    // nowhere left to report it; the client still gets the one error shape
  }
}

/**
 * The raw HTTP answer to a request Node's parser refused before any route could see it (a raw
 * non-ASCII byte in the URL, a header block past the limit, broken framing), in the one error
 * shape; the connection is closed after it. Null for a connection reset: nobody is listening.
 */
export function malformedRequestAnswer(error: NodeJS.ErrnoException): string | null {
  if (error.code === 'ECONNRESET') return null
  const [status, reason, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout', 'the request did not arrive in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are larger than this server accepts']
        : [400, 'Bad Request', 'invalid_argument', `the request is not valid HTTP (${error.code ?? error.message}); percent-encode anything but ASCII in the URL`]
  const body = JSON.stringify({ error: { code, message } })
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}
