import { createReadStream, createWriteStream, statSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Transform, Writable, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { createBLAKE3, type IHasher } from 'hash-wasm'
import tar from 'tar-stream'
import { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, BundleError, classifyMember, HEADER_MEMBER, headerSchema, MANIFEST_MEMBER, manifestSchema, parseMember, type BundleHeader, type BundleManifest } from './bundle-format'

/**
 * The bundle's container: a POSIX tar compressed as one gzip stream, written and read strictly
 * as streams. Every member is hashed (BLAKE3) as it passes; the manifest, the last member, lists
 * each one's size and hash. The writer writes to a temporary file beside the target and renames
 * it only when the manifest is in and the file is flushed, so a failed export leaves no file at
 * the target.
 */

/** gzip level 6 (zlib's default): see bench/bundle.bench.ts for what the levels cost and give. */
const GZIP_LEVEL = 6

export interface ManifestEntry {
  name: string
  size: number
  blake3: string
}

async function newHasher(): Promise<IHasher> {
  const hasher = await createBLAKE3()
  hasher.init()
  return hasher
}

export class BundleWriter {
  private readonly entries: ManifestEntry[] = []
  private readonly names = new Set<string>()
  private readonly done: Promise<void>
  private finished = false

  private constructor(
    readonly target: string,
    private readonly temp: string,
    private readonly pack: tar.Pack
  ) {
    this.done = pipeline(pack, createGzip({ level: GZIP_LEVEL }), createWriteStream(temp, { flags: 'wx', mode: 0o600 }))
    // Surfaced by finish() or abort(); never an unhandled rejection in between.
    this.done.catch(() => undefined)
  }

  /** A writer whose bytes go to a temporary file beside `target` until finish(). */
  static create(target: string): BundleWriter {
    const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`)
    return new BundleWriter(target, temp, tar.pack())
  }

  /** Where the bytes go until finish() renames them onto the target. */
  get tempPath(): string {
    return this.temp
  }

  async addBuffer(name: string, bytes: Buffer): Promise<void> {
    await this.addStream(name, bytes.length, [bytes])
  }

  /** A member of known size from a stream; refused if the stream gives another number of bytes. */
  async addStream(name: string, size: number, source: Readable | AsyncIterable<Uint8Array> | Uint8Array[]): Promise<ManifestEntry> {
    if (this.finished) throw new Error('bundle already finished')
    if (this.names.has(name)) throw new Error(`bundle member ${name} written twice`)
    this.names.add(name)
    const hasher = await newHasher()
    let seen = 0
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        seen += chunk.length
        if (seen > size) {
          callback(new Error(`${name}: more than the ${size} bytes announced`))
          return
        }
        hasher.update(chunk)
        callback(null, chunk)
      }
    })
    await new Promise<void>((resolve, reject) => {
      const entry = this.pack.entry({ name, size, mode: 0o644, mtime: new Date(), type: 'file' }, (error) => (error ? reject(error) : resolve()))
      pipeline(source as Readable, counter, entry).catch(reject)
    })
    if (seen !== size) throw new Error(`${name}: ${seen} bytes, ${size} announced`)
    const entry = { name, size, blake3: hasher.digest('hex') }
    this.entries.push(entry)
    return entry
  }

  /** Writes the manifest, flushes the file and renames it onto the target. */
  async finish(): Promise<{ path: string; bytes: number; members: number }> {
    const manifest: BundleManifest = { format: BUNDLE_FORMAT, version: BUNDLE_FORMAT_VERSION, members: this.entries }
    const bytes = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`)
    // The manifest lists every member but itself.
    await new Promise<void>((resolve, reject) => {
      this.pack.entry({ name: MANIFEST_MEMBER, size: bytes.length, mode: 0o644, mtime: new Date(), type: 'file' }, bytes, (error) => (error ? reject(error) : resolve()))
    })
    this.finished = true
    this.pack.finalize()
    await this.done
    await rename(this.temp, this.target)
    return { path: this.target, bytes: statSync(this.target).size, members: this.entries.length }
  }

  /** Stops writing and removes the temporary file; the target is left as it was. */
  async abort(): Promise<void> {
    this.finished = true
    this.pack.destroy()
    await this.done.catch(() => undefined)
    await rm(this.temp, { force: true })
  }
}

