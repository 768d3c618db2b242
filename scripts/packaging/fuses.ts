// Electron's fuses, flipped in the packaged binary after electron-builder lays out the app
// (its afterPack hook). A fuse is a bit in the Electron executable itself, so no argument,
// environment variable or script can turn the feature back on. Why each (README, "Security"):
import { flipFuses, FuseV1Options, FuseVersion, type FuseV1Config } from '@electron/fuses'

export const HYPERCUBE_FUSES: FuseV1Config = {
  version: FuseVersion.V1,
  // ELECTRON_RUN_AS_NODE would turn the signed app into a general Node.js runtime for any script.
  [FuseV1Options.RunAsNode]: false,
  // Cookies (the serve UI's session, any site a link opened in-app) encrypted with the OS keychain.
  [FuseV1Options.EnableCookieEncryption]: true,
  // NODE_OPTIONS could preload code (--require) into the app from the environment.
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  // --inspect / --inspect-brk would let any local process attach a debugger to the main process.
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // The app runs only from app.asar, and the archive is checked against the hash in the signed
  // executable (macOS and Windows; Electron has no asar integrity on Linux).
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  // The app is served from app://, not file://: file:// pages get no extra privileges.
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false
}

/** The file holding the fuse wire in a packed app (what @electron/fuses is given). */
export function electronExecutablePath(platform: string, appOutDir: string, productFilename: string, executableName: string): string {
  if (platform === 'darwin' || platform === 'mas') return `${appOutDir}/${productFilename}.app`
  if (platform === 'win32') return `${appOutDir}/${executableName}.exe`
  return `${appOutDir}/${executableName}`
}

/** Flips HYPERCUBE_FUSES in the executable; on Apple silicon the ad-hoc signature is renewed (electron-builder signs properly afterwards). */
export async function flipHypercubeFuses(executable: string, options: { resetAdHocDarwinSignature?: boolean } = {}): Promise<void> {
  await flipFuses(executable, { ...HYPERCUBE_FUSES, resetAdHocDarwinSignature: options.resetAdHocDarwinSignature ?? false })
}
