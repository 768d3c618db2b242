import { createStore, type StateCreator } from 'zustand/vanilla'
import type { HypercubeApi } from '../../../shared/contract'
import type { MetricSeries } from '../../../shared/domain'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'
import { historyModeOf, movePanel, newPanel, parsePanels, type PanelConfig } from '../lib/chart-panels'
import { readJson, writeJson, type KeyValueStorage } from '../lib/storage'

/**
 * The experiment's Charts section, from slices: its panels (which metrics, x axis, scale,
 * smoothing, y range, size, order — remembered per experiment) and the series of the plotted
 * runs (one runs.metricSeries per run and key, downsampled by main to a few hundred points so a
 * 1M-point run costs no more than a short one).
 *
 * The panels are also in the address (app-store's Route `charts`), so a reload, a shared link
 * and back/forward show the same charts: each change is published (a history entry; a
 * smoothing slider's drag replaces the current one), and `openFromUrl` applies an address.
 */

/** Points asked per run and key: a multi-run panel draws many lines, each needs less detail than the run page's one. */
export const PANEL_MAX_POINTS = 500
/** Series requests in flight at once (a 100-run sweep × 3 metrics is 300 requests). */
const CONCURRENT_REQUESTS = 6
/** Panels shown until the user arranges their own: one per metric, the first few. */
const DEFAULT_PANEL_COUNT = 4
/** How long answers are gathered before the panels redraw with them. */
const FLUSH_MS = 60

export interface SeriesEntry {
  series: MetricSeries | null
  loading: boolean
  error: ErrorInfo | null
}

export const seriesKey = (runId: number, key: string): string => `${runId}|${key}`
export const panelsKey = (experimentId: number): string => `hypercube.charts.panels.${experimentId}`
export const shownKey = (experimentId: number): string => `hypercube.charts.shown.${experimentId}`

interface PanelsSlice {
  experimentId: number | null
  /** null until the user changes something: the defaults follow the metrics. */
  panels: PanelConfig[] | null
  shown: boolean
  open: (experimentId: number) => void
  /** Shows the panels an address names (and remembers them for the experiment). */
  openFromUrl: (experimentId: number, panels: PanelConfig[]) => void
  setShown: (shown: boolean) => void
  /** The panels as shown: the user's, or one per metric for the first few metrics. */
  effectivePanels: (metricKeys: readonly string[]) => PanelConfig[]
  addPanel: (metrics: string[], current: PanelConfig[]) => void
  removePanel: (id: string, current: PanelConfig[]) => void
  updatePanel: (id: string, patch: Partial<PanelConfig>, current: PanelConfig[]) => void
  movePanel: (id: string, delta: number, current: PanelConfig[]) => void
}

interface SeriesSlice {
  series: Record<string, SeriesEntry>
  /** Loads the series not loaded yet (or that failed) for every run × key. */
  ensureSeries: (runIds: readonly number[], keys: readonly string[]) => Promise<void>
  /** Re-reads the loaded series of these runs (pushed "metrics logged"), drawing the old ones until the new arrive. */
  refreshRuns: (runIds: readonly number[]) => Promise<void>
}

export type ExperimentChartsState = PanelsSlice & SeriesSlice

type Slice<T> = StateCreator<ExperimentChartsState, [], [], T>

export function defaultPanels(metricKeys: readonly string[]): PanelConfig[] {
  return metricKeys.slice(0, DEFAULT_PANEL_COUNT).map((key) => newPanel(`default-${key}`, [key]))
}

export interface ExperimentChartsDeps {
  api: HypercubeApi
  storage: KeyValueStorage
  /**
   * Puts the panels in the address: 'push' adds a history entry, 'replace' changes the current
   * one; `before` are the panels shown until now, for an address that did not name them yet.
   */
  publishPanels?: (experimentId: number, panels: PanelConfig[], before: PanelConfig[], mode: 'push' | 'replace') => void
}

