import { request as httpRequest } from 'node:http'
import { HypercubeClient } from '../../src/client/hypercube-client'
import { startTestCore, type TestCore } from './test-env'

/** A core with its HTTP API up (and its plugins, if asked for), and a client for it. */
export async function startApiTestCore(options: { plugins?: boolean } = {}): Promise<TestCore & { client: HypercubeClient; url: string; token: string }> {
  const testCore = await startTestCore({ http: true, plugins: options.plugins })
  const http = testCore.core.http!
  return { ...testCore, url: http.url, token: http.token, client: new HypercubeClient({ url: http.url, token: http.token }) }
}

/**
 * A raw request over node:http (fetch will not let a test set Host), for what the client would
 * never send: bad bodies, wrong headers, no token.
 */
export function rawRequest(
  url: string,
  options: { method?: string; token?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {}
  // The tests read whatever JSON a refusal carries (error.code, error.field…) without a schema per answer.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json'
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body))
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? (options.body === undefined ? 'GET' : 'POST'), headers }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {
          // not JSON (e.g. the docs page): keep the text
        }
        resolve({ status: response.statusCode ?? 0, body })
      })
      response.on('error', reject)
    })
    // The server may answer (413, 401) and close before reading a large body.
    request.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)))
    if (options.body !== undefined) request.write(options.body)
    request.end()
  })
}
