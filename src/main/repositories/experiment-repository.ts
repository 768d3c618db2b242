import type { Experiment, ExperimentStatus, ExperimentSummary, JsonObject, Tags } from '../../shared/domain'
import { conflict, DomainError, notFound } from '../../shared/errors'
import type { Queryable } from '../db/database'
import { translated } from './pg-errors'
import { toId, toIso, toJsonObject, toOptionalString, toTags } from './row-mapping'

export interface NewExperiment {
  name: string
  description: string
  modelConfig: JsonObject
  trainingConfig: JsonObject
  hyperparameters: JsonObject
  tags: Tags
  createdBy: string | null
  artifactLocation?: string | null
  /** Without artifactLocation: the location is <artifactRoot>/<id>, as MLflow's default artifact root gives it. */
  artifactRoot?: string | null
}

export interface ExperimentChanges {
  name?: string
  description?: string
  status?: ExperimentStatus
  tags?: Tags
}

const EXPERIMENT_COLUMNS = `e.experiment_id, e.name, e.description, e.model_config, e.training_config, e.hyperparameters,
  e.tags, e.status, e.composition_id, e.created_by, e.created_at, e.updated_at`

function toExperiment(row: Record<string, unknown>): Experiment {
  return {
    id: toId(row.experiment_id),
    name: row.name as string,
    description: row.description as string,
    modelConfig: toJsonObject(row.model_config),
    trainingConfig: toJsonObject(row.training_config),
    hyperparameters: toJsonObject(row.hyperparameters),
    tags: toTags(row.tags),
    status: row.status as ExperimentStatus,
    compositionId: toOptionalString(row.composition_id),
    createdBy: toOptionalString(row.created_by),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at)
  }
}

export class PgExperimentRepository {
  constructor(private readonly db: Queryable) {}

  async create(experiment: NewExperiment): Promise<Experiment> {
    const insert = async (db: Queryable): Promise<number> => {
      const { rows } = await db.query<{ id: string }>('SELECT create_ml_experiment($1, $2, $3, $4, $5, $6, $7) AS id', [
        experiment.name,
        experiment.description,
        experiment.modelConfig,
        experiment.trainingConfig,
        experiment.hyperparameters,
        experiment.tags,
        experiment.createdBy
      ])
      return toId(rows[0]!.id)
    }
    const root = experiment.artifactRoot ?? null
    const artifactLocation = (id: number): string | null => experiment.artifactLocation ?? (root === null ? null : appendToUriPath(root, String(id)))
    const id = await translated(() =>
      (experiment.artifactLocation ?? null) === null && root === null
        ? insert(this.db)
        : this.db.withTransaction(async (tx) => {
            const created = await insert(tx)
            await tx.query('UPDATE ml_experiment SET artifact_location = $2 WHERE experiment_id = $1', [created, artifactLocation(created)])
            return created
          })
    )
    return this.get(id)
  }

  /** MLflow's experiment 0, "Default", where runs go when a client names no experiment. */
  async ensureDefault(artifactRoot: string | null = null): Promise<void> {
    await this.db.query(
      `INSERT INTO ml_experiment (experiment_id, name, description, artifact_location) VALUES (0, 'Default', 'MLflow''s default experiment', $1)
       ON CONFLICT DO NOTHING`,
      [artifactRoot === null ? null : appendToUriPath(artifactRoot, '0')]
    )
  }

  async setTag(id: number, key: string, value: string): Promise<void> {
    const { rowCount } = await translated(() =>
      this.db.query('UPDATE ml_experiment SET tags = tags || jsonb_build_object($2::text, $3::text), updated_at = now() WHERE experiment_id = $1', [
        id,
        key,
        value
      ])
    )
    if (rowCount === 0) throw notFound(`experiment ${id} does not exist`, 'experimentId')
  }

