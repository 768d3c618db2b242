import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { ArtifactStore } from './artifacts/artifact-store'
import type { Database } from './db/database'
import { mlflowPlugin } from './http/mlflow/mlflow-routes'
import { v1Routes } from './http/routes/v1-routes'
import { startHttpServer, type HttpContext, type HttpServer } from './http/server'
import type { Logger } from './logging'
import { PgArtifactRepository } from './repositories/artifact-repository'
import { PgExperimentRepository } from './repositories/experiment-repository'
import { PgIdempotentIngestRepository } from './repositories/ingest-idempotency-repository'
import { PgMetricRepository } from './repositories/metric-repository'
import { PgMlflowRepository } from './repositories/mlflow-repository'
import { MetricHistoryBulkRepository } from './repositories/metric-history-bulk-repository'
import { PgModelRepository } from './repositories/model-repository'
import { PgRunRepository } from './repositories/run-repository'
import { ArtifactService } from './services/artifact-service'
import type { DoorServices } from './services/core-services'
import { ExperimentService } from './services/experiment-service'
import { MlflowService } from './services/mlflow-service'
import { MlflowHistoryBulk } from './services/mlflow-history-bulk'
import { ModelService } from './services/model-service'
import { RunService } from './services/run-service'

/** Shown in the OpenAPI document; kept in step with package.json by the release process. */
export const APP_VERSION = '0.1.0'

export interface Repositories {
  experiments: PgExperimentRepository
  runs: PgRunRepository
  metrics: PgMetricRepository
  models: PgModelRepository
  idempotentIngest: PgIdempotentIngestRepository
}

/**
 * Repositories and the services every door writes through, on one database pool. The main
 * process builds them for the window; the API process builds the same on its own pool: one
 * rule path, two callers.
 */
export function composeServices(database: Database, dataDir: string): { repositories: Repositories; services: DoorServices } {
  const repositories: Repositories = {
    experiments: new PgExperimentRepository(database),
    runs: new PgRunRepository(database),
    metrics: new PgMetricRepository(database),
    models: new PgModelRepository(database),
    idempotentIngest: new PgIdempotentIngestRepository(database)
  }
  const services: DoorServices = {
    experiments: new ExperimentService(repositories.experiments),
    runs: new RunService(repositories.runs, repositories.metrics, repositories.idempotentIngest),
    models: new ModelService(repositories.models),
    artifacts: new ArtifactService(new PgArtifactRepository(database), repositories.runs, new ArtifactStore(join(dataDir, 'artifacts')))
  }
  return { repositories, services }
}

export interface DoorHttpOptions {
  database: Database
  services: DoorServices
  dataDir: string
  logger: Logger
  port?: number
  host?: string
  /** MLflow's default artifact root (CoreOptions.mlflowDefaultArtifactRoot). */
  mlflowDefaultArtifactRoot?: string
  /** More route plugins on the same server (the serve-mode UI, in-process only). */
  plugins?: Array<(app: FastifyInstance, context: HttpContext) => Promise<void> | void>
}

/** The HTTP door: /v1 and the MLflow adapter over the services, plus any extra plugins. */
export function startDoorHttp(options: DoorHttpOptions): Promise<HttpServer> {
  const mlflowRepository = new PgMlflowRepository(options.database)
  const mlflow = new MlflowService(mlflowRepository, options.services.experiments, options.services.runs, options.services.models, options.mlflowDefaultArtifactRoot ?? null)
  return startHttpServer({
    plugins: [
      ...(options.plugins ?? []),
      mlflowPlugin({
        mlflow,
        history: new MlflowHistoryBulk(mlflowRepository, new MetricHistoryBulkRepository(options.database), options.services.runs),
        artifacts: options.services.artifacts,
        store: new ArtifactStore(join(options.dataDir, 'artifacts'))
      })
    ],
    dataDir: options.dataDir,
    logger: options.logger,
    routes: v1Routes(options.services, mlflow),
    port: options.port,
    host: options.host,
    version: APP_VERSION
  })
}
