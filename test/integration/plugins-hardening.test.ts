// What a local attacker or a dying parent can do to plugin hosts (issue 11, items 2 and 10):
// swap a binary after it was verified, vouch for a tampered installed binary with a build
// record, read the app's secrets from a host's environment, or leave hosts spinning when the
// app is killed.
import { spawn } from 'node:child_process'
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { blake3 } from 'hash-wasm'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createSilentLogger } from '../../src/main/logging'
import { ForkPluginHostSpawner, type PluginHostSpawner } from '../../src/main/plugins/host-spawner'
import { BUILD_RECORD_FILE, readBuildRecord } from '../../src/main/plugins/manifest'
import { BUNDLED_PLUGINS_DIR, REPO_ROOT } from '../../src/main/plugins/plugin-build'
import { installBuiltPlugin } from '../../src/main/plugins/plugin-install'
import { PluginRegistry, type PluginRegistryOptions } from '../../src/main/plugins/plugin-registry'
import { ensureBundledPluginsBuilt, installFaultFixtures } from '../fixtures/plugins/fixtures'

const HOST_SCRIPT = resolve(REPO_ROOT, 'src/main/plugins/plugin-host.ts')
const onLinux = process.platform === 'linux'

let workDir: string
const registries: PluginRegistry[] = []

async function openRegistry(options: Partial<PluginRegistryOptions> & { userPluginsDir: string }): Promise<PluginRegistry> {
  const registry = await PluginRegistry.open({
    hostScript: HOST_SCRIPT,
    spawner: new ForkPluginHostSpawner(),
    logger: createSilentLogger(),
    watch: false,
    ...options
  })
  registries.push(registry)
  return registry
}

/** A spawner that does something (an attacker's move) just before each host starts. */
function spawnerThatFirst(move: () => void): PluginHostSpawner {
  const forks = new ForkPluginHostSpawner()
  return {
    spawn(options) {
      // Synchronous, so the move is done before the host exists.
      move()
      return forks.spawn(options)
    }
  }
}

async function bundledBinary(name: string): Promise<Uint8Array> {
  const dir = join(BUNDLED_PLUGINS_DIR, name)
  const record = (await readBuildRecord(dir))!
  return readFile(join(dir, record.path))
}

beforeAll(async () => {
  await ensureBundledPluginsBuilt()
  workDir = await mkdtemp(join(tmpdir(), 'hypercube-plugin-hardening-'))
}, 120_000)

afterEach(async () => {
  await Promise.all(registries.splice(0).map((registry) => registry.close()))
})

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true })
})

