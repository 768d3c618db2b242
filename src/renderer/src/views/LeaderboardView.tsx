import { useEffect, useMemo } from 'react'
import { useShallow } from 'zustand/react/shallow'
import { formatJsonValue, formatNumber } from '../lib/format'
import { runMetricKeys } from '../lib/run-metrics'
import { routeHash } from '../stores/app-store'
import { useLeaderboard, useRunsTable } from '../stores'
import { EmptyState, ErrorNote, Progress, StatusBadge } from './common'

export function LeaderboardView({ experimentId }: { experimentId: number }): React.JSX.Element {
  const rows = useRunsTable((state) => (state.experimentId === experimentId ? state.rows : null))
  const appliedFilter = useRunsTable((state) => state.appliedFilter)
  const openRuns = useRunsTable((state) => state.open)
  const { metricKey, direction, entries, loading, error, show, shownExperiment } = useLeaderboard(
    useShallow((state) => ({
      metricKey: state.metricKey,
      direction: state.direction,
      entries: state.entries,
      loading: state.loading,
      error: state.error,
      show: state.show,
      shownExperiment: state.experimentId
    }))
  )

  useEffect(() => {
    // The metric keys come from the runs (the runs table's rows, shared with this tab).
    if (rows === null) void openRuns(experimentId)
  }, [rows, experimentId, openRuns])

  // Logged and final metrics alike: the ranking takes a run's final value when it reported one.
  const metricKeys = useMemo(() => runMetricKeys(rows ?? []), [rows])

  const currentKey = shownExperiment === experimentId && metricKey !== null ? metricKey : null
  useEffect(() => {
    if (currentKey === null && metricKeys.length > 0) {
      // Loss-like metrics rank lowest first; everything else highest first.
      const key = metricKeys.find((candidate) => /loss|error/i.test(candidate)) ?? metricKeys[0]!
      void show(experimentId, key, /loss|error/i.test(key) ? 'asc' : 'desc')
    }
  }, [currentKey, metricKeys, experimentId, show])

  const paramKeys = useMemo(() => {
    const keys = new Set<string>()
    for (const entry of entries) for (const key in entry.hyperparameters) keys.add(key)
    return [...keys].sort().slice(0, 6)
  }, [entries])

  return (
    <section className="leaderboard">
      <div className="toolbar">
        <label>
          Metric{' '}
          <select
            aria-label="leaderboard metric"
            value={currentKey ?? ''}
            onChange={(event) => void show(experimentId, event.target.value, direction)}
            disabled={metricKeys.length === 0}
          >
            {currentKey === null && <option value="">—</option>}
            {metricKeys.map((key) => (
              <option key={key} value={key}>
                {key}
              </option>
            ))}
          </select>
        </label>
        <label>
          Order{' '}
          <select
            aria-label="leaderboard order"
            value={direction}
            onChange={(event) => currentKey && void show(experimentId, currentKey, event.target.value as 'asc' | 'desc')}
          >
            <option value="asc">lowest first</option>
            <option value="desc">highest first</option>
          </select>
        </label>
        {appliedFilter && <span className="subtle">(the leaderboard ranks every run; the runs filter does not apply)</span>}
      </div>
      <ErrorNote error={error} title="Cannot rank runs" />
      {loading && <Progress label="Ranking runs…" />}
      {rows !== null && metricKeys.length === 0 && (
        <EmptyState title="Nothing to rank yet">
          <p>The leaderboard ranks runs by a metric they logged or reported at completion. Log metrics from a run (see the Runs tab) and they appear here.</p>
        </EmptyState>
      )}
      {entries.length > 0 && currentKey !== null && (
        <table className="grid" aria-label="leaderboard">
          <thead>
            <tr>
              <th className="num">Rank</th>
              <th>Run</th>
              <th>Status</th>
              <th className="num">{currentKey}</th>
              <th className="num">Step</th>
              {paramKeys.map((key) => (
                <th key={key}>{key}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.runId}>
                <td className="num">{entry.rank}</td>
                <td>
                  <a href={routeHash({ page: 'run', runId: entry.runId })}>{entry.runName}</a>
                </td>
                <td>
                  <StatusBadge status={entry.status} />
                </td>
                <td className="num">{formatNumber(entry.value)}</td>
                <td className="num">{entry.step === null ? 'final' : entry.step.toString()}</td>
                {paramKeys.map((key) => (
                  <td key={key}>{formatJsonValue(entry.hyperparameters[key])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
