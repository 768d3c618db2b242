import { pipeline, Transform, type Readable } from 'node:stream'
import { createBLAKE3 } from 'hash-wasm'
import { z } from 'zod'
import { MAX_BROWSE_FILES, MAX_READ_BYTES, type ArtifactBytes, type ArtifactFolderListing, type SafetensorsSummary, type VersionArtifactLocation } from '../../shared/artifact-browser'
import type { Artifact, ArtifactKind, JsonObject, Run } from '../../shared/domain'
import { ARTIFACT_KINDS } from '../../shared/domain'
import { conflict, DomainError, invalidArgument } from '../../shared/errors'
import { id, jsonObject, parseInput } from '../../shared/schemas'
import { checkArtifactPath, type ArtifactStore, type FileContent, type StoredFile } from '../artifacts/artifact-store'
import { zipStream } from '../artifacts/artifact-zip'
import { summarizeSafetensors } from '../artifacts/safetensors-summary'
import type { PgArtifactRepository } from '../repositories/artifact-repository'
import type { PgRunRepository } from '../repositories/run-repository'

export type { StoredFile } from '../artifacts/artifact-store'

const blake3Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (a BLAKE3 hash)')

const registerArtifactInput = z
  .object({
    runId: id,
    /** The artifact's name within the run; for a stored file, its path under the run's folder. */
    path: z.string().transform((path) => checkArtifactPath(path)),
    /** Where an artifact kept outside Hypercube lives (s3://, gs://, file://, https://, …). */
    uri: z
      .string()
      .max(4_096, 'must be at most 4096 characters')
      // eslint-disable-next-line no-control-regex -- refusing NUL is the point: it would cut the URI short in C APIs
      .regex(/^[A-Za-z][A-Za-z0-9+.-]*:[^\u0000]+$/, 'must be a URI with a scheme, e.g. s3://bucket/key')
      .nullable()
      .default(null),
    kind: z.enum(ARTIFACT_KINDS).default('other'),
    sizeBytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().default(null),
    blake3: blake3Hex.nullable().default(null),
    metadata: jsonObject.default({})
  })
  .strict()

const putFileOptions = z.object({ kind: z.enum(ARTIFACT_KINDS).default('other'), metadata: jsonObject.default({}) }).strict().default({
  kind: 'other',
  metadata: {}
})

export interface ArtifactVerification {
  artifact: Artifact
  /** Whether the file's BLAKE3 (and size) equal what was recorded. */
  verified: boolean
  expectedBlake3: string | null
  actualBlake3: string
  expectedSizeBytes: number | null
  actualSizeBytes: number
}

export interface OpenedFile {
  /** The file's bytes; the stream fails at its end if they do not match the recorded BLAKE3. */
  stream: Readable
  sizeBytes: number
  /** The artifact row of the file, when it was registered. */
  artifact: Artifact | undefined
}

/**
 * Artifacts of runs: files Hypercube stores (under `<dataDir>/artifacts`, by ArtifactStore)
 * and artifacts that live elsewhere, registered by URI. Every stored file has a row with its
 * size and BLAKE3, so a later read or `verify` can tell whether it is still what was written.
 */
export class ArtifactService {
  constructor(
    private readonly artifacts: PgArtifactRepository,
    private readonly runs: PgRunRepository,
    private readonly store: ArtifactStore
  ) {}

  /**
   * Registers an artifact of a run. Without `uri` the file must already be in the store (its
   * size and BLAKE3 are computed here, and a given checksum must match them); with `uri` the
   * given size and checksum are recorded as the client states them.
   */
  async register(input: unknown): Promise<Artifact> {
    const parsed = parseInput(registerArtifactInput, input)
    const run = await this.runs.get(parsed.runId)
    let { sizeBytes, blake3 } = parsed
    if (parsed.uri === null) {
      const actual = await this.store.hash(run.experimentId, run.uuid, parsed.path)
      if (blake3 !== null && blake3 !== actual.blake3) {
        throw conflict(`blake3: the stored file ${parsed.path} has BLAKE3 ${actual.blake3}, not ${blake3}`, 'blake3')
      }
      if (sizeBytes !== null && sizeBytes !== actual.sizeBytes) {
        throw conflict(`sizeBytes: the stored file ${parsed.path} has ${actual.sizeBytes} bytes, not ${sizeBytes}`, 'sizeBytes')
      }
      sizeBytes = actual.sizeBytes
      blake3 = actual.blake3
    }
    return this.artifacts.upsertForRun({ runId: run.id, kind: parsed.kind, path: parsed.path, uri: parsed.uri, sizeBytes, blake3, metadata: parsed.metadata })
  }

