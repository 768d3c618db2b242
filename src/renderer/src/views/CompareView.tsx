import { useEffect, useMemo, useRef, useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import { axisDimensions, compareTableRows } from '../lib/compare'
import { formatNumber } from '../lib/format'
import { runColorIn } from '../lib/run-colors'
import { routeHash, type CompareUrlState } from '../stores/app-store'
import { brushedRuns, MAX_COMPARE, MIN_COMPARE } from '../stores/compare-store'
import { useCompare, useExperiments, useSystem } from '../stores'
import { DistanceHeatmap, OverlayMetricChart, ParallelCoordinates, ScatterPlot } from './compare-charts'
import { EmptyState, ErrorNote, Progress } from './common'

/** Compares the runs selected in the runs table (2–100): charts, table, parallel coordinates, scatter, similar runs. */
export function CompareView({ experimentId, url }: { experimentId: number; url?: CompareUrlState }): React.JSX.Element {
  const state = useCompare(
    useShallow((s) => ({
      runs: s.runs,
      runIds: s.runIds,
      colors: s.colors,
      logScales: s.logScales,
      loading: s.loading,
      error: s.error,
      charts: s.charts,
      panels: s.panels,
      brushes: s.brushes,
      axes: s.axes,
      onlyDifferences: s.onlyDifferences
    }))
  )
  const actions = useCompare(
    useShallow((s) => ({
      open: s.open,
      setZoom: s.setZoom,
      setPanel: s.setPanel,
      setBrush: s.setBrush,
      setAxes: s.setAxes,
      setLogScale: s.setLogScale,
      keepBrushed: s.keepBrushed,
      setOnlyDifferences: s.setOnlyDifferences
    }))
  )
  const experiment = useExperiments((s) => s.experiments.find((candidate) => candidate.id === experimentId))
  const loadExperiments = useExperiments((s) => s.load)
  const experimentsLoaded = useExperiments((s) => s.loaded)

  const { open } = actions
  // The address drives the view: on arrival and on every change of it (back/forward, a pasted link).
  // Keyed by the address's text (zoom ranges are bigints, which JSON cannot carry).
  const urlKey = url ? routeHash({ page: 'compare', experimentId, compare: url }) : ''
  const latestUrl = useRef(url)
  latestUrl.current = url
  useEffect(() => {
    void open(experimentId, latestUrl.current ?? null)
  }, [experimentId, urlKey, open])
  // For the breadcrumb's experiment name when the page is opened directly.
  useEffect(() => {
    if (!experimentsLoaded) void loadExperiments()
  }, [experimentsLoaded, loadExperiments])

  const { runs, brushes } = state
  const shown = useMemo(() => brushedRuns({ runs, brushes }), [runs, brushes])
  const shownIds = useMemo(() => new Set(shown.map((run) => run.id)), [shown])
  // What can be an axis: dimensions these runs have. The store keeps `axes` among them.
  const dimensions = useMemo(() => axisDimensions(runs), [runs])
  const axes = useMemo(() => state.axes.filter((axis) => dimensions.includes(axis)), [state.axes, dimensions])
  const metricKeys = Object.keys(state.charts).sort()
  const brushed = Object.keys(brushes).length > 0

  return (
    <div className="page page-wide compare">
      <div className="breadcrumbs">
        <a href={routeHash({ page: 'experiments' })}>Experiments</a> /{' '}
        <a href={routeHash({ page: 'experiment', experimentId, tab: 'runs' })}>{experiment?.name ?? `#${experimentId}`}</a> / <span>Compare</span>
      </div>
      <div className="page-header">
        <h1>Compare {runs.length} runs</h1>
        {brushed && (
          <span className="selection" data-testid="brushed-count">
            {shown.length} of {runs.length} inside the brushes{' '}
            <button type="button" onClick={actions.keepBrushed}>
              Keep only these in the selection
            </button>
          </span>
        )}
      </div>
      <ErrorNote error={state.error} title="Cannot load the runs" />
      {state.loading && <Progress label="Loading the selected runs…" />}
      {!state.loading && state.runIds.length < MIN_COMPARE && (
        <EmptyState title="Select at least two runs to compare">
          <p>
            Tick runs in the <a href={routeHash({ page: 'experiment', experimentId, tab: 'runs' })}>runs table</a> (up to {MAX_COMPARE}), then come back here.
          </p>
        </EmptyState>
      )}
      {runs.length >= MIN_COMPARE && (
        <>
          <section className="panel">
            <h2>Runs</h2>
            <div className="legend-row" data-testid="compare-legend">
              {runs.map((run) => (
                <a key={run.id} className={`legend-item${shownIds.has(run.id) ? '' : ' dimmed'}`} href={routeHash({ page: 'run', runId: run.id })} data-run-id={run.id}>
                  <span className="swatch" style={{ background: runColorIn(state.colors, run.id) }} />
                  {run.name}
                </a>
              ))}
            </div>
          </section>

          <section className="panel">
            <div className="panel-header">
              <h2>Side by side</h2>
              <label className="inline-check">
                <input type="checkbox" checked={state.onlyDifferences} onChange={(event) => actions.setOnlyDifferences(event.target.checked)} /> Show only differences
              </label>
            </div>
            <CompareTable runs={shown} colors={state.colors} onlyDifferences={state.onlyDifferences} />
          </section>

          <section className="panel">
            <h2>Metrics</h2>
            <div className="chart-panels">
              {metricKeys.map((key, index) => (
                <OverlayMetricChart
                  key={key}
                  metricKey={key}
                  chosen={state.panels[key]}
                  charts={state.charts}
                  metricKeys={metricKeys}
                  runs={shown}
                  colors={state.colors}
                  position={index}
                  count={metricKeys.length}
                  onChange={(patch) => actions.setPanel(key, patch)}
                  onZoom={(range) => void actions.setZoom(key, range)}
                />
              ))}
            </div>
          </section>

          <section className="panel">
            <div className="panel-header">
              <h2>Parallel coordinates</h2>
              <details className="column-picker">
                <summary>Axes ({axes.length})</summary>
                <div className="column-picker-menu" role="group" aria-label="parallel coordinates axes">
                  {dimensions.map((dimension) => (
                    <label key={dimension}>
                      <input
                        type="checkbox"
                        checked={axes.includes(dimension)}
                        onChange={() => actions.setAxes(axes.includes(dimension) ? axes.filter((axis) => axis !== dimension) : [...axes, dimension])}
                      />{' '}
                      {dimension}
                    </label>
                  ))}
                </div>
              </details>
              <span className="hint">Drag along an axis to keep the runs in that range; click an axis to clear its brush. "log" under an axis name switches its scale.</span>
            </div>
            <ParallelCoordinates
              runs={runs}
              axes={axes}
              brushes={brushes}
              inBrushes={shownIds}
              colors={state.colors}
              logScales={state.logScales}
              onBrush={actions.setBrush}
              onLogScale={actions.setLogScale}
            />
          </section>

          <ScatterSection dimensions={dimensions} />
          <SimilarSection />
        </>
      )}
    </div>
  )
}

function CompareTable({ runs, colors, onlyDifferences }: { runs: ReturnType<typeof brushedRuns>; colors: Record<number, string>; onlyDifferences: boolean }): React.JSX.Element {
  const rows = useMemo(() => compareTableRows(runs, onlyDifferences), [runs, onlyDifferences])
  return (
    <div className="table-wrap">
      <table className="grid compact compare-table" data-testid="compare-table">
        <thead>
          <tr>
            <th />
            {runs.map((run) => (
              <th key={run.id} data-run-id={run.id}>
                <span className="swatch" style={{ background: runColorIn(colors, run.id) }} /> {run.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={runs.length + 1} className="subtle">
                {onlyDifferences ? 'These runs do not differ in any param, tag, metric or resource.' : 'Nothing logged yet.'}
              </td>
            </tr>
          )}
          {rows.map((row) => (
            <tr key={row.dimension} data-dimension={row.dimension} className={row.differs ? 'differs' : ''}>
              <th>
                <span className="subtle">{row.section}.</span>
                {row.key}
              </th>
              {row.texts.map((text, index) => (
                <td key={runs[index]!.id} className={index === row.minIndex ? 'is-min' : index === row.maxIndex ? 'is-max' : ''} title={index === row.minIndex ? 'lowest' : index === row.maxIndex ? 'highest' : undefined}>
                  {text}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.some((row) => row.minIndex !== null) && (
        <p className="minmax-legend" data-testid="minmax-legend">
          <span className="legend-chip is-min">lowest</span> the lowest value of a row · <span className="legend-chip is-max">highest</span> the highest value of a
          row (rows of numbers that differ)
        </p>
      )}
    </div>
  )
}

function ScatterSection({ dimensions }: { dimensions: string[] }): React.JSX.Element {
  const runs = useCompare((s) => s.runs)
  const brushes = useCompare((s) => s.brushes)
  const colors = useCompare((s) => s.colors)
  const logScales = useCompare((s) => s.logScales)
  const setLogScale = useCompare((s) => s.setLogScale)
  const x = useCompare((s) => s.scatterX)
  const y = useCompare((s) => s.scatterY)
  const setScatter = useCompare((s) => s.setScatter)
  const shown = useMemo(() => brushedRuns({ runs, brushes }), [runs, brushes])
  // A choice the runs no longer have falls back to the default.
  const xAxis = (x !== null && dimensions.includes(x) ? x : null) ?? dimensions.find((dimension) => dimension.startsWith('params.')) ?? dimensions[0]
  const yAxis = (y !== null && dimensions.includes(y) ? y : null) ?? dimensions.find((dimension) => dimension.startsWith('metrics.')) ?? dimensions[1] ?? dimensions[0]
  return (
    <section className="panel">
      <div className="panel-header">
        <h2>Scatter</h2>
        <label>
          x{' '}
          <select aria-label="scatter x" value={xAxis ?? ''} onChange={(event) => setScatter('x', event.target.value)}>
            {dimensions.map((dimension) => (
              <option key={dimension}>{dimension}</option>
            ))}
          </select>
        </label>
        <label>
          y{' '}
          <select aria-label="scatter y" value={yAxis ?? ''} onChange={(event) => setScatter('y', event.target.value)}>
            {dimensions.map((dimension) => (
              <option key={dimension}>{dimension}</option>
            ))}
          </select>
        </label>
      </div>
      {xAxis && yAxis ? (
        <ScatterPlot runs={shown} x={xAxis} y={yAxis} colors={colors} logScales={logScales} onLogScale={setLogScale} />
      ) : (
        <p className="subtle">No params or metrics to plot.</p>
      )}
    </section>
  )
}

function SimilarSection(): React.JSX.Element {
  const s = useCompare(
    useShallow((state) => ({
      runs: state.runs,
      plugin: state.plugin,
      similarRunId: state.similarRunId,
      similar: state.similar,
      similarNames: state.similarNames,
      similarLoading: state.similarLoading,
      similarError: state.similarError,
      matrix: state.matrix,
      matrixLoading: state.matrixLoading,
      matrixError: state.matrixError,
      setPlugin: state.setPlugin,
      findSimilar: state.findSimilar,
      loadMatrix: state.loadMatrix
    }))
  )
  const plugins = useSystem((state) => state.plugins)
  const pluginsLoaded = useSystem((state) => state.pluginsLoaded)
  const pluginsError = useSystem((state) => state.pluginsError)
  const loadPlugins = useSystem((state) => state.loadPlugins)
  useEffect(() => {
    if (!pluginsLoaded) void loadPlugins()
  }, [pluginsLoaded, loadPlugins])
  const [runId, setRunId] = useState<number | null>(null)
  const chosenRun = runId ?? s.runs[0]?.id ?? null
  const names = useMemo(() => new Map(s.runs.map((run) => [run.id, run.name])), [s.runs])
  const running = plugins.filter((plugin) => plugin.state === 'running')

  return (
    <section className="panel">
      <div className="panel-header">
        <h2>Similar runs</h2>
        <label>
          plugin{' '}
          <select aria-label="distance plugin" value={s.plugin} onChange={(event) => s.setPlugin(event.target.value)}>
            {running.length === 0 && <option value={s.plugin}>{s.plugin}</option>}
            {running.map((plugin) => (
              <option key={plugin.name} value={plugin.name}>
                {plugin.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          run{' '}
          <select aria-label="similar to run" value={chosenRun ?? ''} onChange={(event) => setRunId(Number(event.target.value))}>
            {s.runs.map((run) => (
              <option key={run.id} value={run.id}>
                {run.name}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={chosenRun === null} onClick={() => chosenRun !== null && void s.findSimilar(chosenRun)}>
          Find similar runs
        </button>
        <button type="button" onClick={() => void s.loadMatrix()}>
          Distance matrix
        </button>
      </div>
      <p className="hint">Distances over the runs' params and latest metrics (normalised over the experiment), computed by the plugin in its own process.</p>
      <ErrorNote error={pluginsError} title="Cannot list plugins" />
      <ErrorNote error={s.similarError} title="Cannot find similar runs" />
      {s.similarLoading && <Progress label={`Asking ${s.plugin}…`} />}
      {s.similar && (
        <table className="grid compact" data-testid="similar-runs" data-plugin={s.plugin}>
          <thead>
            <tr>
              <th>Nearest to {names.get(s.similarRunId ?? -1) ?? `#${s.similarRunId}`}</th>
              <th className="num">{s.plugin} distance</th>
            </tr>
          </thead>
          <tbody>
            {s.similar.length === 0 && (
              <tr>
                <td colSpan={2} className="subtle">
                  The experiment has no other run.
                </td>
              </tr>
            )}
            {s.similar.map((entry) => (
              <tr key={entry.runId}>
                <td>
                  <a href={routeHash({ page: 'run', runId: entry.runId })}>{s.similarNames[entry.runId] ?? names.get(entry.runId) ?? `run #${entry.runId}`}</a>
                </td>
                <td className="num">{formatNumber(entry.distance)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorNote error={s.matrixError} title="Cannot compute the distance matrix" />
      {s.matrixLoading && <Progress label="Computing pairwise distances…" />}
      {s.matrix && <DistanceHeatmap runIds={s.matrix.runIds} matrix={s.matrix.matrix} names={names} />}
    </section>
  )
}
