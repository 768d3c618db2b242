// npm run plugin:check <plugin dir> [-- --no-build] [--large-count N]
// Builds the plugin (incrementally), loads it through a real plugin host exactly as the app
// does (manifest, platform, checksum, Node-API version, exports, initialize), then runs the
// conformance suite. Exits 1 on any failure.
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createSilentLogger } from '../src/main/logging'
import { formatConformanceReport, runConformanceSuite } from '../src/main/plugins/conformance'
import { ForkPluginHostSpawner } from '../src/main/plugins/host-spawner'
import { readManifest } from '../src/main/plugins/manifest'
import { buildPlugin, REPO_ROOT } from '../src/main/plugins/plugin-build'
import { PluginRegistry } from '../src/main/plugins/plugin-registry'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'no-build': { type: 'boolean' }, 'large-count': { type: 'string' } }
})
if (positionals.length !== 1) {
  console.error('usage: npm run plugin:check <plugin dir> [-- --no-build] [--large-count N]')
  process.exit(2)
}
const dir = resolve(positionals[0])

async function main(): Promise<number> {
  const { manifest } = await readManifest(dir)
  if (!values['no-build']) {
    const record = await buildPlugin(dir)
    console.log(`built ${record.path} (${record.platformKey}, blake3 ${record.blake3.slice(0, 16)}…)`)
  }
  const registry = await PluginRegistry.open({
    pluginDirs: [dir],
    hostScript: resolve(REPO_ROOT, 'src/main/plugins/plugin-host.ts'),
    spawner: new ForkPluginHostSpawner(),
    logger: createSilentLogger(),
    callTimeoutMs: 60_000
  })
  try {
    const info = registry.get(manifest.name)
    if (!info || info.state !== 'running') {
      console.error(`FAIL  load: [${info?.lastError?.code ?? 'unknown'}] ${info?.lastError?.message ?? 'the plugin did not load'}`)
      return 1
    }
    console.log(`loaded ${info.name} ${info.version} through the plugin host (checksum ${info.checksum}, isMetric ${info.isMetric})`)
    const checks = await runConformanceSuite(
      {
        distance: (a, b) => registry.distance(manifest.name, a, b),
        distances: (q, p, d, out) => registry.distances(manifest.name, q, p, d, out),
        knn: (q, p, d, k) => registry.knn(manifest.name, q, p, d, k)
      },
      { isMetric: info.isMetric === true, largeCount: values['large-count'] ? Number(values['large-count']) : undefined }
    )
    console.log(formatConformanceReport(manifest.name, checks))
    const after = registry.get(manifest.name)
    if (after && after.recentCrashes > 0) {
      console.error(`FAIL  the plugin host crashed ${after.recentCrashes} time(s) during the checks: ${after.lastError?.message}`)
      return 1
    }
    return checks.some((check) => check.status === 'fail') ? 1 : 0
  } finally {
    await registry.close()
  }
}

try {
  process.exitCode = await main()
} catch (error) {
  const code = (error as { code?: string }).code
  console.error(`FAIL  ${code ? `[${code}] ` : ''}${(error as Error).message}`)
  process.exitCode = 1
}
