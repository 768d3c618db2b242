import { useMemo, useState } from 'react'
import type { RunRow } from '../../../shared/contract'
import type { MetricSeries } from '../../../shared/domain'
import { axisScale, type AxisScale } from '../lib/axis-scale'
import { seriesSamples, type PanelConfig, type Sample } from '../lib/chart-panels'
import { dimensionValue, overlayPanel, stepRangeOnAxis, type Brush, type Brushes, type Dimension } from '../lib/compare'
import { formatJsonValue, formatNumber } from '../lib/format'
import { buildPanelPlot, type PlotRun } from '../lib/panel-plot'
import { runColorIn } from '../lib/run-colors'
import { useKeyedValue } from '../lib/use-keyed-value'
import type { OverlayChart } from '../stores/compare-store'
import type { StepRange } from '../stores/run-page-store'
import { ChartPanel } from './ChartPanel'
import { ErrorNote } from './common'

/** A series' samples, worked out once per series object (every redraw of a chart reads them again). */
const samplesCache = new WeakMap<MetricSeries, Sample[]>()
function samplesOfSeries(series: MetricSeries | undefined): Sample[] | null {
  if (!series) return null
  let samples = samplesCache.get(series)
  if (!samples) {
    samples = seriesSamples(series)
    samplesCache.set(series, samples)
  }
  return samples
}

/**
 * One metric of every compared run, overlaid: a chart panel (ChartPanel, as on the experiment
 * page) with its settings — x axis (step, relative or wall time, another metric), log y,
 * smoothing, y range, size — and PNG/SVG/CSV export; each run's line in its compare colour.
 * Lines come from the same runs.metricSeries downsampling as the run page. Drag to zoom (main
 * re-downsamples that step range for every run), double-click to reset. The settings and zoom
 * are the compare store's, in the address.
 */
export function OverlayMetricChart({
  metricKey,
  chosen,
  charts,
  metricKeys,
  runs,
  colors,
  position,
  count,
  onChange,
  onZoom
}: {
  metricKey: string
  /** The user's settings of this chart; undefined: the defaults. */
  chosen: PanelConfig | undefined
  charts: Record<string, OverlayChart>
  metricKeys: readonly string[]
  runs: RunRow[]
  colors: Record<number, string>
  position: number
  count: number
  onChange: (patch: Partial<PanelConfig>) => void
  onZoom: (range: StepRange | null) => void
}): React.JSX.Element {
  const config = useMemo(() => overlayPanel(metricKey, chosen), [metricKey, chosen])
  const chart = charts[metricKey]
  const xKey = config.xAxis.startsWith('metric:') ? config.xAxis.slice('metric:'.length) : null
  const xChart = xKey === null ? undefined : charts[xKey]
  // The same runs (a brush elsewhere re-filters the list) keep the same chart.
  const withSeries = runs.filter((run) => chart?.series[run.id])
  const shown = useKeyedValue(withSeries, JSON.stringify(withSeries.map((run) => [run.id, run.name, runColorIn(colors, run.id)])))
  const origins = chart?.origins
  const plotRuns: PlotRun[] = useMemo(
    () => shown.map((run) => ({ id: run.id, name: run.name, color: runColorIn(colors, run.id), ...(origins?.[run.id] === undefined ? {} : { timeOrigin: origins[run.id] }) })),
    [shown, colors, origins]
  )
  const plot = useMemo(() => {
    const seriesOf = (runId: number, key: string): MetricSeries | undefined => (key === metricKey ? chart?.series[runId] : key === xKey ? xChart?.series[runId] : undefined)
    return buildPanelPlot(config, plotRuns, null, (runId, key) => samplesOfSeries(seriesOf(runId, key)))
  }, [config, plotRuns, metricKey, chart, xKey, xChart])
  const zoom = {
    onSelect: (xMin: number, xMax: number) => {
      const lines = shown.map((run) => ({ samples: samplesOfSeries(chart?.series[run.id]) ?? [], xSamples: samplesOfSeries(xChart?.series[run.id]) ?? undefined, origin: origins?.[run.id] }))
      const range = stepRangeOnAxis(lines, config.xAxis, xMin, xMax)
      if (range) onZoom(range)
    },
    onReset: () => onZoom(null)
  }
  const buckets = shown.some((run) => chart?.series[run.id]?.mode === 'buckets')
  return (
    <ChartPanel
      config={config}
      plot={plot}
      grouped={false}
      metricKeys={metricKeys}
      position={position}
      count={count}
      loading={(chart?.loading ?? false) || (xChart?.loading ?? false)}
      onChange={onChange}
      fixedMetrics
      zoom={zoom}
      testId={`overlay-${metricKey}`}
      caption={
        <>
          <span className="subtle">
            {shown.length} run{shown.length === 1 ? '' : 's'}
            {buckets && ' · long series drawn from min/max buckets'}
          </span>
          {chart?.zoom && (
            <button type="button" onClick={() => onZoom(null)}>
              Reset zoom
            </button>
          )}
          <ErrorNote error={chart?.error ?? xChart?.error} />
        </>
      }
    />
  )
}

