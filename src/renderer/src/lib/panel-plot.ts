import { lineOnAxis, smoothLine, type PanelConfig, type Sample } from './chart-panels'
import { aggregateLines, type GroupAggregate, type Line, type RunGroup } from './run-groups'

/**
 * What one chart panel draws, before uPlot: a list of lines (x ascending) with their look, and
 * the bands between pairs of them. Ungrouped, a line per run and metric; grouped, per group and
 * metric its mean, with a min–max or mean ± std band. With smoothing on, the smoothed line is
 * drawn over the raw one, which stays behind, faded.
 */

export type PlotRole = 'line' | 'raw' | 'mean' | 'lo' | 'hi'

export interface PlotLine {
  label: string
  color: string
  role: PlotRole
  /** Dashes tell apart the metrics of a panel that shows several. */
  dash: number[] | null
  line: Line
}

export interface PanelPlot {
  lines: PlotLine[]
  /** Pairs of indexes into `lines` (upper, lower) filled in the colour of the upper. */
  bands: Array<{ upper: number; lower: number; color: string }>
  /** Runs that have something to draw, of those asked. */
  drawnRuns: number
}

export interface PlotRun {
  id: number
  name: string
  color: string
  /** The time (ms) the run's relative time counts from, when its samples are a zoomed part of its series. */
  timeOrigin?: number
}

export const DASHES: Array<number[] | null> = [null, [8, 4], [2, 3], [10, 3, 2, 3]]

/** Consecutive equal x (points of one batch share a timestamp) keep their last value: a chart column holds one value per x. */
export function dedupeX(line: Line): Line {
  const x: number[] = []
  const y: (number | null)[] = []
  for (let i = 0; i < line.x.length; i++) {
    if (x.length > 0 && x[x.length - 1] === line.x[i]) y[y.length - 1] = line.y[i] ?? null
    else {
      x.push(line.x[i]!)
      y.push(line.y[i] ?? null)
    }
  }
  return { x, y }
}

export function buildPanelPlot(
  config: Pick<PanelConfig, 'metrics' | 'xAxis' | 'logY' | 'smoothing' | 'band'>,
  runs: readonly PlotRun[],
  groups: readonly RunGroup[] | null,
  samplesOf: (runId: number, key: string) => readonly Sample[] | null
): PanelPlot {
  const lines: PlotLine[] = []
  const bands: PanelPlot['bands'] = []
  const smoothing = config.smoothing.strength > 0
  const xMetric = config.xAxis.startsWith('metric:') ? config.xAxis.slice('metric:'.length) : null
  const drawn = new Set<number>()
  const origins = new Map(runs.flatMap((run) => (run.timeOrigin === undefined ? [] : [[run.id, run.timeOrigin] as const])))
  const smoothed = (line: Line): Line => (smoothing ? smoothLine(line, config.smoothing.method, config.smoothing.strength) : line)
  const drawable = (value: number | null): number | null => (value === null || !Number.isFinite(value) || (config.logY && value <= 0) ? null : value)

  config.metrics.forEach((metric, metricIndex) => {
    const dash = DASHES[metricIndex % DASHES.length]!
    const suffix = config.metrics.length > 1 ? ` · ${metric}` : ''
    const lineOf = (runId: number): Line | null => {
      const samples = samplesOf(runId, metric)
      if (!samples || samples.length === 0) return null
      const xSamples = xMetric === null ? undefined : samplesOf(runId, xMetric)
      if (xMetric !== null && !xSamples) return null
      const line = dedupeX(lineOnAxis(samples, config.xAxis, config.logY, xSamples ?? undefined, origins.get(runId)))
      if (line.x.length === 0) return null
      drawn.add(runId)
      return line
    }

    if (groups) {
      for (const group of groups) {
        const runLines = group.runIds.map(lineOf).filter((line): line is Line => line !== null)
        if (runLines.length === 0) continue
        const agg = aggregateLines(runLines.map(smoothed))
        pushGroupLines({ lines, bands }, config, `${group.label}${suffix}`, group.color, dash, agg, smoothing ? aggregateLines(runLines).mean : null, drawable)
      }
    } else {
      for (const run of runs) {
        const line = lineOf(run.id)
        if (!line) continue
        if (smoothing) lines.push({ label: `${run.name}${suffix} (raw)`, color: run.color, role: 'raw', dash, line })
        lines.push({ label: `${run.name}${suffix}`, color: run.color, role: 'line', dash, line: smoothed(line) })
      }
    }
  })
  return { lines, bands, drawnRuns: drawn.size }
}

/**
 * A group's lines on a panel: its band (min–max, or mean ± std) as an upper and a lower line
 * filled between, the raw mean faded behind when smoothing is on (`rawMean`, on agg's x), and
 * the mean. Shared by the browser's aggregation and main's (grouped-plot.ts).
 */
export function pushGroupLines(
  plot: Pick<PanelPlot, 'lines' | 'bands'>,
  config: Pick<PanelConfig, 'band'>,
  name: string,
  color: string,
  dash: number[] | null,
  agg: Pick<GroupAggregate, 'x' | 'mean' | 'min' | 'max' | 'std'>,
  rawMean: readonly (number | null)[] | null,
  drawable: (value: number | null) => number | null
): void {
  const { lines, bands } = plot
  const [lo, hi] =
    config.band === 'std'
      ? [agg.mean.map((m, i) => drawable(m === null ? null : m - agg.std[i]!)), agg.mean.map((m, i) => drawable(m === null ? null : m + agg.std[i]!))]
      : [agg.min, agg.max]
  const upper = lines.push({ label: `${name} ${config.band === 'std' ? '+std' : 'max'}`, color, role: 'hi', dash: null, line: { x: agg.x, y: hi } }) - 1
  const lower = lines.push({ label: `${name} ${config.band === 'std' ? '−std' : 'min'}`, color, role: 'lo', dash: null, line: { x: agg.x, y: lo } }) - 1
  bands.push({ upper, lower, color })
  if (rawMean) lines.push({ label: `${name} mean (raw)`, color, role: 'raw', dash, line: { x: agg.x, y: rawMean } })
  lines.push({ label: `${name} mean`, color, role: 'mean', dash, line: { x: agg.x, y: agg.mean } })
}

/** A CSS colour (#rrggbb) at an opacity, as uPlot's strokes and fills take it. */
export function withAlpha(color: string, alpha: number): string {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color)
  if (match) return `rgba(${parseInt(match[1]!, 16)}, ${parseInt(match[2]!, 16)}, ${parseInt(match[3]!, 16)}, ${alpha})`
  const hsl = /^hsl\((.*)\)$/.exec(color)
  return hsl ? `hsla(${hsl[1]}, ${alpha})` : color
}
