import { createStore, type StateCreator } from 'zustand/vanilla'
import type { HypercubeApi, RunRow } from '../../../shared/contract'
import type { ErrorInfo } from '../../../shared/errors'
import { parseRunFilter } from '../../../shared/run-filter'
import { call, errorInfo } from '../lib/call'
import { runMetricKeys } from '../lib/run-metrics'
import { isNumberArray, isStringArray, readJson, writeJson, type KeyValueStorage } from '../lib/storage'
import { MAX_COLUMN_WIDTH, MIN_COLUMN_WIDTH, routeHash, type RunsTableUrlState } from './app-store'
import { createGroupingSlice, type GroupingSlice } from './run-grouping-slice'
import { createBulkSlice, type BulkSlice } from './run-bulk-slice'

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
  /**
   * The rows are the first screen of a large experiment's runs, shown while the rest load: the
   * actions that mean "every run" (select all, export, group) wait for them.
   */
  loadingRest: boolean
  rowsError: ErrorInfo | null
  /** The rows are the experiment's soft-deleted runs (where restore is offered), not its active ones. */
  showDeleted: boolean
  setShowDeleted: (showDeleted: boolean) => Promise<void>
  /** The run-name search above the table: narrows the loaded rows as the user types, on top of the filter. */
  nameQuery: string
  setNameQuery: (nameQuery: string) => void
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
  /** Chosen param/metric/tag columns, in the order shown, as `params.<key>` / `metrics.<key>` / `tags.<key>`; null until the user picks (defaults apply). */
  chosenColumns: string[] | null
  toggleColumn: (columnId: string, available: string[]) => void
  /** Moves a chosen column by `offset` places (the column picker's move buttons). */
  moveColumn: (columnId: string, offset: number, available: string[]) => void
  /** Puts a chosen column just before another one, or last for null (a header dragged onto another). */
  placeColumn: (columnId: string, beforeId: string | null, available: string[]) => void
  /** Widths in pixels the user gave columns (remembered per experiment); the others have their default width. */
  columnWidths: Record<string, number>
  /** A width while the user drags; `done` remembers it and puts it in the address. */
  setColumnWidth: (columnId: string, width: number, done: boolean) => void
}

interface SelectionSlice {
  selected: number[]
  toggleSelected: (runId: number) => void
  setSelected: (runIds: number[]) => void
}

export type RunsTableState = RowsSlice & FilterSlice & SortSlice & ColumnsSlice & SelectionSlice & GroupingSlice & BulkSlice

export interface RunsTableDeps {
  api: HypercubeApi
  storage: KeyValueStorage
  /** Shows a new address: 'push' adds a history entry, 'replace' changes the current one. */
  navigate?: (hash: string, mode: 'push' | 'replace') => void
}

export const columnsKey = (experimentId: number) => `hypercube.runs.columns.${experimentId}`
export const selectionKey = (experimentId: number) => `hypercube.compare.selection.${experimentId}`
export const widthsKey = (experimentId: number) => `hypercube.runs.widths.${experimentId}`
const isWidths = (value: unknown): value is Record<string, number> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((width) => typeof width === 'number')
const DEFAULT_COLUMNS_PER_KIND = 4
/** Rows of an experiment's first screen, loaded before the rest (a few screens' worth). */
export const FIRST_SCREEN_ROWS = 200

type Slice<T> = StateCreator<RunsTableState, [], [], T>

