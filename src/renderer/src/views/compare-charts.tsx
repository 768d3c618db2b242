import { useEffect, useMemo, useRef, useState } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { RunRow } from '../../../shared/contract'
import { stepRangeOf, toChartData, type ChartData } from '../lib/chart-data'
import { dimensionValue, extentOf, numericValue, runColor, type Brushes, type Dimension } from '../lib/compare'
import { formatNumber } from '../lib/format'
import { useKeyedValue } from '../lib/use-keyed-value'
import type { OverlayChart } from '../stores/compare-store'
import type { StepRange } from '../stores/run-page-store'
import { ErrorNote } from './common'

const HEIGHT = 220

/**
 * One metric of every compared run, overlaid (uPlot). Each run's line comes from the same
 * runs.metricSeries downsampling as the run page; uPlot.join aligns their steps on one x axis.
 * Drag to zoom (main re-downsamples that step range for every run), double-click to reset.
 */
export function OverlayMetricChart({
  metricKey,
  chart,
  runs,
  onZoom
}: {
  metricKey: string
  chart: OverlayChart | undefined
  runs: RunRow[]
  onZoom: (range: StepRange | null) => void
}): React.JSX.Element {
  const hostRef = useRef<HTMLDivElement>(null)
  // The same runs (a brush elsewhere re-filters the list) keep the same chart.
  const withSeries = runs.filter((run) => chart?.series[run.id])
  const shown = useKeyedValue(withSeries, JSON.stringify(withSeries.map((run) => [run.id, run.name])))
  const perRun = useMemo(
    () => shown.map((run) => ({ run, data: toChartData(chart!.series[run.id]!, 'step', { smoothing: 0, logScale: false }) })),
    [chart, shown]
  )
  const latest = useRef({ perRun, onZoom })
  latest.current = { perRun, onZoom }

  useEffect(() => {
    const host = hostRef.current
    if (!host || perRun.length === 0) return
    const joined = uPlot.join(perRun.map(({ data }) => [data.x, data.y.map((value) => value ?? null)] as uPlot.AlignedData))
    const plot = new uPlot(
      {
        width: Math.max(320, host.clientWidth),
        height: HEIGHT,
        scales: { x: { time: false } },
        axes: [{ label: 'step' }, { values: (_u, ticks) => ticks.map((tick) => formatNumber(tick)), size: 64 }],
        series: [
          { label: 'step' },
          ...perRun.map(({ run }) => ({ label: run.name, stroke: runColor(run.id), width: 1.5, spanGaps: true, value: (_u: uPlot, value: number | null) => formatNumber(value) }))
        ],
        cursor: { drag: { x: true, y: false, setScale: false } },
        legend: { live: true },
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width < 2) return
              const xMin = u.posToVal(u.select.left, 'x')
              const xMax = u.posToVal(u.select.left + u.select.width, 'x')
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false)
              const first: ChartData | undefined = latest.current.perRun[0]?.data
              const range = first ? stepRangeOf(first, 'step', xMin, xMax) : null
              if (range) latest.current.onZoom(range)
            }
          ]
        }
      },
      joined,
      host
    )
    host.dataset.runs = String(perRun.length)
    const onDoubleClick = (): void => latest.current.onZoom(null)
    plot.over.addEventListener('dblclick', onDoubleClick)
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, host.clientWidth), height: HEIGHT }))
    resize.observe(host)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [perRun])

  const buckets = shown.some((run) => chart?.series[run.id]?.mode === 'buckets')
  return (
    <figure className="chart" data-testid={`overlay-${metricKey}`} data-runs={shown.length}>
      <figcaption>
        <strong>{metricKey}</strong>
        <span className="subtle">
          {shown.length} run{shown.length === 1 ? '' : 's'}
          {buckets && ' · long series drawn from min/max buckets'}
          {chart?.loading && ' · loading…'}
        </span>
        {chart?.zoom && (
          <button type="button" onClick={() => onZoom(null)}>
            Reset zoom
          </button>
        )}
      </figcaption>
      <ErrorNote error={chart?.error} />
      <div className="chart-host" ref={hostRef} />
    </figure>
  )
}

const PC_HEIGHT = 300
const PC_PAD_TOP = 28
const PC_PAD_BOTTOM = 24

/**
 * Parallel coordinates over the chosen dimensions (SVG: uPlot has no such chart and ≤ 100
 * lines need nothing faster). Drag along an axis to brush a range; a click on an axis clears
 * its brush. Axes span all compared runs, so brushing does not move them.
 */
