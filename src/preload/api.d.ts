import type { HypercubeApi } from '../shared/contract'

declare global {
  interface Window {
    /** Present in the Electron window (set by the preload). */
    hypercube?: HypercubeApi
  }
}
export {}
