import { createStore, type StateCreator } from 'zustand/vanilla'
import type { DistanceMatrix, HypercubeApi, RunRow } from '../../../shared/contract'
import type { MetricSeries } from '../../../shared/domain'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'
import { historyModeOf, seriesStart, type PanelConfig } from '../lib/chart-panels'
import { axisDimensions, overlayPanel, reconcileAxes, runsInBrushes, type Brush, type Brushes, type Dimension } from '../lib/compare'
import { runColors } from '../lib/run-colors'
import { isNumberArray, readJson, writeJson, type KeyValueStorage } from '../lib/storage'
import { selectionKey } from './runs-table-store'
import { routeHash, type CompareUrlState } from './app-store'
import type { StepRange } from './run-page-store'

/**
 * The compare view of one experiment, from slices: the runs (the selection the runs table
 * stored) and their colours, the overlaid series per metric key, the parallel-coordinates axes
 * and brushes, and the similar-runs / distance-matrix results of a chosen plugin.
 *
 * The address carries the compared runs, the scatter / parallel-coordinates settings and each
 * overlay chart's zoom and chart-panel settings (app-store's CompareUrlState), as the runs table's address carries its state: `open`
 * applies what the address says (a reload, a shared link, back/forward) and the user's
 * changes are published to it (a history entry each).
 */

/** Same maxPoints as the run page, so an overlay line is drawn from the same buckets. */
export const COMPARE_MAX_POINTS = 2_000
export const MIN_COMPARE = 2
export const MAX_COMPARE = 100

interface RunsSlice {
  experimentId: number | null
  runIds: number[]
  runs: RunRow[]
  /** Each run's colour (run-colors.ts): the same in every view of the page and in the runs table. */
  colors: Record<number, string>
  loading: boolean
  error: ErrorInfo | null
  onlyDifferences: boolean
  /** The scatter's chosen dimensions; null: the default (the first param against the first metric). */
  scatterX: string | null
  scatterY: string | null
  /** Shows the runs and settings the address names; the remembered selection when it names no runs. */
  open: (experimentId: number, url?: CompareUrlState | null) => Promise<void>
  setScatter: (axis: 'x' | 'y', dimension: string) => void
  setOnlyDifferences: (value: boolean) => void
}

export interface OverlayChart {
  /** One series per run id (absent while loading or when that run lacks the key). */
  series: Record<number, MetricSeries>
  loading: boolean
  error: ErrorInfo | null
  zoom: StepRange | null
  /** Each run's first point of the metric (ms), from its whole series: where relative time starts, zoomed or not. */
  origins: Record<number, number>
}

interface OverlaySlice {
  charts: Record<string, OverlayChart>
  /** The user's settings of an overlay chart (x axis, log y, smoothing, y range, size), by metric key; absent: a chart panel's defaults. */
  panels: Record<string, PanelConfig>
  /** Changes an overlay chart's settings and puts them in the address. */
  setPanel: (key: string, patch: Partial<PanelConfig>) => void
  loadChart: (key: string, zoom?: StepRange | null) => Promise<void>
  /** The user zoomed a chart (null: reset): loads that range and puts it in the address. */
  setZoom: (key: string, zoom: StepRange | null) => Promise<void>
}

interface BrushSlice {
  /** The parallel-coordinates axes: only dimensions the runs have (reconciled when the runs change). */
  axes: Dimension[]
  /** The user chose the axes (or the address named them): the address carries them; default axes are left out of it. */
  axesChosen: boolean
  brushes: Brushes
  /** The user's log/linear choice per dimension (parallel coordinates and scatter); absent means automatic. */
  logScales: Record<Dimension, boolean>
  setAxes: (axes: Dimension[]) => void
  setBrush: (dimension: Dimension, brush: Brush | null) => void
  setLogScale: (dimension: Dimension, log: boolean) => void
  /** Narrows the stored selection to the runs inside the brushes (what the runs table shows as selected). */
  keepBrushed: () => void
}