export function ParallelCoordinates({
  runs,
  axes,
  brushes,
  inBrushes,
  onBrush
}: {
  runs: RunRow[]
  axes: Dimension[]
  brushes: Brushes
  inBrushes: Set<number>
  onBrush: (dimension: Dimension, range: { min: number; max: number } | null) => void
}): React.JSX.Element {
  const width = 1100
  const spacing = axes.length > 1 ? (width - 120) / (axes.length - 1) : 0
  const xOf = (index: number): number => 60 + index * spacing
  const extents = axes.map((axis) => extentOf(runs, axis))
  const plotHeight = PC_HEIGHT - PC_PAD_TOP - PC_PAD_BOTTOM
  const yOf = (index: number, value: number): number => {
    const extent = extents[index]!
    return PC_PAD_TOP + (1 - (value - extent.min) / (extent.max - extent.min)) * plotHeight
  }
  const valueAt = (index: number, y: number): number => {
    const extent = extents[index]!
    // Within a few units of an axis end counts as the end, so a brush started at the top includes the top value.
    const snapped = y < PC_PAD_TOP + 4 ? PC_PAD_TOP : y > PC_PAD_TOP + plotHeight - 4 ? PC_PAD_TOP + plotHeight : y
    const clamped = Math.min(Math.max(snapped, PC_PAD_TOP), PC_PAD_TOP + plotHeight)
    return extent.min + (1 - (clamped - PC_PAD_TOP) / plotHeight) * (extent.max - extent.min)
  }
  const [drag, setDrag] = useState<{ index: number; y0: number; y1: number } | null>(null)
  const svgY = (event: React.PointerEvent<SVGElement>): number => {
    const svg = (event.currentTarget as SVGElement).ownerSVGElement ?? (event.currentTarget as SVGSVGElement)
    const rect = svg.getBoundingClientRect()
    return ((event.clientY - rect.top) / rect.height) * PC_HEIGHT
  }

  return (
    <svg className="parallel" viewBox={`0 0 ${width} ${PC_HEIGHT}`} role="img" aria-label="parallel coordinates" data-testid="parallel-coordinates">
      {runs.map((run) => {
        const points = axes.flatMap((axis, index) => {
          const value = numericValue(dimensionValue(run, axis))
          return value === null || !extents[index] ? [] : [`${xOf(index)},${yOf(index, value)}`]
        })
        const inside = inBrushes.has(run.id)
        return (
          <polyline
            key={run.id}
            data-run-id={run.id}
            data-in-brush={inside}
            points={points.join(' ')}
            fill="none"
            stroke={inside ? runColor(run.id) : '#d0d5dd'}
            strokeWidth={inside ? 2 : 1}
            opacity={inside ? 0.95 : 0.6}
          >
            <title>{run.name}</title>
          </polyline>
        )
      })}
      {axes.map((axis, index) => {
        const extent = extents[index]
        const brush = brushes[axis]
        const active = drag?.index === index ? { top: Math.min(drag.y0, drag.y1), bottom: Math.max(drag.y0, drag.y1) } : null
        return (
          <g key={axis} data-axis={axis}>
            <line x1={xOf(index)} x2={xOf(index)} y1={PC_PAD_TOP} y2={PC_PAD_TOP + plotHeight} stroke="#667085" />
            <text x={xOf(index)} y={14} textAnchor="middle" fontSize={12} fill="#1c2430">
              {axis}
            </text>
            {extent && (
              <>
                <text x={xOf(index) + 6} y={PC_PAD_TOP + 4} fontSize={10} fill="#5b6675">
                  {formatNumber(extent.max)}
                </text>
                <text x={xOf(index) + 6} y={PC_PAD_TOP + plotHeight} fontSize={10} fill="#5b6675">
                  {formatNumber(extent.min)}
                </text>
              </>
            )}
            {brush && extent && !active && (
              <rect x={xOf(index) - 8} width={16} y={yOf(index, brush.max)} height={Math.max(2, yOf(index, brush.min) - yOf(index, brush.max))} fill="rgba(37,99,235,0.25)" stroke="#2563eb" />
            )}
            {active && <rect x={xOf(index) - 8} width={16} y={active.top} height={Math.max(1, active.bottom - active.top)} fill="rgba(37,99,235,0.25)" stroke="#2563eb" />}
            {extent && (
              <rect
                className="brush-target"
                data-testid={`brush-${axis}`}
                x={xOf(index) - 14}
                width={28}
                y={PC_PAD_TOP}
                height={plotHeight}
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
                  else onBrush(axis, { min: valueAt(index, Math.max(drag.y0, y1)), max: valueAt(index, Math.min(drag.y0, y1)) })
                }}
              />
            )}
          </g>
        )
      })}
    </svg>
  )
}

