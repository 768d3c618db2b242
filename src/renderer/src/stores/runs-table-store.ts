import { createStore, type StateCreator } from 'zustand/vanilla'
import type { HypercubeApi, RunRow } from '../../../shared/contract'
import type { ErrorInfo } from '../../../shared/errors'
import { parseRunFilter } from '../../../shared/run-filter'
import { call, errorInfo } from '../lib/call'
import { runMetricKeys } from '../lib/run-metrics'
import { isNumberArray, isStringArray, readJson, writeJson, type KeyValueStorage } from '../lib/storage'
import { routeHash, type RunsTableUrlState } from './app-store'
import { createGroupingSlice, type GroupingSlice } from './run-grouping-slice'

/**
 * The runs table of one experiment, from slices: the rows (loaded, filtered, patched live),
 * the filter, the sorting, the user's columns (remembered per experiment) and the selection
 * of runs to compare (remembered per experiment, read by the compare view).
 *
 * The address carries the filter, sort, columns and selection (app-store's RunsTableUrlState):
 * the user's changes are published to it (a history entry for filter, sort and columns; the
 * selection replaces the current entry, so ticking runs does not fill the back button), and
 * `open` applies whatever the address says (a reload, a shared link, back/forward).
 */

export interface FilterError {
  message: string
  /** Character offset in the filter text where the problem is, when known. */
  position: number | null
}

export interface SortEntry {
  id: string
  desc: boolean
}

interface RowsSlice {
  experimentId: number | null
  rows: RunRow[]
  loading: boolean
  rowsError: ErrorInfo | null
  /**
   * Shows an experiment's runs in the state the address names. Without one: as they are for
   * this experiment, or fresh (filter cleared) for another. Loads the rows when `reload`, when
   * the experiment changes or when the filter does.
   */
  open: (experimentId: number, url?: RunsTableUrlState | null, reload?: boolean) => Promise<void>
  reload: () => Promise<void>
  /** Brings the named runs up to date (pushed events); new runs of this experiment appear. */
  refreshRows: (runIds: number[]) => Promise<void>
}

interface FilterSlice {
  filterText: string
  /** The filter the rows were loaded with ('' for none). */
  appliedFilter: string
  filterError: FilterError | null
  setFilterText: (text: string) => void
  applyFilter: () => Promise<void>
}

interface SortSlice {
  sorting: SortEntry[]
  setSorting: (sorting: SortEntry[]) => void
}

interface ColumnsSlice {
  /** Chosen param/metric columns as `params.<key>` / `metrics.<key>`; null until the user picks (defaults apply). */
  chosenColumns: string[] | null
  toggleColumn: (columnId: string, available: string[]) => void
}

interface SelectionSlice {
  selected: number[]
  toggleSelected: (runId: number) => void
  setSelected: (runIds: number[]) => void
}

export type RunsTableState = RowsSlice & FilterSlice & SortSlice & ColumnsSlice & SelectionSlice & GroupingSlice

export interface RunsTableDeps {
  api: HypercubeApi
  storage: KeyValueStorage
  /** Shows a new address: 'push' adds a history entry, 'replace' changes the current one. */
  navigate?: (hash: string, mode: 'push' | 'replace') => void
}

export const columnsKey = (experimentId: number) => `hypercube.runs.columns.${experimentId}`
export const selectionKey = (experimentId: number) => `hypercube.compare.selection.${experimentId}`
const DEFAULT_COLUMNS_PER_KIND = 4

type Slice<T> = StateCreator<RunsTableState, [], [], T>