  async get(artifactId: unknown): Promise<Artifact> {
    return this.artifacts.get(parseInput(id, artifactId, 'artifactId'))
  }

  async list(runId: unknown): Promise<Artifact[]> {
    const run = await this.runs.get(parseInput(id, runId, 'runId'))
    return this.artifacts.listByRun(run.id)
  }

  /** Recomputes a stored file's BLAKE3 and compares it with the recorded one; records when it matched. */
  async verify(artifactId: unknown): Promise<ArtifactVerification> {
    const artifact = await this.artifacts.get(parseInput(id, artifactId, 'artifactId'))
    if (artifact.uri !== null || artifact.runId === null) {
      throw conflict(`artifact ${artifact.id} lives outside Hypercube (${artifact.uri ?? 'a model version'}); only stored files can be verified`, 'artifactId')
    }
    const run = await this.runs.get(artifact.runId)
    const actual = await this.store.hash(run.experimentId, run.uuid, artifact.path)
    const verified = artifact.blake3 === actual.blake3 && (artifact.sizeBytes === null || artifact.sizeBytes === actual.sizeBytes)
    return {
      artifact: verified ? await this.artifacts.markVerified(artifact.id) : artifact,
      verified,
      expectedBlake3: artifact.blake3,
      actualBlake3: actual.blake3,
      expectedSizeBytes: artifact.sizeBytes,
      actualSizeBytes: actual.sizeBytes
    }
  }

  /** Stores a file of a run (replacing one at the same path) and registers it with its size and BLAKE3. */
  async putFile(runId: unknown, relativePath: unknown, content: FileContent, options: { kind?: ArtifactKind; metadata?: JsonObject } = {}): Promise<Artifact> {
    const run = await this.runOf(runId)
    const path = checkArtifactPath(relativePath)
    const { kind, metadata } = parseInput(putFileOptions, options)
    const staged = await this.store.stage(run.experimentId, run.uuid, path, content)
    // Recorded before the file takes its name: if the database refuses (full, away), a file
    // already at the path, acknowledged earlier, stays as it was and matches its record. (A
    // rename failing after the record is written would leave the old bytes under the new hash:
    // reads then refuse them as corrupted rather than serve them; rename on one file system
    // needs no space.)
    let artifact: Artifact
    try {
      artifact = await this.artifacts.upsertForRun({ runId: run.id, kind, path, uri: null, sizeBytes: staged.file.sizeBytes, blake3: staged.file.blake3, metadata })
    } catch (error) {
      await staged.discard()
      throw error
    }
    await staged.commit()
    return artifact
  }

  /**
   * Opens a stored file for reading. When the file is registered with a BLAKE3, the bytes are
   * hashed as they stream and the stream ends in an error if they differ: a corrupted artifact
   * is never served as if it were fine.
   */
  async openFile(runId: unknown, relativePath: unknown): Promise<OpenedFile> {
    const run = await this.runOf(runId)
    const path = checkArtifactPath(relativePath)
    const { stream, sizeBytes } = await this.store.open(run.experimentId, run.uuid, path)
    const artifact = await this.artifacts.findByRunPath(run.id, path)
    if (!artifact?.blake3) return { stream, sizeBytes, artifact }
    const verifier = await verifyingStream(artifact.blake3, path)
    // pipeline (not pipe) so a read error reaches the consumer and both streams are destroyed;
    // the consumer sees the error on the returned stream, so the callback has nothing to add.
    return { stream: pipeline(stream, verifier, () => undefined), sizeBytes, artifact }
  }

  /** Files and folders directly under `prefix` ("" for the run's top level), or all files below it with `recursive`. */
  async listFiles(runId: unknown, prefix: unknown = '', recursive = false): Promise<StoredFile[]> {
    const run = await this.runOf(runId)
    if (typeof prefix !== 'string') throw new DomainError('invalid_argument', 'prefix: must be a string', 'prefix')
    return this.store.list(run.experimentId, run.uuid, prefix, recursive)
  }

