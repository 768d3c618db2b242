import type { ErrorInfo } from '../../shared/errors'
import type { PluginInfo } from '../../shared/plugins'

// The messages between the main process and the API process (src/main/api/api-process.ts).
// The channel is structured-clone (fork's advanced serialization, or utilityProcess): plain data.

export interface ApiProcessConfig {
  dataDir: string
  /** Carries the embedded server's password: sent over the channel, never on the command line. */
  databaseUrl: string
  /** Where the database keeps its files, named when its disk is full (see Database.connect). */
  databaseStorage?: string
  port: number
  host?: string
  logLevel?: string
  /** MLflow's default artifact root (CoreOptions.mlflowDefaultArtifactRoot). */
  mlflowDefaultArtifactRoot?: string
}

export type PluginAction = 'reload' | 'enable' | 'disable'

/** main → API process */
export type ApiParentMessage =
  | { type: 'start'; config: ApiProcessConfig; plugins: PluginInfo[] | null }
  /** The token in <dataDir>/api-token changed (rotated in Settings): accept only the new one. */
  | { type: 'reloadToken' }
  /** The plugins' current state, pushed whenever it changes (GET /v1/plugins answers from it). */
  | { type: 'plugins'; plugins: PluginInfo[] }
  | { type: 'pluginActionDone'; requestId: number; result: { ok: true; plugin: PluginInfo } | { ok: false; error: ErrorInfo } }
  | { type: 'shutdown' }

/** API process → main */
export type ApiChildMessage =
  | { type: 'ready'; url: string; port: number }
  | { type: 'startFailed'; message: string }
  /** A /v1/plugins/:name/<action> request, run by the registry in main. */
  | { type: 'pluginAction'; requestId: number; action: PluginAction; name: string }