/** Two dimensions against each other, one point per run in its colour (uPlot, mode 2: each series its own x/y). */
export function ScatterPlot({ runs, x, y }: { runs: RunRow[]; x: Dimension; y: Dimension }): React.JSX.Element {
  const hostRef = useRef<HTMLDivElement>(null)
  const plotted = runs.flatMap((run) => {
    const xv = numericValue(dimensionValue(run, x))
    const yv = numericValue(dimensionValue(run, y))
    return xv === null || yv === null ? [] : [{ run, x: xv, y: yv }]
  })
  // Redrawn only when what it shows changes, not for every new (equal) list of runs.
  const points = useKeyedValue(plotted, JSON.stringify([x, y, plotted.map((point) => [point.run.id, point.run.name, point.x, point.y])]))
  useEffect(() => {
    const host = hostRef.current
    if (!host || points.length === 0) return
    const plot = new uPlot(
      {
        mode: 2,
        width: Math.max(320, host.clientWidth),
        height: 280,
        scales: { x: { time: false } },
        axes: [{ label: x }, { label: y, values: (_u, ticks) => ticks.map((tick) => formatNumber(tick)), size: 64 }],
        legend: { show: false },
        series: [
          {},
          ...points.map((point) => ({
            label: point.run.name,
            stroke: runColor(point.run.id),
            fill: runColor(point.run.id),
            paths: () => null,
            points: { show: true, size: 10, fill: runColor(point.run.id) }
          }))
        ]
      } as uPlot.Options,
      [null, ...points.map((point) => [[point.x], [point.y]])] as unknown as uPlot.AlignedData,
      host
    )
    return () => plot.destroy()
  }, [points, x, y])
  return (
    <figure className="chart" data-testid="scatter" data-points={points.length}>
      <figcaption>
        <strong>
          {y} against {x}
        </strong>
        <span className="subtle">{points.length} runs with both values</span>
      </figcaption>
      <div className="chart-host" ref={hostRef} />
      <div className="legend-row">
        {points.map((point) => (
          <span key={point.run.id} className="legend-item">
            <span className="swatch" style={{ background: runColor(point.run.id) }} />
            {point.run.name}
          </span>
        ))}
      </div>
    </figure>
  )
}

/** Pairwise distances as a heatmap (SVG): darker is closer; each cell shows its value. */
export function DistanceHeatmap({ runIds, matrix, names }: { runIds: number[]; matrix: number[][]; names: Map<number, string> }): React.JSX.Element {
  const n = runIds.length
  const cell = Math.max(18, Math.min(56, Math.floor(560 / Math.max(1, n))))
  const label = 110
  const finite = matrix.flat().filter((value) => Number.isFinite(value))
  const max = finite.length ? Math.max(...finite) : 1
  const showValues = cell >= 40
  return (
    <svg className="heatmap" width={label + n * cell} height={label + n * cell} role="img" aria-label="distance matrix" data-testid="distance-heatmap">
      {runIds.map((runId, i) => (
        <g key={runId}>
          <text x={label - 6} y={label + i * cell + cell / 2 + 4} textAnchor="end" fontSize={11}>
            {names.get(runId) ?? `#${runId}`}
          </text>
          <text transform={`translate(${label + i * cell + cell / 2 + 4}, ${label - 6}) rotate(-60)`} fontSize={11}>
            {names.get(runId) ?? `#${runId}`}
          </text>
        </g>
      ))}
      {matrix.map((row, i) =>
        row.map((value, j) => {
          const share = max > 0 && Number.isFinite(value) ? value / max : 0
          // Close runs dark blue, far runs pale.
          const lightness = 30 + share * 65
          return (
            <g key={`${i}-${j}`}>
              <rect x={label + j * cell} y={label + i * cell} width={cell - 1} height={cell - 1} fill={`hsl(217, 70%, ${lightness}%)`} data-distance={value}>
                <title>
                  {names.get(runIds[i]!)} ↔ {names.get(runIds[j]!)}: {formatNumber(value)}
                </title>
              </rect>
              {showValues && (
                <text x={label + j * cell + cell / 2} y={label + i * cell + cell / 2 + 4} textAnchor="middle" fontSize={10} fill={lightness < 60 ? '#fff' : '#1c2430'}>
                  {formatNumber(Number(value.toPrecision(3)))}
                </text>
              )}
            </g>
          )
        })
      )}
    </svg>
  )
}
