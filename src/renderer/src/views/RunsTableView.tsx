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
import { buildColumns, COLUMN_WIDTHS, DATA_COLUMN_WIDTH, isMovableColumn, PINNED_COLUMN_IDS, pinnedOffsets, type RunsTableMeta } from './run-columns'
import { runsToCsv, runsToJson, type ExportColumn } from '../lib/runs-export'
import { BulkActions, ColumnPicker, NameSearch, ShowDeletedToggle } from './RunsTableTools'
import { downloadBlob } from './chart-export'
import { ColumnResizer, useColumnDrag } from './runs-table-header'
import './runs-table.css'
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
  const { rows, loading, loadingRest, rowsError, appliedFilter, open, experimentIdShown } = useRunsTable(
    useShallow((state) => ({
      rows: state.rows,
      loading: state.loading,
      loadingRest: state.loadingRest,
      rowsError: state.rowsError,
      appliedFilter: state.appliedFilter,
      open: state.open,
      experimentIdShown: state.experimentId
    }))
  )
  const { sorting, setSorting, chosenColumns, selected, toggleSelected, setSelected } = useRunsTable(
    useShallow((state) => ({
      sorting: state.sorting,
      setSorting: state.setSorting,
      chosenColumns: state.chosenColumns,
      selected: state.selected,
      toggleSelected: state.toggleSelected,
      setSelected: state.setSelected
    }))
  )
  const { nameQuery, showDeleted, columnWidths, setColumnWidth, placeColumn, loadKeys } = useRunsTable(
    useShallow((state) => ({
      nameQuery: state.nameQuery,
      showDeleted: state.showDeleted,
      columnWidths: state.columnWidths,
      setColumnWidth: state.setColumnWidth,
      placeColumn: state.placeColumn,
      loadKeys: state.loadKeys
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
  const loadedThisExperiment = experimentIdShown === experimentId
  // The filter box completes and checks keys of this experiment's runs.
  useEffect(() => {
    if (loadedThisExperiment) void loadKeys()
  }, [loadedThisExperiment, loadKeys])

  const available = useMemo(() => availableColumns(rows), [rows])
  // Keyed by the column names, not the array: a live refresh of the rows yields a new but
  // equal list, and rebuilding the column definitions for it would redraw the whole table.
  const visible = visibleColumns(chosenColumns, available)
  const shownColumns = useKeyedValue(visible, JSON.stringify(visible))
  const selectedSet = useMemo(() => new Set(selected), [selected])
  const columns = useMemo(() => buildColumns(shownColumns), [shownColumns])
  const meta: RunsTableMeta = useMemo(() => ({ selected: selectedSet, toggleSelected }), [selectedSet, toggleSelected])

  // The run-name search narrows the rows the filter loaded (case-insensitive, anywhere in the name).
  const shownRows = useMemo(() => {
    const needle = nameQuery.trim().toLowerCase()
    return needle === '' ? rows : rows.filter((row) => row.name.toLowerCase().includes(needle))
  }, [rows, nameQuery])

  const table = useReactTable({
    data: shownRows,
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
  const widthOf = (id: string): number => columnWidths[id] ?? COLUMN_WIDTHS[id] ?? DATA_COLUMN_WIDTH
  const pinned = pinnedOffsets(widthOf)
  const cellStyle = (id: string): CSSProperties => (id in pinned ? { width: widthOf(id), left: pinned[id] } : { width: widthOf(id) })
  const pinnedClass = (id: string): string => (id === 'name' ? ' pinned pinned-last' : PINNED_COLUMN_IDS.includes(id) ? ' pinned' : '')
  const totalWidth = table.getVisibleLeafColumns().reduce((sum, column) => sum + widthOf(column.id), 0)

  const headerRef = useRef<HTMLDivElement>(null)
  // The movable header under the pointer, and whether the pointer is on its right half.
  const dropTarget = (x: number): { id: string; after: boolean; nextId: string | null } | null => {
    const headers = [...(headerRef.current?.querySelectorAll<HTMLElement>('[data-column-id]') ?? [])].filter((element) => isMovableColumn(element.dataset.columnId!))
    for (let i = 0; i < headers.length; i++) {
      const box = headers[i]!.getBoundingClientRect()
      const last = i === headers.length - 1
      if ((x >= box.left || i === 0) && (x < box.right || last)) {
        return { id: headers[i]!.dataset.columnId!, after: x > box.left + box.width / 2, nextId: last ? null : headers[i + 1]!.dataset.columnId! }
      }
    }
    return null
  }
  const drag = useColumnDrag(dropTarget, (id, beforeId) => placeColumn(id, beforeId, available))

  const exportColumns = (): ExportColumn[] =>
    table
      .getVisibleLeafColumns()
      .filter((column) => column.id !== 'select')
      .map((column) => ({
        id: column.id === 'duration' ? 'duration_ms' : column.id,
        value: (index: number) => tableRows[index]!.getValue(column.id)
      }))
  // Select all and export mean every run: they wait while only the first screen is loaded.
  const waitForAll = loadingRest ? 'waiting for the rest of the runs to load' : undefined
  const exportAs = (format: 'csv' | 'json'): void => {
    const fileName = `experiment-${experimentId}-${showDeleted ? 'deleted-' : ''}runs.${format}`
    if (format === 'csv') downloadBlob(fileName, new Blob([runsToCsv(exportColumns(), tableRows.length)], { type: 'text/csv;charset=utf-8' }))
    else downloadBlob(fileName, new Blob([runsToJson(exportColumns(), tableRows.length)], { type: 'application/json' }))
  }

  return (
    <section className="runs">
      <FilterBar />
      <div className="table-toolbar">
        <span data-testid="run-count">
          {loadingRest && 'the newest '}
          {tableRows.length.toLocaleString()} {showDeleted ? 'deleted ' : ''}run{tableRows.length === 1 ? '' : 's'}
          {loadingRest && ' so far'}
          {appliedFilter && ' matching the filter'}
          {nameQuery.trim() !== '' && ` named like “${nameQuery.trim()}”`}
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
        <BulkActions />
        <GroupByControl rows={rows} />
        <ColumnPicker available={available} shown={shownColumns} />
      </div>
      <div className="table-toolbar table-tools">
        <NameSearch />
        <ShowDeletedToggle />
        <span className="export-buttons" role="group" aria-label="export">
          <button type="button" disabled={tableRows.length === 0 || loadingRest} title={waitForAll} onClick={() => exportAs('csv')}>
            Export CSV
          </button>
          <button type="button" disabled={tableRows.length === 0 || loadingRest} title={waitForAll} onClick={() => exportAs('json')}>
            Export JSON
          </button>
        </span>
      </div>
      <ErrorNote error={rowsError} title="Cannot load runs" />
      {loading && <Progress label={appliedFilter ? 'Searching runs…' : loadingRest ? 'Loading the rest of the runs…' : 'Loading runs…'} />}
      {loadedThisExperiment && !loading && rows.length === 0 && !rowsError && (
        showDeleted ? (
          <EmptyState title={appliedFilter ? 'No deleted run matches the filter' : 'No deleted runs in this experiment'}>
            <p>Runs deleted from the table wait here until they are restored.</p>
          </EmptyState>
        ) : appliedFilter ? (
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
          <div className="thead" role="rowgroup" style={{ width: totalWidth }} ref={headerRef}>
            {table.getHeaderGroups().map((group) => (
              <div className="tr" role="row" key={group.id}>
                {group.headers.map((header) => {
                  const sorted = header.column.getIsSorted()
                  const id = header.column.id
                  const movable = isMovableColumn(id)
                  const dragged = drag.dragging?.id === id
                  return (
                    <div
                      key={header.id}
                      role="columnheader"
                      data-column-id={id}
                      className={`th${pinnedClass(id)}${movable ? ' movable' : ''}${dragged ? ' dragging' : ''}`}
                      style={cellStyle(id)}
                      aria-sort={header.column.getCanSort() ? (sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none') : undefined}
                      {...(movable ? drag.handlers(id) : {})}
                    >
                      {id === 'select' ? (
                        <input
                          type="checkbox"
                          aria-label="select every shown run"
                          disabled={loadingRest}
                          title={waitForAll}
                          checked={tableRows.length > 0 && selected.length >= tableRows.length && tableRows.every((row) => selectedSet.has(row.original.id))}
                          onChange={(event) => setSelected(event.target.checked ? tableRows.map((row) => row.original.id) : [])}
                        />
                      ) : header.column.getCanSort() ? (
                        // A button, so sorting is reached by Tab and done by Enter or Space (shift adds a sort term).
                        <button
                          type="button"
                          className="sort-button"
                          title={`Sort by ${id} (shift-click to add; Alt+← / Alt+→ resizes)`}
                          aria-keyshortcuts="Alt+ArrowLeft Alt+ArrowRight"
                          onClick={header.column.getToggleSortingHandler()}
                          onKeyDown={(event) => {
                            // The keyboard's way to resize: the header edges are out of the Tab order.
                            if (!event.altKey || (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight')) return
                            event.preventDefault()
                            setColumnWidth(id, widthOf(id) + (event.key === 'ArrowRight' ? 10 : -10), true)
                          }}
                        >
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
                      {id !== 'select' && (
                        <ColumnResizer label={id} width={widthOf(id)} onResize={(width, done) => setColumnWidth(id, width, done)} />
                      )}
                    </div>
                  )
                })}
              </div>
            ))}
          </div>
          <div
            className="tbody"
            role="rowgroup"
            style={{ height: virtualizer.getTotalSize(), width: totalWidth }}
            // A cell whose text is cut off shows all of it on hover (and only such a cell has a title).
            onMouseOver={(event) => showFullTextIfTruncated(event.target)}
          >
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

/** Gives a truncated cell a title with its whole text; a cell that fits gets none. */
function showFullTextIfTruncated(target: EventTarget): void {
  const cell = target instanceof Element ? target.closest<HTMLElement>('[role="cell"]') : null
  if (!cell) return
  const truncated = cell.scrollWidth > cell.clientWidth + 1
  const text = cell.textContent ?? ''
  if (truncated && text !== '') cell.title = text
  else cell.removeAttribute('title')
}
