import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSilentLogger } from '../../src/main/logging'
import { ForkPluginHostSpawner } from '../../src/main/plugins/host-spawner'
import { BUNDLED_PLUGINS_DIR, REPO_ROOT } from '../../src/main/plugins/plugin-build'
import { PluginRegistry } from '../../src/main/plugins/plugin-registry'
import { PluginError, type PluginErrorCode, type PluginInfo } from '../../src/shared/plugins'
import { ensureBundledPluginsBuilt, installFaultFixtures } from '../fixtures/plugins/fixtures'

const HOST_SCRIPT = resolve(REPO_ROOT, 'src/main/plugins/plugin-host.ts')
const CALL_TIMEOUT_MS = 1_500

let dataDir: string
let registry: PluginRegistry

async function rejection(promise: Promise<unknown>): Promise<PluginError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(PluginError)
    return error as PluginError
  }
  throw new Error('expected the call to fail')
}

function info(name: string): PluginInfo {
  const plugin = registry.get(name)
  if (!plugin) throw new Error(`no plugin ${name}`)
  return plugin
}

async function waitForState(name: string, state: PluginInfo['state']): Promise<PluginInfo> {
  if (info(name).state === state) return info(name)
  return new Promise((resolvePromise) => {
    const subscription = registry.onDidChangePlugins((plugins) => {
      const plugin = plugins.find((candidate) => candidate.name === name)
      if (plugin?.state === state) {
        subscription.dispose()
        resolvePromise(plugin)
      }
    })
  })
}

async function expectHealthyAnswers(): Promise<void> {
  const d = await registry.distance('euclidean', new Float64Array([0, 0, 0, 0]), new Float64Array([1, 2, 2, 0]))
  expect(d).toBe(3)
}

beforeAll(async () => {
  await ensureBundledPluginsBuilt()
  dataDir = await mkdtemp(join(tmpdir(), 'hypercube-plugins-'))
  await installFaultFixtures(join(dataDir, 'plugins'))
  registry = await PluginRegistry.open({
    bundledDir: BUNDLED_PLUGINS_DIR,
    userPluginsDir: join(dataDir, 'plugins'),
    hostScript: HOST_SCRIPT,
    spawner: new ForkPluginHostSpawner(),
    logger: createSilentLogger(),
    callTimeoutMs: CALL_TIMEOUT_MS,
    watch: false
  })
}, 180_000)

afterAll(async () => {
  await registry?.close()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('bundled plugins through the plugin host', () => {
  it('loads euclidean, manhattan and cosine with verified checksums', () => {
    for (const [name, isMetric] of [['euclidean', true], ['manhattan', true], ['cosine', false]] as const) {
      const plugin = info(name)
      expect(plugin).toMatchObject({ state: 'running', checksum: 'verified', isMetric, source: 'bundled', lastError: null })
      expect(plugin.hostPid).toBeGreaterThan(0)
      expect(plugin.blake3).toMatch(/^[0-9a-f]{64}$/)
    }
  })

  it('computes distance, distances and knn for each plugin', async () => {
    const query = new Float32Array([1, 0, 0, 0])
    const points = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 2, 2, 0, 1, -1, 0, 0, 0])
    expect([...(await registry.distances('euclidean', query, points, 4))]).toEqual([0, Math.SQRT2, Math.sqrt(1 + 4 + 1), 2])
    expect([...(await registry.distances('manhattan', query, points, 4))]).toEqual([0, 2, 4, 2])
    const cosine = await registry.distances('cosine', query, points, 4)
    expect(cosine[0]).toBe(0)
    expect(cosine[1]).toBeCloseTo(1, 12)
    expect(cosine[3]).toBe(2)
    const knn = await registry.knn('manhattan', query, points, 4, 3)
    expect([...knn.indices]).toEqual([0, 1, 3])
    expect([...knn.distances]).toEqual([0, 2, 2])
    expect(knn.indices).toBeInstanceOf(Uint32Array)
  })

  it('moves a million 4-D points through the host as typed arrays', async () => {
    const points = new Float32Array(4_000_000).map((_, i) => (i % 97) / 97)
    const result = await registry.distances('euclidean', new Float32Array([0, 0, 0, 0]), points, 4)
    expect(result).toBeInstanceOf(Float64Array)
    expect(result.length).toBe(1_000_000)
    expect(result[0]).toBeCloseTo(Math.hypot(0, 1 / 97, 2 / 97, 3 / 97), 6)
  })

  it('returns argument errors as call_failed without harming the host', async () => {
    const pid = info('cosine').hostPid
    const error = await rejection(registry.distances('cosine', new Float64Array(3), new Float64Array(8), 4))
    expect(error.code).toBe('call_failed')
    expect(error.message).toMatch(/query has 3 coordinates but dim is 4/)
    expect(info('cosine')).toMatchObject({ state: 'running', hostPid: pid, recentCrashes: 0 })
  })

  it('reload replaces the running host', async () => {
    const before = info('manhattan')
    const after = await registry.reload('manhattan')
    expect(after.state).toBe('running')
    expect(after.hostPid).not.toBe(before.hostPid)
    expect(await registry.distance('manhattan', new Float64Array([0, 0]), new Float64Array([1, -2]))).toBe(3)
  })

  it('disable stops a plugin and enable brings it back', async () => {
    await registry.disable('cosine')
    expect(info('cosine')).toMatchObject({ state: 'disabled', disabledBy: 'user', hostPid: null })
    expect((await rejection(registry.distance('cosine', new Float64Array([1]), new Float64Array([1])))).code).toBe('plugin_disabled')
    await registry.enable('cosine')
    expect(info('cosine').state).toBe('running')
    expect(await registry.distance('cosine', new Float64Array([1, 0]), new Float64Array([0, 1]))).toBe(1)
  })

  it('names unknown plugins', async () => {
    expect((await rejection(registry.distance('nope', new Float64Array([1]), new Float64Array([1])))).code).toBe('plugin_not_found')
  })
})

