import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HypercubeClient } from '../../src/client/hypercube-client'
import { attemptUpgrade } from '../support/websocket-upgrade'
import { FaultScope, openDescriptors, requireBuild, sleep } from './support/serve-process'

// Issue 11 item 1, against the real process: any web page can send upgrade requests to the
// UI's WebSocket; refused ones must not hold a descriptor each until the process runs out.

const noDescriptorCount = process.platform !== 'linux' ? `/proc/<pid>/fd is Linux-only (this is ${process.platform})` : null

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
          const { status } = await attemptUpgrade(port, n % 2 === 0 ? {} : { Origin: 'http://evil.example' })
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
    expect((await attemptUpgrade(port, { Cookie: cookie! })).status).toBe('101')
    expect(await server.stop()).toBe(0)
  })
})
