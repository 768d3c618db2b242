import type { DoorServices } from '../../services/core-services'
import type { MlflowService } from '../../services/mlflow-service'
import type { AnyRoute } from '../route-table'
import { artifactRoutes } from './v1-artifacts'
import { bundleRoutes } from './v1-bundles'
import { experimentRoutes } from './v1-experiments'
import { withApiFieldNames } from './v1-fields'
import { metricRoutes } from './v1-metrics'
import { modelRoutes } from './v1-models'
import { pluginRoutes } from './v1-plugins'
import { runRoutes } from './v1-runs'

// Service field names whose API spelling is not the snake_case of the same name.
const FIELD_OVERRIDES = { metricKey: 'metric_name' }

/** Every /v1 route; the OpenAPI document is generated from this same list. */
export function v1Routes(services: DoorServices, mlflow: MlflowService): AnyRoute[] {
  return withApiFieldNames(
    [
      ...experimentRoutes(services),
      ...runRoutes(services),
      ...metricRoutes(services),
      ...modelRoutes(services),
      ...artifactRoutes(services),
      ...pluginRoutes(services),
      ...bundleRoutes(services, mlflow)
    ],
    FIELD_OVERRIDES
  )
}
