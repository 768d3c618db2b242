import { createStore, type StateCreator } from 'zustand/vanilla'
import type { ArtifactVerification, HypercubeApi } from '../../../shared/contract'
import type { Artifact, Checkpoint, MetricSeries, RunWithMetrics } from '../../../shared/domain'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'

/**
 * One run's page, from slices: the run (details, checkpoints, artifacts), its metric charts
 * (one series per key, downsampled by main and re-queried on zoom) and artifact verification.
 */

export type XAxis = 'step' | 'epoch' | 'time'

export interface StepRange {
  fromStep: bigint
  toStep: bigint
}

export interface ChartState {
  series: MetricSeries | null
  loading: boolean
  error: ErrorInfo | null
  /** The zoomed step range; null shows the whole series. */
  zoom: StepRange | null
}

/** Points asked for per chart: about two per horizontal pixel of a chart. */
export const CHART_MAX_POINTS = 2_000

interface RunSlice {
  runId: number | null
  run: RunWithMetrics | null
  runLoading: boolean
  runError: ErrorInfo | null
  checkpoints: Checkpoint[]
  artifacts: Artifact[]
  /** Artifacts can fail on their own (e.g. the artifact folder is unreadable) without hiding the run. */
  artifactsError: ErrorInfo | null
  open: (runId: number) => Promise<void>
  /** Re-reads the run, checkpoints and artifacts (after a pushed change). */
  refreshRun: () => Promise<void>
}

interface ChartsSlice {
  charts: Record<string, ChartState>
  xAxis: XAxis
  /** Exponential moving average weight, 0 (off) to 0.99. */
  smoothing: number
  logScale: boolean
  setXAxis: (axis: XAxis) => void
  setSmoothing: (weight: number) => void
  setLogScale: (on: boolean) => void
  loadSeries: (key: string) => Promise<void>
  zoom: (key: string, range: StepRange) => Promise<void>
  resetZoom: (key: string) => Promise<void>
  /** Re-queries the named charts (pushed "metrics logged"); new keys get a chart. */
  refreshSeries: (keys: string[]) => Promise<void>
}

interface VerifySlice {
  verifying: Record<number, boolean>
  verifications: Record<number, ArtifactVerification | ErrorInfo>
  verify: (artifactId: number) => Promise<void>
}

/** MLflow keeps a run's free-text note (Markdown) in this tag; so does Hypercube, so both UIs show the same note. */
export const NOTE_TAG = 'mlflow.note.content'

interface EditSlice {
  /** Whether the open run is soft-deleted (gone from lists until restored). */
  deleted: boolean
  /** The last refused edit (rename onto a taken name, a write to a deleted run…). */
  editError: ErrorInfo | null
  rename: (name: string) => Promise<boolean>
  setTag: (key: string, value: string) => Promise<boolean>
  deleteTag: (key: string) => Promise<boolean>
  /** Saves the note; an empty note removes the tag. */
  setNote: (markdown: string) => Promise<boolean>
  deleteRun: () => Promise<boolean>
  restoreRun: () => Promise<boolean>
  clearEditError: () => void
}

export type RunPageState = RunSlice & ChartsSlice & VerifySlice & EditSlice

type Slice<T> = StateCreator<RunPageState, [], [], T>

const emptyChart = (): ChartState => ({ series: null, loading: false, error: null, zoom: null })

const createRunSlice =
  (api: HypercubeApi): Slice<RunSlice> =>
  (set, get) => {
    const fetchAll = async (runId: number): Promise<void> => {
      const [run, checkpoints, deleted] = await Promise.all([
        call(api, 'runs.get', { runId }),
        call(api, 'runs.checkpoints', { runId }),
        call(api, 'runs.isDeleted', { runId })
      ])
      if (get().runId !== runId) return
      set({ run, checkpoints, deleted, runLoading: false, runError: null })
      try {
        const artifacts = await call(api, 'artifacts.list', { runId })
        if (get().runId === runId) set({ artifacts, artifactsError: null })
      } catch (error) {
        if (get().runId === runId) set({ artifactsError: errorInfo(error) })
      }
    }
    return {
      runId: null,
      run: null,
      runLoading: false,
      runError: null,
      checkpoints: [],
      artifacts: [],
      artifactsError: null,
      open: async (runId) => {
        if (get().runId !== runId) {
          set({ runId, run: null, deleted: false, editError: null, checkpoints: [], artifacts: [], artifactsError: null, charts: {}, verifying: {}, verifications: {}, runError: null })
        }
        set({ runLoading: true })
        try {
          await fetchAll(runId)
        } catch (error) {
          if (get().runId === runId) set({ runLoading: false, runError: errorInfo(error) })
          return
        }
        const run = get().run
        if (run) await Promise.all(run.metrics.map((metric) => get().loadSeries(metric.key)))
      },
      refreshRun: async () => {
        const { runId } = get()
        if (runId === null) return
        try {
          await fetchAll(runId)
        } catch (error) {
          if (get().runId === runId) set({ runError: errorInfo(error) })
        }
      }
    }
  }

