import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createSilentLogger } from '../../src/main/logging'
import { runConformanceSuite } from '../../src/main/plugins/conformance'
import { ForkPluginHostSpawner } from '../../src/main/plugins/host-spawner'
import { buildPlugin, BUNDLED_PLUGINS_DIR, REPO_ROOT } from '../../src/main/plugins/plugin-build'
import { PluginRegistry } from '../../src/main/plugins/plugin-registry'

// The SDK compiles its hot loop twice on x86-64 (AVX2 and baseline). On glibc Linux the loader
// picks the copy (target_clones, an ifunc); where there are no ifuncs (musl, macOS, MinGW) a CPU
// check made once picks it. HYPERCUBE_FORCE_RUNTIME_DISPATCH builds that second way here, so
// the path a musl or macOS user gets is compiled and checked on this glibc machine too.
const x64Gnu = process.arch === 'x64' && process.platform === 'linux'

describe.runIf(x64Gnu)('plugin SDK: the hot loop without ifuncs', () => {
  const work = mkdtempSync(join(tmpdir(), 'hypercube-sdk-dispatch-'))
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  function symbols(binary: string): string {
    return execFileSync('nm', ['-C', binary], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  }

  it('builds a plugin with a runtime CPU check instead of target_clones, and it passes the conformance suite', async () => {
    const dir = join(work, 'euclidean')
    cpSync(join(BUNDLED_PLUGINS_DIR, 'euclidean'), dir, { recursive: true, filter: (source) => !source.includes(`${join('euclidean', 'build')}`) })
    const saved = process.env.CXXFLAGS
    process.env.CXXFLAGS = `${saved ?? ''} -DHYPERCUBE_FORCE_RUNTIME_DISPATCH`
    let record
    try {
      record = await buildPlugin(dir, { clean: true })
    } finally {
      if (saved === undefined) delete process.env.CXXFLAGS
      else process.env.CXXFLAGS = saved
    }
    const runtime = symbols(join(dir, record.path))
    expect(runtime).toContain('DistancesLoopAvx2')
    expect(runtime).not.toMatch(/DistancesLoop<[^\n]*\.avx2/)
    // The bundled build (glibc) keeps the ifunc clones.
    const bundled = symbols(join(BUNDLED_PLUGINS_DIR, 'euclidean', 'build', 'Release', 'euclidean.node'))
    expect(bundled).toMatch(/DistancesLoop<[^\n]*\.avx2/)
    expect(bundled).not.toContain('DistancesLoopAvx2')

    const registry = await PluginRegistry.open({
      pluginDirs: [dir],
      hostScript: resolve(REPO_ROOT, 'src/main/plugins/plugin-host.ts'),
      spawner: new ForkPluginHostSpawner(),
      logger: createSilentLogger(),
      callTimeoutMs: 60_000
    })
    try {
      expect(registry.get('euclidean')?.state).toBe('running')
      const checks = await runConformanceSuite(
        {
          distance: (a, b) => registry.distance('euclidean', a, b),
          distances: (q, p, d, out) => registry.distances('euclidean', q, p, d, out),
          knn: (q, p, d, k) => registry.knn('euclidean', q, p, d, k)
        },
        { isMetric: true, largeCount: 200_000 }
      )
      expect(checks.filter((check) => check.status === 'fail')).toEqual([])
    } finally {
      await registry.close()
    }
  }, 300_000)
})
