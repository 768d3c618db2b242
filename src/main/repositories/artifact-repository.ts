import type { Artifact, ArtifactKind, JsonObject } from '../../shared/domain'
import { notFound } from '../../shared/errors'
import type { Queryable } from '../db/database'
import { translated } from './pg-errors'
import { toId, toIso, toJsonObject, toOptionalId, toOptionalIso, toOptionalNumber, toOptionalString } from './row-mapping'

export interface NewRunArtifact {
  runId: number
  kind: ArtifactKind
  path: string
  uri: string | null
  sizeBytes: number | null
  blake3: string | null
  metadata: JsonObject
}

function toArtifact(row: Record<string, unknown>): Artifact {
  return {
    id: toId(row.artifact_id),
    runId: toOptionalId(row.run_id),
    modelVersionId: toOptionalId(row.model_version_id),
    kind: row.artifact_kind as ArtifactKind,
    path: row.path as string,
    uri: toOptionalString(row.uri),
    sizeBytes: toOptionalNumber(row.size_bytes),
    blake3: toOptionalString(row.blake3),
    metadata: toJsonObject(row.metadata),
    createdAt: toIso(row.created_at),
    verifiedAt: toOptionalIso(row.verified_at)
  }
}

/** Rows of ml_artifact: what a run's artifacts are, where they live and their checksums. */
export class PgArtifactRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Records a run's artifact; a path registered again is replaced (a file written again under
   * the same name is a new file), and its verification starts over.
   */
  async upsertForRun(artifact: NewRunArtifact): Promise<Artifact> {
    const { rows } = await translated(() =>
      this.db.query(
        `INSERT INTO ml_artifact (run_id, artifact_kind, path, uri, size_bytes, blake3, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (run_id, path) WHERE run_id IS NOT NULL DO UPDATE SET
           artifact_kind = EXCLUDED.artifact_kind, uri = EXCLUDED.uri, size_bytes = EXCLUDED.size_bytes,
           blake3 = EXCLUDED.blake3, metadata = EXCLUDED.metadata, created_at = now(), verified_at = NULL
         RETURNING *`,
        [artifact.runId, artifact.kind, artifact.path, artifact.uri, artifact.sizeBytes, artifact.blake3, artifact.metadata]
      )
    )
    return toArtifact(rows[0]!)
  }

  async get(artifactId: number): Promise<Artifact> {
    const { rows } = await this.db.query('SELECT * FROM ml_artifact WHERE artifact_id = $1', [artifactId])
    if (!rows[0]) throw notFound(`artifact ${artifactId} does not exist`, 'artifactId')
    return toArtifact(rows[0])
  }

  async findByRunPath(runId: number, path: string): Promise<Artifact | undefined> {
    const { rows } = await this.db.query('SELECT * FROM ml_artifact WHERE run_id = $1 AND path = $2', [runId, path])
    return rows[0] ? toArtifact(rows[0]) : undefined
  }

  async listByRun(runId: number): Promise<Artifact[]> {
    const { rows } = await this.db.query('SELECT * FROM ml_artifact WHERE run_id = $1 ORDER BY path', [runId])
    return rows.map(toArtifact)
  }

  async markVerified(artifactId: number): Promise<Artifact> {
    const { rows } = await this.db.query('UPDATE ml_artifact SET verified_at = now() WHERE artifact_id = $1 RETURNING *', [artifactId])
    if (!rows[0]) throw notFound(`artifact ${artifactId} does not exist`, 'artifactId')
    return toArtifact(rows[0])
  }

  async deleteByRunPath(runId: number, path: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM ml_artifact WHERE run_id = $1 AND path = $2', [runId, path])
    return rowCount > 0
  }
}
