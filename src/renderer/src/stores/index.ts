import { useStore } from 'zustand'
import { pickApi } from '../transport/api'
import { createAppStore, type AppState } from './app-store'
import { createExperimentsStore, type ExperimentsState } from './experiments-store'
import { createLeaderboardStore, type LeaderboardState } from './leaderboard-store'
import { connectLiveUpdates } from './live-updates'
import { createRunPageStore, type RunPageState } from './run-page-store'
import { createRunsTableStore, type RunsTableState } from './runs-table-store'

/** The renderer's stores, one per feature, on whichever transport this window has. */
export const api = pickApi()
export const appStore = createAppStore(api, window.location.hash)
export const experimentsStore = createExperimentsStore(api)
export const runsTableStore = createRunsTableStore({ api, storage: window.localStorage })
export const runPageStore = createRunPageStore(api)
export const leaderboardStore = createLeaderboardStore(api)

connectLiveUpdates(api, { experiments: experimentsStore, runsTable: runsTableStore, runPage: runPageStore, leaderboard: leaderboardStore })

export const useApp = <T,>(selector: (state: AppState) => T): T => useStore(appStore, selector)
export const useExperiments = <T,>(selector: (state: ExperimentsState) => T): T => useStore(experimentsStore, selector)
export const useRunsTable = <T,>(selector: (state: RunsTableState) => T): T => useStore(runsTableStore, selector)
export const useRunPage = <T,>(selector: (state: RunPageState) => T): T => useStore(runPageStore, selector)
export const useLeaderboard = <T,>(selector: (state: LeaderboardState) => T): T => useStore(leaderboardStore, selector)