const PC_WIDTH = 1100
const PC_HEIGHT = 320
const PC_PAD_TOP = 48
const PC_PAD_BOTTOM = 20
const PC_PLOT_HEIGHT = PC_HEIGHT - PC_PAD_TOP - PC_PAD_BOTTOM
const BRUSH_FILL = 'rgba(37,99,235,0.25)'
const BRUSH_STROKE = 'var(--accent)'
const MUTED_LINE = 'var(--chart-grid)'

/** The scale of each dimension over the runs, with the user's log choice. */
function scalesOf(runs: RunRow[], dimensions: Dimension[], logScales: Record<Dimension, boolean>): Array<AxisScale | null> {
  return dimensions.map((dimension) =>
    axisScale(
      runs.map((run) => dimensionValue(run, dimension)),
      { log: logScales[dimension] }
    )
  )
}

/** Longer category labels are cut (the full text is the tick's tooltip). */
const shortLabel = (label: string, max = 16): string => (label.length > max ? `${label.slice(0, max - 1)}…` : label)

/** The fractions a brush covers on its axis, to draw it. */
function brushSpan(scale: AxisScale, brush: Brush): { from: number; to: number } | null {
  if ('categories' in brush) {
    if (scale.kind !== 'categorical') return null
    const at = brush.categories.map((category) => scale.at(category)).filter((fraction): fraction is number => fraction !== null)
    if (at.length === 0) return null
    const half = scale.categories.length > 1 ? 0.5 / (scale.categories.length - 1) : 0.5
    return { from: Math.max(0, Math.min(...at) - half / 2), to: Math.min(1, Math.max(...at) + half / 2) }
  }
  if (scale.kind !== 'numeric') return null
  const from = scale.at(brush.min) ?? 0
  const to = scale.at(brush.max) ?? 1
  return { from: Math.max(0, Math.min(from, to)), to: Math.min(1, Math.max(from, to)) }
}

/**
 * Parallel coordinates over the chosen dimensions (SVG: uPlot has no such chart and ≤ 100
 * lines need nothing faster). Numeric axes are linear, or logarithmic for positive values (by
 * default when they span two decades; the "log" switch under an axis name changes it); a value
 * shared by every run is shown once, mid-axis; string params are categorical axes. Drag along an
 * axis to brush a range; a click on an axis clears its brush. Axes span all compared runs, so
 * brushing does not move them.
 */
