import { flexRender, getCoreRowModel, getSortedRowModel, useReactTable, type SortingState, type Updater } from '@tanstack/react-table'
import { useVirtualizer } from '@tanstack/react-virtual'
import { useEffect, useMemo, useRef, type CSSProperties } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { ApiInfo } from '../../../shared/contract'
import { useKeyedValue } from '../lib/use-keyed-value'
import { availableColumns, visibleColumns } from '../stores/runs-table-store'
import { useRunsTable } from '../stores'
import { EMPTY_TABLE_URL_STATE, routeHash, type RunsTableUrlState } from '../stores/app-store'
import { MAX_COMPARE } from '../stores/compare-store'
import { buildColumns, COLUMN_WIDTHS, DATA_COLUMN_WIDTH, PINNED_COLUMNS, type RunsTableMeta } from './run-columns'
import { EmptyState, ErrorNote, LogFromScript, Progress } from './common'
import { FilterBar } from './FilterBar'
import { GroupByControl, GroupHeaderRow, useGroupedRows } from './run-group-rows'

const ROW_HEIGHT = 34

export function RunsTableView({
  experimentId,
  apiInfo,
  urlState = EMPTY_TABLE_URL_STATE
}: {
  experimentId: number
  apiInfo: ApiInfo | null
  /** The filter, sort, columns and selection the address names. */
  urlState?: RunsTableUrlState
}): React.JSX.Element {
  const { rows, loading, rowsError, appliedFilter, open, experimentIdShown } = useRunsTable(
    useShallow((state) => ({
      rows: state.rows,
      loading: state.loading,
      rowsError: state.rowsError,
      appliedFilter: state.appliedFilter,
      open: state.open,
      experimentIdShown: state.experimentId
    }))
  )
  const { sorting, setSorting, chosenColumns, toggleColumn, selected, toggleSelected, setSelected } = useRunsTable(
    useShallow((state) => ({
      sorting: state.sorting,
      setSorting: state.setSorting,
      chosenColumns: state.chosenColumns,
      toggleColumn: state.toggleColumn,
      selected: state.selected,
      toggleSelected: state.toggleSelected,
      setSelected: state.setSelected
    }))
  )

  // The address drives the table: on arrival (rows loaded afresh, as before) and on every
  // change of it (back/forward, a pasted link; rows loaded again only for another filter).
  const urlKey = JSON.stringify(urlState)
  const shownFor = useRef<number | null>(null)
  useEffect(() => {
    const arrived = shownFor.current !== experimentId
    shownFor.current = experimentId
    void open(experimentId, JSON.parse(urlKey) as RunsTableUrlState, arrived)
  }, [experimentId, urlKey, open])

  const available = useMemo(() => availableColumns(rows), [rows])
  // Keyed by the column names, not the array: a live refresh of the rows yields a new but
  // equal list, and rebuilding the column definitions for it would redraw the whole table.
  const visible = visibleColumns(chosenColumns, available)
  const shownColumns = useKeyedValue(visible, JSON.stringify(visible))
  const selectedSet = useMemo(() => new Set(selected), [selected])
  const columns = useMemo(() => buildColumns(shownColumns), [shownColumns])
  const meta: RunsTableMeta = useMemo(() => ({ selected: selectedSet, toggleSelected }), [selectedSet, toggleSelected])

  const table = useReactTable({
    data: rows,
    columns,
    meta,
    state: { sorting },
    onSortingChange: (updater: Updater<SortingState>) => setSorting(typeof updater === 'function' ? updater(sorting) : updater),
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getRowId: (row) => String(row.id),
    enableMultiSort: true,
    // First click sorts ascending for every column (TanStack's default is descending for numbers).
    sortDescFirst: false
  })
  const tableRows = table.getRowModel().rows
  const items = useGroupedRows(tableRows)
  const groupBy = useRunsTable((state) => state.groupBy)

  const scrollRef = useRef<HTMLDivElement>(null)
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12
  })
  const widthOf = (id: string): number => COLUMN_WIDTHS[id] ?? DATA_COLUMN_WIDTH
  const cellStyle = (id: string): CSSProperties => (id in PINNED_COLUMNS ? { width: widthOf(id), left: PINNED_COLUMNS[id] } : { width: widthOf(id) })
  const pinnedClass = (id: string): string => (id === 'name' ? ' pinned pinned-last' : id in PINNED_COLUMNS ? ' pinned' : '')
  const totalWidth = table.getVisibleLeafColumns().reduce((sum, column) => sum + widthOf(column.id), 0)
  const loadedThisExperiment = experimentIdShown === experimentId

  return (
    <section className="runs">
      <FilterBar />
      <div className="table-toolbar">
        <span data-testid="run-count">
          {tableRows.length.toLocaleString()} run{tableRows.length === 1 ? '' : 's'}
          {appliedFilter && ' matching the filter'}
        </span>
        {selected.length > 0 && (
          <span className="selection" data-testid="selection">
            {selected.length} selected for comparison{' '}
            {selected.length >= 2 && (
              // The compare view takes the first MAX_COMPARE of the selection: the link says so.
              <a className="button-link" href={routeHash({ page: 'compare', experimentId })}>
                {selected.length > MAX_COMPARE
                  ? `Compare first ${MAX_COMPARE.toLocaleString()} of ${selected.length.toLocaleString()} selected`
                  : `Compare ${selected.length}`}
              </a>
            )}{' '}
            <button type="button" onClick={() => setSelected([])}>
              Clear
            </button>
          </span>
        )}
        <GroupByControl rows={rows} />
        <details className="column-picker">
          <summary>Columns</summary>
          <div className="column-picker-menu" role="group" aria-label="columns">
            {available.length === 0 && <p className="subtle">No params or metrics logged yet.</p>}
            {available.map((id) => (
              <label key={id}>
                <input type="checkbox" checked={shownColumns.includes(id)} onChange={() => toggleColumn(id, available)} /> {id}
              </label>
            ))}
          </div>
        </details>
      </div>
      <ErrorNote error={rowsError} title="Cannot load runs" />
      {loading && <Progress label={appliedFilter ? 'Searching runs…' : 'Loading runs…'} />}
      {loadedThisExperiment && !loading && rows.length === 0 && !rowsError && (
        appliedFilter ? (
          <EmptyState title="No run matches the filter">
            <p>Change the filter above, or clear it to see every run.</p>
          </EmptyState>
        ) : (
          <EmptyState title="No runs in this experiment yet">
            <LogFromScript apiInfo={apiInfo} experimentId={experimentId} />
          </EmptyState>
        )
      )}
      {rows.length > 0 && (
        <div className="table-scroll" ref={scrollRef} role="table" aria-label="runs" aria-rowcount={tableRows.length}>
          <div className="thead" role="rowgroup" style={{ width: totalWidth }}>
            {table.getHeaderGroups().map((group) => (
              <div className="tr" role="row" key={group.id}>
                {group.headers.map((header) => {
                  const sorted = header.column.getIsSorted()
                  const id = header.column.id
                  return (
                    <div
                      key={header.id}
                      role="columnheader"
                      className={`th${pinnedClass(id)}`}
                      style={cellStyle(id)}
                      aria-sort={header.column.getCanSort() ? (sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none') : undefined}
                    >
                      {id === 'select' ? (
                        <input
                          type="checkbox"
                          aria-label="select every shown run"
                          checked={tableRows.length > 0 && selected.length >= tableRows.length && tableRows.every((row) => selectedSet.has(row.original.id))}
                          onChange={(event) => setSelected(event.target.checked ? tableRows.map((row) => row.original.id) : [])}
                        />
                      ) : header.column.getCanSort() ? (
                        // A button, so sorting is reached by Tab and done by Enter or Space (shift adds a sort term).
                        <button type="button" className="sort-button" title={`Sort by ${id} (shift-click to add)`} onClick={header.column.getToggleSortingHandler()}>
                          {flexRender(header.column.columnDef.header, header.getContext())}
                          {sorted && (
                            <span className="sort-mark" aria-hidden="true">
                              {sorted === 'asc' ? ' ▲' : ' ▼'}
                            </span>
                          )}
                        </button>
                      ) : (
                        flexRender(header.column.columnDef.header, header.getContext())
                      )}
                    </div>
                  )
                })}
              </div>
            ))}
          </div>
          <div className="tbody" role="rowgroup" style={{ height: virtualizer.getTotalSize(), width: totalWidth }}>
            {virtualizer.getVirtualItems().map((item) => {
              const entry = items[item.index]!
              if (entry.kind === 'group') {
                const style = { transform: `translateY(${item.start}px)`, height: ROW_HEIGHT, width: totalWidth }
                return <GroupHeaderRow key={`group:${entry.group.key}`} group={entry.group} collapsed={entry.collapsed} groupBy={groupBy ?? ''} style={style} />
              }
              const row = entry.row
              return (
                <div
                  key={row.id}
                  role="row"
                  aria-rowindex={item.index + 1}
                  data-run-id={row.original.id}
                  className={`tr${selectedSet.has(row.original.id) ? ' selected' : ''}`}
                  style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
                >
                  {row.getVisibleCells().map((cell) => (
                    <div key={cell.id} role="cell" className={`td${pinnedClass(cell.column.id)}`} style={cellStyle(cell.column.id)}>
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </div>
                  ))}
                </div>
              )
            })}
          </div>
        </div>
      )}
    </section>
  )
}
