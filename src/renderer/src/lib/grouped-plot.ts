import type { GroupedSeries } from '../../../shared/grouped-series'
import { smoothLine, type PanelConfig } from './chart-panels'
import { DASHES, pushGroupLines, type PanelPlot } from './panel-plot'
import type { RunGroup } from './run-groups'

/**
 * A grouped panel on the step axis drawn from main's aggregates (runs.groupedSeries): each
 * group's mean and band over every run of the table, per step bucket. The groups' order, labels
 * and colours are the table's (`groups`, from groupRuns); main's groups are found by their key,
 * which both spell the same way (shared/grouped-series). Smoothing applies to the mean and band
 * lines themselves (the runs' own lines never reach the browser), the raw mean faded behind; on
 * a log axis values ≤ 0 are gaps, as elsewhere.
 */
export function buildGroupedStepPlot(config: Pick<PanelConfig, 'metrics' | 'logY' | 'smoothing' | 'band'>, groups: readonly RunGroup[], data: GroupedSeries): PanelPlot {
  const plot: PanelPlot = { lines: [], bands: [], drawnRuns: 0 }
  const smoothing = config.smoothing.strength > 0
  const smoothed = (x: number[], y: (number | null)[]): (number | null)[] => (smoothing ? [...smoothLine({ x, y }, config.smoothing.method, config.smoothing.strength).y] : y)
  const drawable = (value: number | null): number | null => (value === null || !Number.isFinite(value) || (config.logY && value <= 0) ? null : value)
  const serverGroups = new Map(data.groups.map((group) => [group.key, group]))
  const drawnGroups = new Set<string>()

  config.metrics.forEach((metric, metricIndex) => {
    const dash = DASHES[metricIndex % DASHES.length]!
    const suffix = config.metrics.length > 1 ? ` · ${metric}` : ''
    for (const group of groups) {
      const series = serverGroups.get(group.key)?.series.find((candidate) => candidate.key === metric)
      if (!series || series.steps.length === 0) continue
      drawnGroups.add(group.key)
      const x = series.steps
      const mean = smoothed(x, series.mean.map(drawable))
      const agg = {
        x,
        mean,
        min: smoothed(x, series.min.map(drawable)),
        max: smoothed(x, series.max.map(drawable)),
        std: smoothed(x, series.std)
      }
      pushGroupLines(plot, config, `${group.label}${suffix}`, group.color, dash, agg, smoothing ? series.mean.map(drawable) : null, drawable)
    }
  })
  plot.drawnRuns = data.groups.filter((group) => drawnGroups.has(group.key)).reduce((sum, group) => sum + group.runCount, 0)
  return plot
}
