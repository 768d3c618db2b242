import { useEffect, useMemo, useRef, useState } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { clampHeight, isPanelXAxis, xAxisLabel, type PanelConfig, type PanelXAxis } from '../lib/chart-panels'
import { hoverIndex, medianGap } from '../lib/chart-data'
import { chartColors, themedAxis } from '../lib/chart-theme'
import { formatNumber } from '../lib/format'
import { useTheme } from '../stores'
import { withAlpha, type PanelPlot, type PlotLine } from '../lib/panel-plot'
import { SMOOTHING_LABELS, SMOOTHING_METHODS, type SmoothingMethod } from '../lib/smoothing'
import { chartCsv, chartPng, chartSvg, downloadBlob } from './chart-export'

/**
 * One chart panel: its lines (a run's or a group's mean with its band) drawn by uPlot, and its
 * own settings — metrics, x axis, log y, smoothing, y range, band kind — plus order, size and
 * export. The panel's owner keeps the settings (per experiment, or per metric in the compare
 * view's address); this draws what they say.
 */

interface Props {
  config: PanelConfig
  plot: PanelPlot
  grouped: boolean
  metricKeys: readonly string[]
  position: number
  count: number
  loading: boolean
  onChange: (patch: Partial<PanelConfig>) => void
  /** Absent where the charts keep their own order and set (the compare view's one chart per metric): no move or remove buttons. */
  onMove?: (delta: number) => void
  onRemove?: () => void
  /** The panel's metrics are fixed (one chart per metric): no metric choice in its settings. */
  fixedMetrics?: boolean
  /**
   * The owner loads a dragged x range itself (the compare view re-reads that step range): a drag
   * calls onSelect instead of zooming in place, a double-click calls onReset.
   */
  zoom?: { onSelect: (xMin: number, xMax: number) => void; onReset: () => void }
  /** More for the caption from the owner: notes and buttons of its own. */
  caption?: React.ReactNode
  testId?: string
}

/** How a line looks: runs and means strong, the raw line behind smoothing faded, band edges invisible (the band shows them). */
function lookOf(line: PlotLine): { stroke: string; width: number; fill?: string } {
  switch (line.role) {
    case 'line':
      return { stroke: line.color, width: 1.5 }
    case 'mean':
      return { stroke: line.color, width: 2 }
    case 'raw':
      return { stroke: withAlpha(line.color, 0.25), width: 1 }
    case 'lo':
    case 'hi':
      return { stroke: withAlpha(line.color, 0), width: 0, fill: withAlpha(line.color, 0.22) }
  }
}

const isPowerOfTen = (value: number): boolean => value > 0 && Math.abs(Math.log10(value) - Math.round(Math.log10(value))) < 1e-9

function yRange(config: PanelConfig): uPlot.Scale['range'] {
  if (config.yMin === null && config.yMax === null) return undefined
  return (_u, dataMin, dataMax) => {
    const [autoMin, autoMax] = config.logY ? uPlot.rangeLog(dataMin, dataMax, 10, true) : uPlot.rangeNum(dataMin, dataMax, 0.1, true)
    return [config.yMin ?? autoMin, config.yMax ?? autoMax]
  }
}