interface SimilarSlice {
  plugin: string
  similarRunId: number | null
  similar: Array<{ runId: number; distance: number }> | null
  /** Names of the similar runs, which need not be among the compared ones. */
  similarNames: Record<number, string>
  similarLoading: boolean
  similarError: ErrorInfo | null
  matrix: DistanceMatrix | null
  matrixLoading: boolean
  matrixError: ErrorInfo | null
  setPlugin: (plugin: string) => void
  findSimilar: (runId: number, k?: number) => Promise<void>
  loadMatrix: () => Promise<void>
}

export type CompareState = RunsSlice & OverlaySlice & BrushSlice & SimilarSlice

export interface CompareDeps {
  api: HypercubeApi
  storage: KeyValueStorage
  /** Shows a new address: 'push' adds a history entry, 'replace' changes the current one. */
  navigate?: (hash: string, mode: 'push' | 'replace') => void
}

/** The compare view's state as the address carries it. */
export function compareUrlState(state: Pick<CompareState, 'runIds' | 'scatterX' | 'scatterY' | 'axes' | 'axesChosen' | 'logScales' | 'charts' | 'panels'>): CompareUrlState {
  const zoom = Object.fromEntries(Object.entries(state.charts).flatMap(([key, chart]) => (chart.zoom ? [[key, chart.zoom]] : [])))
  const panels = Object.values(state.panels)
  return {
    ...(panels.length > 0 ? { charts: panels } : {}),
    ...(Object.keys(zoom).length > 0 ? { zoom } : {}),
    runs: state.runIds,
    ...(state.scatterX ? { scatterX: state.scatterX } : {}),
    ...(state.scatterY ? { scatterY: state.scatterY } : {}),
    ...(state.axesChosen ? { axes: state.axes } : {}),
    ...(Object.keys(state.logScales).length > 0 ? { logScales: state.logScales } : {})
  }
}

function publish(deps: CompareDeps, state: CompareState, mode: 'push' | 'replace'): void {
  if (!deps.navigate || state.experimentId === null) return
  deps.navigate(routeHash({ page: 'compare', experimentId: state.experimentId, compare: compareUrlState(state) }), mode)
}

type Slice<T> = StateCreator<CompareState, [], [], T>

/** The runs that pass the brushes: what the table, overlay and scatter show. */
export const brushedRuns = (state: Pick<CompareState, 'runs' | 'brushes'>): RunRow[] => runsInBrushes(state.runs, state.brushes)

