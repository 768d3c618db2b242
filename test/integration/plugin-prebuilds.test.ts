import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSilentLogger } from '../../src/main/logging'
import { ForkPluginHostSpawner } from '../../src/main/plugins/host-spawner'
import { BUILD_RECORD_FILE, readManifest, readVerifiedBinary, resolveBinary } from '../../src/main/plugins/manifest'
import { currentPlatformKey } from '../../src/main/plugins/platform'
import { BUNDLED_PLUGINS_DIR, REPO_ROOT, writePrebuild } from '../../src/main/plugins/plugin-build'
import { PluginRegistry } from '../../src/main/plugins/plugin-registry'
import { ensureBundledPluginsBuilt } from '../fixtures/plugins/fixtures'

// The bundled plugins ship prebuilt per platform (prebuilds/<platform key>/), so a user never
// needs a C++ toolchain; the local build is the fallback, and the loader prefers the prebuild.
describe('plugin prebuilds', () => {
  const work = mkdtempSync(join(tmpdir(), 'hypercube-prebuilds-'))
  const key = currentPlatformKey()
  let dir: string
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  beforeAll(async () => {
    await ensureBundledPluginsBuilt()
    dir = join(work, 'euclidean')
    cpSync(join(BUNDLED_PLUGINS_DIR, 'euclidean'), dir, { recursive: true, filter: (source) => !source.includes(`${join('euclidean', 'prebuilds')}`) })
  })

  it('turns the local build into prebuilds/<platform key>/euclidean.node with a record of its BLAKE3', async () => {
    const record = await writePrebuild(dir)
    expect(record).toMatchObject({ name: 'euclidean', platformKey: key, path: `prebuilds/${key}/euclidean.node`, napiVersion: 8 })
    expect(readFileSync(join(dir, record.path))).toEqual(readFileSync(join(dir, 'build', 'Release', 'euclidean.node')))
    expect(JSON.parse(readFileSync(join(dir, 'prebuilds', key, 'prebuild.json'), 'utf8'))).toEqual(record)
  })

  it('prefers the prebuild over an older local build, and a newer local build over the prebuild', async () => {
    const { manifest } = await readManifest(dir)
    expect(await resolveBinary(dir, manifest, key)).toMatchObject({ origin: 'prebuild', path: join(dir, 'prebuilds', key, 'euclidean.node') })
    const recordFile = join(dir, BUILD_RECORD_FILE)
    const saved = readFileSync(recordFile, 'utf8')
    try {
      writeFileSync(recordFile, JSON.stringify({ ...JSON.parse(saved), builtAt: new Date(Date.now() + 60_000).toISOString() }))
      expect(await resolveBinary(dir, manifest, key)).toMatchObject({ origin: 'local-build', path: join(dir, 'build', 'Release', 'euclidean.node') })
    } finally {
      writeFileSync(recordFile, saved)
    }
  })

  it('ignores prebuilds for other platforms, and any prebuild of a user-installed plugin (its record vouches for nothing)', async () => {
    const { manifest } = await readManifest(dir)
    const other = join(work, 'other-platform')
    cpSync(dir, other, { recursive: true })
    rmSync(join(other, 'build'), { recursive: true })
    const otherKey = key === 'win32-x64' ? 'darwin-arm64' : 'win32-x64'
    cpSync(join(other, 'prebuilds', key), join(other, 'prebuilds', otherKey), { recursive: true })
    rmSync(join(other, 'prebuilds', key), { recursive: true })
    await expect(resolveBinary(other, manifest, key)).rejects.toMatchObject({ code: 'unsupported_platform', message: expect.stringContaining(`has no binary for ${key}`) })
    await expect(resolveBinary(dir, manifest, key, { trustBuildRecord: false })).rejects.toMatchObject({ code: 'unsupported_platform' })
  })

  it('loads and runs from the prebuild alone, with no local build and no compiler (the installed app)', async () => {
    const packaged = join(work, 'packaged', 'euclidean')
    mkdirSync(join(work, 'packaged'))
    cpSync(dir, packaged, { recursive: true })
    rmSync(join(packaged, 'build'), { recursive: true })
    const registry = await PluginRegistry.open({
      pluginDirs: [packaged],
      hostScript: resolve(REPO_ROOT, 'src/main/plugins/plugin-host.ts'),
      spawner: new ForkPluginHostSpawner(),
      logger: createSilentLogger()
    })
    try {
      expect(registry.get('euclidean')?.state).toBe('running')
      expect(await registry.distance('euclidean', new Float64Array([0, 0, 0]), new Float64Array([3, 4, 12]))).toBe(13)
    } finally {
      await registry.close()
    }
  }, 60_000)

  it('refuses a prebuild whose bytes no longer match its record', async () => {
    const tampered = join(work, 'tampered')
    cpSync(dir, tampered, { recursive: true })
    rmSync(join(tampered, 'build'), { recursive: true })
    const binary = join(tampered, 'prebuilds', key, 'euclidean.node')
    const bytes = readFileSync(binary)
    bytes[bytes.length - 1] ^= 0xff
    writeFileSync(binary, bytes)
    const { manifest } = await readManifest(tampered)
    const resolved = await resolveBinary(tampered, manifest, key)
    await expect(readVerifiedBinary(resolved, tampered)).rejects.toMatchObject({ code: 'checksum_mismatch', message: expect.stringContaining('the prebuild record expects') })
  })

  it('npm install (build-plugins --prefer-prebuilds) does not compile a plugin that has a verified prebuild', () => {
    const fresh = join(work, 'fresh')
    cpSync(dir, fresh, { recursive: true })
    rmSync(join(fresh, 'build'), { recursive: true })
    const output = execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'build-plugins.ts'), '--prefer-prebuilds', fresh], { encoding: 'utf8', cwd: REPO_ROOT })
    expect(output).toContain(`using the prebuild of euclidean (${key})`)
    expect(existsSync(join(fresh, 'build'))).toBe(false)
  }, 60_000)
})