export function ParallelCoordinates({
  runs,
  axes,
  brushes,
  inBrushes,
  colors,
  logScales,
  onBrush,
  onLogScale
}: {
  runs: RunRow[]
  axes: Dimension[]
  brushes: Brushes
  inBrushes: Set<number>
  colors: Record<number, string>
  logScales: Record<Dimension, boolean>
  onBrush: (dimension: Dimension, brush: Brush | null) => void
  onLogScale: (dimension: Dimension, log: boolean) => void
}): React.JSX.Element {
  const spacing = axes.length > 1 ? (PC_WIDTH - 160) / (axes.length - 1) : 0
  const xOf = (index: number): number => (axes.length > 1 ? 70 + index * spacing : PC_WIDTH / 2)
  const scales = useMemo(() => scalesOf(runs, axes, logScales), [runs, axes, logScales])
  const yOfFraction = (fraction: number): number => PC_PAD_TOP + (1 - fraction) * PC_PLOT_HEIGHT
  const fractionOfY = (y: number): number => {
    // Within a few units of an axis end counts as the end, so a brush started at the top includes the top value.
    const snapped = y < PC_PAD_TOP + 4 ? PC_PAD_TOP : y > PC_PAD_TOP + PC_PLOT_HEIGHT - 4 ? PC_PAD_TOP + PC_PLOT_HEIGHT : y
    return 1 - (Math.min(Math.max(snapped, PC_PAD_TOP), PC_PAD_TOP + PC_PLOT_HEIGHT) - PC_PAD_TOP) / PC_PLOT_HEIGHT
  }
  const [drag, setDrag] = useState<{ index: number; y0: number; y1: number } | null>(null)
  const svgY = (event: React.PointerEvent<SVGElement>): number => {
    const svg = (event.currentTarget as SVGElement).ownerSVGElement ?? (event.currentTarget as SVGSVGElement)
    const rect = svg.getBoundingClientRect()
    return ((event.clientY - rect.top) / rect.height) * PC_HEIGHT
  }
  const brushOf = (scale: AxisScale, y0: number, y1: number): Brush => {
    const lo = fractionOfY(Math.max(y0, y1))
    const hi = fractionOfY(Math.min(y0, y1))
    return scale.kind === 'categorical' ? { categories: scale.categoriesBetween(lo, hi) } : { min: scale.valueAt(lo), max: scale.valueAt(hi) }
  }

  return (
    <svg className="parallel" viewBox={`0 0 ${PC_WIDTH} ${PC_HEIGHT}`} role="group" aria-label="parallel coordinates" data-testid="parallel-coordinates">
      {runs.map((run) => {
        const points = axes.flatMap((axis, index) => {
          const fraction = scales[index]?.at(dimensionValue(run, axis)) ?? null
          return fraction === null ? [] : [`${xOf(index)},${yOfFraction(fraction)}`]
        })
        const inside = inBrushes.has(run.id)
        return (
          <polyline
            key={run.id}
            data-run-id={run.id}
            data-in-brush={inside}
            points={points.join(' ')}
            fill="none"
            stroke={inside ? runColorIn(colors, run.id) : MUTED_LINE}
            strokeWidth={inside ? 2 : 1}
            opacity={inside ? 0.95 : 0.6}
          >
            <title>{run.name}</title>
          </polyline>
        )
      })}
      {axes.map((axis, index) => {
        const scale = scales[index] ?? null
        const x = xOf(index)
        const brush = brushes[axis]
        const active = drag?.index === index ? { top: Math.min(drag.y0, drag.y1), bottom: Math.max(drag.y0, drag.y1) } : null
        const span = brush && scale && !active ? brushSpan(scale, brush) : null
        return (
          <g key={axis} data-axis={axis} data-scale={scale ? (scale.kind === 'categorical' ? 'categorical' : scale.log ? 'log' : 'linear') : 'none'}>
            <line x1={x} x2={x} y1={PC_PAD_TOP} y2={PC_PAD_TOP + PC_PLOT_HEIGHT} stroke="var(--chart-axis)" />
            <text x={x} y={14} textAnchor="middle" fontSize={12} fill="var(--chart-text)">
              {axis}
            </text>
            {scale?.kind === 'numeric' && scale.canLog && (
              <text
                className="axis-toggle"
                role="button"
                tabIndex={0}
                aria-label={`log scale for ${axis}`}
                aria-pressed={scale.log}
                x={x}
                y={32}
                textAnchor="middle"
                fontSize={11}
                fill={scale.log ? 'var(--accent)' : 'var(--muted)'}
                onClick={() => onLogScale(axis, !scale.log)}
                onKeyDown={(event) => {
                  if (event.key !== 'Enter' && event.key !== ' ') return
                  event.preventDefault()
                  onLogScale(axis, !scale.log)
                }}
              >
                {scale.log ? '☑ log' : '☐ log'}
              </text>
            )}
            {scale?.kind === 'categorical' && (
              <text x={x} y={32} textAnchor="middle" fontSize={11} fill="var(--muted)">
                categories
              </text>
            )}
            {scale?.ticks.map((tick) => {
              const y = yOfFraction(tick.at)
              return (
                <g key={tick.label}>
                  <line x1={x - 3} x2={x + 3} y1={y} y2={y} stroke="var(--chart-axis)" />
                  <text className="tick" data-y={y} x={x + 6} y={y + 3.5} fontSize={10} fill="var(--chart-text)" stroke="var(--chart-ground)" strokeWidth={3} paintOrder="stroke">
                    {shortLabel(tick.label)}
                    {tick.label.length > 16 && <title>{tick.label}</title>}
                  </text>
                </g>
              )
            })}
            {span && (
              <rect x={x - 8} width={16} y={yOfFraction(span.to)} height={Math.max(2, yOfFraction(span.from) - yOfFraction(span.to))} fill={BRUSH_FILL} stroke={BRUSH_STROKE} />
            )}
            {active && <rect x={x - 8} width={16} y={active.top} height={Math.max(1, active.bottom - active.top)} fill={BRUSH_FILL} stroke={BRUSH_STROKE} />}
            {scale && (
              <rect
                className="brush-target"
                data-testid={`brush-${axis}`}
                x={x - 14}
                width={28}
                y={PC_PAD_TOP}
                height={PC_PLOT_HEIGHT}
                fill="transparent"
                style={{ cursor: 'crosshair' }}
                onPointerDown={(event) => {
                  event.currentTarget.setPointerCapture(event.pointerId)
                  const y = svgY(event)
                  setDrag({ index, y0: y, y1: y })
                }}
                onPointerMove={(event) => drag?.index === index && setDrag({ ...drag, y1: svgY(event) })}
                onPointerUp={(event) => {
                  if (drag?.index !== index) return
                  const y1 = svgY(event)
                  setDrag(null)
                  // A click (no drag) clears the axis' brush.
                  if (Math.abs(y1 - drag.y0) < 3) onBrush(axis, null)
                  else onBrush(axis, brushOf(scale, drag.y0, y1))
                }}
              />
            )}
          </g>
        )
      })}
    </svg>
  )
}

