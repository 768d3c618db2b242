import type { RunRow } from '../../../shared/contract'

/**
 * A run's value of a metric key, as every view reads it: the final value the run reported at
 * completion (`final_metrics`) when it has one, else the latest value it logged. The runs
 * filter (`metrics.<key>`, main's run-filter-sql.ts) and the leaderboard
 * (get_experiment_leaderboard) use the same rule, so a run shows one number per key everywhere.
 */

type MetricsOf = Pick<RunRow, 'metrics' | 'finalMetrics'>

/** The final value reported at completion, if the run reported one for this key. */
export function finalMetricValue(run: Pick<RunRow, 'finalMetrics'>, key: string): number | undefined {
  const value = Object.hasOwn(run.finalMetrics, key) ? run.finalMetrics[key] : undefined
  return typeof value === 'number' ? value : undefined
}

export function runMetricValue(run: MetricsOf, key: string): number | undefined {
  const final = finalMetricValue(run, key)
  if (final !== undefined) return final
  for (const metric of run.metrics) if (metric.key === key) return metric.lastValue
  return undefined
}

/** Every metric key of the runs, logged or final, sorted. */
export function runMetricKeys(runs: readonly MetricsOf[]): string[] {
  const keys = new Set<string>()
  for (const run of runs) {
    for (const metric of run.metrics) keys.add(metric.key)
    for (const key in run.finalMetrics) if (typeof run.finalMetrics[key] === 'number') keys.add(key)
  }
  return [...keys].sort()
}
