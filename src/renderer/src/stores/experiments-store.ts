import { createStore, type StateCreator } from 'zustand/vanilla'
import type { CallInput, EventPayloads, HypercubeApi } from '../../../shared/contract'
import type { ExperimentSummary, MlflowImportReport } from '../../../shared/domain'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'

/** The experiments list: what is shown, and the edits made from it (create, rename, archive). */

interface ListSlice {
  experiments: ExperimentSummary[]
  loaded: boolean
  loading: boolean
  listError: ErrorInfo | null
  /** Deleted experiments (MLflow's lifecycle; status 'archived' here) are listed only when asked for. */
  showArchived: boolean
  /** The search box: experiments whose name, description or a tag contains it. */
  query: string
  load: () => Promise<void>
  setShowArchived: (show: boolean) => void
  setQuery: (query: string) => void
}

interface EditSlice {
  creating: boolean
  createError: ErrorInfo | null
  /** Errors of a row's rename/archive/restore, shown on that row. */
  rowErrors: Record<number, ErrorInfo>
  /** Creates an experiment; its id, or undefined when refused (createError says why). */
  create: (name: string, description: string) => Promise<number | undefined>
  rename: (experimentId: number, name: string) => Promise<boolean>
  /** Soft delete (true) or restore (false), through the same service rule as MLflow's experiments/delete. */
  setArchived: (experimentId: number, archived: boolean) => Promise<boolean>
  /** Saves a description and the tags: the ones not in `tags` any more are removed. */
  saveDetails: (experimentId: number, description: string, tags: Record<string, string>) => Promise<boolean>
  clearCreateError: () => void
  /** Forgets a row's error (the user cancelled the edit that caused it). */
  clearRowError: (experimentId: number) => void
}

/** The "Import from MLflow" dialog: one import (or dry run) at a time, with its progress. */
interface MlflowImportSlice {
  mlflowImport: {
    running: boolean
    /** The running call's id: progress events of other calls (other windows) are ignored. */
    requestId: string | null
    progress: { done: number; total: number; detail: string } | null
    report: MlflowImportReport | null
    error: ErrorInfo | null
  }
  importFromMlflow: (input: Omit<CallInput<'imports.mlflow'>, 'requestId'>) => Promise<void>
  onImportProgress: (progress: EventPayloads['imports.progress']) => void
  resetMlflowImport: () => void
}

export type ExperimentsState = ListSlice & EditSlice & MlflowImportSlice

const IDLE_IMPORT: MlflowImportSlice['mlflowImport'] = { running: false, requestId: null, progress: null, report: null, error: null }

const createMlflowImportSlice =
  (api: HypercubeApi): StateCreator<ExperimentsState, [], [], MlflowImportSlice> =>
  (set, get) => ({
    mlflowImport: IDLE_IMPORT,
    importFromMlflow: async (input) => {
      const requestId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
      set({ mlflowImport: { ...IDLE_IMPORT, running: true, requestId } })
      try {
        const report = await call(api, 'imports.mlflow', { ...input, requestId })
        if (get().mlflowImport.requestId !== requestId) return
        set({ mlflowImport: { ...get().mlflowImport, running: false, report } })
        if (!input.dryRun) await get().load()
      } catch (error) {
        if (get().mlflowImport.requestId === requestId) set({ mlflowImport: { ...get().mlflowImport, running: false, error: errorInfo(error) } })
      }
    },
    onImportProgress: ({ requestId, ...progress }) => {
      const current = get().mlflowImport
      if (current.running && current.requestId === requestId) set({ mlflowImport: { ...current, progress } })
    },
    resetMlflowImport: () => {
      if (!get().mlflowImport.running) set({ mlflowImport: IDLE_IMPORT })
    }
  })

const createListSlice =
  (api: HypercubeApi): StateCreator<ExperimentsState, [], [], ListSlice> =>
  (set, get) => ({
    experiments: [],
    loaded: false,
    loading: false,
    listError: null,
    showArchived: false,
    query: '',
    setQuery: (query) => set({ query }),
    load: async () => {
      set({ loading: true })
      try {
        const experiments = await call(api, 'experiments.list', {})
        set({ experiments, loaded: true, loading: false, listError: null })
      } catch (error) {
        set({ loading: false, listError: errorInfo(error) })
      }
    },
    setShowArchived: (show) => {
      if (show !== get().showArchived) set({ showArchived: show })
    }
  })

const createEditSlice =
  (api: HypercubeApi): StateCreator<ExperimentsState, [], [], EditSlice> =>
  (set, get) => {
    const rowAction = async (experimentId: number, action: () => Promise<unknown>): Promise<boolean> => {
      try {
        await action()
        const { [experimentId]: _cleared, ...rest } = get().rowErrors
        set({ rowErrors: rest })
        await get().load()
        return true
      } catch (error) {
        set({ rowErrors: { ...get().rowErrors, [experimentId]: errorInfo(error) } })
        return false
      }
    }
    return {
      creating: false,
      createError: null,
      rowErrors: {},
      create: async (name, description) => {
        set({ creating: true, createError: null })
        try {
          const experiment = await call(api, 'experiments.create', { name: name.trim(), description })
          set({ creating: false })
          await get().load()
          return experiment.id
        } catch (error) {
          set({ creating: false, createError: errorInfo(error) })
          return undefined
        }
      },
      rename: (experimentId, name) => rowAction(experimentId, () => call(api, 'experiments.update', { experimentId, name: name.trim() })),
      setArchived: (experimentId, archived) =>
        rowAction(experimentId, () => call(api, archived ? 'experiments.delete' : 'experiments.restore', { experimentId })),
      saveDetails: (experimentId, description, tags) =>
        rowAction(experimentId, async () => {
          const before = get().experiments.find((experiment) => experiment.id === experimentId)?.tags ?? {}
          await call(api, 'experiments.update', { experimentId, description })
          for (const [key, value] of Object.entries(tags)) if (before[key] !== value) await call(api, 'experiments.setTag', { experimentId, key, value })
          for (const key of Object.keys(before)) if (!(key in tags)) await call(api, 'experiments.deleteTag', { experimentId, key })
        }),
      clearCreateError: () => set({ createError: null }),
      clearRowError: (experimentId) => {
        if (!(experimentId in get().rowErrors)) return
        const { [experimentId]: _cleared, ...rest } = get().rowErrors
        set({ rowErrors: rest })
      }
    }
  }

export function createExperimentsStore(api: HypercubeApi) {
  return createStore<ExperimentsState>()((...args) => ({
    ...createListSlice(api)(...args),
    ...createEditSlice(api)(...args),
    ...createMlflowImportSlice(api)(...args)
  }))
}

export type ExperimentsStore = ReturnType<typeof createExperimentsStore>

/** The experiments the list shows: deleted ones only when asked for, and those matching the search box. */
export function visibleExperiments(state: Pick<ExperimentsState, 'experiments' | 'showArchived'> & { query?: string }): ExperimentSummary[] {
  const needle = (state.query ?? '').trim().toLowerCase()
  const matches = (experiment: ExperimentSummary): boolean =>
    needle === '' ||
    experiment.name.toLowerCase().includes(needle) ||
    experiment.description.toLowerCase().includes(needle) ||
    Object.entries(experiment.tags).some(([key, value]) => `${key}=${value}`.toLowerCase().includes(needle))
  return state.experiments.filter((experiment) => (state.showArchived || experiment.status !== 'archived') && matches(experiment))
}