const createRunsSlice =
  (deps: CompareDeps): Slice<RunsSlice> =>
  (set, get) => {
    const { api, storage } = deps
    let generation = 0
    // What the last `open` applied, so the same address (a re-render) does not reload the runs.
    let openedKey = ''
    return {
      experimentId: null,
      runIds: [],
      runs: [],
      colors: {},
      loading: false,
      error: null,
      onlyDifferences: false,
      scatterX: null,
      scatterY: null,
      setScatter: (axis, dimension) => {
        set(axis === 'x' ? { scatterX: dimension } : { scatterY: dimension })
        publish(deps, get(), 'push')
      },
      open: async (experimentId, url = null) => {
        const wanted = url?.runs ?? readJson(storage, selectionKey(experimentId), isNumberArray, [])
        const runIds = wanted.slice(0, MAX_COMPARE)
        // The address's runs become the selection the runs table shows and comes back to (a shared link).
        if (url?.runs) writeJson(storage, selectionKey(experimentId), url.runs)
        const settings = {
          scatterX: url?.scatterX ?? null,
          scatterY: url?.scatterY ?? null,
          logScales: url?.logScales ?? {},
          axesChosen: url?.axes !== undefined,
          panels: Object.fromEntries((url?.charts ?? []).map((panel) => [panel.id, overlayPanel(panel.id, panel)]))
        }
        const key = JSON.stringify([experimentId, runIds])
        const sameRuns = key === openedKey && get().experimentId === experimentId
        openedKey = key
        if (sameRuns) {
          // Back/forward between settings of the same runs: only the settings change.
          set((state) => ({ ...settings, axes: reconcileAxes(url?.axes ?? [], axisDimensions(state.runs)) }))
          for (const [key, chart] of Object.entries(get().charts)) {
            const wanted = url?.zoom?.[key] ?? null
            if (!sameRange(chart.zoom, wanted)) void get().loadChart(key, wanted)
          }
          return
        }
        const mine = ++generation
        set({ experimentId, runIds, runs: [], charts: {}, brushes: {}, similar: null, similarRunId: null, matrix: null, error: null, loading: runIds.length > 0, ...settings })
        // An address without the runs gets them, so what is on screen can be shared as it is.
        if (!url?.runs && runIds.length > 0) publish(deps, get(), 'replace')
        if (runIds.length === 0) return
        try {
          const rows = await call(api, 'runs.rows', { runIds })
          if (mine !== generation) return
          // Keep the order the user selected them in; runs deleted since then are dropped.
          const byId = new Map(rows.map((row) => [row.id, row]))
          const runs = runIds.flatMap((runId) => byId.get(runId) ?? [])
          const ids = runs.map((run) => run.id)
          set((state) => ({ runs, colors: runColors(storage, experimentId, ids), axes: reconcileAxes(url?.axes ?? state.axes, axisDimensions(runs)), loading: false }))
          const keys = [...new Set(runs.flatMap((run) => run.metrics.map((metric) => metric.key)))].sort()
          await Promise.all(keys.map((key) => get().loadChart(key, url?.zoom?.[key] ?? null)))
        } catch (error) {
          if (mine === generation) set({ loading: false, error: errorInfo(error) })
        }
      },
      setOnlyDifferences: (onlyDifferences) => set({ onlyDifferences })
    }
  }

const sameRange = (a: StepRange | null, b: StepRange | null): boolean => (a === null || b === null ? a === b : a.fromStep === b.fromStep && a.toStep === b.toStep)

const EMPTY_CHART: OverlayChart = { series: {}, loading: false, error: null, zoom: null, origins: {} }
/** Points asked of a whole series only to learn where it starts (the least the contract takes). */
const ORIGIN_POINTS = 10

const createOverlaySlice =
  (deps: CompareDeps): Slice<OverlaySlice> =>
  (set, get) => ({
    charts: {},
    panels: {},
    setPanel: (key, patch) => {
      const before = overlayPanel(key, get().panels[key])
      set((state) => ({ panels: { ...state.panels, [key]: overlayPanel(key, { ...before, ...patch }) } }))
      publish(deps, get(), historyModeOf(before, patch))
    },
    setZoom: async (key, zoom) => {
      const loaded = get().loadChart(key, zoom)
      publish(deps, get(), 'push')
      await loaded
    },
    loadChart: async (key, zoom = null) => {
      const runs = get().runs.filter((run) => run.metrics.some((metric) => metric.key === key))
      const update = (patch: Partial<OverlayChart>) =>
        set((state) => ({ charts: { ...state.charts, [key]: { ...(state.charts[key] ?? EMPTY_CHART), ...patch } } }))
      update({ loading: true, zoom })
      try {
        // A zoomed series starts inside the run: its whole series (a few points of it) says where the run's starts.
        const known = get().charts[key]?.origins ?? {}
        const [all, whole] = await Promise.all([
          Promise.all(
            runs.map((run) =>
              call(deps.api, 'runs.metricSeries', { runId: run.id, key, maxPoints: COMPARE_MAX_POINTS, ...(zoom ? { fromStep: zoom.fromStep, toStep: zoom.toStep } : {}) })
            )
          ),
          zoom ? Promise.all(runs.filter((run) => known[run.id] === undefined).map((run) => call(deps.api, 'runs.metricSeries', { runId: run.id, key, maxPoints: ORIGIN_POINTS }))) : null
        ])
        // A newer zoom of the same chart wins.
        if (get().charts[key]?.zoom !== zoom) return
        const origins = { ...known }
        for (const series of whole ?? all) {
          const start = seriesStart(series)
          if (start !== null) origins[series.runId] = start
        }
        update({ series: Object.fromEntries(all.map((series) => [series.runId, series])), origins, loading: false, error: null })
      } catch (error) {
        update({ loading: false, error: errorInfo(error) })
      }
    }
  })