const createRowsSlice =
  ({ api, storage }: RunsTableDeps): Slice<RowsSlice> =>
  (set, get) => {
    // A load that finishes after a newer one started is dropped (fast typing, fast navigation).
    let generation = 0
    const fetchRows = async (experimentId: number, filter: string): Promise<RunRow[]> =>
      filter === '' ? call(api, 'runs.list', { experimentId }) : call(api, 'runs.search', { experimentId, filter })

    const load = async (experimentId: number, filter: string): Promise<void> => {
      const mine = ++generation
      set({ loading: true })
      try {
        const rows = await fetchRows(experimentId, filter)
        if (mine !== generation) return
        set({ rows, loading: false, rowsError: null, appliedFilter: filter, filterError: null })
      } catch (error) {
        if (mine !== generation) return
        const info = errorInfo(error)
        if (filter !== '' && info.code === 'invalid_argument') {
          set({ loading: false, filterError: toFilterError(info) })
        } else {
          set({ loading: false, rowsError: info })
        }
      }
    }

    const rememberedColumns = (experimentId: number): string[] | null => readJson<string[] | null>(storage, columnsKey(experimentId), isStringArray, null)
    // The compare view may have narrowed the stored selection ("keep only the brushed runs").
    const rememberedSelection = (experimentId: number): number[] => readJson(storage, selectionKey(experimentId), isNumberArray, [])

    return {
      experimentId: null,
      rows: [],
      loading: false,
      rowsError: null,
      open: async (experimentId, url = null, reload = true) => {
        const before = get()
        const sameExperiment = before.experimentId === experimentId
        const filter = url ? url.filter.trim() : sameExperiment ? before.appliedFilter : ''
        const patch: Partial<RunsTableState> = sameExperiment ? {} : { experimentId, rows: [], rowsError: null, appliedFilter: '', filterError: null }
        // The filter box keeps what the user is typing unless the address names another filter.
        if (!sameExperiment || filter !== before.appliedFilter) Object.assign(patch, { filterText: filter, filterError: null })
        if (url) {
          if (url.selected !== null) writeJson(storage, selectionKey(experimentId), url.selected) // the compare view reads it there
          Object.assign(patch, {
            sorting: url.sort,
            chosenColumns: url.columns ?? rememberedColumns(experimentId),
            selected: url.selected ?? rememberedSelection(experimentId),
            ...((url.group ?? null) !== before.groupBy ? { groupBy: url.group ?? null, collapsedGroups: [] } : {})
          })
        } else if (!sameExperiment) {
          Object.assign(patch, { sorting: [], chosenColumns: rememberedColumns(experimentId), selected: rememberedSelection(experimentId), groupBy: null, collapsedGroups: [] })
        } else {
          patch.selected = rememberedSelection(experimentId)
        }
        set(patch)
        if (reload || !sameExperiment || filter !== before.appliedFilter) await load(experimentId, filter)
      },
      reload: async () => {
        const { experimentId, appliedFilter } = get()
        if (experimentId !== null) await load(experimentId, appliedFilter)
      },
      refreshRows: async (runIds) => {
        const { experimentId, appliedFilter } = get()
        if (experimentId === null || runIds.length === 0) return
        // Whether a changed run still matches a filter is the server's call: search again.
        if (appliedFilter !== '' || runIds.length > 200) return load(experimentId, appliedFilter)
        try {
          const fresh = (await call(api, 'runs.rows', { runIds })).filter((row) => row.experimentId === experimentId)
          if (get().experimentId !== experimentId || get().appliedFilter !== '') return
          const byId = new Map(fresh.map((row) => [row.id, row]))
          const rows = get().rows.map((row) => byId.get(row.id) ?? row)
          const known = new Set(rows.map((row) => row.id))
          const added = fresh.filter((row) => !known.has(row.id))
          set({ rows: added.length > 0 ? [...added, ...rows] : rows })
        } catch (error) {
          set({ rowsError: errorInfo(error) })
        }
      }
    }
  }

/** The table's state as the address carries it. */
export function tableUrlState(state: Pick<RunsTableState, 'appliedFilter' | 'sorting' | 'chosenColumns' | 'selected'> & Partial<Pick<RunsTableState, 'groupBy'>>): RunsTableUrlState {
  return {
    filter: state.appliedFilter,
    sort: state.sorting,
    columns: state.chosenColumns,
    selected: state.selected.length > 0 ? state.selected : null,
    ...(state.groupBy ? { group: state.groupBy } : {})
  }
}

/** Puts the table's state in the address (see the file comment for push vs replace). */
function publish(deps: RunsTableDeps, state: RunsTableState, mode: 'push' | 'replace'): void {
  if (!deps.navigate || state.experimentId === null) return
  deps.navigate(routeHash({ page: 'experiment', experimentId: state.experimentId, tab: 'runs', table: tableUrlState(state) }), mode)
}

