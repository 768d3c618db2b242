// Lays the app out with electron-builder itself (its `dir` target: no installer), with Electron's
// own runtime replaced by a stand-in executable, because Electron's binary cannot be downloaded
// everywhere (not in this repository's CI). Everything else is electron-builder's real work from
// electron-builder.config.ts: the `files` globs, the production node_modules it collects, the
// asar with `asarUnpack`, and the afterPack hook flipping the fuses (in the stand-in, which
// carries a fuse wire like Electron's). test/integration/packaged-layout.test.ts checks every
// run-time path against the result; `npm run pack:layout` prints the size estimate.
//
// electron-builder walks the whole project folder, so it runs on a staged copy holding only what
// the app could pack (package.json and the lock, out/, migrations/, native/; node_modules linked):
// files that other work creates and deletes in a checkout meanwhile (test output) cannot trip it.
import { createReadStream } from 'node:fs'
import { chmod, cp, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createGzip } from 'node:zlib'
import { Arch, build, Platform } from 'electron-builder'
import type { config as hypercubeConfig } from '../../electron-builder.config'

/** The fuse wire's sentinel in Electron's executable (what @electron/fuses looks for). */
export const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'
/** Electron's default fuses, in @electron/fuses' V1 order: RunAsNode on, cookie encryption off, NODE_OPTIONS on, --inspect on, asar integrity off, asar only off, V8 snapshot off, file:// privileges on. */
export const ELECTRON_DEFAULT_FUSES = '10110001'

/** A stand-in for Electron's Linux executable: an ELF header, and a fuse wire where Electron has one. */
export function stubElectronExecutable(): Buffer {
  return Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(56), Buffer.from(FUSE_SENTINEL), Buffer.from([1, ELECTRON_DEFAULT_FUSES.length]), Buffer.from(ELECTRON_DEFAULT_FUSES), Buffer.alloc(64)])
}

/** The fuse bytes of an executable ('0' off, '1' on), as a string. */
export async function readFuseWire(executable: string): Promise<string> {
  const bytes = await readFile(executable)
  const at = bytes.indexOf(FUSE_SENTINEL)
  if (at < 0) throw new Error(`${executable} has no fuse wire`)
  const start = at + FUSE_SENTINEL.length
  return bytes.subarray(start + 2, start + 2 + bytes[start + 1]).toString('latin1')
}

async function stageProject(projectDir: string, stageDir: string): Promise<void> {
  await rm(stageDir, { recursive: true, force: true })
  await mkdir(stageDir, { recursive: true })
  for (const file of ['package.json', 'package-lock.json', 'README.md']) await cp(join(projectDir, file), join(stageDir, file))
  for (const dir of ['out', 'migrations', 'native']) await cp(join(projectDir, dir), join(stageDir, dir), { recursive: true, verbatimSymlinks: true })
  await symlink(join(projectDir, 'node_modules'), join(stageDir, 'node_modules'), 'dir')
}

export interface PackResult {
  /** electron-builder's unpacked app folder (linux-unpacked, linux-arm64-unpacked). */
  appOutDir: string
  executable: string
  resourcesDir: string
  asarPath: string
  unpackedDir: string
  bytes: { asar: number; unpacked: number; gzip: number }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
}

async function gzipSize(files: string[]): Promise<number> {
  let total = 0
  for (const file of files) {
    total += await new Promise<number>((resolvePromise, reject) => {
      let size = 0
      const gzip = createGzip({ level: 6 })
      gzip.on('data', (chunk: Buffer) => (size += chunk.length))
      gzip.on('end', () => resolvePromise(size))
      gzip.on('error', reject)
      createReadStream(file).on('error', reject).pipe(gzip)
    })
  }
  return total
}

/**
 * Packs the app for Linux on this CPU into `outDir` with electron-builder's `dir` target and the
 * stand-in Electron. Linux only: a stand-in for macOS's Electron.app or Windows' electron.exe
 * (which electron-builder edits) would have to be far more than an executable with a fuse wire;
 * the release workflow packs those with the real Electron.
 */
export async function packAppLayout(options: { projectDir: string; outDir: string; config: typeof hypercubeConfig }): Promise<PackResult> {
  if (process.platform !== 'linux') throw new Error('packAppLayout packs for Linux (the stand-in Electron is a Linux executable)')
  const arch = process.arch === 'arm64' ? Arch.arm64 : Arch.x64
  const stageDir = join(options.outDir, 'stage')
  const electronDist = join(options.outDir, 'electron-stand-in')
  const output = join(options.outDir, 'dist')
  await stageProject(options.projectDir, stageDir)
  await mkdir(electronDist, { recursive: true })
  await writeFile(join(electronDist, 'electron'), stubElectronExecutable())
  await chmod(join(electronDist, 'electron'), 0o755)
  const electronVersion = (JSON.parse(await readFile(join(options.projectDir, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version
  await writeFile(join(electronDist, 'version'), electronVersion)
  await build({
    projectDir: stageDir,
    targets: Platform.LINUX.createTarget('dir', arch),
    config: { ...options.config, electronDist, electronVersion, directories: { ...options.config.directories, output } },
    publish: 'never'
  })
  const appOutDir = join(output, arch === Arch.arm64 ? 'linux-arm64-unpacked' : 'linux-unpacked')
  const resourcesDir = join(appOutDir, 'resources')
  const asarPath = join(resourcesDir, 'app.asar')
  const unpackedDir = `${asarPath}.unpacked`
  const unpackedFiles = await filesUnder(unpackedDir)
  let unpacked = 0
  for (const file of unpackedFiles) unpacked += (await stat(file)).size
  return {
    appOutDir,
    executable: join(appOutDir, options.config.executableName),
    resourcesDir,
    asarPath,
    unpackedDir,
    bytes: { asar: (await stat(asarPath)).size, unpacked, gzip: await gzipSize([asarPath, ...unpackedFiles]) }
  }
}

/**
 * The packages that are only development dependencies (what must never be packed), as
 * node_modules/<name>: every copy of that name in package-lock.json is marked dev. A name that a
 * production dependency also needs (apache-arrow depends on its own @types/node) is not one.
 */
export async function devOnlyPackages(projectDir: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(projectDir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  const dev = new Set<string>()
  const prod = new Set<string>()
  for (const [path, entry] of Object.entries(lock.packages)) {
    const at = path.lastIndexOf('node_modules/')
    if (at < 0) continue
    const name = `node_modules/${path.slice(at + 'node_modules/'.length)}`
    ;(entry.dev ? dev : prod).add(name)
  }
  return [...dev].filter((name) => !prod.has(name)).sort()
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
