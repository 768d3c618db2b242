import { useStore } from 'zustand'
import { pickApi } from '../transport/api'
import { createAppStore, parseRoute, type AppState } from './app-store'
import { createExperimentsStore, type ExperimentsState } from './experiments-store'
import { createLeaderboardStore, type LeaderboardState } from './leaderboard-store'
import { createCompareStore, type CompareState } from './compare-store'
import { createExperimentChartsStore, type ExperimentChartsState } from './experiment-charts-store'
import { connectLiveUpdates } from './live-updates'
import { createModelsStore, type ModelsState } from './models-store'
import { createSystemStore, type SystemState } from './system-store'
import { createRunPageStore, type RunPageState } from './run-page-store'
import { createRunsTableStore, type RunsTableState } from './runs-table-store'

/** The renderer's stores, one per feature, on whichever transport this window has. */
export const api = pickApi()
export const appStore = createAppStore(api, window.location.hash)
export const experimentsStore = createExperimentsStore(api)
export const runsTableStore = createRunsTableStore({
  api,
  storage: window.localStorage,
  navigate: (hash, mode) => {
    if (window.location.hash === hash) return
    if (mode === 'push') {
      window.location.hash = hash // a history entry; App's hashchange listener updates the route
    } else {
      window.history.replaceState(window.history.state, '', hash)
      appStore.getState().setRoute(parseRoute(hash))
    }
  }
})
export const runPageStore = createRunPageStore(api)
export const leaderboardStore = createLeaderboardStore(api)
export const compareStore = createCompareStore({ api, storage: window.localStorage })
export const modelsStore = createModelsStore(api)
export const experimentChartsStore = createExperimentChartsStore({ api, storage: window.localStorage })
export const systemStore = createSystemStore(api)

connectLiveUpdates(api, {
  experiments: experimentsStore,
  runsTable: runsTableStore,
  runPage: runPageStore,
  leaderboard: leaderboardStore,
  models: modelsStore,
  system: systemStore,
  experimentCharts: experimentChartsStore
})

export const useApp = <T,>(selector: (state: AppState) => T): T => useStore(appStore, selector)
export const useExperiments = <T,>(selector: (state: ExperimentsState) => T): T => useStore(experimentsStore, selector)
export const useRunsTable = <T,>(selector: (state: RunsTableState) => T): T => useStore(runsTableStore, selector)
export const useRunPage = <T,>(selector: (state: RunPageState) => T): T => useStore(runPageStore, selector)
export const useLeaderboard = <T,>(selector: (state: LeaderboardState) => T): T => useStore(leaderboardStore, selector)
export const useCompare = <T,>(selector: (state: CompareState) => T): T => useStore(compareStore, selector)
export const useExperimentCharts = <T,>(selector: (state: ExperimentChartsState) => T): T => useStore(experimentChartsStore, selector)
export const useModels = <T,>(selector: (state: ModelsState) => T): T => useStore(modelsStore, selector)
export const useSystem = <T,>(selector: (state: SystemState) => T): T => useStore(systemStore, selector)
