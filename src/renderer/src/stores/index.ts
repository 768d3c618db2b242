import { useStore } from 'zustand'
import { pickApi } from '../transport/api'
import { createAppStore, parseRoute, routeHash, type AppState } from './app-store'
import { createExperimentsStore, type ExperimentsState } from './experiments-store'
import { createLeaderboardStore, type LeaderboardState } from './leaderboard-store'
import { createCompareStore, type CompareState } from './compare-store'
import { createExperimentChartsStore, type ExperimentChartsState } from './experiment-charts-store'
import { createGroupedSeriesStore, type GroupedSeriesState } from './grouped-series-store'
import { connectLiveUpdates } from './live-updates'
import { createModelsStore, type ModelsState } from './models-store'
import { createSystemStore, type SystemState } from './system-store'
import { createRunPageStore, type RunPageState } from './run-page-store'
import { createRunsTableStore, type RunsTableState } from './runs-table-store'
import { createThemeStore, type ThemeState } from './theme-store'

/** The renderer's stores, one per feature, on whichever transport this window has. */
export const api = pickApi()
// First: the page takes its theme before anything is drawn.
export const themeStore = createThemeStore({
  storage: window.localStorage,
  systemDark: window.matchMedia('(prefers-color-scheme: dark)'),
  apply: (theme) => {
    document.documentElement.dataset.theme = theme
  }
})
export const appStore = createAppStore(api, window.location.hash)
export const experimentsStore = createExperimentsStore(api)
/** Shows a new address: 'push' adds a history entry, 'replace' changes the current one. */
function navigate(hash: string, mode: 'push' | 'replace'): void {
  if (window.location.hash === hash) return
  if (mode === 'push') {
    window.location.hash = hash // a history entry; App's hashchange listener updates the route
  } else {
    window.history.replaceState(window.history.state, '', hash)
    appStore.getState().setRoute(parseRoute(hash))
  }
}

export const runsTableStore = createRunsTableStore({
  api,
  storage: window.localStorage,
  // The table publishes its own state; the experiment's chart panels in the address stay.
  navigate: (hash, mode) => {
    const next = parseRoute(hash)
    const current = appStore.getState().route
    if (next.page === 'experiment' && current.page === 'experiment' && current.experimentId === next.experimentId && current.charts && !next.charts) {
      navigate(routeHash({ ...next, charts: current.charts }), mode)
    } else {
      navigate(hash, mode)
    }
  }
})
export const runPageStore = createRunPageStore(api)
export const leaderboardStore = createLeaderboardStore(api)
export const compareStore = createCompareStore({ api, storage: window.localStorage, navigate })
export const modelsStore = createModelsStore(api)
export const experimentChartsStore = createExperimentChartsStore({
  api,
  storage: window.localStorage,
  // On the experiment's page, the panels join the table's state in the address (a run page's address stays as it is).
  publishPanels: (experimentId, panels, before, mode) => {
    const current = appStore.getState().route
    if (current.page !== 'experiment' || current.experimentId !== experimentId || current.tab !== 'runs') return
    // The first change also names the panels shown until then, so the back button returns to them.
    if (!current.charts && mode === 'push') navigate(routeHash({ ...current, charts: before }), 'replace')
    navigate(routeHash({ ...current, charts: panels }), mode)
  }
})
/** The grouped charts' means and bands over every run of the table, computed by main. */
export const groupedSeriesStore = createGroupedSeriesStore(api)
export const systemStore = createSystemStore(api)

connectLiveUpdates(api, {
  experiments: experimentsStore,
  runsTable: runsTableStore,
  runPage: runPageStore,
  leaderboard: leaderboardStore,
  models: modelsStore,
  system: systemStore,
  experimentCharts: experimentChartsStore,
  groupedSeries: groupedSeriesStore
})

export const useTheme = <T,>(selector: (state: ThemeState) => T): T => useStore(themeStore, selector)
export const useApp = <T,>(selector: (state: AppState) => T): T => useStore(appStore, selector)
export const useExperiments = <T,>(selector: (state: ExperimentsState) => T): T => useStore(experimentsStore, selector)
export const useRunsTable = <T,>(selector: (state: RunsTableState) => T): T => useStore(runsTableStore, selector)
export const useRunPage = <T,>(selector: (state: RunPageState) => T): T => useStore(runPageStore, selector)
export const useLeaderboard = <T,>(selector: (state: LeaderboardState) => T): T => useStore(leaderboardStore, selector)
export const useCompare = <T,>(selector: (state: CompareState) => T): T => useStore(compareStore, selector)
export const useExperimentCharts = <T,>(selector: (state: ExperimentChartsState) => T): T => useStore(experimentChartsStore, selector)
export const useGroupedSeries = <T,>(selector: (state: GroupedSeriesState) => T): T => useStore(groupedSeriesStore, selector)
export const useModels = <T,>(selector: (state: ModelsState) => T): T => useStore(modelsStore, selector)
export const useSystem = <T,>(selector: (state: SystemState) => T): T => useStore(systemStore, selector)
