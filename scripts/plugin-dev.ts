// npm run plugin:dev <plugin dir> -- --data-dir <dataDir> [--once]
//
// Watches the plugin's sources, rebuilds on change, installs the build into
// <dataDir>/plugins/<name> and reports what the running core (serve --data-dir <dataDir>)
// made of it. The core's registry watches that folder and reloads the plugin when its
// plugin.json changes; it writes each result to <dataDir>/plugins/.registry-state.json,
// which this script reads back (no HTTP API needed).
import { watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { PluginInfo } from '../src/shared/plugins'
import { readManifest } from '../src/main/plugins/manifest'
import { buildPlugin } from '../src/main/plugins/plugin-build'
import { installBuiltPlugin } from '../src/main/plugins/plugin-install'
import { REGISTRY_STATE_FILE, type RegistryStateFile } from '../src/main/plugins/plugin-registry'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'data-dir': { type: 'string' }, once: { type: 'boolean' }, 'wait-ms': { type: 'string' } }
})
const dataDir = values['data-dir'] ?? process.env.HYPERCUBE_DATA_DIR
if (positionals.length !== 1 || !dataDir) {
  console.error('usage: npm run plugin:dev <plugin dir> -- --data-dir <dataDir> [--once]   (or set HYPERCUBE_DATA_DIR)')
  process.exit(2)
}
const pluginDir = resolve(positionals[0])
const userPluginsDir = join(resolve(dataDir), 'plugins')
const waitMs = Number(values['wait-ms'] ?? 15_000)

function time(): string {
  return new Date().toLocaleTimeString()
}

async function readState(): Promise<RegistryStateFile | null> {
  try {
    return JSON.parse(await readFile(join(userPluginsDir, REGISTRY_STATE_FILE), 'utf8')) as RegistryStateFile
  } catch {
    return null
  }
}

/** Waits until the core reports the plugin with this checksum as loaded or failed. */
async function waitForReload(name: string, blake3: string): Promise<PluginInfo | null> {
  const deadline = Date.now() + waitMs
  while (Date.now() < deadline) {
    const plugin = (await readState())?.plugins.find((candidate) => candidate.name === name)
    if (plugin && plugin.blake3 === blake3 && plugin.state !== 'starting' && plugin.state !== 'restarting') return plugin
    if (plugin && plugin.state === 'failed' && plugin.lastError?.code === 'manifest_invalid') return plugin
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 100))
  }
  return null
}

async function cycle(): Promise<boolean> {
  const started = Date.now()
  let installed
  try {
    const record = await buildPlugin(pluginDir)
    installed = await installBuiltPlugin(pluginDir, userPluginsDir)
    console.log(`[${time()}] built ${record.name} in ${Date.now() - started} ms, installed into ${relative(process.cwd(), installed.dir) || installed.dir}`)
  } catch (error) {
    console.error(`[${time()}] build failed:\n${(error as Error).message}`)
    return false
  }
  const result = await waitForReload(installed.name, installed.blake3)
  if (!result) {
    console.error(`[${time()}] no running core reported ${installed.name} within ${waitMs} ms — is \`serve --data-dir ${dataDir}\` running?`)
    return false
  }
  if (result.state === 'running') {
    console.log(`[${time()}] reloaded ${result.name} ${result.version} (isMetric ${result.isMetric}, checksum ${result.checksum})`)
    return true
  }
  console.error(`[${time()}] reload of ${result.name} failed: [${result.lastError?.code}] ${result.lastError?.message}`)
  return false
}

const { manifest } = await readManifest(pluginDir)
if (values.once) {
  process.exit((await cycle()) ? 0 : 1)
}
console.log(`watching ${pluginDir} (${manifest.name}); Ctrl-C to stop`)
await cycle()
let timer: NodeJS.Timeout | undefined
let running: Promise<unknown> = Promise.resolve()
const onChange = (filename: string | null): void => {
  if (!filename || filename.startsWith('build') || filename.includes(`${'/'}build${'/'}`)) return
  if (!/\.(cc|cpp|cxx|c|h|hpp|gyp|gypi|json)$/.test(filename)) return
  clearTimeout(timer)
  timer = setTimeout(() => {
    running = running.then(() => {
      console.log(`[${time()}] ${filename} changed`)
      return cycle()
    })
  }, 300)
}
watch(pluginDir, { recursive: true }, (_event, filename) => onChange(filename))