describe('broken plugins are classified at load', () => {
  const cases: Array<[string, PluginErrorCode, RegExp]> = [
    ['fault-throw-init', 'initialize_failed', /initialize threw .*refuses to start/],
    ['fault-missing-export', 'missing_exports', /does not export knn\(\)/],
    ['not-a-library', 'not_a_library', /not a loadable library/],
    ['bad-checksum', 'checksum_mismatch', /BLAKE3 of .* expects 0000/],
    ['other-platforms-only', 'unsupported_platform', /has no binary for .*; its manifest lists (win32-x64|darwin-arm64)/],
    ['wrong-arch', 'wrong_arch', /built for (arm64|x64), but this process runs on/],
    ['wrong-platform', 'wrong_platform', /is a PE DLL \(Windows\)|is an ELF shared object/],
    ['napi-too-new', 'napi_version_too_new', /needs Node-API 99/]
  ]
  for (const [name, code, message] of cases) {
    it(`${name} → ${code}`, async () => {
      const plugin = info(name)
      expect(plugin.state).toBe('failed')
      expect(plugin.lastError?.code).toBe(code)
      expect(plugin.lastError?.message).toMatch(message)
      const error = await rejection(registry.distance(name, new Float64Array([1]), new Float64Array([1])))
      expect(error.code).toBe('plugin_unavailable')
      expect(error.message).toContain(code)
      await expectHealthyAnswers()
    })
  }

  it('records the checksum state of a mismatching binary', () => {
    expect(info('bad-checksum').checksum).toBe('mismatch')
  })
})

describe('faults at call time are contained', () => {
  it('a segfault fails the call, the host restarts and main keeps answering', async () => {
    const pid = info('fault-segfault').hostPid
    const error = await rejection(registry.distance('fault-segfault', new Float64Array([1, 2]), new Float64Array([3, 4])))
    expect(error.code).toBe('host_crashed')
    expect(error.message).toMatch(/signal SIGSEGV/)
    await expectHealthyAnswers()
    const restarted = await waitForState('fault-segfault', 'running')
    expect(restarted.hostPid).not.toBe(pid)
    expect(restarted.recentCrashes).toBe(1)
    expect(restarted.lastError?.code).toBe('host_crashed')
    // Only distance() is faulty: the restarted host serves the other calls.
    expect([...(await registry.distances('fault-segfault', new Float64Array([0, 0]), new Float64Array([3, 4]), 2))]).toEqual([5])
  })

  it('an abort fails the call with SIGABRT and the host restarts', async () => {
    const error = await rejection(registry.distance('fault-abort', new Float64Array([1]), new Float64Array([2])))
    expect(error.code).toBe('host_crashed')
    expect(error.message).toMatch(/SIGABRT/)
    await expectHealthyAnswers()
    expect((await waitForState('fault-abort', 'running')).recentCrashes).toBe(1)
  })

  it('a hang is cut off by the watchdog within the call budget', async () => {
    const started = Date.now()
    const error = await rejection(registry.distance('fault-hang', new Float64Array([1]), new Float64Array([2])))
    expect(error.code).toBe('call_timeout')
    expect(Date.now() - started).toBeLessThan(CALL_TIMEOUT_MS + 1_000)
    await expectHealthyAnswers()
    await waitForState('fault-hang', 'running')
    expect([...(await registry.distances('fault-hang', new Float64Array([0]), new Float64Array([2]), 1))]).toEqual([2])
  })

  it('a plugin that throws fails only that call', async () => {
    const pid = info('fault-throw').hostPid
    const error = await rejection(registry.distance('fault-throw', new Float64Array([1]), new Float64Array([2])))
    expect(error).toMatchObject({ code: 'call_failed', message: expect.stringMatching(/distance always throws/) })
    expect(info('fault-throw')).toMatchObject({ state: 'running', hostPid: pid, recentCrashes: 0 })
  })

  it('three crashes within five minutes disable the plugin until it is re-enabled', async () => {
    // fault-segfault crashed once above.
    for (let crash = 2; crash <= 3; crash++) {
      await waitForState('fault-segfault', 'running')
      expect((await rejection(registry.distance('fault-segfault', new Float64Array([1]), new Float64Array([2])))).code).toBe('host_crashed')
    }
    const disabled = info('fault-segfault')
    expect(disabled).toMatchObject({ state: 'disabled', disabledBy: 'crashes', recentCrashes: 3, hostPid: null })
    expect(disabled.lastError?.message).toMatch(/disabled after 3 crashes in 5 minutes/)
    const error = await rejection(registry.distances('fault-segfault', new Float64Array([0]), new Float64Array([1]), 1))
    expect(error.code).toBe('plugin_disabled')
    await expectHealthyAnswers()
    const enabled = await registry.enable('fault-segfault')
    expect(enabled).toMatchObject({ state: 'running', recentCrashes: 0, disabledBy: null })
    expect([...(await registry.distances('fault-segfault', new Float64Array([0]), new Float64Array([1]), 1))]).toEqual([1])
  })
})
