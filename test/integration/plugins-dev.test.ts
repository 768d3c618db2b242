import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSilentLogger } from '../../src/main/logging'
import { ForkPluginHostSpawner } from '../../src/main/plugins/host-spawner'
import { BUNDLED_PLUGINS_DIR, REPO_ROOT } from '../../src/main/plugins/plugin-build'
import { PluginRegistry } from '../../src/main/plugins/plugin-registry'
import { setScaffoldVersion } from '../../src/main/plugins/scaffold'
import { SimilarRunsService, type RunFeatureInput } from '../../src/main/services/similar-runs'
import type { PluginInfo } from '../../src/shared/plugins'
import { ensureBundledPluginsBuilt } from '../fixtures/plugins/fixtures'

const run = promisify(execFile)
const HOST_SCRIPT = resolve(REPO_ROOT, 'src/main/plugins/plugin-host.ts')
const TSX = resolve(REPO_ROOT, 'node_modules/.bin/tsx')

let workDir: string

beforeAll(async () => {
  await ensureBundledPluginsBuilt()
  workDir = await mkdtemp(join(tmpdir(), 'hypercube-plugin-dev-'))
}, 120_000)

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true })
})

describe('local plugin development', () => {
  it('plugin:new scaffolds a plugin that passes plugin:check, and plugin:dev hot-reloads it into a running core', async () => {
    await run(TSX, ['scripts/plugin-new.ts', 'chebyshev-test', '--dir', workDir], { cwd: REPO_ROOT })
    const pluginDir = join(workDir, 'chebyshev-test')

    const check = await run(TSX, ['scripts/plugin-check.ts', pluginDir], { cwd: REPO_ROOT, maxBuffer: 1 << 24 })
    expect(check.stdout).toMatch(/PASS {2}triangle inequality/)
    expect(check.stdout).toMatch(/all checks passed/)

    // A running core: a registry watching <dataDir>/plugins, as serve runs it.
    const dataDir = join(workDir, 'data')
    const registry = await PluginRegistry.open({
      userPluginsDir: join(dataDir, 'plugins'),
      hostScript: HOST_SCRIPT,
      spawner: new ForkPluginHostSpawner(),
      logger: createSilentLogger()
    })
    const seen: PluginInfo[] = []
    registry.onDidChangePlugins((plugins) => seen.push(...plugins.filter((p) => p.name === 'chebyshev-test' && p.state === 'running')))
    try {
      const first = await run(TSX, ['scripts/plugin-dev.ts', pluginDir, '--data-dir', dataDir, '--once'], { cwd: REPO_ROOT })
      expect(first.stdout).toMatch(/reloaded chebyshev-test 0\.1\.0/)
      expect(registry.get('chebyshev-test')).toMatchObject({ state: 'running', version: '0.1.0', source: 'user' })
      const firstPid = registry.get('chebyshev-test')!.hostPid
      expect(await registry.distance('chebyshev-test', new Float64Array([0, 0]), new Float64Array([3, -4]))).toBe(4)

      await setScaffoldVersion(pluginDir, '0.2.0')
      const second = await run(TSX, ['scripts/plugin-dev.ts', pluginDir, '--data-dir', dataDir, '--once'], { cwd: REPO_ROOT })
      expect(second.stdout).toMatch(/reloaded chebyshev-test 0\.2\.0/)
      const reloaded = registry.get('chebyshev-test')!
      expect(reloaded).toMatchObject({ state: 'running', version: '0.2.0', checksum: 'verified' })
      expect(reloaded.hostPid).not.toBe(firstPid)
      expect(seen.some((p) => p.version === '0.1.0') && seen.some((p) => p.version === '0.2.0')).toBe(true)
    } finally {
      await registry.close()
    }
  }, 180_000)
})

describe('similar runs through the plugin host', () => {
  it('finds the nearest runs and a distance matrix', async () => {
    const runs: RunFeatureInput[] = [
      { runId: 10, params: { lr: '0.1', optimizer: 'adam' }, metrics: { loss: 0.2 } },
      { runId: 11, params: { lr: '0.11', optimizer: 'adam' }, metrics: { loss: 0.21 } },
      { runId: 12, params: { lr: '0.5', optimizer: 'sgd' }, metrics: { loss: 0.9 } },
      { runId: 13, params: { lr: '0.12', optimizer: 'adam' }, metrics: { loss: 0.25 } }
    ]
    const registry = await PluginRegistry.open({
      bundledDir: BUNDLED_PLUGINS_DIR,
      hostScript: HOST_SCRIPT,
      spawner: new ForkPluginHostSpawner(),
      logger: createSilentLogger()
    })
    try {
      const service = new SimilarRunsService({ registry, loadRuns: async (experimentId) => (experimentId === 1 ? runs : []) })
      const nearest = await service.nearestRuns(1, 10, 'euclidean', 2)
      expect(nearest.map((r) => r.runId)).toEqual([11, 13])
      expect(nearest[0].distance).toBeLessThan(nearest[1].distance)
      const matrix = await service.distanceMatrix(1, [10, 12, 13], 'manhattan')
      expect(matrix.runIds).toEqual([10, 12, 13])
      expect(matrix.matrix.length).toBe(9)
      expect(matrix.matrix[0]).toBe(0)
      expect(matrix.matrix[1]).toBe(matrix.matrix[3])
      await expect(service.nearestRuns(1, 99, 'euclidean', 2)).rejects.toMatchObject({ code: 'not_found', field: 'runId' })
      await expect(service.nearestRuns(2, 10, 'euclidean', 2)).rejects.toMatchObject({ code: 'conflict', field: 'experimentId' })
    } finally {
      await registry.close()
    }
  })
})