const createBrushSlice =
  (deps: CompareDeps): Slice<BrushSlice> =>
  (set, get) => ({
    axes: [],
    axesChosen: false,
    brushes: {},
    logScales: {},
    setAxes: (axes) => {
      set((state) => ({ axes, brushes: Object.fromEntries(Object.entries(state.brushes).filter(([dimension]) => axes.includes(dimension))) }))
      set({ axesChosen: true })
      publish(deps, get(), 'push')
    },
    setBrush: (dimension, brush) =>
      set((state) => {
        const brushes = { ...state.brushes }
        if (!brush) delete brushes[dimension]
        else if ('categories' in brush) brushes[dimension] = { categories: [...brush.categories] }
        else brushes[dimension] = { min: Math.min(brush.min, brush.max), max: Math.max(brush.min, brush.max) }
        return { brushes }
      }),
    setLogScale: (dimension, log) => {
      set((state) => ({ logScales: { ...state.logScales, [dimension]: log } }))
      publish(deps, get(), 'push')
    },
    keepBrushed: () => {
      const state = get()
      if (state.experimentId === null) return
      const kept = brushedRuns(state)
      const runIds = kept.map((run) => run.id)
      writeJson(deps.storage, selectionKey(state.experimentId), runIds)
      set({ runIds, runs: kept, colors: runColors(deps.storage, state.experimentId, runIds), axes: reconcileAxes(state.axes, axisDimensions(kept)), brushes: {}, matrix: null })
      publish(deps, get(), 'push')
    }
  })

const createSimilarSlice =
  ({ api }: CompareDeps): Slice<SimilarSlice> =>
  (set, get) => ({
    plugin: 'euclidean',
    similarRunId: null,
    similar: null,
    similarNames: {},
    similarLoading: false,
    similarError: null,
    matrix: null,
    matrixLoading: false,
    matrixError: null,
    setPlugin: (plugin) => set({ plugin, similar: null, matrix: null, similarError: null, matrixError: null }),
    findSimilar: async (runId, k = 5) => {
      const { experimentId, plugin } = get()
      if (experimentId === null) return
      set({ similarRunId: runId, similarLoading: true, similarError: null })
      try {
        const similar = await call(api, 'compare.nearestRuns', { experimentId, runId, plugin, k })
        const rows = similar.length > 0 ? await call(api, 'runs.rows', { runIds: similar.map((entry) => entry.runId) }) : []
        const similarNames = Object.fromEntries(rows.map((row) => [row.id, row.name]))
        if (get().plugin === plugin && get().similarRunId === runId) set({ similar, similarNames, similarLoading: false })
      } catch (error) {
        set({ similar: null, similarLoading: false, similarError: errorInfo(error) })
      }
    },
    loadMatrix: async () => {
      const { experimentId, plugin, runs } = get()
      if (experimentId === null || runs.length === 0) return
      set({ matrixLoading: true, matrixError: null })
      try {
        const matrix = await call(api, 'compare.distanceMatrix', { experimentId, runIds: runs.map((run) => run.id), plugin })
        if (get().plugin === plugin) set({ matrix, matrixLoading: false })
      } catch (error) {
        set({ matrix: null, matrixLoading: false, matrixError: errorInfo(error) })
      }
    }
  })

export function createCompareStore(deps: CompareDeps) {
  return createStore<CompareState>()((...args) => ({
    ...createRunsSlice(deps)(...args),
    ...createOverlaySlice(deps)(...args),
    ...createBrushSlice(deps)(...args),
    ...createSimilarSlice(deps)(...args)
  }))
}

export type CompareStore = ReturnType<typeof createCompareStore>
