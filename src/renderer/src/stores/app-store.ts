import { createStore } from 'zustand/vanilla'
import type { ApiInfo, HypercubeApi } from '../../../shared/contract'
import { call } from '../lib/call'

/** Where the user is (hash routes, so the same build works from file:// and over HTTP). */
export type Route =
  | { page: 'experiments' }
  | { page: 'experiment'; experimentId: number; tab: 'runs' | 'leaderboard' }
  | { page: 'run'; runId: number }

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '')
  let match = /^\/experiments\/(\d+)(?:\/(runs|leaderboard))?$/.exec(path)
  if (match) return { page: 'experiment', experimentId: Number(match[1]), tab: (match[2] as 'runs' | 'leaderboard' | undefined) ?? 'runs' }
  match = /^\/runs\/(\d+)$/.exec(path)
  if (match) return { page: 'run', runId: Number(match[1]) }
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
  }
}

export interface AppState {
  route: Route
  apiInfo: ApiInfo | null
  setRoute: (route: Route) => void
  loadApiInfo: () => Promise<void>
}

export function createAppStore(api: HypercubeApi, initialHash: string) {
  return createStore<AppState>()((set) => ({
    route: parseRoute(initialHash),
    apiInfo: null,
    setRoute: (route) => set({ route }),
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
