import type { HypercubeApi, PushedEvent } from '../../../shared/contract'
import type { ExperimentChartsStore } from './experiment-charts-store'
import type { ExperimentsStore } from './experiments-store'
import type { GroupedSeriesStore } from './grouped-series-store'
import type { LeaderboardStore } from './leaderboard-store'
import type { ModelsStore } from './models-store'
import type { SystemStore } from './system-store'
import type { RunPageStore } from './run-page-store'
import type { RunsTableStore } from './runs-table-store'

/**
 * Pushed events → store refreshes. Events come per metric batch (a training loop may send
 * dozens a second); they are gathered and each view refreshes at most every LIVE_INTERVAL_MS,
 * which keeps "updates within a second" without a query per event.
 */
export const LIVE_INTERVAL_MS = 250

interface Stores {
  experiments: ExperimentsStore
  runsTable: RunsTableStore
  runPage: RunPageStore
  leaderboard: LeaderboardStore
  /** Optional so tests of the run views need not build them. */
  models?: ModelsStore
  system?: SystemStore
  /** The experiment's chart panels (optional, as models and system are). */
  experimentCharts?: ExperimentChartsStore
  /** The grouped charts' means and bands over every run of the table (optional likewise). */
  groupedSeries?: GroupedSeriesStore
}

/** Collects items and hands them over once per interval. */
export function batcher<T>(flush: (items: Set<T>) => void, intervalMs: number) {
  let items = new Set<T>()
  let timer: ReturnType<typeof setTimeout> | undefined
  return {
    add(item: T): void {
      items.add(item)
      timer ??= setTimeout(() => {
        timer = undefined
        const batch = items
        items = new Set()
        flush(batch)
      }, intervalMs)
    },
    dispose(): void {
      if (timer) clearTimeout(timer)
      timer = undefined
      items = new Set()
    }
  }
}

export function connectLiveUpdates(api: HypercubeApi, stores: Stores, intervalMs = LIVE_INTERVAL_MS): () => void {
  const tableRuns = batcher<number>((runIds) => void stores.runsTable.getState().refreshRows([...runIds]), intervalMs)
  const pageKeys = batcher<string>((keys) => {
    const page = stores.runPage.getState()
    void page.refreshSeries([...keys])
    void page.refreshRun()
  }, intervalMs)
  const pageRun = batcher<true>(() => void stores.runPage.getState().refreshRun(), intervalMs)
  const experimentList = batcher<true>(() => void stores.experiments.getState().load(), intervalMs * 4)
  const leaderboard = batcher<true>(() => void stores.leaderboard.getState().reload(), intervalMs * 4)
  // A deploy fires a version change and a deployment change, and health checks arrive every 30 s: one refresh for them all.
  const models = batcher<true>(() => void stores.models?.getState().refresh(), intervalMs)
  // Panels draw up to 100 runs: their series are re-read at most once a second.
  const panelRuns = batcher<number>((runIds) => void stores.experimentCharts?.getState().refreshRuns([...runIds]), intervalMs * 4)
  // Grouped bands over a whole sweep: one re-read a second whichever of its runs logged.
  const groupedRuns = batcher<number>((runIds) => void stores.groupedSeries?.getState().refreshRuns([...runIds]), intervalMs * 4)
  const isInPanels = (runId: number): boolean => {
    const series = stores.experimentCharts?.getState().series
    if (!series) return false
    const prefix = `${runId}|`
    for (const id in series) if (id.startsWith(prefix)) return true
    return false
  }

  const isShownInTable = (runId: number, experimentId?: number): boolean => {
    const table = stores.runsTable.getState()
    if (table.experimentId === null) return false
    if (experimentId !== undefined) return experimentId === table.experimentId
    return table.rows.some((row) => row.id === runId)
  }

  const onEvent = (event: PushedEvent): void => {
    switch (event.name) {
      case 'metrics.logged': {
        const { runId, keys } = event.payload
        // keys is null when a batch named too many to list: every chart of the run is refreshed.
        if (stores.runPage.getState().runId === runId) (keys ?? Object.keys(stores.runPage.getState().charts)).forEach((key) => pageKeys.add(key))
        if (isShownInTable(runId)) tableRuns.add(runId)
        if (isInPanels(runId)) panelRuns.add(runId)
        if (stores.groupedSeries?.getState().requestRuns.has(runId)) groupedRuns.add(runId)
        if (stores.leaderboard.getState().experimentId !== null) leaderboard.add(true)
        experimentList.add(true)
        break
      }
      case 'runs.changed': {
        const { runId, experimentId } = event.payload
        if (stores.runPage.getState().runId === runId) pageRun.add(true)
        if (isShownInTable(runId, experimentId)) tableRuns.add(runId)
        if (stores.leaderboard.getState().experimentId === experimentId) leaderboard.add(true)
        experimentList.add(true)
        break
      }
      case 'experiments.changed':
        experimentList.add(true)
        break
      case 'models.versionChanged':
        models.add(true)
        break
      case 'deployments.changed':
        if (stores.models?.getState().modelName === event.payload.modelName) models.add(true)
        break
      case 'models.compareProgress':
        stores.models?.getState().onComparisonProgress(event.payload)
        break
      case 'imports.progress':
        stores.experiments.getState().onImportProgress(event.payload)
        break
      case 'api.stateChanged':
        stores.system?.getState().setApiState(event.payload)
        break
      case 'plugins.changed':
        stores.system?.getState().setPlugins(event.payload)
        break
      case 'transport.reconnected':
      case 'events.resync':
        // Whatever happened while the connection was down: read it all again.
        void stores.experiments.getState().load()
        void stores.runsTable.getState().reload()
        void stores.runPage.getState().refreshRun()
        void stores.leaderboard.getState().reload()
        void stores.models?.getState().refresh()
        void stores.system?.getState().loadPlugins()
        break
    }
  }

  const unsubscribe = api.onEvent(onEvent)
  return () => {
    unsubscribe()
    for (const pending of [tableRuns, pageKeys, pageRun, experimentList, leaderboard, models, panelRuns, groupedRuns]) pending.dispose()
  }
}
