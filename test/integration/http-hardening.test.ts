import { readdirSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCore } from '../../src/main/core'
import { DEFAULT_API_PORT, startHttpServer, type HttpServer } from '../../src/main/http/server'
import { createSilentLogger } from '../../src/main/logging'
import { writeSettings } from '../../src/main/settings'
import { createTestDatabase, makeDataDir, startTestCore, type TestCore } from '../support/test-env'
import { attemptUpgrade } from '../support/websocket-upgrade'

// Issue 11 items 1, 3 and 5: no descriptor leaks from refused WebSocket upgrades, no connection
// held open by a client that sends nothing, and no silent move off a port the user asked for.

function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return condition()
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())))
}

describe('the serve UI WebSocket', () => {
  let test: TestCore
  beforeAll(async () => {
    test = await startTestCore({ http: true })
  })
  afterAll(async () => {
    await test?.close()
  })

  it('2,000 refused upgrades (no session, foreign Origin) leave the descriptor count where it was', async () => {
    const port = test.core.http!.port
    // Warm up whatever the first requests allocate once (the first 401's code paths, timers).
    for (let i = 0; i < 20; i++) await attemptUpgrade(port)
    const before = openDescriptors()
    const attempts = 2_000
    const concurrency = 50
    let started = 0
    const statuses: Record<string, number> = {}
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (started < attempts) {
          const n = started++
          const { status } = await attemptUpgrade(port, n % 2 === 0 ? {} : { Origin: 'http://evil.example' })
          statuses[status] = (statuses[status] ?? 0) + 1
        }
      })
    )
    expect(statuses).toEqual({ '401': 1_000, '403': 1_000 })
    const settled = await until(() => openDescriptors() <= before + 10, 5_000)
    expect(settled, `descriptors: ${before} before, ${openDescriptors()} after`).toBe(true)
  })

  it('close() ends a connected WebSocket client that never answers the close frame, promptly', async () => {
    const login = await fetch(test.core.ui!.loginUrl(), { redirect: 'manual' })
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!
    const port = test.core.http!.port
    const { head, socket } = await attemptUpgrade(port, { Cookie: cookie }, true)
    expect(head).toMatch(/^HTTP\/1\.1 101 /)
    const started = Date.now()
    await test.core.close()
    expect(Date.now() - started).toBeLessThan(10_000)
    await closed(socket)
  })
})