const SCATTER_WIDTH = 760
const SCATTER_HEIGHT = 340
const SCATTER_MARGIN = { left: 72, right: 20, top: 14, bottom: 48 }
/** Points stay this far inside the plot area, so one at an end of an axis is drawn whole. */
const SCATTER_INSET = 12

/**
 * Two dimensions against each other, one point per run in its colour (SVG: at most 100 points).
 * Axes as in the parallel coordinates: linear or log (with a switch, shared with them), a single
 * value mid-axis, categories for strings.
 */
export function ScatterPlot({
  runs,
  x,
  y,
  colors,
  logScales,
  onLogScale
}: {
  runs: RunRow[]
  x: Dimension
  y: Dimension
  colors: Record<number, string>
  logScales: Record<Dimension, boolean>
  onLogScale: (dimension: Dimension, log: boolean) => void
}): React.JSX.Element {
  const plotted = useMemo(
    () =>
      runs.flatMap((run) => {
        const xValue = dimensionValue(run, x)
        const yValue = dimensionValue(run, y)
        return xValue === undefined || xValue === null || yValue === undefined || yValue === null ? [] : [{ run, xValue, yValue }]
      }),
    [runs, x, y]
  )
  const [xScale, yScale] = useMemo(() => scalesOf(plotted.map((point) => point.run), [x, y], logScales), [plotted, x, y, logScales])
  const plotWidth = SCATTER_WIDTH - SCATTER_MARGIN.left - SCATTER_MARGIN.right
  const plotHeight = SCATTER_HEIGHT - SCATTER_MARGIN.top - SCATTER_MARGIN.bottom
  const xOf = (fraction: number): number => SCATTER_MARGIN.left + SCATTER_INSET + fraction * (plotWidth - 2 * SCATTER_INSET)
  const yOf = (fraction: number): number => SCATTER_MARGIN.top + SCATTER_INSET + (1 - fraction) * (plotHeight - 2 * SCATTER_INSET)
  const points = plotted.flatMap((point) => {
    const fx = xScale?.at(point.xValue) ?? null
    const fy = yScale?.at(point.yValue) ?? null
    return fx === null || fy === null ? [] : [{ ...point, cx: xOf(fx), cy: yOf(fy) }]
  })
  const logSwitch = (dimension: Dimension, scale: AxisScale | null, name: string) =>
    scale?.kind === 'numeric' && scale.canLog ? (
      <label className="inline-check">
        <input type="checkbox" aria-label={`scatter log ${name}`} checked={scale.log} onChange={(event) => onLogScale(dimension, event.target.checked)} /> log {name}
      </label>
    ) : null

  return (
    <figure className="chart" data-testid="scatter" data-points={points.length}>
      <figcaption>
        <strong>
          {y} against {x}
        </strong>
        <span className="subtle">
          {points.length} run{points.length === 1 ? '' : 's'} with both values
        </span>
        {logSwitch(x, xScale ?? null, 'x')}
        {logSwitch(y, yScale ?? null, 'y')}
      </figcaption>
      <svg className="scatter" viewBox={`0 0 ${SCATTER_WIDTH} ${SCATTER_HEIGHT}`} role="img" aria-label={`${y} against ${x}`}>
        <rect x={SCATTER_MARGIN.left} y={SCATTER_MARGIN.top} width={plotWidth} height={plotHeight} fill="var(--chart-ground)" stroke="var(--chart-grid)" />
        <g className="x-axis">
          {xScale?.ticks.map((tick) => (
            <g key={tick.label}>
              <line x1={xOf(tick.at)} x2={xOf(tick.at)} y1={SCATTER_MARGIN.top} y2={SCATTER_MARGIN.top + plotHeight} stroke="var(--chart-grid)" />
              <text className="tick" x={xOf(tick.at)} y={SCATTER_MARGIN.top + plotHeight + 16} textAnchor="middle" fontSize={11} fill="var(--muted)">
                {shortLabel(tick.label, 12)}
              </text>
            </g>
          ))}
          <text x={SCATTER_MARGIN.left + plotWidth / 2} y={SCATTER_HEIGHT - 8} textAnchor="middle" fontSize={12} fill="var(--chart-text)">
            {x}
            {xScale?.kind === 'numeric' && xScale.log ? ' (log)' : ''}
          </text>
        </g>
        <g className="y-axis">
          {yScale?.ticks.map((tick) => (
            <g key={tick.label}>
              <line x1={SCATTER_MARGIN.left} x2={SCATTER_MARGIN.left + plotWidth} y1={yOf(tick.at)} y2={yOf(tick.at)} stroke="var(--chart-grid)" />
              <text className="tick" x={SCATTER_MARGIN.left - 6} y={yOf(tick.at) + 4} textAnchor="end" fontSize={11} fill="var(--muted)">
                {shortLabel(tick.label, 10)}
              </text>
            </g>
          ))}
          <text transform={`translate(14, ${SCATTER_MARGIN.top + plotHeight / 2}) rotate(-90)`} textAnchor="middle" fontSize={12} fill="var(--chart-text)">
            {y}
            {yScale?.kind === 'numeric' && yScale.log ? ' (log)' : ''}
          </text>
        </g>
        {points.map((point) => (
          <circle key={point.run.id} data-run-id={point.run.id} data-run-name={point.run.name} cx={point.cx} cy={point.cy} r={6} fill={runColorIn(colors, point.run.id)} stroke="var(--panel)" strokeWidth={1.5}>
            <title>
              {point.run.name}: {x} = {formatJsonValue(point.xValue)}, {y} = {formatJsonValue(point.yValue)}
            </title>
          </circle>
        ))}
      </svg>
      <div className="legend-row">
        {points.map((point) => (
          <span key={point.run.id} className="legend-item">
            <span className="swatch" style={{ background: runColorIn(colors, point.run.id) }} />
            {point.run.name}
          </span>
        ))}
      </div>
    </figure>
  )
}