const createPanelsSlice =
  ({ storage, publishPanels }: ExperimentChartsDeps): Slice<PanelsSlice> =>
  (set, get) => {
    const save = (panels: PanelConfig[], before: PanelConfig[], mode: 'push' | 'replace' = 'push'): void => {
      set({ panels })
      const { experimentId } = get()
      if (experimentId === null) return
      writeJson(storage, panelsKey(experimentId), panels)
      publishPanels?.(experimentId, panels, before, mode)
    }
    let counter = 0
    return {
      experimentId: null,
      panels: null,
      shown: false,
      open: (experimentId) => {
        if (get().experimentId === experimentId) return
        set({
          experimentId,
          panels: parsePanels(readJson<unknown>(storage, panelsKey(experimentId), (value: unknown): value is unknown => value !== undefined, null)),
          shown: readJson(storage, shownKey(experimentId), (value): value is boolean => typeof value === 'boolean', false),
          series: {}
        })
      },
      openFromUrl: (experimentId, panels) => {
        get().open(experimentId)
        if (JSON.stringify(get().panels) === JSON.stringify(panels)) return
        writeJson(storage, panelsKey(experimentId), panels)
        // A link to charts shows them.
        writeJson(storage, shownKey(experimentId), true)
        set({ panels, shown: true })
      },
      setShown: (shown) => {
        set({ shown })
        const { experimentId } = get()
        if (experimentId !== null) writeJson(storage, shownKey(experimentId), shown)
      },
      effectivePanels: (metricKeys) => get().panels ?? defaultPanels(metricKeys),
      addPanel: (metrics, current) => save([...current, newPanel(`panel-${Date.now().toString(36)}-${counter++}`, metrics)], current),
      removePanel: (id, current) => save(current.filter((panel) => panel.id !== id), current),
      updatePanel: (id, patch, current) => {
        save(
          current.map((panel) => (panel.id === id ? { ...panel, ...patch, id } : panel)),
          current,
          historyModeOf(
            current.find((panel) => panel.id === id),
            patch
          )
        )
      },
      movePanel: (id, delta, current) => save(movePanel(current, id, delta), current)
    }
  }

const createSeriesSlice =
  (api: HypercubeApi): Slice<SeriesSlice> =>
  (set, get) => {
    // Answers are applied in batches: one update per answer would redraw every panel 300 times for a 100-run sweep of 3 metrics.
    let pending: Record<string, SeriesEntry> = {}
    let flushTimer: ReturnType<typeof setTimeout> | null = null
    const flush = (): void => {
      flushTimer = null
      if (Object.keys(pending).length === 0) return
      set({ series: { ...get().series, ...pending } })
      pending = {}
    }
    const patch = (key: string, entry: SeriesEntry): void => {
      pending[key] = entry
      flushTimer ??= setTimeout(flush, FLUSH_MS)
    }
    // Fetches the series, a few at a time; a failure keeps the line drawn before it (a live refresh) and says why.
    const fetchAll = async (wanted: ReadonlyArray<[number, string]>): Promise<void> => {
      const experimentId = get().experimentId
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < wanted.length) {
          const [runId, key] = wanted[next++]!
          try {
            const series = await call(api, 'runs.metricSeries', { runId, key, maxPoints: PANEL_MAX_POINTS })
            if (get().experimentId !== experimentId) return
            patch(seriesKey(runId, key), { series, loading: false, error: null })
          } catch (error) {
            if (get().experimentId !== experimentId) return
            patch(seriesKey(runId, key), { series: get().series[seriesKey(runId, key)]?.series ?? null, loading: false, error: errorInfo(error) })
          }
        }
      }
      await Promise.all(Array.from({ length: Math.min(CONCURRENT_REQUESTS, wanted.length) }, worker))
      if (flushTimer !== null) clearTimeout(flushTimer)
      flush()
    }
    // Series being re-read for a live refresh (not shown as loading: the old line stays drawn).
    const refreshing = new Set<string>()
    return {
      series: {},
      ensureSeries: async (runIds, keys) => {
        const wanted: Array<[number, string]> = []
        for (const runId of runIds) {
          for (const key of keys) {
            const entry = get().series[seriesKey(runId, key)]
            if (!entry || (entry.error && !entry.loading)) wanted.push([runId, key])
          }
        }
        if (wanted.length === 0) return
        // Marked loading at once, in one update, so a second call does not ask again.
        const loading = { ...get().series }
        for (const [runId, key] of wanted) loading[seriesKey(runId, key)] = { series: null, loading: true, error: null }
        set({ series: loading })
        await fetchAll(wanted)
      },
      refreshRuns: async (runIds) => {
        const runs = new Set(runIds)
        const wanted: Array<[number, string]> = []
        for (const [id, entry] of Object.entries(get().series)) {
          if (entry.loading || refreshing.has(id)) continue
          const bar = id.indexOf('|')
          const runId = Number(id.slice(0, bar))
          if (runs.has(runId)) wanted.push([runId, id.slice(bar + 1)])
        }
        for (const [runId, key] of wanted) refreshing.add(seriesKey(runId, key))
        try {
          await fetchAll(wanted)
        } finally {
          for (const [runId, key] of wanted) refreshing.delete(seriesKey(runId, key))
        }
      }
    }
  }

export function createExperimentChartsStore(deps: ExperimentChartsDeps) {
  return createStore<ExperimentChartsState>()((...args) => ({
    ...createPanelsSlice(deps)(...args),
    ...createSeriesSlice(deps.api)(...args)
  }))
}

export type ExperimentChartsStore = ReturnType<typeof createExperimentChartsStore>
