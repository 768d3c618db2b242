import type { ColumnDef, Row } from '@tanstack/react-table'
import type { RunRow } from '../../../shared/contract'
import type { JsonValue } from '../../../shared/domain'
import { durationMs, formatDateTime, formatDuration, formatJsonValue, formatNumber } from '../lib/format'
import { routeHash } from '../stores/app-store'
import { StatusBadge } from './common'

/** Column definitions of the runs table: fixed ones, then the user's params and metrics. */

export function metricValue(row: RunRow, key: string): number | undefined {
  for (const metric of row.metrics) if (metric.key === key) return metric.lastValue
  return undefined
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

export function buildColumns(chosen: readonly string[], selected: ReadonlySet<number>, toggleSelected: (runId: number) => void): ColumnDef<RunRow, unknown>[] {
  const columns: ColumnDef<RunRow, unknown>[] = [
    {
      id: 'select',
      header: '',
      enableSorting: false,
      cell: ({ row }) => (
        <input
          type="checkbox"
          aria-label={`select ${row.original.name} for comparison`}
          checked={selected.has(row.original.id)}
          onChange={() => toggleSelected(row.original.id)}
        />
      )
    },
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
        accessorFn: (row) => metricValue(row, key),
        sortingFn: sortByValue,
        sortUndefined: 'last',
        cell: ({ getValue }) => <span className="num">{formatNumber(getValue() as number | undefined)}</span>
      })
    }
  }
  return columns
}