export function ChartPanel({ config, plot, grouped, metricKeys, position, count, loading, onChange, onMove, onRemove, fixedMetrics = false, zoom, caption, testId }: Props): React.JSX.Element {
  const hostRef = useRef<HTMLDivElement>(null)
  // The chart is built once per plot; the owner's zoom callbacks of the latest render are called.
  const zoomRef = useRef(zoom)
  zoomRef.current = zoom
  const ownZoom = zoom !== undefined
  const readoutRef = useRef<HTMLParagraphElement>(null)
  const plotRef = useRef<uPlot | null>(null)
  // The height while the user drags the handle; saved when the drag ends.
  const [dragHeight, setDragHeight] = useState<number | null>(null)
  const height = dragHeight ?? config.height
  const title = config.metrics.join(', ')
  // The chart is rebuilt in the other theme's colours when the theme changes.
  const theme = useTheme((state) => state.theme)

  const data = useMemo(() => {
    if (plot.lines.length === 0) return null
    return uPlot.join(plot.lines.map(({ line }) => [line.x as number[], line.y as (number | null)[]] as uPlot.AlignedData))
  }, [plot])

  useEffect(() => {
    const host = hostRef.current
    if (!host || !data) return
    const isTime = config.xAxis === 'wall'
    const colors = chartColors()
    // How far from its own points a line's value is still read out: one of its usual gaps (runs log at different steps).
    const reaches = plot.lines.map(({ line }) => medianGap(line.x))
    host.dataset.theme = theme
    const options: uPlot.Options = {
      width: Math.max(280, host.clientWidth),
      height: config.height,
      scales: {
        x: { time: isTime },
        y: { distr: config.logY ? 3 : 1, log: 10, range: yRange(config) }
      },
      axes: [
        themedAxis({ label: xAxisLabel(config.xAxis), values: isTime ? undefined : (_u: uPlot, ticks: number[]) => ticks.map((tick) => formatNumber(tick)) }, colors),
        themedAxis(
          {
            size: 64,
            // On a log axis only the powers of ten are labelled (uPlot puts ticks at 1–9 of each decade).
            values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => (config.logY && !isPowerOfTen(tick) ? '' : formatNumber(tick)))
          },
          colors
        )
      ],
      series: [
        { label: xAxisLabel(config.xAxis) },
        ...plot.lines.map((line) => {
          const look = lookOf(line)
          return { label: line.label, stroke: look.stroke, width: look.width, spanGaps: true, points: { show: false }, ...(line.dash ? { dash: line.dash } : {}) }
        })
      ],
      bands: plot.bands.map((band) => ({ series: [band.upper + 1, band.lower + 1] as [number, number], fill: withAlpha(band.color, 0.22) })),
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: !ownZoom } },
      hooks: {
        // The values under the cursor, written straight into the readout: a React update per mouse move would redraw the panel.
        setCursor: [
          (u) => {
            const readout = readoutRef.current
            if (!readout) return
            const index = u.cursor.idx
            if (index === null || index === undefined) {
              readout.textContent = '\u00a0'
              return
            }
            const x = u.data[0][index]!
            const parts = plot.lines.flatMap((line, i) => {
              const column = u.data[i + 1]! as ArrayLike<number | null | undefined>
              const at = hoverIndex(u.data[0], column, index, reaches[i] ?? 0)
              const value = at === null ? null : column[at]
              return (line.role === 'line' || line.role === 'mean') && value !== null && value !== undefined ? [`${line.label} ${formatNumber(value)}`] : []
            })
            const xText = isTime ? new Date(x * 1000).toLocaleString() : formatNumber(x)
            readout.textContent = `${xAxisLabel(config.xAxis)} ${xText}${parts.length > 0 ? ` · ${parts.join(' · ')}` : ''}`
          }
        ],
        setSelect: [
          (u) => {
            const owner = zoomRef.current
            if (!owner || u.select.width < 2) return
            const xMin = u.posToVal(u.select.left, 'x')
            const xMax = u.posToVal(u.select.left + u.select.width, 'x')
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false)
            owner.onSelect(xMin, xMax)
          }
        ],
        draw: [
          (u) => {
            // What the chart drew, for the tests and the export: scales, plotting area (CSS pixels) and tick labels.
            const ratio = u.ctx.canvas.width / u.width
            const labels = (index: number): string => {
              const axis = u.axes[index] as uPlot.Axis & { _values?: Array<string | number> }
              return JSON.stringify((axis._values ?? []).map(String).filter((label) => label !== ''))
            }
            Object.assign(host.dataset, {
              xMin: String(u.scales.x!.min),
              xMax: String(u.scales.x!.max),
              yMin: String(u.scales.y!.min),
              yMax: String(u.scales.y!.max),
              plotLeft: String(u.bbox.left / ratio),
              plotTop: String(u.bbox.top / ratio),
              plotWidth: String(u.bbox.width / ratio),
              plotHeight: String(u.bbox.height / ratio),
              yTicks: labels(1),
              xTicks: labels(0),
              xLabel: String(u.axes[0]!.label ?? '')
            })
          }
        ]
      }
    }
    const chart = new uPlot(options, data, host)
    plotRef.current = chart
    const onDoubleClick = (): void => zoomRef.current?.onReset()
    if (ownZoom) chart.over.addEventListener('dblclick', onDoubleClick)
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(280, host.clientWidth), height: chart.height }))
    resize.observe(host)
    return () => {
      resize.disconnect()
      chart.destroy()
      plotRef.current = null
    }
  }, [data, plot, config, theme, ownZoom])

  useEffect(() => {
    if (plotRef.current && dragHeight !== null) plotRef.current.setSize({ width: plotRef.current.width, height: dragHeight })
  }, [dragHeight])

  const fileBase = `${title.replace(/[^\w.-]+/g, '_')}`
  const exportAs = async (kind: 'png' | 'svg' | 'csv'): Promise<void> => {
    const chart = plotRef.current
    if (!chart) return
    if (kind === 'png') downloadBlob(`${fileBase}.png`, await chartPng(chart))
    else if (kind === 'svg') downloadBlob(`${fileBase}.svg`, new Blob([chartSvg(chart, title, plot.lines, plot.bands, lookOf)], { type: 'image/svg+xml' }))
    else downloadBlob(`${fileBase}.csv`, new Blob([chartCsv(chart, xAxisLabel(config.xAxis), plot.lines)], { type: 'text/csv' }))
  }

  const startResize = (event: React.PointerEvent<HTMLDivElement>): void => {
    event.preventDefault()
    const startY = event.clientY
    const startHeight = config.height
    let latest = startHeight
    const move = (moveEvent: PointerEvent): void => {
      latest = clampHeight(startHeight + moveEvent.clientY - startY)
      setDragHeight(latest)
    }
    const up = (): void => {
      window.removeEventListener('pointermove', move)
      window.removeEventListener('pointerup', up)
      setDragHeight(null)
      if (latest !== config.height) onChange({ height: latest })
    }
    window.addEventListener('pointermove', move)
    window.addEventListener('pointerup', up)
  }

  const legend = plot.lines.filter((line) => line.role === 'line' || line.role === 'mean')
  const numberOrNull = (text: string): number | null => (text.trim() === '' || !Number.isFinite(Number(text)) ? null : Number(text))

  return (
    <figure
      className={`chart chart-panel${config.wide ? ' wide' : ''}`}
      role="region"
      aria-label={`chart ${title}`}
      data-panel-id={config.id}
      data-testid={testId}
      data-runs={plot.drawnRuns}
    >
      <figcaption>
        <strong>{title}</strong>
        <span className="subtle">
          {config.xAxis !== 'step' && ` vs ${xAxisLabel(config.xAxis)}`}
          {config.logY && ' · log y'}
          {config.smoothing.strength > 0 && ` · ${SMOOTHING_LABELS[config.smoothing.method]} ${config.smoothing.strength.toFixed(2)}`}
          {loading && ' · loading…'}
        </span>
        {caption}
        <span className="panel-actions">
          {onMove && (
            <>
              <button type="button" aria-label="move chart earlier" disabled={position === 0} onClick={() => onMove(-1)}>
                ◀
              </button>
              <button type="button" aria-label="move chart later" disabled={position === count - 1} onClick={() => onMove(1)}>
                ▶
              </button>
            </>
          )}
          <button type="button" onClick={() => onChange({ wide: !config.wide })}>
            {config.wide ? 'Narrow' : 'Wide'}
          </button>
          <button type="button" onClick={() => void exportAs('png')}>
            PNG
          </button>
          <button type="button" onClick={() => void exportAs('svg')}>
            SVG
          </button>
          <button type="button" onClick={() => void exportAs('csv')}>
            CSV
          </button>
          {onRemove && (
            <button type="button" aria-label="remove chart" onClick={onRemove}>
              ✕
            </button>
          )}
        </span>
      </figcaption>
      <details className="panel-settings">
        <summary>Settings</summary>
        <div className="panel-settings-body">
          {!fixedMetrics && (
            <fieldset>
              <legend>Metrics</legend>
              {metricKeys.map((key) => (
                <label key={key} className="inline-check">
                  <input
                    type="checkbox"
                    checked={config.metrics.includes(key)}
                    // A panel keeps at least one metric.
                    disabled={config.metrics.length === 1 && config.metrics[0] === key}
                    onChange={(event) => onChange({ metrics: event.target.checked ? [...config.metrics, key] : config.metrics.filter((candidate) => candidate !== key) })}
                  />{' '}
                  {key}
                </label>
              ))}
            </fieldset>
          )}
          <label>
            x axis{' '}
            <select aria-label="x axis" value={config.xAxis} onChange={(event) => isPanelXAxis(event.target.value) && onChange({ xAxis: event.target.value as PanelXAxis })}>
              <option value="step">step</option>
              <option value="relative">relative time</option>
              <option value="wall">wall time</option>
              {metricKeys
                .filter((key) => !config.metrics.includes(key))
                .map((key) => (
                  <option key={key} value={`metric:${key}`}>
                    {key}
                  </option>
                ))}
            </select>
          </label>
          <label className="inline-check">
            <input type="checkbox" aria-label="log y" checked={config.logY} onChange={(event) => onChange({ logY: event.target.checked })} /> log y
          </label>
          <label>
            smoothing{' '}
            <select
              aria-label="smoothing method"
              value={config.smoothing.method}
              onChange={(event) => onChange({ smoothing: { ...config.smoothing, method: event.target.value as SmoothingMethod } })}
            >
              {SMOOTHING_METHODS.map((method) => (
                <option key={method} value={method}>
                  {SMOOTHING_LABELS[method]}
                </option>
              ))}
            </select>{' '}
            <input
              type="range"
              aria-label="smoothing strength"
              min={0}
              max={0.99}
              step={0.01}
              value={config.smoothing.strength}
              onChange={(event) => onChange({ smoothing: { ...config.smoothing, strength: Number(event.target.value) } })}
            />{' '}
            <span className="mono">{config.smoothing.strength.toFixed(2)}</span>
          </label>
          <label>
            y min <input key={`y-min-${config.yMin}`} type="number" aria-label="y min" className="range-input" defaultValue={config.yMin ?? ''} onBlur={(event) => onChange({ yMin: numberOrNull(event.target.value) })} onKeyDown={(event) => event.key === 'Enter' && event.currentTarget.blur()} />
          </label>
          <label>
            y max <input key={`y-max-${config.yMax}`} type="number" aria-label="y max" className="range-input" defaultValue={config.yMax ?? ''} onBlur={(event) => onChange({ yMax: numberOrNull(event.target.value) })} onKeyDown={(event) => event.key === 'Enter' && event.currentTarget.blur()} />
          </label>
          {grouped && (
            <label>
              band{' '}
              <select aria-label="band" value={config.band} onChange={(event) => onChange({ band: event.target.value === 'std' ? 'std' : 'minmax' })}>
                <option value="minmax">min–max</option>
                <option value="std">±1 std</option>
              </select>
            </label>
          )}
        </div>
      </details>
      {plot.lines.length === 0 && !loading && <p className="chart-note">Nothing to draw: none of the plotted runs logged {title}{config.xAxis.startsWith('metric:') ? ` together with ${xAxisLabel(config.xAxis)}` : ''}.</p>}
      <div className="chart-host" ref={hostRef} hidden={plot.lines.length === 0} />
      <p className="panel-readout mono" ref={readoutRef} aria-live="off" data-testid="panel-readout">
        {'\u00a0'}
      </p>
      {legend.length > 0 && (
        <ul className="panel-legend" aria-label="legend">
          {legend.slice(0, 24).map((line) => (
            <li key={line.label}>
              <span className="group-swatch" style={{ background: line.color }} aria-hidden="true" /> {line.label}
            </li>
          ))}
          {legend.length > 24 && <li className="subtle">and {legend.length - 24} more</li>}
        </ul>
      )}
      <div
        className="panel-resize"
        role="separator"
        aria-orientation="horizontal"
        aria-label="resize chart"
        aria-valuenow={height}
        aria-valuemin={160}
        aria-valuemax={800}
        tabIndex={0}
        onPointerDown={startResize}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
            event.preventDefault()
            onChange({ height: clampHeight(config.height + (event.key === 'ArrowDown' ? 20 : -20)) })
          }
        }}
      />
    </figure>
  )
}
