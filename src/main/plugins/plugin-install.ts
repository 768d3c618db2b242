// Installing a built plugin into `<dataDir>/plugins/<name>`: the folder the registry watches.
// Used by plugin:dev (and the tests' fixtures). The installed plugin.json is a complete
// distribution manifest: it lists this platform's binary with its BLAKE3.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { blake3 } from 'hash-wasm'
import { PluginError } from '../../shared/plugins'
import { MANIFEST_FILE, readBuildRecord, readManifest, type PluginManifest } from './manifest'

export interface InstalledPlugin {
  dir: string
  name: string
  version: string
  blake3: string
  platformKey: string
}

async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`
  await writeFile(temporary, data)
  // rename, never overwrite in place: a running host has the old binary mapped, and writing
  // into a mapped library can crash it (SIGBUS) before the reload replaces it.
  await rename(temporary, path)
}

/**
 * Writes a plugin folder: the binary under `<platformKey>/<name>.node`, then plugin.json
 * (last, so a watcher never sees a manifest whose binary is not there yet).
 */
export async function writePluginFolder(
  targetDir: string,
  manifest: Omit<PluginManifest, 'binaries'> & Partial<Pick<PluginManifest, 'binaries'>>,
  binary: { bytes: Uint8Array; platformKey: string; blake3?: string }
): Promise<InstalledPlugin> {
  const relativeBinary = `${binary.platformKey}/${manifest.name}.node`
  await mkdir(join(targetDir, binary.platformKey), { recursive: true })
  await writeAtomically(join(targetDir, relativeBinary), binary.bytes)
  const digest = binary.blake3 ?? (await blake3(binary.bytes))
  const installed = { ...manifest, binaries: { ...(manifest.binaries ?? {}), [binary.platformKey]: { path: relativeBinary, blake3: digest } } }
  await writeAtomically(join(targetDir, MANIFEST_FILE), `${JSON.stringify(installed, null, 2)}\n`)
  return { dir: targetDir, name: manifest.name, version: manifest.version, blake3: digest, platformKey: binary.platformKey }
}

/** Copies a locally built plugin (its build record's binary) into `<userPluginsDir>/<name>`. */
export async function installBuiltPlugin(sourceDir: string, userPluginsDir: string): Promise<InstalledPlugin> {
  const { manifest } = await readManifest(sourceDir)
  const record = await readBuildRecord(sourceDir)
  if (!record) throw new PluginError('binary_missing', `${sourceDir} has not been built (no build/plugin-build.json)`)
  const bytes = await readFile(join(sourceDir, record.path))
  // Other platforms' entries name files that are not copied: the installed manifest lists this one.
  return writePluginFolder(join(userPluginsDir, manifest.name), { ...manifest, binaries: {} }, { bytes, platformKey: record.platformKey, blake3: record.blake3 })
}