/** "at 14: expected a value" style messages and {field: 'filter', position} both land here. */
export function toFilterError(info: ErrorInfo & { position?: number }): FilterError {
  if (typeof info.position === 'number') return { message: info.message, position: info.position }
  const match = /(?:position|at|column)\s+(\d+)/i.exec(info.message)
  return { message: info.message, position: match ? Number(match[1]) : null }
}

const createFilterSlice =
  (deps: RunsTableDeps): Slice<FilterSlice> =>
  (set, get) => ({
    filterText: '',
    appliedFilter: '',
    filterError: null,
    setFilterText: (text) => set({ filterText: text }),
    applyFilter: async () => {
      const { experimentId, filterText } = get()
      if (experimentId === null) return
      // Syntax errors are found here, with their position, without asking main; main parses
      // the same language again (shared/run-filter.ts) and answers for what only it knows.
      const parsed = parseRunFilter(filterText)
      if (!parsed.ok) {
        set({ filterError: { message: parsed.message, position: parsed.position } })
        return
      }
      set({ appliedFilter: filterText.trim(), filterError: null })
      publish(deps, get(), 'push')
      await get().reload()
    }
  })

const createSortSlice =
  (deps: RunsTableDeps): Slice<SortSlice> =>
  (set, get) => ({
    sorting: [],
    setSorting: (sorting) => {
      set({ sorting })
      publish(deps, get(), 'push')
    }
  })

const createColumnsSlice =
  (deps: RunsTableDeps): Slice<ColumnsSlice> =>
  (set, get) => ({
    chosenColumns: null,
    toggleColumn: (columnId, available) => {
      const { experimentId } = get()
      const current = get().chosenColumns ?? defaultColumns(available)
      const chosen = current.includes(columnId) ? current.filter((id) => id !== columnId) : [...current, columnId]
      set({ chosenColumns: chosen })
      if (experimentId !== null) writeJson(deps.storage, columnsKey(experimentId), chosen)
      publish(deps, get(), 'push')
    }
  })

const createSelectionSlice =
  (deps: RunsTableDeps): Slice<SelectionSlice> =>
  (set, get) => {
    const save = (selected: number[]): void => {
      set({ selected })
      const { experimentId } = get()
      if (experimentId !== null) writeJson(deps.storage, selectionKey(experimentId), selected)
      publish(deps, get(), 'replace')
    }
    return {
      selected: [],
      toggleSelected: (runId) => {
        const { selected } = get()
        save(selected.includes(runId) ? selected.filter((id) => id !== runId) : [...selected, runId])
      },
      setSelected: (runIds) => save([...new Set(runIds)])
    }
  }

export function createRunsTableStore(deps: RunsTableDeps) {
  return createStore<RunsTableState>()((...args) => ({
    ...createRowsSlice(deps)(...args),
    ...createFilterSlice(deps)(...args),
    ...createSortSlice(deps)(...args),
    ...createColumnsSlice(deps)(...args),
    ...createSelectionSlice(deps)(...args),
    ...createGroupingSlice(() => publish(deps, args[1](), 'push'))(args[0], args[1])
  }))
}

export type RunsTableStore = ReturnType<typeof createRunsTableStore>

/** Param and metric column ids found in the rows (metrics logged or reported as final), params first, each sorted. */
export function availableColumns(rows: readonly RunRow[]): string[] {
  const params = new Set<string>()
  for (const row of rows) for (const key in row.hyperparameters) params.add(key)
  return [...[...params].sort().map((key) => `params.${key}`), ...runMetricKeys(rows).map((key) => `metrics.${key}`)]
}

/** Until the user chooses: the first few params and metrics. */
export function defaultColumns(available: readonly string[]): string[] {
  const params = available.filter((id) => id.startsWith('params.')).slice(0, DEFAULT_COLUMNS_PER_KIND)
  const metrics = available.filter((id) => id.startsWith('metrics.')).slice(0, DEFAULT_COLUMNS_PER_KIND)
  return [...params, ...metrics]
}

export function visibleColumns(chosen: string[] | null, available: readonly string[]): string[] {
  if (chosen === null) return defaultColumns(available)
  // Columns the user chose stay, even when no current row has them (a filter may hide those runs).
  return chosen
}