describe('the host loads a private copy of the bytes that were verified', () => {
  it('swapping the installed binary after verification does not change what is loaded', async () => {
    const userPluginsDir = join(workDir, 'swap', 'plugins')
    const installed = await installBuiltPlugin(join(BUNDLED_PLUGINS_DIR, 'euclidean'), userPluginsDir)
    const original = join(installed.dir, installed.platformKey, 'euclidean.node')
    const manhattan = await bundledBinary('manhattan')
    const runtimeDir = join(workDir, 'swap', 'plugins-runtime')
    // The swap lands after the registry hashed the file and before the host opens anything.
    const registry = await openRegistry({
      userPluginsDir,
      runtimeDir,
      spawner: spawnerThatFirst(() => {
        writeFileSync(`${original}.swap`, manhattan)
        renameSync(`${original}.swap`, original)
      })
    })
    const plugin = registry.get('euclidean')!
    expect(plugin).toMatchObject({ state: 'running', checksum: 'verified' })
    // Euclidean, not Manhattan (which would say 7).
    expect(await registry.distance('euclidean', new Float64Array([0, 0]), new Float64Array([3, 4]))).toBe(5)
    if (onLinux) {
      const maps = readFileSync(`/proc/${plugin.hostPid}/maps`, 'utf8')
      expect(maps).toContain(runtimeDir)
      expect(maps).not.toContain(original)
    }
    if (process.platform !== 'win32') {
      expect((await stat(runtimeDir)).mode & 0o777).toBe(0o700)
      const copies = await readdir(runtimeDir)
      expect(copies.length).toBeGreaterThan(0)
      for (const copy of copies) expect((await stat(join(runtimeDir, copy))).mode & 0o077).toBe(0)
    }
  })

  it('refuses a private copy that was changed before the host loaded it', async () => {
    const userPluginsDir = join(workDir, 'tamper', 'plugins')
    await installBuiltPlugin(join(BUNDLED_PLUGINS_DIR, 'euclidean'), userPluginsDir)
    const runtimeDir = join(workDir, 'tamper', 'plugins-runtime')
    const registry = await openRegistry({
      userPluginsDir,
      runtimeDir,
      spawner: spawnerThatFirst(() => {
        for (const copy of readdirSync(runtimeDir)) appendFileSync(join(runtimeDir, copy), 'tampered')
      })
    })
    const plugin = registry.get('euclidean')!
    expect(plugin.state).toBe('failed')
    expect(plugin.lastError?.code).toBe('checksum_mismatch')
    expect(plugin.lastError?.message).toMatch(/private copy .* changed after it was verified/)
  })

  it('removes the private copies when the registry closes', async () => {
    const userPluginsDir = join(workDir, 'cleanup', 'plugins')
    await installBuiltPlugin(join(BUNDLED_PLUGINS_DIR, 'euclidean'), userPluginsDir)
    const runtimeDir = join(workDir, 'cleanup', 'plugins-runtime')
    const registry = await openRegistry({ userPluginsDir, runtimeDir })
    expect(registry.get('euclidean')?.state).toBe('running')
    expect((await readdir(runtimeDir)).length).toBe(1)
    await registry.close()
    expect(existsSync(runtimeDir) ? await readdir(runtimeDir) : []).toEqual([])
  })
})

describe('a build record vouches only for bundled plugins', () => {
  it("an installed plugin is checked against its manifest, whatever its build record claims", async () => {
    const userPluginsDir = join(workDir, 'record', 'plugins')
    const installed = await installBuiltPlugin(join(BUNDLED_PLUGINS_DIR, 'euclidean'), userPluginsDir)
    const binary = join(installed.platformKey, 'euclidean.node')
    // Someone changes the installed binary and writes a build record that vouches for the change.
    await appendFile(join(installed.dir, binary), 'changed after install')
    const changed = await blake3(await readFile(join(installed.dir, binary)))
    await mkdir(join(installed.dir, 'build'), { recursive: true })
    await writeFile(
      join(installed.dir, BUILD_RECORD_FILE),
      JSON.stringify({ name: 'euclidean', platformKey: installed.platformKey, path: binary, blake3: changed, napiVersion: 8, builtAt: new Date().toISOString() })
    )
    const registry = await openRegistry({ userPluginsDir })
    const plugin = registry.get('euclidean')!
    expect(plugin).toMatchObject({ state: 'failed', checksum: 'mismatch', source: 'user' })
    expect(plugin.lastError?.message).toMatch(/the manifest expects/)
  })

  it('an installed plugin whose build record claims another hash still loads by its manifest', async () => {
    const userPluginsDir = join(workDir, 'record-other', 'plugins')
    const installed = await installBuiltPlugin(join(BUNDLED_PLUGINS_DIR, 'euclidean'), userPluginsDir)
    await mkdir(join(installed.dir, 'build'), { recursive: true })
    await writeFile(
      join(installed.dir, BUILD_RECORD_FILE),
      JSON.stringify({
        name: 'euclidean',
        platformKey: installed.platformKey,
        path: join(installed.platformKey, 'euclidean.node'),
        blake3: '1'.repeat(64),
        napiVersion: 8,
        builtAt: new Date().toISOString()
      })
    )
    const registry = await openRegistry({ userPluginsDir })
    expect(registry.get('euclidean')).toMatchObject({ state: 'running', checksum: 'verified', blake3: installed.blake3 })
  })

  it('a bundled plugin still takes its hash from its build record', async () => {
    const registry = await openRegistry({ userPluginsDir: join(workDir, 'bundled', 'plugins'), bundledDir: BUNDLED_PLUGINS_DIR })
    const record = (await readBuildRecord(join(BUNDLED_PLUGINS_DIR, 'cosine')))!
    expect(registry.get('cosine')).toMatchObject({ state: 'running', checksum: 'verified', blake3: record.blake3, source: 'bundled' })
  })
})

