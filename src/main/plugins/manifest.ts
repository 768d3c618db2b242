import { readFile, stat } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { blake3 } from 'hash-wasm'
import { z } from 'zod'
import { PluginError, type PlatformKey } from '../../shared/plugins'

export const MANIFEST_FILE = 'plugin.json'

/**
 * The record a local build leaves next to its binary: `build/plugin-build.json`. It lives in
 * the git-ignored build folder, so building never dirties the tree, and it is what makes a
 * locally built binary verifiable (see README-plugins.md, "Checksums").
 */
export const BUILD_RECORD_FILE = join('build', 'plugin-build.json')

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !p.split(/[\\/]/).includes('..'), {
    message: 'must be a relative path inside the plugin folder'
  })

const blake3Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a 64-digit lowercase hex BLAKE3 digest')

export const binaryEntrySchema = z.object({
  path: relativePath,
  blake3: blake3Hex
})

export const pluginManifestSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be lowercase letters, digits and dashes'),
  version: z.string().min(1),
  description: z.string().default(''),
  kind: z.literal('geometric_operation'),
  pluginApiVersion: z.number().int().positive(),
  napiVersion: z.number().int().positive(),
  /** Passed to the plugin's initialize(context) as context.settings. */
  settings: z.record(z.string(), z.unknown()).default({}),
  /** Prebuilt binaries by platform key (linux-x64-glibc, linux-x64-musl, win32-x64, darwin-arm64, ...). */
  binaries: z.record(z.string(), binaryEntrySchema).default({})
})

export type PluginManifest = z.infer<typeof pluginManifestSchema>

export const buildRecordSchema = z.object({
  name: z.string(),
  platformKey: z.string(),
  path: relativePath,
  blake3: blake3Hex,
  napiVersion: z.number().int().positive(),
  builtAt: z.string()
})

export type BuildRecord = z.infer<typeof buildRecordSchema>

function describeZodError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')
}

export interface LoadedManifest {
  manifest: PluginManifest
  /** The file's text, to notice changes (plugin:dev hot reload). */
  text: string
}

export async function readManifest(pluginDir: string): Promise<LoadedManifest> {
  const file = join(pluginDir, MANIFEST_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new PluginError('manifest_invalid', `cannot read ${file}: ${(error as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new PluginError('manifest_invalid', `${file} is not valid JSON: ${(error as Error).message}`)
  }
  const parsed = pluginManifestSchema.safeParse(json)
  if (!parsed.success) {
    throw new PluginError('manifest_invalid', `${file} is invalid: ${describeZodError(parsed.error)}`)
  }
  return { manifest: parsed.data, text }
}

export async function readBuildRecord(pluginDir: string): Promise<BuildRecord | null> {
  let text: string
  try {
    text = await readFile(join(pluginDir, BUILD_RECORD_FILE), 'utf8')
  } catch {
    return null
  }
  const parsed = buildRecordSchema.safeParse(JSON.parse(text))
  return parsed.success ? parsed.data : null
}

/**
 * Prebuilt binaries shipped with the app, prebuildify-style: `prebuilds/<platform key>/` in the
 * plugin folder (e.g. prebuilds/linux-x64-glibc/euclidean.node) with a `prebuild.json` record
 * beside the binary, in the build record's shape. Made by `npm run plugins:prebuild` (CI runs it
 * on each platform), so a user never needs a C++ toolchain.
 */
export const PREBUILDS_DIR = 'prebuilds'
export const PREBUILD_RECORD_FILE = 'prebuild.json'

export function prebuildDir(pluginDir: string, platformKey: PlatformKey): string {
  return join(pluginDir, PREBUILDS_DIR, platformKey)
}

/** The prebuild record for `platformKey`, or null (none, unreadable, or made for another platform). */
export async function readPrebuildRecord(pluginDir: string, platformKey: PlatformKey): Promise<BuildRecord | null> {
  let text: string
  try {
    text = await readFile(join(prebuildDir(pluginDir, platformKey), PREBUILD_RECORD_FILE), 'utf8')
  } catch {
    return null
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return null
  }
  const parsed = buildRecordSchema.safeParse(json)
  return parsed.success && parsed.data.platformKey === platformKey ? parsed.data : null
}

export interface ResolvedBinary {
  path: string
  blake3: string
  /** Where the expected checksum came from. */
  origin: 'prebuild' | 'local-build' | 'manifest'
}

/**
 * Picks the binary for this platform. For a plugin whose folder ships with the app
 * (`trustBuildRecord`), a matching prebuild (prebuilds/<platform key>/) comes first, so the app
 * never needs to compile; a local build for this platform is the fallback, and wins only when it
 * is newer than the prebuild (a developer rebuilt after — like better-sqlite3's loader preferring
 * build/Release). An installed plugin is checked against its manifest only: a build or prebuild
 * record is just a file in its folder, so anyone who can change the binary could write one
 * vouching for the change.
 */
export async function resolveBinary(
  pluginDir: string,
  manifest: PluginManifest,
  platformKey: PlatformKey,
  options: { trustBuildRecord: boolean } = { trustBuildRecord: true }
): Promise<ResolvedBinary> {
  const prebuild = options.trustBuildRecord ? await readPrebuildRecord(pluginDir, platformKey) : null
  const record = options.trustBuildRecord ? await readBuildRecord(pluginDir) : null
  const localBuild = record && record.platformKey === platformKey ? record : null
  if (prebuild && !(localBuild && Date.parse(localBuild.builtAt) > Date.parse(prebuild.builtAt))) {
    return { path: resolve(pluginDir, prebuild.path), blake3: prebuild.blake3, origin: 'prebuild' }
  }
  if (localBuild) {
    return { path: resolve(pluginDir, localBuild.path), blake3: localBuild.blake3, origin: 'local-build' }
  }
  const entry = manifest.binaries[platformKey]
  if (!entry) {
    const available = Object.keys(manifest.binaries)
    throw new PluginError(
      'unsupported_platform',
      `plugin '${manifest.name}' has no binary for ${platformKey}` +
        (available.length > 0 ? `; its manifest lists ${available.join(', ')}` : '; its manifest lists none and it has not been built here') +
        (record ? ` (a local build exists for ${record.platformKey})` : '')
    )
  }
  return { path: resolve(pluginDir, entry.path), blake3: entry.blake3, origin: 'manifest' }
}

const RECORD_NAMES: Record<ResolvedBinary['origin'], string> = { prebuild: 'prebuild record', 'local-build': 'build record', manifest: 'manifest' }

export async function blake3File(path: string): Promise<string> {
  return blake3(await readFile(path))
}

/**
 * Reads the binary once and checks the BLAKE3 of those bytes: the bytes returned are the ones
 * verified, so what the host loads is a copy of them, never the file again (which could have
 * changed in between). Throws binary_missing / checksum_mismatch.
 */
export async function readVerifiedBinary(binary: ResolvedBinary, pluginDir: string): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    const info = await stat(binary.path)
    if (!info.isFile()) throw new Error('not a file')
    bytes = await readFile(binary.path)
  } catch {
    throw new PluginError('binary_missing', `binary ${relative(pluginDir, binary.path)} does not exist in ${pluginDir}`)
  }
  const actual = await blake3(bytes)
  if (actual !== binary.blake3) {
    throw new PluginError(
      'checksum_mismatch',
      `BLAKE3 of ${binary.path} is ${actual}, but the ${RECORD_NAMES[binary.origin]} expects ${binary.blake3}`
    )
  }
  return bytes
}
