import type { HypercubeApi } from '../../../shared/contract'
import { createServeTransport } from './serve-transport'

/**
 * The one place that knows there are two transports: the Electron preload's API when it is
 * there, otherwise the serve-mode transport to the server that served this page.
 */
export function pickApi(): HypercubeApi {
  if (window.hypercube) return window.hypercube
  return createServeTransport(window.location.origin)
}