export interface BundleMember {
  name: string
  size: number
  /** The member's bytes; must be consumed (or drained) before the next member comes. */
  stream: Readable
}

export interface ReadProgress {
  /** Compressed bytes of the file read so far, and the file's size. */
  (bytesRead: number, fileBytes: number): void
}

/**
 * The members of a bundle in order, each hashed as it is consumed: after a member's stream
 * ends, `hashes` holds its size and BLAKE3. Errors of the file (truncated, not gzip, not tar)
 * are BundleErrors naming the member where they happened.
 */
export class BundleReader {
  readonly hashes = new Map<string, ManifestEntry>()
  private current: string | undefined
  private lastComplete: string | undefined

  constructor(
    readonly file: string,
    private readonly onProgress?: ReadProgress
  ) {}

  async *members(): AsyncGenerator<BundleMember> {
    let fileBytes: number
    try {
      fileBytes = statSync(this.file).size
    } catch (error) {
      throw new BundleError(`${this.file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`)
    }
    const input = createReadStream(this.file)
    let read = 0
    input.on('data', (chunk) => {
      read += chunk.length
      this.onProgress?.(read, fileBytes)
    })
    const gunzip = createGunzip()
    const extract = tar.extract()
    let streamError: Error | undefined
    let open: Transform | undefined
    // pipeline destroys every stream on the first error; the extractor's iteration then throws.
    // The member being read is not always told (tar-stream leaves its entry open), so it is here.
    const piping = pipeline(input, gunzip, extract).catch((error: Error) => {
      streamError = error
      open?.destroy(error)
    })
    try {
      for await (const entry of extract) {
        const { name, size, type } = entry.header
        if (type === 'directory') {
          entry.resume()
          continue
        }
        if (type !== 'file' && type !== 'contiguous-file') {
          entry.resume()
          throw new BundleError(`member ${name}: a ${type ?? 'special'} entry; a bundle holds only files`, name)
        }
        this.current = name
        if (this.hashes.has(name)) throw new BundleError(`member ${name} appears twice in the bundle`, name)
        const hasher = await newHasher()
        let seen = 0
        const hashes = this.hashes
        const hashing = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            seen += chunk.length
            hasher.update(chunk)
            callback(null, chunk)
          },
          flush(callback) {
            hashes.set(name, { name, size: seen, blake3: hasher.digest('hex') })
            callback()
          }
        })
        hashing.once('end', () => {
          this.lastComplete = name
          this.current = undefined
        })
        pipeline(entry, hashing).catch(() => undefined)
        open = hashing
        if (streamError) hashing.destroy(streamError)
        yield { name, size: size ?? 0, stream: hashing }
        // Whatever the consumer left unread is read (and hashed) before the next member.
        if (!hashing.readableEnded) {
          if (hashing.destroyed) throw new Error(`member ${name}: its reader closed it before its end`)
          hashing.resume()
          await new Promise<void>((resolve, reject) => {
            hashing.once('end', resolve)
            hashing.once('error', reject)
          })
        }
      }
      await piping
      if (streamError) throw streamError
    } catch (error) {
      await piping
      throw this.explain(streamError ?? (error as Error))
    } finally {
      input.destroy()
    }
  }

  /** A stream error, said in terms of the bundle: which member was cut or damaged. */
  explain(error: Error): Error {
    if (error instanceof BundleError) return error
    const code = (error as NodeJS.ErrnoException).code
    const truncated = code === 'Z_BUF_ERROR' || /unexpected end/i.test(error.message)
    const what = truncated ? 'the bundle is truncated' : `the bundle is damaged (${error.message})`
    if (this.current !== undefined) return new BundleError(`${what}: it breaks off in member ${this.current}`, this.current)
    if (this.lastComplete !== undefined) return new BundleError(`${what}: it breaks off after member ${this.lastComplete}`, this.lastComplete)
    return new BundleError(`${this.file} is not a Hypercube bundle (${truncated ? 'it ends before its first member' : error.message})`)
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export interface VerifiedBundle {
  header: BundleHeader
  manifest: BundleManifest
  /** Compressed size of the file. */
  fileBytes: number
}

/** The largest JSON member read whole into memory (run.json holds a run's logs: up to 10 MB). */
const MAX_JSON_MEMBER = 64 * 1024 * 1024

/**
 * Reads the whole bundle once and checks every member against the manifest — present, same
 * size, same BLAKE3, nothing unlisted — before anything is imported. Throws a BundleError naming
 * the first member that fails.
 */
export async function verifyBundle(file: string, onProgress?: ReadProgress): Promise<VerifiedBundle> {
  const reader = new BundleReader(file, onProgress)
  let headerBytes: Buffer | undefined
  let manifestBytes: Buffer | undefined
  let first = true
  const order: string[] = []
  try {
    for await (const member of reader.members()) {
      order.push(member.name)
      if (first && member.name !== HEADER_MEMBER) throw new BundleError(`${file} is not a Hypercube bundle: its first member is ${member.name}, not ${HEADER_MEMBER}`, member.name)
      first = false
      if (manifestBytes !== undefined) throw new BundleError(`member ${member.name} comes after the manifest`, member.name)
      if (classifyMember(member.name) === undefined) throw new BundleError(`member ${member.name} is not part of a Hypercube bundle`, member.name)
      if (member.name === HEADER_MEMBER || member.name === MANIFEST_MEMBER) {
        if (member.size > MAX_JSON_MEMBER) throw new BundleError(`member ${member.name} is too large (${member.size} bytes)`, member.name)
        const bytes = await readAll(member.stream)
        if (member.name === HEADER_MEMBER) headerBytes = bytes
        else manifestBytes = bytes
      }
    }
  } catch (error) {
    // A damaged stream after the manifest (gzip's checksum comes last) is better said as the
    // member whose bytes changed, when the hashes already show one.
    if (manifestBytes !== undefined) checkAgainstManifest(parseMember(manifestSchema, MANIFEST_MEMBER, manifestBytes), reader.hashes, false)
    throw reader.explain(error as Error)
  }
  if (headerBytes === undefined) throw new BundleError(`${file} is not a Hypercube bundle: it has no ${HEADER_MEMBER}`)
  if (manifestBytes === undefined) {
    throw new BundleError(`the bundle is truncated: it ends after member ${order[order.length - 1] ?? HEADER_MEMBER}, before its manifest`, order[order.length - 1])
  }
  const manifest = parseMember(manifestSchema, MANIFEST_MEMBER, manifestBytes)
  checkAgainstManifest(manifest, reader.hashes, true)
  const header = parseMember(headerSchema, HEADER_MEMBER, headerBytes)
  return { header, manifest, fileBytes: statSync(file).size }
}

/** Throws naming the first member whose size or hash differs from the manifest (or that is missing / unlisted, when `complete`). */
export function checkAgainstManifest(manifest: BundleManifest, hashes: ReadonlyMap<string, ManifestEntry>, complete: boolean): void {
  const listed = new Set<string>()
  for (const want of manifest.members) {
    listed.add(want.name)
    const got = hashes.get(want.name)
    if (!got) {
      if (complete) throw new BundleError(`member ${want.name} is listed in the manifest but missing from the bundle`, want.name)
      continue
    }
    if (got.size !== want.size || got.blake3 !== want.blake3) {
      throw new BundleError(
        `member ${want.name} failed its hash check: ${got.size} bytes with BLAKE3 ${got.blake3}, the manifest says ${want.size} bytes with BLAKE3 ${want.blake3} — the bundle was altered or damaged`,
        want.name
      )
    }
  }
  for (const name of hashes.keys()) {
    if (name !== MANIFEST_MEMBER && !listed.has(name)) throw new BundleError(`member ${name} is not listed in the manifest (added after the bundle was written)`, name)
  }
}

/** A sink that throws away what it is given (draining a member that is skipped). */
export function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback()
    }
  })
}