/** Names longer than this are cut in the heatmap's labels (the cell and label tooltips keep them whole). */
const HEATMAP_NAME_CHARS = 24
/** A generous width of one 11px label character, so a label's room is never smaller than the label. */
const HEATMAP_CHAR_WIDTH = 7
const HEATMAP_SCALE_WIDTH = 220

const middleCut = (text: string, max: number): string =>
  text.length > max ? `${text.slice(0, Math.ceil((max - 1) / 2))}…${text.slice(text.length - Math.floor((max - 1) / 2))}` : text

/**
 * Pairwise distances as a heatmap (SVG): darker is closer, on a colour scale from the smallest to
 * the largest distance shown under the matrix; big enough cells show their value. The label
 * margins are sized from the longest (cut) run name, so no label is clipped.
 */
export function DistanceHeatmap({ runIds, matrix, names }: { runIds: number[]; matrix: number[][]; names: Map<number, string> }): React.JSX.Element {
  const n = runIds.length
  const cell = Math.max(18, Math.min(56, Math.floor(560 / Math.max(1, n))))
  const nameOf = (runId: number): string => names.get(runId) ?? `#${runId}`
  // Cut in the middle: sweep runs share their start and differ at the end.
  const labels = runIds.map((runId) => middleCut(nameOf(runId), HEATMAP_NAME_CHARS))
  const longest = Math.max(1, ...labels.map((text) => text.length)) * HEATMAP_CHAR_WIDTH
  // Row labels end left of the matrix; column labels rise at 60°, so they need height and reach right.
  const left = longest + 12
  const top = Math.ceil(longest * Math.sin(Math.PI / 3)) + 14
  const right = Math.ceil(longest * Math.cos(Math.PI / 3)) + 8
  const finite = matrix.flat().filter((value) => Number.isFinite(value))
  const min = finite.length ? Math.min(...finite) : 0
  const max = finite.length ? Math.max(...finite) : 1
  const colorOf = (value: number): { fill: string; lightness: number } => {
    const share = max > min && Number.isFinite(value) ? (value - min) / (max - min) : 0
    // Close runs dark blue, far runs pale.
    const lightness = 30 + share * 65
    return { fill: `hsl(217, 70%, ${lightness}%)`, lightness }
  }
  const showValues = cell >= 40
  const matrixSize = n * cell
  const scaleTop = top + matrixSize + 18
  const scaleWidth = Math.max(HEATMAP_SCALE_WIDTH, Math.min(matrixSize, 360))
  const width = Math.max(left + matrixSize + right, left + scaleWidth + 8)
  const height = scaleTop + 40
  return (
    <div className="heatmap-wrap">
      <svg className="heatmap" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="distance matrix" data-testid="distance-heatmap">
        <defs>
          <linearGradient id="heatmap-scale-gradient" x1="0" x2="1" y1="0" y2="0">
            <stop offset="0" stopColor={colorOf(min).fill} />
            <stop offset="1" stopColor={colorOf(max).fill} />
          </linearGradient>
        </defs>
        {runIds.map((runId, i) => (
          <g key={runId}>
            <text className="heatmap-label" data-axis="row" x={left - 6} y={top + i * cell + cell / 2 + 4} textAnchor="end" fontSize={11} fill="currentColor">
              {labels[i]}
              <title>{nameOf(runId)}</title>
            </text>
            <text className="heatmap-label" data-axis="column" transform={`translate(${left + i * cell + cell / 2 + 4}, ${top - 6}) rotate(-60)`} fontSize={11} fill="currentColor">
              {labels[i]}
              <title>{nameOf(runId)}</title>
            </text>
          </g>
        ))}
        {matrix.map((row, i) =>
          row.map((value, j) => {
            const { fill, lightness } = colorOf(value)
            return (
              <g key={`${i}-${j}`}>
                <rect x={left + j * cell} y={top + i * cell} width={cell - 1} height={cell - 1} fill={fill} data-distance={value}>
                  <title>
                    {nameOf(runIds[i]!)} ↔ {nameOf(runIds[j]!)}: {formatNumber(value)}
                  </title>
                </rect>
                {showValues && (
                  <text x={left + j * cell + cell / 2} y={top + i * cell + cell / 2 + 4} textAnchor="middle" fontSize={10} fill={lightness < 60 ? '#fff' : '#1c2430'}>
                    {formatNumber(Number(value.toPrecision(3)))}
                  </text>
                )}
              </g>
            )
          })
        )}
        <g className="heatmap-scale" data-testid="heatmap-scale">
          <rect x={left} y={scaleTop} width={scaleWidth} height={12} fill="url(#heatmap-scale-gradient)" stroke="currentColor" strokeOpacity={0.3} />
          <text className="heatmap-scale-min" data-value={min} x={left} y={scaleTop + 28} fontSize={11} fill="currentColor">
            {formatNumber(min)}
          </text>
          <text x={left + scaleWidth / 2} y={scaleTop + 28} fontSize={11} textAnchor="middle" fill="currentColor">
            distance: closer ← → farther
          </text>
          <text className="heatmap-scale-max" data-value={max} x={left + scaleWidth} y={scaleTop + 28} fontSize={11} textAnchor="end" fill="currentColor">
            {formatNumber(max)}
          </text>
        </g>
      </svg>
    </div>
  )
}
