import { createStore } from 'zustand/vanilla'
import type { HypercubeApi } from '../../../shared/contract'
import type { LeaderboardEntry } from '../../../shared/domain'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'

/** An experiment's leaderboard by one metric, best first in the chosen direction. */
export interface LeaderboardState {
  experimentId: number | null
  metricKey: string | null
  direction: 'asc' | 'desc'
  entries: LeaderboardEntry[]
  loading: boolean
  error: ErrorInfo | null
  show: (experimentId: number, metricKey: string, direction: 'asc' | 'desc') => Promise<void>
  reload: () => Promise<void>
}

export const LEADERBOARD_LIMIT = 100

export function createLeaderboardStore(api: HypercubeApi) {
  let generation = 0
  return createStore<LeaderboardState>()((set, get) => ({
    experimentId: null,
    metricKey: null,
    direction: 'asc',
    entries: [],
    loading: false,
    error: null,
    show: async (experimentId, metricKey, direction) => {
      const mine = ++generation
      set({ experimentId, metricKey, direction, loading: true })
      try {
        const entries = await call(api, 'runs.leaderboard', { experimentId, metricKey, direction, limit: LEADERBOARD_LIMIT })
        if (mine === generation) set({ entries, loading: false, error: null })
      } catch (error) {
        if (mine === generation) set({ entries: [], loading: false, error: errorInfo(error) })
      }
    },
    reload: async () => {
      const { experimentId, metricKey, direction } = get()
      if (experimentId !== null && metricKey !== null) await get().show(experimentId, metricKey, direction)
    }
  }))
}

export type LeaderboardStore = ReturnType<typeof createLeaderboardStore>
