import type { CoreServices } from '../../core'
import type { AnyRoute } from '../route-table'
import { experimentRoutes } from './v1-experiments'

/** Every /v1 route; the OpenAPI document is generated from this same list. */
export function v1Routes(services: CoreServices): AnyRoute[] {
  return [...experimentRoutes(services)]
}
