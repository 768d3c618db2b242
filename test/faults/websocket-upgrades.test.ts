import { connect } from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HypercubeClient } from '../../src/client/hypercube-client'
import { FaultScope, openDescriptors, requireBuild, sleep } from './support/serve-process'

// Issue 11 item 1, against the real process: any web page can send upgrade requests to the
// UI's WebSocket; refused ones must not hold a descriptor each until the process runs out.

const noDescriptorCount = process.platform !== 'linux' ? `/proc/<pid>/fd is Linux-only (this is ${process.platform})` : null

function upgradeRequest(port: number, headers: Record<string, string>): string {
  const lines = [
    'GET /ui/ws HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
  ]
  return `${lines.join('\r\n')}\r\n\r\n`
}

/** Sends an upgrade request and returns the status line's code once the answer starts; then closes. */
function attemptUpgrade(port: number, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer to the upgrade within 10 s')))
    socket.once('error', reject)
    socket.once('data', (chunk: Buffer) => {
      socket.destroy()
      const head = chunk.toString('latin1')
      resolve(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? head.slice(0, 20))
    })
    socket.write(upgradeRequest(port, headers))
  })
}

describe('refused WebSocket upgrades (serve with the UI)', () => {
  const scope = new FaultScope()
  beforeAll(requireBuild)
  afterEach(() => scope.cleanup())

  it.skipIf(noDescriptorCount !== null)(`2,000 refused upgrades (no session, or a foreign Origin) leave the process's descriptor count where it was, and the app still answers${noDescriptorCount ? ` — skipped: ${noDescriptorCount}` : ''}`, async () => {
    const server = await scope.start(scope.dataDir(), { ui: true })
    expect(server.uiLoginUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/`))
    const port = server.port
    // Warm-up: whatever the first refusals allocate once (code paths, timers, pools).
    for (let i = 0; i < 20; i++) await attemptUpgrade(port)
    await sleep(200)
    const before = openDescriptors(server.pid)

    const attempts = 2_000
    const statuses: Record<string, number> = {}
    let started = 0
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (started < attempts) {
          const n = started++
          const status = await attemptUpgrade(port, n % 2 === 0 ? {} : { Origin: 'http://evil.example' })
          statuses[status] = (statuses[status] ?? 0) + 1
        }
      })
    )
    expect(statuses).toEqual({ '401': 1_000, '403': 1_000 })

    let after = openDescriptors(server.pid)
    for (const deadline = Date.now() + 5_000; after > before + 10 && Date.now() < deadline; after = openDescriptors(server.pid)) await sleep(100)
    console.log(`[faults] refused WebSocket upgrades: ${attempts} attempts (${JSON.stringify(statuses)}); descriptors ${before} before, ${after} after`)
    expect(after, `descriptors: ${before} before, ${after} after`).toBeLessThanOrEqual(before + 10)

    // Still answering: the API with the token, and the UI's WebSocket for a signed-in browser.
    const client = new HypercubeClient({ url: server.url, token: server.token })
    await expect(client.listExperiments()).resolves.toEqual(expect.any(Array))
    const login = await fetch(server.uiLoginUrl!, { redirect: 'manual' })
    const cookie = login.headers.get('set-cookie')?.split(';')[0]
    expect(cookie).toBeDefined()
    expect(await attemptUpgrade(port, { Cookie: cookie! })).toBe('101')
    expect(await server.stop()).toBe(0)
  })
})