/** Edits from the run page; each one re-reads the run, so the page shows what the database now holds. */
const createEditSlice =
  (api: HypercubeApi): Slice<EditSlice> =>
  (set, get) => {
    const edit = async (change: (runId: number) => Promise<unknown>): Promise<boolean> => {
      const { runId } = get()
      if (runId === null) return false
      try {
        await change(runId)
        set({ editError: null })
        await get().refreshRun()
        return true
      } catch (error) {
        set({ editError: errorInfo(error) })
        return false
      }
    }
    return {
      deleted: false,
      editError: null,
      rename: (name) => edit((runId) => call(api, 'runs.rename', { runId, name: name.trim() })),
      setTag: (key, value) => edit((runId) => call(api, 'runs.setTags', { runId, tags: { [key.trim()]: value } })),
      deleteTag: (key) => edit((runId) => call(api, 'runs.deleteTag', { runId, key })),
      setNote: (markdown) =>
        edit((runId) =>
          markdown.trim() === ''
            ? get().run?.tags[NOTE_TAG] === undefined
              ? Promise.resolve()
              : call(api, 'runs.deleteTag', { runId, key: NOTE_TAG })
            : call(api, 'runs.setTags', { runId, tags: { [NOTE_TAG]: markdown } })
        ),
      deleteRun: () => edit((runId) => call(api, 'runs.delete', { runId })),
      restoreRun: () => edit((runId) => call(api, 'runs.restore', { runId })),
      clearEditError: () => set({ editError: null })
    }
  }

const createChartsSlice =
  (api: HypercubeApi): Slice<ChartsSlice> =>
  (set, get) => {
    const patchChart = (key: string, patch: Partial<ChartState>): void => {
      set({ charts: { ...get().charts, [key]: { ...(get().charts[key] ?? emptyChart()), ...patch } } })
    }
    // Per chart, only the newest request's answer is kept (zooming fast, live refreshes).
    const generations = new Map<string, number>()
    const fetchSeries = async (key: string, zoom: StepRange | null): Promise<void> => {
      const runId = get().runId
      if (runId === null) return
      const mine = (generations.get(key) ?? 0) + 1
      generations.set(key, mine)
      patchChart(key, { loading: true, zoom })
      try {
        const series = await call(api, 'runs.metricSeries', {
          runId,
          key,
          maxPoints: CHART_MAX_POINTS,
          ...(zoom ? { fromStep: zoom.fromStep, toStep: zoom.toStep } : {})
        })
        if (generations.get(key) !== mine || get().runId !== runId) return
        patchChart(key, { series, loading: false, error: null })
      } catch (error) {
        if (generations.get(key) !== mine || get().runId !== runId) return
        patchChart(key, { loading: false, error: errorInfo(error) })
      }
    }
    return {
      charts: {},
      xAxis: 'step',
      smoothing: 0,
      logScale: false,
      setXAxis: (xAxis) => set({ xAxis }),
      setSmoothing: (weight) => set({ smoothing: Math.min(0.99, Math.max(0, weight)) }),
      setLogScale: (logScale) => set({ logScale }),
      loadSeries: (key) => fetchSeries(key, get().charts[key]?.zoom ?? null),
      zoom: (key, range) => fetchSeries(key, range.fromStep <= range.toStep ? range : { fromStep: range.toStep, toStep: range.fromStep }),
      resetZoom: (key) => fetchSeries(key, null),
      refreshSeries: async (keys) => {
        // A zoomed chart keeps its range: the user is looking at that stretch on purpose.
        await Promise.all(keys.map((key) => get().loadSeries(key)))
      }
    }
  }

const createVerifySlice =
  (api: HypercubeApi): Slice<VerifySlice> =>
  (set, get) => ({
    verifying: {},
    verifications: {},
    verify: async (artifactId) => {
      set({ verifying: { ...get().verifying, [artifactId]: true } })
      let result: ArtifactVerification | ErrorInfo
      try {
        result = await call(api, 'artifacts.verify', { artifactId })
        set({ artifacts: get().artifacts.map((artifact) => (artifact.id === artifactId ? (result as ArtifactVerification).artifact : artifact)) })
      } catch (error) {
        result = errorInfo(error)
      }
      set({ verifying: { ...get().verifying, [artifactId]: false }, verifications: { ...get().verifications, [artifactId]: result } })
    }
  })

export function createRunPageStore(api: HypercubeApi) {
  return createStore<RunPageState>()((...args) => ({
    ...createRunSlice(api)(...args),
    ...createChartsSlice(api)(...args),
    ...createVerifySlice(api)(...args),
    ...createEditSlice(api)(...args)
  }))
}

export type RunPageStore = ReturnType<typeof createRunPageStore>
