import { useMemo, type CSSProperties } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { RunRow } from '../../../shared/contract'
import { groupByOptions, groupRuns, type RunGroup } from '../lib/run-groups'
import { useRunsTable } from '../stores'

/**
 * Grouping in the runs table: the "Group by" control, and the rows the table lays out — a
 * header row per group (its value, colour and run count, folding its runs) followed by its runs
 * in the table's sort order. Without grouping the rows are the table's rows as they are.
 */

export type TableItem<R> = { kind: 'group'; group: RunGroup; collapsed: boolean } | { kind: 'row'; row: R }

export function useGroupedRows<R extends { original: RunRow }>(rows: R[]): TableItem<R>[] {
  const { groupBy, collapsedGroups } = useRunsTable(useShallow((state) => ({ groupBy: state.groupBy, collapsedGroups: state.collapsedGroups })))
  return useMemo(() => {
    if (!groupBy) return rows.map((row) => ({ kind: 'row', row }))
    const byId = new Map(rows.map((row) => [row.original.id, row]))
    const collapsed = new Set(collapsedGroups)
    const items: TableItem<R>[] = []
    for (const group of groupRuns(
      rows.map((row) => row.original),
      groupBy
    )) {
      const folded = collapsed.has(group.key)
      items.push({ kind: 'group', group, collapsed: folded })
      if (!folded) for (const runId of group.runIds) items.push({ kind: 'row', row: byId.get(runId)! })
    }
    return items
  }, [rows, groupBy, collapsedGroups])
}

export function GroupHeaderRow({ group, collapsed, groupBy, style }: { group: RunGroup; collapsed: boolean; groupBy: string; style: CSSProperties }): React.JSX.Element {
  const toggle = useRunsTable((state) => state.toggleGroupCollapsed)
  const count = group.runIds.length
  return (
    <div role="row" className="tr group-row" data-group={group.key} style={style}>
      <div role="cell" className="td group-cell">
        <button type="button" className="group-toggle" aria-expanded={!collapsed} onClick={() => toggle(group.key)}>
          <span aria-hidden="true">{collapsed ? '▸' : '▾'}</span>
          <span className="group-swatch" style={{ background: group.color }} aria-hidden="true" />
          <span className="group-label">
            {groupBy} = {group.label}
          </span>
        </button>{' '}
        <span className="group-count" data-testid="group-count">
          {count} run{count === 1 ? '' : 's'}
        </span>
      </div>
    </div>
  )
}

/** The "Group by" choice: any param or tag of the shown runs. */
export function GroupByControl({ rows }: { rows: readonly RunRow[] }): React.JSX.Element {
  const { groupBy, setGroupBy } = useRunsTable(useShallow((state) => ({ groupBy: state.groupBy, setGroupBy: state.setGroupBy })))
  const options = useMemo(() => groupByOptions(rows), [rows])
  // A group-by from the address that no shown run has still shows as chosen.
  const shown = groupBy && !options.includes(groupBy) ? [groupBy, ...options] : options
  return (
    <label className="group-by">
      Group by{' '}
      <select aria-label="group by" value={groupBy ?? ''} onChange={(event) => setGroupBy(event.target.value === '' ? null : event.target.value)}>
        <option value="">none</option>
        {shown.map((id) => (
          <option key={id} value={id}>
            {id}
          </option>
        ))}
      </select>
    </label>
  )
}