  /** Removes a stored file and its registration. */
  async deleteFile(runId: unknown, relativePath: unknown): Promise<void> {
    const run = await this.runOf(runId)
    const path = checkArtifactPath(relativePath)
    await this.store.delete(run.experimentId, run.uuid, path)
    await this.artifacts.deleteByRunPath(run.id, path)
  }

  /**
   * Every file below `prefix` of a run's folder (the artifact browser builds its tree from
   * them), each with its registration: id, BLAKE3 and last verification. At most
   * MAX_BROWSE_FILES, by path.
   */
  async browse(runId: unknown, prefix: unknown = ''): Promise<ArtifactFolderListing> {
    const run = await this.runOf(runId)
    const folder = folderOf(prefix)
    const [files, rows] = await Promise.all([this.store.list(run.experimentId, run.uuid, folder, true), this.artifacts.listByRun(run.id)])
    const byPath = new Map(rows.filter((row) => row.uri === null).map((row) => [row.path, row]))
    return {
      runId: run.id,
      prefix: folder,
      truncated: files.length > MAX_BROWSE_FILES,
      files: files.slice(0, MAX_BROWSE_FILES).map((file) => {
        const row = byPath.get(file.path)
        return { path: file.path, sizeBytes: file.sizeBytes ?? 0, artifactId: row?.id ?? null, blake3: row?.blake3 ?? null, verifiedAt: row?.verifiedAt ?? null }
      })
    }
  }