  /** Removes a tag; false when the experiment has no such tag. */
  async deleteTag(id: number, key: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'UPDATE ml_experiment SET tags = tags - $2::text, updated_at = now() WHERE experiment_id = $1 AND tags ? $2',
      [id, key]
    )
    if (rowCount === 0) await this.get(id) // not found, or found without the tag
    return rowCount > 0
  }

  async get(id: number): Promise<Experiment> {
    const { rows } = await this.db.query(`SELECT ${EXPERIMENT_COLUMNS} FROM ml_experiment e WHERE e.experiment_id = $1`, [id])
    if (!rows[0]) throw notFound(`experiment ${id} does not exist`, 'experimentId')
    return toExperiment(rows[0])
  }

  async findByName(name: string): Promise<Experiment | undefined> {
    const { rows } = await this.db.query(`SELECT ${EXPERIMENT_COLUMNS} FROM ml_experiment e WHERE e.name = $1`, [name])
    return rows[0] ? toExperiment(rows[0]) : undefined
  }

  /** Experiments with run counts and last activity, newest activity first. */
  async list(statuses?: readonly ExperimentStatus[]): Promise<ExperimentSummary[]> {
    const { rows } = await this.db.query(
      `SELECT ${EXPERIMENT_COLUMNS}, coalesce(r.run_count, 0) AS run_count,
              greatest(e.updated_at, r.last_run_update) AS last_activity_at
       FROM ml_experiment e
       LEFT JOIN (SELECT experiment_id, count(*) AS run_count, max(updated_at) AS last_run_update
                  FROM ml_run WHERE deleted_at IS NULL GROUP BY experiment_id) r ON r.experiment_id = e.experiment_id
       WHERE $1::text[] IS NULL OR e.status = ANY($1)
       ORDER BY last_activity_at DESC, e.experiment_id DESC`,
      [statuses ?? null]
    )
    return rows.map((row) => ({
      ...toExperiment(row),
      runCount: Number(row.run_count),
      lastActivityAt: toIso(row.last_activity_at)
    }))
  }

  async update(id: number, changes: ExperimentChanges): Promise<Experiment> {
    const { rowCount } = await translated(() =>
      this.db.query(
        `UPDATE ml_experiment SET
           name = coalesce($2, name),
           description = coalesce($3, description),
           status = coalesce($4, status),
           tags = coalesce($5, tags),
           updated_at = now()
         WHERE experiment_id = $1`,
        [id, changes.name ?? null, changes.description ?? null, changes.status ?? null, changes.tags ?? null]
      )
    ).catch((error: unknown) => {
      // A rename onto a taken name: say so as create_ml_experiment does, not with the
      // constraint's text (which the UI and the API would otherwise show as is).
      if (error instanceof DomainError && error.code === 'conflict' && error.field === 'name' && changes.name !== undefined) {
        throw conflict(`an experiment named '${changes.name}' already exists`, 'name')
      }
      throw error
    })
    if (rowCount === 0) throw notFound(`experiment ${id} does not exist`, 'experimentId')
    return this.get(id)
  }

  /**
   * Deletes a deleted (archived) experiment for good with its runs, their summaries, artifacts'
   * records and logged models, in one statement by index. Each run's metric points are queued
   * for the background purge by ml_run's delete trigger (migrations/0014), so the call does not
   * wait for them. Model versions registered from its runs stay, without the link to the run.
   */
  async deletePermanently(id: number): Promise<void> {
    const { rowCount } = await this.db.query("DELETE FROM ml_experiment WHERE experiment_id = $1 AND status = 'archived'", [id])
    if (rowCount === 1) return
    await this.get(id) // not found
    throw conflict(`experiment ${id} is not deleted: delete it first (it can be restored until it is deleted permanently)`, 'experimentId')
  }

  async count(): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM ml_experiment')
    return Number(rows[0]!.n)
  }
}

/** MLflow's append_to_uri_path for one segment: posixpath.join onto the URI. */
function appendToUriPath(uri: string, segment: string): string {
  return uri.endsWith('/') ? `${uri}${segment}` : `${uri}/${segment}`
}
