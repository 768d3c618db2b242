import type { ArtifactService } from './artifact-service'
import type { ExperimentService } from './experiment-service'
import type { HealthMonitor } from './health-monitor'
import type { BackgroundDrain } from './metric-maintenance'
import type { ModelComparisonService } from './model-comparison-service'
import type { ModelService } from './model-service'
import type { RunService } from './run-service'
import type { SimilarRunsService } from './similar-runs'
import type { PluginRegistry } from '../plugins/plugin-registry'
import type { PluginControl } from '../plugins/plugin-control'

/**
 * The services the HTTP door (/v1 and the MLflow adapter) calls. The API process builds these on
 * its own pool; the plugins stay with the process that hosts them and are reached by relay.
 */
export interface DoorServices {
  experiments: ExperimentService
  runs: RunService
  models: ModelService
  artifacts: ArtifactService
  plugins?: PluginControl
}

/**
 * The services a door (IPC handlers, /v1 routes, the MLflow adapter) calls. Built by the
 * composition root (core.ts); doors depend on this shape, never on the root itself.
 */
export interface CoreServices extends DoorServices {
  experiments: ExperimentService
  runs: RunService
  models: ModelService
  /** Run artifacts: files stored under <dataDir>/artifacts and artifacts registered by URI. */
  artifacts: ArtifactService
  /** Metrics and weights of two model versions side by side (weights need the plugins). */
  modelComparison?: ModelComparisonService
  /** Probes deployments' health URLs on an interval; `checkAll()` runs a round now. */
  healthMonitor?: HealthMonitor
  /** Removes permanently deleted runs' metric points in the background; `drain()` does it now. */
  metricPurger?: BackgroundDrain
  /** Folds newly written metric chunks into the rollups (migrations/0016); main only. */
  metricFolder?: BackgroundDrain
  /** Absent when the core was started without plugins. */
  plugins?: PluginRegistry
  similarRuns?: SimilarRunsService
}
