import { pipeline, Transform, type Readable } from 'node:stream'
import { createBLAKE3 } from 'hash-wasm'
import { z } from 'zod'
import type { Artifact, ArtifactKind, JsonObject, Run } from '../../shared/domain'
import { ARTIFACT_KINDS } from '../../shared/domain'
import { conflict, DomainError } from '../../shared/errors'
import { id, jsonObject, parseInput } from '../../shared/schemas'
import { checkArtifactPath, type ArtifactStore, type FileContent, type StoredFile } from '../artifacts/artifact-store'
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
