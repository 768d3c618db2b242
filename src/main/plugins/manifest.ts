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

export interface ResolvedBinary {
  path: string
  blake3: string
  /** Where the expected checksum came from. */
  origin: 'local-build' | 'manifest'
}

/**
 * Picks the binary for this platform. For a plugin whose folder ships with the app
 * (`trustBuildRecord`), a local build for this platform wins: it is the developer's own, newer
 * build (like better-sqlite3's loader preferring build/Release). An installed plugin is checked
 * against its manifest only: a build record is just a file in its folder, so anyone who can
 * change the binary could write one vouching for the change.
 */
export async function resolveBinary(
  pluginDir: string,
  manifest: PluginManifest,
  platformKey: PlatformKey,
  options: { trustBuildRecord: boolean } = { trustBuildRecord: true }
): Promise<ResolvedBinary> {
  const record = options.trustBuildRecord ? await readBuildRecord(pluginDir) : null
  if (record && record.platformKey === platformKey) {
    return { path: resolve(pluginDir, record.path), blake3: record.blake3, origin: 'local-build' }
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
      `BLAKE3 of ${binary.path} is ${actual}, but the ${binary.origin === 'local-build' ? 'build record' : 'manifest'} expects ${binary.blake3}`
    )
  }
  return bytes
}
