import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MlflowImportReport } from '../../shared/domain'
import { DomainError } from '../../shared/errors'
import type { DoorServices } from '../services/core-services'
import type { MlflowService } from '../services/mlflow-service'
import { readMlflowFileStore } from './mlflow-file-store'
import { MlflowImporter, type MlflowImportOptions } from './mlflow-importer'
import type { MlflowStoreSnapshot } from './mlflow-records'

/**
 * `hypercube import-mlflow SOURCE`: SOURCE is an mlruns folder, a .db file, a sqlite:/// URI, a
 * postgresql:// URL, or a running MLflow server's http(s):// URL (credentials from
 * MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD, as the mlflow client takes them). `artifactsDir` is where a database store's artifact folders are when its
 * URIs name no folder on this machine (for a .db file: the artifacts/ folder beside it).
 */
export async function readMlflowSource(source: string, options: { artifactsDir?: string; token?: string } = {}): Promise<MlflowStoreSnapshot> {
  const artifactsDir = options.artifactsDir === undefined ? undefined : resolve(options.artifactsDir)
  if (/^https?:\/\//.test(source)) {
    const { readMlflowRestStore, restCredentialsFromEnvironment } = await import('./mlflow-rest-store')
    return readMlflowRestStore(source, options.token ? { token: options.token } : restCredentialsFromEnvironment())
  }
  if (/^postgres(ql)?:\/\//.test(source)) {
    const { readMlflowPostgresStore } = await import('./mlflow-sql-store')
    return readMlflowPostgresStore(source, artifactsDir ?? null)
  }
  if (/^mysql(\+\w+)?:\/\//.test(source) || /^mssql/.test(source)) {
    throw new Error(`${source.split(':')[0]}: MLflow stores in MySQL or SQL Server are not supported yet (PostgreSQL, SQLite and file stores are)`)
  }
  if (source.startsWith('sqlite:')) {
    const { readMlflowSqliteStore } = await import('./mlflow-sql-store')
    // sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
    const path = source.startsWith('sqlite:////') ? source.slice('sqlite:///'.length) : source.slice('sqlite:///'.length)
    return readMlflowSqliteStore(resolve(path), artifactsDir)
  }
  if (source.startsWith('file:')) return readMlflowFileStore(fileURLToPath(source))
  const path = resolve(source)
  if (!existsSync(path)) throw new Error(`${source}: no such file or folder`)
  if (statSync(path).isFile()) {
    const { readMlflowSqliteStore } = await import('./mlflow-sql-store')
    return readMlflowSqliteStore(path, artifactsDir)
  }
  return readMlflowFileStore(path)
}

/**
 * Reads an MLflow store and imports it through the given services — the app's own while it
 * runs (the UI's dialog), or a core started for the CLI. A store that cannot be read is the
 * caller's mistake (a wrong path or URL), named as the `source` field.
 */
export async function importMlflowSource(
  services: DoorServices,
  mlflow: MlflowService,
  options: MlflowImportOptions & { source: string; artifactsDir?: string; token?: string }
): Promise<MlflowImportReport> {
  let snapshot: MlflowStoreSnapshot
  try {
    snapshot = await readMlflowSource(options.source, { artifactsDir: options.artifactsDir, token: options.token })
  } catch (error) {
    throw new DomainError('invalid_argument', `cannot read the MLflow store ${options.source}: ${error instanceof Error ? error.message : String(error)}`, 'source')
  }
  try {
    return await new MlflowImporter(services, mlflow).import(snapshot, options)
  } finally {
    await snapshot.dispose?.()
  }
}