  /** Bytes [offset, offset + length) of a stored file (length at most MAX_READ_BYTES): previews and "load more". */
  async read(runId: unknown, relativePath: unknown, offset: number, length: number): Promise<ArtifactBytes> {
    const run = await this.runOf(runId)
    const path = checkArtifactPath(relativePath)
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument('offset: must be a non-negative integer', 'offset')
    if (!Number.isSafeInteger(length) || length < 0 || length > MAX_READ_BYTES) throw invalidArgument(`length: must be an integer from 0 to ${MAX_READ_BYTES}`, 'length')
    const { stream, sizeBytes } = await this.store.open(run.experimentId, run.uuid, path, { start: offset, end: offset + length })
    const chunks: Buffer[] = []
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk)
    return { path, sizeBytes, offset, base64: Buffer.concat(chunks).toString('base64') }
  }

  /** A safetensors file's tensors (name, dtype, shape, byte size) from its header; no weights are read. */
  async readSafetensorsHeader(runId: unknown, relativePath: unknown): Promise<SafetensorsSummary> {
    const run = await this.runOf(runId)
    const path = checkArtifactPath(relativePath)
    const readRange = async (start: number, end: number): Promise<{ bytes: Uint8Array; sizeBytes: number }> => {
      const { stream, sizeBytes } = await this.store.open(run.experimentId, run.uuid, path, { start, end })
      const chunks: Buffer[] = []
      for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk)
      return { bytes: Buffer.concat(chunks), sizeBytes }
    }
    const first = await readRange(0, 8)
    return summarizeSafetensors(path, first.sizeBytes, async (start, end) => (start === 0 && end === 8 ? first.bytes : (await readRange(start, end)).bytes))
  }

  /**
   * The files below `prefix` as one zip, streamed (artifact-zip.ts); names inside are relative
   * to the folder. Registered files are checked against their BLAKE3 as they are read: a
   * corrupted one ends the download in an error.
   */
  async openFolderZip(runId: unknown, prefix: unknown): Promise<{ stream: Readable; name: string; files: number }> {
    const run = await this.runOf(runId)
    const folder = folderOf(prefix)
    const files = await this.store.list(run.experimentId, run.uuid, folder, true)
    if (files.length === 0) throw new DomainError('not_found', folder === '' ? `run ${run.id} has no stored files` : `artifact folder ${folder} has no files`, 'prefix')
    const strip = folder === '' ? 0 : folder.length + 1
    const stream = zipStream(
      files.map((file) => ({
        name: file.path.slice(strip),
        sizeBytes: file.sizeBytes ?? 0,
        open: async () => (await this.openFile(run.id, file.path)).stream
      }))
    )
    const name = folder === '' ? `run-${run.id}-artifacts.zip` : `${folder.split('/').pop()}.zip`
    return { stream, name, files: files.length }
  }

  /**
   * A folder of a run as a model version's artifact: its URI (`runs:/<run uuid>/<folder>`, as
   * MLflow clients register a run's model), total size and file count. Refused when the folder
   * holds no file.
   */
  async folderAsModelArtifact(runId: unknown, folder: unknown): Promise<{ runId: number; artifactUri: string; sizeBytes: number; files: number }> {
    const run = await this.runOf(runId)
    const path = typeof folder === 'string' && folder !== '' ? checkArtifactPath(folder.replace(/\/+$/, ''), 'folder') : ''
    const files = await this.store.list(run.experimentId, run.uuid, path, true)
    if (files.length === 0) throw invalidArgument(`folder: ${path === '' ? 'the run' : path} holds no stored file to register`, 'folder')
    return {
      runId: run.id,
      artifactUri: path === '' ? `runs:/${run.uuid}` : `runs:/${run.uuid}/${path}`,
      sizeBytes: files.reduce((total, file) => total + (file.sizeBytes ?? 0), 0),
      files: files.length
    }
  }

  /**
   * Where a model version's artifact URI points among the runs' folders this app stores:
   * `runs:/<uuid>/<path>` or `mlflow-artifacts:/<experiment>/<uuid>/artifacts/<path>` (what
   * MLflow clients register). Anything else (s3://, a local path) has no browsable folder here.
   */
  async findVersionFolder(artifactUri: string): Promise<VersionArtifactLocation> {
    const runsUri = /^runs:\/([0-9a-f]{32})(?:\/(.*))?$/.exec(artifactUri)
    const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/+(\d+)\/([0-9a-f]{32})\/artifacts(?:\/(.*))?$/.exec(artifactUri)
    const uuid = runsUri?.[1] ?? proxied?.[2]
    if (!uuid) return { runId: null, reason: `the artifact is at ${artifactUri}, outside this app's artifact store` }
    const run = await this.runs.findByUuid(uuid)
    if (!run) return { runId: null, reason: `the run ${uuid} of ${artifactUri} is not in this app` }
    const rest = (runsUri ? runsUri[2] : proxied![3]) ?? ''
    const prefix = rest.replace(/^\/+|\/+$/g, '')
    if (prefix !== '') {
      try {
        checkArtifactPath(prefix)
      } catch {
        return { runId: null, reason: `${artifactUri} does not name a folder of the run` }
      }
    }
    return { runId: run.id, prefix }
  }

  /**
   * Stores a file of an MLflow logged model, where the MLflow door serves its files
   * (`<experimentId>/models/<modelId>/artifacts/…`). For the MLflow importer; such files have
   * no run and so no artifact row.
   */
  async putLoggedModelFile(experimentId: unknown, modelId: unknown, relativePath: unknown, content: FileContent): Promise<void> {
    const experiment = parseInput(id, experimentId, 'experimentId')
    if (typeof modelId !== 'string' || !/^m-[0-9a-f]{32}$/.test(modelId)) throw new DomainError('invalid_argument', 'modelId: must be m- and 32 lowercase hex digits', 'modelId')
    await this.store.write(experiment, `models/${modelId}/artifacts`, checkArtifactPath(relativePath), content)
  }

  private async runOf(runId: unknown): Promise<Run> {
    return this.runs.get(parseInput(id, runId, 'runId'))
  }
}

/** "" (the run's top level) or a checked folder path, without a trailing slash. */
function folderOf(prefix: unknown): string {
  if (prefix === undefined || prefix === null || prefix === '') return ''
  if (typeof prefix !== 'string') throw invalidArgument('prefix: must be a string', 'prefix')
  return checkArtifactPath(prefix.replace(/\/+$/, ''), 'prefix')
}

async function verifyingStream(expectedBlake3: string, path: string): Promise<Transform> {
  const hasher = await createBLAKE3()
  hasher.init()
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hasher.update(chunk)
      callback(null, chunk)
    },
    flush(callback) {
      const actual = hasher.digest('hex')
      callback(actual === expectedBlake3 ? null : new DomainError('conflict', `artifact ${path} is corrupted: its BLAKE3 is ${actual}, recorded ${expectedBlake3}`, 'path'))
    }
  })
}
