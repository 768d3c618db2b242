import { DomainError, type ErrorCode } from '../../shared/errors'
import { pgErrorFields } from '../db/database'

// SQLSTATEs raised by the functions in migrations/0003 (class HC), and the constraint
// violations a client's input can trigger.
const HYPERCUBE_CODES: Record<string, ErrorCode> = { HC400: 'invalid_argument', HC404: 'not_found', HC409: 'conflict' }

// CHECK constraint → the input field it guards, for messages that name the field.
const CONSTRAINT_FIELDS: Record<string, string> = {
  ml_experiment_name_length: 'name',
  ml_experiment_name_unique: 'name',
  ml_experiment_status_valid: 'status',
  ml_experiment_composition_id_hex: 'compositionId',
  ml_run_name_length: 'name',
  ml_run_git_commit_hex: 'gitCommit',
  ml_run_resources_non_negative: 'resources',
  ml_model_version_name_length: 'modelName',
  ml_model_version_version_length: 'version',
  ml_model_version_blake3_hex: 'artifactBlake3',
  ml_model_registry_target_length: 'target',
  ml_model_registry_canary_share: 'canaryTrafficPercent',
  ml_model_registry_sla_valid: 'sla',
  ml_metric_chunk_kind_valid: 'kind',
  ml_metric_chunk_epoch_non_negative: 'epoch',
  ml_metric_key_name_length: 'key',
  ml_checkpoint_step_unique: 'step',
  ml_model_alias_format: 'alias',
  ml_artifact_run_path_idx: 'path',
  ml_model_alias_version_id_model_name_fkey: 'versionId',
  ml_model_version_parent_version_id_fkey: 'parentVersionId'
}

/** snake_case column → the camelCase field name callers use. */
function fieldName(column: string): string {
  return column.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())
}

/**
 * Turns a PostgreSQL error caused by the caller's input into a DomainError naming the field;
 * anything else is rethrown untouched (a real fault, reported as internal).
 */
export function translatePgError(error: unknown): never {
  const pgError = pgErrorFields(error)
  if (!pgError?.code) throw error
  const hypercube = HYPERCUBE_CODES[pgError.code]
  if (hypercube) throw new DomainError(hypercube, pgError.message, pgError.column ? fieldName(pgError.column) : undefined)
  const field = pgError.constraint ? CONSTRAINT_FIELDS[pgError.constraint] : undefined
  switch (pgError.code) {
    case '23514': // check_violation
      throw new DomainError('invalid_argument', `invalid value: ${pgError.message}`, field)
    case '23505': // unique_violation
      throw new DomainError('conflict', `already exists: ${pgError.message}`, field)
    case '23503': // foreign_key_violation
      throw new DomainError('not_found', `refers to something that does not exist: ${pgError.message}`, field)
    // Values a column cannot hold (class 22) are invalid_argument already: db/database.ts maps
    // them for every query, translated or not.
    default:
      throw error
  }
}

/** Runs a query-producing function and translates input-caused database errors. */
export async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    translatePgError(error)
  }
}
