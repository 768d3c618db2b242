// npm run dist — the installers of this platform, for this CPU, with electron-builder.config.ts's
// configuration (macOS: dmg + zip; Windows: NSIS; Linux: AppImage + deb). One CPU per run: each
// platform's PostgreSQL and plugin binaries are the ones installed here, so an arm64 installer is
// made on an arm64 machine (the release workflow's matrix has one of each).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Arch, build, Platform } from 'electron-builder'
import { config } from '../../electron-builder.config'

const projectDir = join(import.meta.dirname, '..', '..')
const arch = process.arch === 'arm64' ? Arch.arm64 : process.arch === 'x64' ? Arch.x64 : null
if (arch === null) {
  console.error(`npm run dist: there are no installers for ${process.arch}; Hypercube packages x64 and arm64`)
  process.exit(1)
}
// Electron's own binary for this platform, when npm installed it, spares electron-builder a download.
const electronDist = join(projectDir, 'node_modules', 'electron', 'dist')
const haveElectron = existsSync(join(electronDist, process.platform === 'win32' ? 'electron.exe' : process.platform === 'darwin' ? 'Electron.app' : 'electron'))
try {
  const artifacts = await build({
    projectDir,
    targets: Platform.current().createTarget(null, arch),
    config: { ...config, ...(haveElectron ? { electronDist } : {}) },
    publish: 'never'
  })
  for (const artifact of artifacts) console.log(`built ${artifact}`)
} catch (error) {
  console.error(`npm run dist failed: ${(error as Error).message}`)
  if (!haveElectron) console.error("Electron's binary is not installed (node_modules/electron/dist) and electron-builder could not download it; see README, Install.")
  process.exit(1)
}
