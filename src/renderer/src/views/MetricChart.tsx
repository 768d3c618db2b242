import { useEffect, useMemo, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { ErrorInfo } from '../../../shared/errors'
import type { MetricSeries } from '../../../shared/domain'
import { stepRangeOf, timeAxisRange, toChartData, type ChartData, type ChartXAxis } from '../lib/chart-data'
import { chartColors, themedAxis } from '../lib/chart-theme'
import { formatNumber } from '../lib/format'
import { useTheme } from '../stores'
import type { StepRange } from '../stores/run-page-store'
import { ErrorNote } from './common'

interface Props {
  metricKey: string
  series: MetricSeries | null
  loading: boolean
  error: ErrorInfo | null
  zoomed: boolean
  xAxis: ChartXAxis
  smoothing: number
  logScale: boolean
  onZoom: (range: StepRange) => void
  onResetZoom: () => void
}

const HEIGHT = 240

/** uPlot's columns for a chart: x and y, plus the bucket min/max when it draws an envelope. */
function columns(chart: ChartData | null, envelope: boolean): uPlot.AlignedData {
  if (!chart) return envelope ? [[], [], [], []] : [[], []]
  return envelope ? [chart.x, chart.y, chart.min, chart.max] : [chart.x, chart.y]
}

/** One metric's chart (uPlot): drag to zoom (main re-downsamples that range), double-click to reset. */
export function MetricChart({ metricKey, series, loading, error, zoomed, xAxis, smoothing, logScale, onZoom, onResetZoom }: Props): React.JSX.Element {
  const hostRef = useRef<HTMLDivElement>(null)
  const plotRef = useRef<uPlot | null>(null)
  const data = useMemo(() => (series ? toChartData(series, xAxis, { smoothing, logScale }) : null), [series, xAxis, smoothing, logScale])
  // Raw points draw one line; buckets add their min/max envelope.
  const envelope = series?.mode === 'buckets'
  // On the epoch axis, a metric logged without epochs has nothing to draw: say so instead of an empty box.
  const withoutEpochs = xAxis === 'epoch' && series !== null && series.totalPoints > 0 && data !== null && data.x.length === 0
  const pointsWithoutEpoch = xAxis === 'epoch' && series?.mode === 'raw' && !withoutEpochs ? series.points.filter((point) => point.epoch === null).length : 0
  // Handlers and data read from uPlot's hooks, which are bound once per chart.
  const theme = useTheme((state) => state.theme)
  const latest = useRef({ data, xAxis, onZoom, onResetZoom })
  latest.current = { data, xAxis, onZoom, onResetZoom }

  // A new chart when the axes change (uPlot fixes scale kinds at creation); new data otherwise.
  useEffect(() => {
    const host = hostRef.current
    if (!host || withoutEpochs) return
    const colors = chartColors()
    const options: uPlot.Options = {
      width: Math.max(320, host.clientWidth),
      height: HEIGHT,
      scales: {
        // From the data itself: for a single instant uPlot hands the range function min + 86,400,000 s
        // (a day in its millisecond units, read as seconds): the "two years" of a batch without timestamps.
        x: xAxis === 'time' ? { time: true, range: (u) => timeAxisRange(u.data[0][0] ?? null, u.data[0][u.data[0].length - 1] ?? null) } : { time: false },
        y: { distr: logScale ? 3 : 1 }
      },
      axes: [themedAxis({ label: xAxis }, colors), themedAxis({ values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => formatNumber(tick)), size: 64 }, colors)],
      series: [
        { label: xAxis, value: (_u, value) => (value === null ? '—' : xAxis === 'time' ? new Date(value * 1000).toLocaleString() : formatNumber(value)) },
        { label: metricKey, stroke: '#2563eb', width: 1.5, value: (_u, value) => formatNumber(value) },
        ...(envelope
          ? [
              { label: 'bucket min', stroke: 'rgba(37,99,235,0.25)', width: 1, value: (_u: uPlot, value: number | null) => formatNumber(value) },
              { label: 'bucket max', stroke: 'rgba(37,99,235,0.25)', width: 1, value: (_u: uPlot, value: number | null) => formatNumber(value) }
            ]
          : [])
      ],
      bands: envelope ? [{ series: [3, 2], fill: 'rgba(37,99,235,0.10)' }] : [],
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { live: true },
      hooks: {
        setSelect: [
          (plot) => {
            if (plot.select.width < 2 || !latest.current.data) return
            const xMin = plot.posToVal(plot.select.left, 'x')
            const xMax = plot.posToVal(plot.select.left + plot.select.width, 'x')
            plot.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false)
            const range = stepRangeOf(latest.current.data, latest.current.xAxis, xMin, xMax)
            if (range) latest.current.onZoom(range)
          }
        ],
        draw: [
          (plot) => {
            // For tests and the benchmark: what the chart last drew.
            host.dataset.drawnPoints = String(plot.data[0]?.length ?? 0)
            host.dataset.xSpan = String((plot.scales.x?.max ?? 0) - (plot.scales.x?.min ?? 0))
          }
        ]
      }
    }
    const plot = new uPlot(options, columns(latest.current.data, envelope), host)
    plotRef.current = plot
    const onDoubleClick = (): void => latest.current.onResetZoom()
    plot.over.addEventListener('dblclick', onDoubleClick)
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, host.clientWidth), height: HEIGHT }))
    resize.observe(host)
    return () => {
      resize.disconnect()
      plot.over.removeEventListener('dblclick', onDoubleClick)
      plot.destroy()
      plotRef.current = null
    }
  }, [metricKey, xAxis, logScale, envelope, withoutEpochs, theme])

  useEffect(() => {
    if (plotRef.current && data) plotRef.current.setData(columns(data, envelope))
  }, [data, envelope])

  return (
    <figure className="chart" data-testid={`chart-${metricKey}`} data-total-points={series?.totalPoints ?? 0} data-mode={series?.mode ?? ''}>
      <figcaption>
        <strong>{metricKey}</strong>
        <span className="subtle">
          {series ? `${series.totalPoints.toLocaleString()} points${series.mode === 'buckets' ? ` · min/max of ${series.buckets.length.toLocaleString()} buckets` : ''}` : ''}
          {pointsWithoutEpoch > 0 && ` · ${pointsWithoutEpoch.toLocaleString()} without an epoch not shown`}
          {loading && ' · loading…'}
        </span>
        {zoomed && (
          <button type="button" onClick={onResetZoom}>
            Reset zoom
          </button>
        )}
      </figcaption>
      <ErrorNote error={error} />
      {withoutEpochs && (
        <p className="chart-note" role="note">
          {metricKey} was logged without epochs, so it has nothing to draw against the epoch axis. Switch the x-axis to step or time to see it.
        </p>
      )}
      <div className="chart-host" ref={hostRef} hidden={withoutEpochs} />
    </figure>
  )
}