describe('connections that stop sending', () => {
  const data = makeDataDir()
  let server: HttpServer
  let port: number
  beforeAll(async () => {
    server = await startHttpServer({
      dataDir: data.dir,
      logger: createSilentLogger(),
      routes: [],
      port: 0,
      version: 'test',
      idleTimeoutMs: 1_000,
      plugins: [
        (app) => {
          app.post('/test/echo', async (request) => ({ length: JSON.stringify(request.body).length }))
          app.get('/test/slow', async () => {
            await new Promise((resolve) => setTimeout(resolve, 2_500))
            return { ok: true }
          })
        }
      ]
    })
    port = server.port
  })
  afterAll(async () => {
    await server?.close()
    data.remove()
  })

  const head = (method: string, path: string, extra: string[] = []): string =>
    [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, `Authorization: Bearer ${server.token}`, ...extra].join('\r\n')

  it('closes a connection whose body stops coming, within the idle bound', async () => {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => undefined)
    socket.write(`${head('POST', '/test/echo', ['Content-Type: application/json', 'Content-Length: 1000'])}\r\n\r\n{"a":"`)
    const started = Date.now()
    const wasClosed = await Promise.race([closed(socket).then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 4_000))])
    socket.destroy()
    expect(wasClosed).toBe(true)
    expect(Date.now() - started).toBeLessThan(3_500)
  })

  /** Writes raw bytes and reads the whole answer (the server closes after a malformed request). */
  async function rawExchange(bytes: Buffer): Promise<{ status: number; body: { error?: { code?: string; message?: string } } }> {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => undefined)
    socket.write(bytes)
    await closed(socket)
    const text = Buffer.concat(chunks).toString('utf8')
    return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) }
  }

  it("answers a request Node's HTTP parser refuses (raw bytes in the URL, headers past the limit) in the one error shape", async () => {
    const rawByte = await rawExchange(Buffer.concat([Buffer.from('GET /v1/ml/experiments/'), Buffer.from([0xff]), Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)]))
    expect(rawByte.status).toBe(400)
    expect(rawByte.body.error).toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('not valid HTTP') })
    const hugeHeader = await rawExchange(Buffer.from(`${head('GET', '/test/slow', [`X-Filler: ${'x'.repeat(20_000)}`])}\r\n\r\n`))
    expect(hugeHeader.status).toBe(431)
    expect(hugeHeader.body.error).toMatchObject({ code: 'headers_too_large', message: expect.stringContaining('headers') })
  })

  it('closes a connection whose headers stop coming, within the idle bound', async () => {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => undefined)
    socket.write(head('GET', '/test/slow'))
    const wasClosed = await Promise.race([closed(socket).then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 4_000))])
    socket.destroy()
    expect(wasClosed).toBe(true)
  })

  it('keeps a body that keeps coming for longer than the idle bound, and waits for a slow answer', async () => {
    const chunks = 30
    const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpRequest(
        { host: '127.0.0.1', port, method: 'POST', path: '/test/echo', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': String(chunks * 10 + 8) } },
        (response) => {
          let text = ''
          response.on('data', (chunk: Buffer) => (text += chunk.toString()))
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }))
        }
      )
      request.on('error', reject)
      request.write('{"a":"')
      let sent = 0
      const timer = setInterval(() => {
        request.write('x'.repeat(10))
        if (++sent === chunks) {
          clearInterval(timer)
          request.end('"}')
        }
      }, 150) // 30 × 150 ms = 4.5 s in all, never idle for 1 s
    })
    expect(body.status).toBe(200)
    expect(JSON.parse(body.text)).toEqual({ length: chunks * 10 + 8 })

    const slow = await fetch(`http://127.0.0.1:${port}/test/slow`, { headers: { authorization: `Bearer ${server.token}` } })
    expect(slow.status).toBe(200)
  })
})

describe('the API port', () => {
  let holder: Server
  let heldPort: number
  beforeAll(async () => {
    holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    heldPort = (holder.address() as { port: number }).port
  })
  afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())))

  it('fails naming the port when an explicit port is taken, instead of moving', async () => {
    const data = makeDataDir()
    try {
      await expect(
        startHttpServer({ dataDir: data.dir, logger: createSilentLogger(), routes: [], port: heldPort, version: 'test' })
      ).rejects.toThrow(new RegExp(`port ${heldPort}.*in use`))
    } finally {
      data.remove()
    }
  })

  it('fails the core when the port saved in settings.json or given by the caller is taken', async () => {
    for (const source of ['settings', 'option'] as const) {
      const data = makeDataDir()
      const database = await createTestDatabase()
      try {
        if (source === 'settings') writeSettings(data.dir, { apiPort: heldPort })
        const starting = startCore({
          dataDir: data.dir,
          databaseUrl: database.url,
          logger: createSilentLogger(),
          plugins: false,
          http: source === 'option' ? { port: heldPort } : {}
        })
        await expect(starting, source).rejects.toThrow(new RegExp(`port ${heldPort}.*in use`))
      } finally {
        await database.drop()
        data.remove()
      }
    }
  })

  it('moves the default port to a free one when it is taken, and says so', async () => {
    // Hold the default port (unless something else already does: that serves as well).
    const blocker = createServer()
    const held = await new Promise<boolean>((resolve) => {
      blocker.once('error', () => resolve(false))
      blocker.listen(DEFAULT_API_PORT, '127.0.0.1', () => resolve(true))
    })
    const data = makeDataDir()
    try {
      const server = await startHttpServer({ dataDir: data.dir, logger: createSilentLogger(), routes: [], version: 'test' })
      expect(server.port).not.toBe(DEFAULT_API_PORT)
      expect(server.movedFrom).toBe(DEFAULT_API_PORT)
      await server.close()
    } finally {
      if (held) await new Promise<void>((resolve) => blocker.close(() => resolve()))
      data.remove()
    }
  })
})
