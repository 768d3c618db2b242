import { createStore } from 'zustand/vanilla'
import type { ApiInfo, HypercubeApi } from '../../../shared/contract'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'

/** Replaces the address's hash without a history entry (and without a hashchange event). */
function replaceHash(hash: string): void {
  if (typeof window !== 'undefined') window.history.replaceState(null, '', hash)
}

/** Where the user is (hash routes, so the same build works from file:// and over HTTP). */
export type Route =
  | { page: 'experiments' }
  | { page: 'experiment'; experimentId: number; tab: 'runs' | 'leaderboard' }
  | { page: 'run'; runId: number }
  /** The link the mlflow client prints after a run (`View run … at: <URI>/#/experiments/1/runs/<run id>`). */
  | { page: 'mlflowRun'; experimentId: number; runUuid: string }
  | { page: 'compare'; experimentId: number }
  | { page: 'models' }
  | { page: 'model'; modelName: string; tab: ModelTab }
  | { page: 'plugins' }
  | { page: 'settings' }

export const MODEL_TABS = ['versions', 'lineage', 'compare', 'deployments'] as const
export type ModelTab = (typeof MODEL_TABS)[number]

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '')
  let match = /^\/experiments\/(\d+)\/runs\/([0-9a-f]{32})$/.exec(path)
  if (match) return { page: 'mlflowRun', experimentId: Number(match[1]), runUuid: match[2]! }
  match = /^\/experiments\/(\d+)(?:\/(runs|leaderboard))?$/.exec(path)
  if (match) return { page: 'experiment', experimentId: Number(match[1]), tab: (match[2] as 'runs' | 'leaderboard' | undefined) ?? 'runs' }
  match = /^\/runs\/(\d+)$/.exec(path)
  if (match) return { page: 'run', runId: Number(match[1]) }
  match = /^\/experiments\/(\d+)\/compare$/.exec(path)
  if (match) return { page: 'compare', experimentId: Number(match[1]) }
  match = /^\/models\/([^/]+)(?:\/(versions|lineage|compare|deployments))?$/.exec(path)
  if (match) return { page: 'model', modelName: decodeURIComponent(match[1]!), tab: (match[2] as ModelTab | undefined) ?? 'versions' }
  if (path === '/models') return { page: 'models' }
  if (path === '/plugins') return { page: 'plugins' }
  if (path === '/settings') return { page: 'settings' }
  return { page: 'experiments' }
}

export function routeHash(route: Route): string {
  switch (route.page) {
    case 'experiments':
      return '#/'
    case 'experiment':
      return route.tab === 'runs' ? `#/experiments/${route.experimentId}` : `#/experiments/${route.experimentId}/${route.tab}`
    case 'run':
      return `#/runs/${route.runId}`
    case 'mlflowRun':
      return `#/experiments/${route.experimentId}/runs/${route.runUuid}`
    case 'compare':
      return `#/experiments/${route.experimentId}/compare`
    case 'models':
      return '#/models'
    case 'model':
      return `#/models/${encodeURIComponent(route.modelName)}${route.tab === 'versions' ? '' : `/${route.tab}`}`
    case 'plugins':
      return '#/plugins'
    case 'settings':
      return '#/settings'
  }
}

export interface AppState {
  route: Route
  apiInfo: ApiInfo | null
  /** Why an MLflow run link could not be opened (no such run here). */
  mlflowRunError: ErrorInfo | null
  setRoute: (route: Route) => void
  loadApiInfo: () => Promise<void>
  /** Opens the run an MLflow run link names, in place of the link (the back button skips it). */
  openMlflowRun: (runUuid: string) => Promise<void>
}

export function createAppStore(api: HypercubeApi, initialHash: string) {
  return createStore<AppState>()((set) => ({
    route: parseRoute(initialHash),
    apiInfo: null,
    mlflowRunError: null,
    setRoute: (route) => set({ route, mlflowRunError: null }),
    openMlflowRun: async (runUuid) => {
      try {
        const { runId } = await call(api, 'runs.findByUuid', { runUuid })
        const route: Route = { page: 'run', runId }
        set({ route, mlflowRunError: null })
        replaceHash(routeHash(route))
      } catch (error) {
        set({ mlflowRunError: errorInfo(error) })
      }
    },
    loadApiInfo: async () => {
      try {
        set({ apiInfo: await call(api, 'system.apiInfo', {}) })
      } catch {
        // The empty states fall back to naming the token file in general terms.
      }
    }
  }))
}

export type AppStore = ReturnType<typeof createAppStore>
