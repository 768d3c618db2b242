// Building plugins with node-gyp: used by scripts/build-plugins.ts (npm install), plugin:dev,
// plugin:check and the tests. Not part of the app bundle: the app only loads binaries.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PluginError } from '../../shared/plugins'
import { blake3File, BUILD_RECORD_FILE, PREBUILD_RECORD_FILE, prebuildDir, readBuildRecord, readManifest, readPrebuildRecord, type BuildRecord } from './manifest'
import { currentPlatformKey } from './platform'

const require = createRequire(import.meta.url)

/** The repository root (this file lives in src/main/plugins). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
export const BUNDLED_PLUGINS_DIR = join(REPO_ROOT, 'native')
export const PLUGIN_SDK_INCLUDE = join(BUNDLED_PLUGINS_DIR, 'sdk', 'include')

/**
 * node-gyp needs Node's headers. npm passes `nodedir` from .npmrc as npm_config_nodedir; outside
 * npm we use the headers installed beside this node binary (<prefix>/include/node), so no
 * header download is needed on a machine without internet.
 */
export function nodeHeadersDir(): string | undefined {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir
  const prefix = dirname(dirname(process.execPath))
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined
}

/** Environment for binding.gyp's include-path expansions (see native/euclidean/binding.gyp). */
export function nodeGypEnvironment(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HYPERCUBE_PLUGIN_SDK_INCLUDE: PLUGIN_SDK_INCLUDE,
    HYPERCUBE_NODE_ADDON_API_INCLUDE: dirname(require.resolve('node-addon-api/package.json'))
  }
}

export interface NodeGypOptions {
  /** Receives node-gyp's output line by line; by default it is collected for errors only. */
  onOutput?: (line: string) => void
}

/** Runs node-gyp with `args` (e.g. ['rebuild']) in `dir`; rejects with the output's tail. */
export function runNodeGyp(dir: string, args: string[], options: NodeGypOptions = {}): Promise<void> {
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js')
  const headers = nodeHeadersDir()
  const fullArgs = [nodeGyp, ...args, ...(headers ? [`--nodedir=${headers}`] : []), '--loglevel=warn']
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, fullArgs, { cwd: dir, env: nodeGypEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: string[] = []
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.length === 0) continue
        lines.push(line)
        if (lines.length > 200) lines.shift()
        options.onOutput?.(line)
      }
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolvePromise()
      else reject(new Error(`node-gyp ${args.join(' ')} failed in ${dir} (exit ${code}):\n${lines.slice(-40).join('\n')}`))
    })
  })
}

async function findBuiltBinary(pluginDir: string, name: string): Promise<string> {
  const releaseDir = join(pluginDir, 'build', 'Release')
  const files = (await readdir(releaseDir).catch(() => [] as string[])).filter((file) => file.endsWith('.node'))
  const preferred = [`${name}.node`, `${name.replace(/-/g, '_')}.node`].find((file) => files.includes(file))
  const chosen = preferred ?? (files.length === 1 ? files[0] : undefined)
  if (!chosen) {
    throw new PluginError(
      'binary_missing',
      `node-gyp built ${files.length === 0 ? 'no .node file' : files.join(', ')} in ${releaseDir}; expected ${name}.node`
    )
  }
  return join(releaseDir, chosen)
}

export interface BuildPluginOptions extends NodeGypOptions {
  /** `node-gyp rebuild` (clean) instead of configure-if-needed + build (incremental). */
  clean?: boolean
}

/**
 * Builds the plugin in `pluginDir` and writes build/plugin-build.json with the binary's
 * BLAKE3, which is how the registry verifies a local build (the committed plugin.json stays
 * untouched, so a build never dirties the git tree).
 */
export async function buildPlugin(pluginDir: string, options: BuildPluginOptions = {}): Promise<BuildRecord> {
  const dir = resolve(pluginDir)
  const { manifest } = await readManifest(dir)
  const configured = existsSync(join(dir, 'build', 'config.gypi'))
  await runNodeGyp(dir, options.clean ? ['rebuild'] : configured ? ['build'] : ['configure', 'build'], options)
  const binary = await findBuiltBinary(dir, manifest.name)
  const record: BuildRecord = {
    name: manifest.name,
    platformKey: currentPlatformKey(),
    path: relative(dir, binary).split('\\').join('/'),
    blake3: await blake3File(binary),
    napiVersion: manifest.napiVersion,
    builtAt: new Date().toISOString()
  }
  await writeFile(join(dir, BUILD_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`)
  return record
}

/** The plugin folders under `root` (folders holding a plugin.json and a binding.gyp). */
export async function listPluginSourceDirs(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => [])
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, entry.name))
    .filter((dir) => existsSync(join(dir, 'plugin.json')) && existsSync(join(dir, 'binding.gyp')))
    .sort()
}

/**
 * Turns this platform's local build into a prebuild (prebuilds/<platform key>/<name>.node and
 * its prebuild.json), building first when there is no local build for this platform or its
 * binary no longer matches its record. CI runs this on every platform of the matrix
 * (.github/workflows/release.yml) and packs the results, so users never compile.
 */
export async function writePrebuild(pluginDir: string, options: NodeGypOptions = {}): Promise<BuildRecord> {
  const dir = resolve(pluginDir)
  const platformKey = currentPlatformKey()
  let record = await readBuildRecord(dir)
  const usable = record !== null && record.platformKey === platformKey && existsSync(join(dir, record.path)) && (await blake3File(join(dir, record.path))) === record.blake3
  if (!usable) record = await buildPlugin(dir, { ...options, clean: true })
  const built = record!
  const target = prebuildDir(dir, platformKey)
  await rm(target, { recursive: true, force: true })
  await mkdir(target, { recursive: true })
  const binary = join(target, `${built.name}.node`)
  await copyFile(join(dir, built.path), binary)
  const prebuild: BuildRecord = {
    name: built.name,
    platformKey,
    path: relative(dir, binary).split('\\').join('/'),
    blake3: await blake3File(binary),
    napiVersion: built.napiVersion,
    builtAt: new Date().toISOString()
  }
  await writeFile(join(target, PREBUILD_RECORD_FILE), `${JSON.stringify(prebuild, null, 2)}\n`)
  return prebuild
}

/** A verified prebuild for this platform, or null: what lets `npm install` skip compiling a plugin. */
export async function usablePrebuild(pluginDir: string): Promise<BuildRecord | null> {
  const dir = resolve(pluginDir)
  const record = await readPrebuildRecord(dir, currentPlatformKey())
  if (!record || !existsSync(join(dir, record.path))) return null
  return (await blake3File(join(dir, record.path))) === record.blake3 ? record : null
}