describe('hosts start with a minimal environment', () => {
  const secrets = {
    HYPERCUBE_DATABASE_URL: 'postgres://hypercube:s3cret@127.0.0.1:5432/hypercube',
    HYPERCUBE_API_TOKEN: 'token-that-must-not-leak',
    GITHUB_TOKEN: 'ghp_must_not_leak',
    AWS_SECRET_ACCESS_KEY: 'must-not-leak'
  }
  const saved: Record<string, string | undefined> = {}
  beforeAll(() => {
    for (const [key, value] of Object.entries(secrets)) {
      saved[key] = process.env[key]
      process.env[key] = value
    }
  })
  afterAll(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  })

  it.runIf(onLinux)('a host has no HYPERCUBE_ variable and no token, but has PATH and its library path', async () => {
    const registry = await openRegistry({ userPluginsDir: join(workDir, 'env', 'plugins'), bundledDir: BUNDLED_PLUGINS_DIR })
    const plugin = registry.get('euclidean')!
    expect(plugin.state).toBe('running')
    const environ = readFileSync(`/proc/${plugin.hostPid}/environ`, 'utf8').split('\0').filter(Boolean)
    const names = environ.map((entry) => entry.slice(0, entry.indexOf('=')))
    expect(names.filter((name) => name.startsWith('HYPERCUBE_'))).toEqual([])
    for (const value of Object.values(secrets)) expect(environ.join('\n')).not.toContain(value)
    expect(names).toContain('PATH')
    expect(environ.find((entry) => entry.startsWith('LD_LIBRARY_PATH='))).toMatch(new RegExp(`^LD_LIBRARY_PATH=${plugin.dir}`))
  })
})

describe('hosts die with their parent', () => {
  function tsxLoaderUrl(): string {
    const require = createRequire(import.meta.url)
    return pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href
  }

  /** Alive and not a zombie waiting for a reaper. */
  function isRunning(pid: number): boolean {
    try {
      process.kill(pid, 0)
    } catch {
      return false
    }
    if (!onLinux) return true
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    } catch {
      return false
    }
  }

  async function killParentAndWatchHost(mode: 'idle' | 'hang'): Promise<number> {
    const userPluginsDir = join(workDir, `parent-${mode}`, 'plugins')
    await installFaultFixtures(userPluginsDir)
    const parent = spawn(process.execPath, ['--import', tsxLoaderUrl(), join(REPO_ROOT, 'test/fixtures/plugins/host-parent.ts'), userPluginsDir, 'fault-hang', mode], {
      stdio: ['ignore', 'pipe', 'inherit']
    })
    let hostPid = 0
    try {
      hostPid = await new Promise<number>((resolvePromise, reject) => {
        let output = ''
        parent.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8')
          const line = output.split('\n').find((candidate) => candidate.startsWith('{'))
          if (line) resolvePromise((JSON.parse(line) as { hostPid: number }).hostPid)
        })
        parent.on('exit', (code) => reject(new Error(`the parent exited (${code}) before reporting its host`)))
      })
      expect(isRunning(hostPid)).toBe(true)
      parent.kill('SIGKILL')
      const killedAt = Date.now()
      while (isRunning(hostPid) && Date.now() - killedAt < 5_000) await new Promise((r) => setTimeout(r, 100))
      return isRunning(hostPid) ? -1 : Date.now() - killedAt
    } finally {
      parent.kill('SIGKILL')
      if (hostPid > 0 && isRunning(hostPid)) process.kill(hostPid, 'SIGKILL')
    }
  }

  it('an idle host exits within a few seconds of its parent being killed', async () => {
    const took = await killParentAndWatchHost('idle')
    expect(took).toBeGreaterThanOrEqual(0)
    expect(took).toBeLessThan(5_000)
  }, 120_000)

  it('a host stuck in a native call that never returns exits too', async () => {
    const took = await killParentAndWatchHost('hang')
    expect(took).toBeGreaterThanOrEqual(0)
    expect(took).toBeLessThan(5_000)
  }, 120_000)
})