const createRowsSlice =
  (deps: RunsTableDeps): Slice<RowsSlice> =>
  (set, get) => {
    const { api, storage } = deps
    // A load that finishes after a newer one started is dropped (fast typing, fast navigation).
    let generation = 0
    const fetchRows = async (experimentId: number, filter: string, deleted: boolean): Promise<RunRow[]> =>
      filter === '' ? call(api, 'runs.list', { experimentId, deleted }) : call(api, 'runs.search', { experimentId, filter, deleted })

    /**
     * Loads the rows. `firstScreen`: an experiment opened afresh in the server's own order (no
     * filter, sort, grouping or name search) shows its newest FIRST_SCREEN_ROWS at once, then
     * all of them — those rows are the top of the full table, so nothing moves when the rest
     * arrive. Reading and sending 10,000 runs takes most of a second; a screenful, milliseconds.
     */
    const load = async (experimentId: number, filter: string, firstScreen = false): Promise<void> => {
      const mine = ++generation
      set({ loading: true })
      try {
        const deleted = get().showDeleted
        if (firstScreen) {
          const first = await call(api, 'runs.list', { experimentId, deleted, limit: FIRST_SCREEN_ROWS })
          if (mine !== generation) return
          const complete = first.length < FIRST_SCREEN_ROWS
          set({ rows: first, loading: !complete, loadingRest: !complete, rowsError: null, appliedFilter: filter, filterError: null })
          if (complete) return
        }
        const rows = await fetchRows(experimentId, filter, deleted)
        if (mine !== generation) return
        set({ rows, loading: false, loadingRest: false, rowsError: null, appliedFilter: filter, filterError: null })
      } catch (error) {
        if (mine !== generation) return
        set({ loadingRest: false })
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
    const rememberedWidths = (experimentId: number): Record<string, number> => readJson(storage, widthsKey(experimentId), isWidths, {})

    return {
      experimentId: null,
      rows: [],
      loading: false,
      loadingRest: false,
      rowsError: null,
      showDeleted: false,
      nameQuery: '',
      setShowDeleted: async (showDeleted) => {
        if (showDeleted === get().showDeleted) return
        set({ showDeleted, rows: [] })
        publish(deps, get(), 'push')
        await get().reload()
      },
      setNameQuery: (nameQuery) => {
        set({ nameQuery })
        publish(deps, get(), 'replace')
      },
      open: async (experimentId, url = null, reload = true) => {
        const before = get()
        const sameExperiment = before.experimentId === experimentId
        const filter = url ? url.filter.trim() : sameExperiment ? before.appliedFilter : ''
        const showDeleted = url ? url.deleted === true : sameExperiment && before.showDeleted
        const viewChanged = showDeleted !== before.showDeleted
        const patch: Partial<RunsTableState> = sameExperiment ? {} : { experimentId, rows: [], rowsError: null, appliedFilter: '', filterError: null }
        // The filter box keeps what the user is typing unless the address names another filter.
        if (!sameExperiment || filter !== before.appliedFilter) Object.assign(patch, { filterText: filter, filterError: null })
        if (url) {
          if (url.selected !== null) writeJson(storage, selectionKey(experimentId), url.selected) // the compare view reads it there
          Object.assign(patch, {
            sorting: url.sort,
            chosenColumns: url.columns ?? rememberedColumns(experimentId),
            selected: url.selected ?? rememberedSelection(experimentId),
            columnWidths: url.widths ?? rememberedWidths(experimentId),
            nameQuery: url.nameQuery ?? '',
            showDeleted,
            ...((url.group ?? null) !== before.groupBy ? { groupBy: url.group ?? null, collapsedGroups: [] } : {})
          })
        } else if (!sameExperiment) {
          Object.assign(patch, { sorting: [], chosenColumns: rememberedColumns(experimentId), selected: rememberedSelection(experimentId), groupBy: null, collapsedGroups: [] })
          Object.assign(patch, { columnWidths: rememberedWidths(experimentId), nameQuery: '', showDeleted: false })
        } else {
          patch.selected = rememberedSelection(experimentId)
        }
        if (viewChanged) patch.rows = []
        set(patch)
        if (reload || !sameExperiment || filter !== before.appliedFilter || viewChanged) {
          const state = get()
          const serverOrder = filter === '' && state.sorting.length === 0 && state.groupBy === null && state.nameQuery.trim() === ''
          await load(experimentId, filter, serverOrder && state.rows.length === 0)
        }
      },
      reload: async () => {
        const { experimentId, appliedFilter } = get()
        if (experimentId !== null) await load(experimentId, appliedFilter)
      },
      refreshRows: async (runIds) => {
        const { experimentId, appliedFilter, showDeleted } = get()
        if (experimentId === null || runIds.length === 0) return
        // Whether a changed run still matches a filter is the server's call: search again.
        if (appliedFilter !== '' || runIds.length > 200) return load(experimentId, appliedFilter)
        try {
          // Only runs in the state shown (active, or deleted): a run deleted or restored elsewhere leaves this view.
          const fresh = (await call(api, 'runs.rows', { runIds, deleted: showDeleted })).filter((row) => row.experimentId === experimentId)
          if (get().experimentId !== experimentId || get().appliedFilter !== '' || get().showDeleted !== showDeleted) return
          const byId = new Map(fresh.map((row) => [row.id, row]))
          const asked = new Set(runIds)
          const rows = get().rows.flatMap((row) => byId.get(row.id) ?? (asked.has(row.id) ? [] : [row]))
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
export function tableUrlState(
  state: Pick<RunsTableState, 'appliedFilter' | 'sorting' | 'chosenColumns' | 'selected'> &
    Partial<Pick<RunsTableState, 'groupBy' | 'columnWidths' | 'nameQuery' | 'showDeleted'>>
): RunsTableUrlState {
  return {
    filter: state.appliedFilter,
    sort: state.sorting,
    columns: state.chosenColumns,
    selected: state.selected.length > 0 ? state.selected : null,
    ...(state.groupBy ? { group: state.groupBy } : {}),
    ...(state.columnWidths && Object.keys(state.columnWidths).length > 0 ? { widths: state.columnWidths } : {}),
    ...(state.nameQuery ? { nameQuery: state.nameQuery } : {}),
    ...(state.showDeleted ? { deleted: true } : {})
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
  (set, get) => {
    const choose = (chosen: string[]): void => {
      const { experimentId } = get()
      set({ chosenColumns: chosen })
      if (experimentId !== null) writeJson(deps.storage, columnsKey(experimentId), chosen)
      publish(deps, get(), 'push')
    }
    return {
      chosenColumns: null,
      columnWidths: {},
      toggleColumn: (columnId, available) => {
        const current = get().chosenColumns ?? defaultColumns(available)
        choose(current.includes(columnId) ? current.filter((id) => id !== columnId) : [...current, columnId])
      },
      moveColumn: (columnId, offset, available) => {
        const current = get().chosenColumns ?? defaultColumns(available)
        const from = current.indexOf(columnId)
        const to = Math.max(0, Math.min(current.length - 1, from + offset))
        if (from < 0 || to === from) return
        const chosen = current.filter((id) => id !== columnId)
        chosen.splice(to, 0, columnId)
        choose(chosen)
      },
      placeColumn: (columnId, beforeId, available) => {
        const current = get().chosenColumns ?? defaultColumns(available)
        if (!current.includes(columnId) || columnId === beforeId) return
        const chosen = current.filter((id) => id !== columnId)
        const at = beforeId === null ? -1 : chosen.indexOf(beforeId)
        chosen.splice(at < 0 ? chosen.length : at, 0, columnId)
        if (chosen.every((id, index) => id === current[index])) return
        choose(chosen)
      },
      setColumnWidth: (columnId, width, done) => {
        const columnWidths = { ...get().columnWidths, [columnId]: Math.round(Math.max(MIN_COLUMN_WIDTH, Math.min(MAX_COLUMN_WIDTH, width))) }
        set({ columnWidths })
        if (!done) return
        const { experimentId } = get()
        if (experimentId !== null) writeJson(deps.storage, widthsKey(experimentId), columnWidths)
        publish(deps, get(), 'replace')
      }
    }
  }

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
    ...createGroupingSlice(() => publish(deps, args[1](), 'push'))(args[0], args[1]),
    ...createBulkSlice<RunsTableState>(deps.api)(...args)
  }))
}

export type RunsTableStore = ReturnType<typeof createRunsTableStore>

/** Param, metric and tag column ids found in the rows (metrics logged or reported as final), params first, each kind sorted. */
export function availableColumns(rows: readonly RunRow[]): string[] {
  const params = new Set<string>()
  const tags = new Set<string>()
  for (const row of rows) {
    for (const key in row.hyperparameters) params.add(key)
    for (const key in row.tags) tags.add(key)
  }
  return [
    ...[...params].sort().map((key) => `params.${key}`),
    ...runMetricKeys(rows).map((key) => `metrics.${key}`),
    ...[...tags].sort().map((key) => `tags.${key}`)
  ]
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
