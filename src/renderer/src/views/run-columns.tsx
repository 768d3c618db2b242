import type { CellContext, ColumnDef, Row } from '@tanstack/react-table'
import type { RunRow } from '../../../shared/contract'
import type { JsonValue } from '../../../shared/domain'
import { durationMs, formatDateTime, formatDuration, formatJsonValue, formatNumber } from '../lib/format'
import { runMetricValue } from '../lib/run-metrics'
import { routeHash } from '../stores/app-store'
import { StatusBadge } from './common'

/** Column definitions of the runs table: fixed ones, then the user's params, metrics and tags in the order chosen. */

/** What the select column reads from the table (its `meta`), so the columns need not change when the selection does. */
export interface RunsTableMeta {
  selected: ReadonlySet<number>
  toggleSelected: (runId: number) => void
}

/**
 * The row's checkbox. A component of its own, the same from render to render: were it a new
 * function per selection, React would remount it on every tick and focus would drop to <body>.
 */
function SelectCell({ row, table }: CellContext<RunRow, unknown>): React.JSX.Element {
  const { selected, toggleSelected } = table.options.meta as RunsTableMeta
  return (
    <input
      type="checkbox"
      aria-label={`select ${row.original.name} for comparison`}
      checked={selected.has(row.original.id)}
      onChange={() => toggleSelected(row.original.id)}
    />
  )
}

/** Sorts numbers as numbers, text as text, and puts runs without a value last either way. */
function compareValues(a: unknown, b: unknown): number {
  const aMissing = a === undefined || a === null || (typeof a === 'number' && Number.isNaN(a))
  const bMissing = b === undefined || b === null || (typeof b === 'number' && Number.isNaN(b))
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(typeof a === 'object' ? JSON.stringify(a) : a).localeCompare(String(typeof b === 'object' ? JSON.stringify(b) : b), undefined, { numeric: true })
}

const sortByValue = (rowA: Row<RunRow>, rowB: Row<RunRow>, columnId: string): number => compareValues(rowA.getValue(columnId), rowB.getValue(columnId))

export const COLUMN_WIDTHS: Record<string, number> = { select: 44, status: 120, name: 240, startedAt: 180, duration: 100 }
export const DATA_COLUMN_WIDTH = 130

/** Columns that stay in view when the table scrolls sideways: the run's name, and what is left of it. */
export const PINNED_COLUMN_IDS: readonly string[] = ['select', 'status', 'name']

/** The pinned columns' left offsets for these widths (a resized status or name column moves the ones after it). */
export function pinnedOffsets(widthOf: (id: string) => number): Record<string, number> {
  const offsets: Record<string, number> = {}
  let left = 0
  for (const id of PINNED_COLUMN_IDS) {
    offsets[id] = left
    left += widthOf(id)
  }
  return offsets
}

/** The columns a user may drag to another place: the chosen param, metric and tag columns. */
export const isMovableColumn = (id: string): boolean => /^(params|metrics|tags)\./.test(id)

export function buildColumns(chosen: readonly string[]): ColumnDef<RunRow, unknown>[] {
  const columns: ColumnDef<RunRow, unknown>[] = [
    { id: 'select', header: '', enableSorting: false, cell: SelectCell },
    { id: 'status', header: 'Status', accessorFn: (row) => row.status, cell: ({ row }) => <StatusBadge status={row.original.status} /> },
    {
      id: 'name',
      header: 'Name',
      accessorFn: (row) => row.name,
      sortingFn: sortByValue,
      cell: ({ row }) => <a href={routeHash({ page: 'run', runId: row.original.id })}>{row.original.name}</a>
    },
    {
      id: 'startedAt',
      header: 'Started',
      accessorFn: (row) => row.startedAt ?? row.createdAt,
      sortingFn: sortByValue,
      cell: ({ row }) => formatDateTime(row.original.startedAt ?? row.original.createdAt)
    },
    {
      id: 'duration',
      header: 'Duration',
      accessorFn: (row) => durationMs(row.startedAt, row.completedAt),
      sortingFn: sortByValue,
      cell: ({ getValue }) => formatDuration(getValue() as number | null)
    }
  ]
  for (const id of chosen) {
    if (id.startsWith('params.')) {
      const key = id.slice('params.'.length)
      columns.push({
        id,
        header: key,
        accessorFn: (row) => row.hyperparameters[key] as JsonValue | undefined,
        sortingFn: sortByValue,
        sortUndefined: 'last',
        cell: ({ getValue }) => formatJsonValue(getValue())
      })
    } else if (id.startsWith('metrics.')) {
      const key = id.slice('metrics.'.length)
      columns.push({
        id,
        header: key,
        // The final value, else the latest logged one (lib/run-metrics.ts): what the filter compares.
        accessorFn: (row) => runMetricValue(row, key),
        sortingFn: sortByValue,
        sortUndefined: 'last',
        cell: ({ getValue }) => <span className="num">{formatNumber(getValue() as number | undefined)}</span>
      })
    } else if (id.startsWith('tags.')) {
      const key = id.slice('tags.'.length)
      columns.push({
        id,
        header: key,
        accessorFn: (row) => (Object.hasOwn(row.tags, key) ? row.tags[key] : undefined),
        sortingFn: sortByValue,
        sortUndefined: 'last',
        cell: ({ getValue }) => formatJsonValue(getValue())
      })
    }
  }
  return columns
}
