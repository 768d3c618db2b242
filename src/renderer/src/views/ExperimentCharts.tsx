import { useCallback, useEffect, useMemo, useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { RunRow } from '../../../shared/contract'
import { seriesSamples, type PanelConfig, type Sample } from '../lib/chart-panels'
import { chartsScope } from '../lib/charts-scope'
import { buildGroupedStepPlot } from '../lib/grouped-plot'
import { buildPanelPlot, type PlotRun } from '../lib/panel-plot'
import { colorOfSlot, runColors } from '../lib/run-colors'
import { groupRuns, type RunGroup } from '../lib/run-groups'
import { useExperimentCharts, useGroupedSeries, useRunsTable } from '../stores'
import { seriesKey } from '../stores/experiment-charts-store'
import { requestKey, type GroupedSeriesRequest } from '../stores/grouped-series-store'
import { ChartPanel } from './ChartPanel'

/**
 * An experiment's chart panels. On the experiment page (above its runs table, W&B's workspace)
 * they show the runs the table shows — the selected ones when there is a selection — per run,
 * or per group (mean and band) when the table is grouped. On a run page the same panels (one
 * layout per experiment) show that run.
 *
 * Grouped panels on the step axis take their means and bands from main (runs.groupedSeries),
 * computed in PostgreSQL over every run of the table. Panels on another x axis (time, another
 * metric) still aggregate in the browser the series of the first MAX_CHART_RUNS runs, and the
 * scope line says so.
 */

/** Runs drawn at most: their series are fetched one request each. */
export const MAX_CHART_RUNS = 100

type ChartRow = Pick<RunRow, 'id' | 'name' | 'metrics' | 'hyperparameters' | 'tags'>

export function ExperimentCharts({ experimentId, urlPanels }: { experimentId: number; urlPanels?: PanelConfig[] }): React.JSX.Element {
  // The address's panels (a reload, a shared link, back/forward) are applied whenever it changes.
  const openFromUrl = useExperimentCharts((state) => state.openFromUrl)
  const urlKey = JSON.stringify(urlPanels ?? null)
  useEffect(() => {
    const panels = JSON.parse(urlKey) as PanelConfig[] | null
    if (panels) openFromUrl(experimentId, panels)
  }, [experimentId, urlKey, openFromUrl])
  const { rows, selected, groupBy, tableExperiment } = useRunsTable(
    useShallow((state) => ({ rows: state.rows, selected: state.selected, groupBy: state.groupBy, tableExperiment: state.experimentId }))
  )
  const ownRows = useMemo(() => (tableExperiment === experimentId ? rows : []), [tableExperiment, experimentId, rows])
  return <ChartPanelsSection experimentId={experimentId} rows={ownRows} selected={selected} groupBy={groupBy} label="charts" title="Charts" />
}

const NO_SELECTION: number[] = []

/** The experiment's panels drawn for one run (its run page). */
export function RunChartPanels({ run }: { run: ChartRow & { experimentId: number } }): React.JSX.Element {
  const rows = useMemo(() => [run], [run])
  return <ChartPanelsSection experimentId={run.experimentId} rows={rows} selected={NO_SELECTION} groupBy={null} label="chart panels" title="Chart panels" />
}

function ChartPanelsSection({
  experimentId,
  rows: ownRows,
  selected,
  groupBy,
  label,
  title
}: {
  experimentId: number
  rows: readonly ChartRow[]
  selected: readonly number[]
  groupBy: string | null
  label: string
  title: string
}): React.JSX.Element {
  const { open, shown, setShown, storedPanels, effectivePanels, series, ensureSeries, addPanel, removePanel, updatePanel, movePanel } = useExperimentCharts(
    useShallow((state) => ({
      open: state.open,
      shown: state.shown,
      setShown: state.setShown,
      storedPanels: state.panels,
      effectivePanels: state.effectivePanels,
      series: state.series,
      ensureSeries: state.ensureSeries,
      addPanel: state.addPanel,
      removePanel: state.removePanel,
      updatePanel: state.updatePanel,
      movePanel: state.movePanel
    }))
  )
  useEffect(() => open(experimentId), [experimentId, open])

  // Keys with logged series (final-only metrics have no points to draw).
  const metricKeys = useMemo(() => [...new Set(ownRows.flatMap((row) => row.metrics.map((metric) => metric.key)))].sort(), [ownRows])
  const panels = useMemo(() => effectivePanels(metricKeys), [effectivePanels, metricKeys, storedPanels]) // eslint-disable-line react-hooks/exhaustive-deps

  // The selection when there is one, else what the table shows; at most MAX_CHART_RUNS.
  const candidates = useMemo(() => {
    if (selected.length === 0) return ownRows
    const chosen = new Set(selected)
    return ownRows.filter((row) => chosen.has(row.id))
  }, [ownRows, selected])
  const plotted: ChartRow[] = useMemo(() => candidates.slice(0, MAX_CHART_RUNS), [candidates])
  // Grouped, the groups of every candidate (their order and colours); panels the browser
  // aggregates draw each group's runs among the plotted ones.
  const allGroups = useMemo(() => (groupBy ? groupRuns(candidates, groupBy) : null), [candidates, groupBy])
  const groups: RunGroup[] | null = useMemo(() => {
    if (!allGroups) return null
    const shown = new Set(plotted.map((row) => row.id))
    return allGroups.map((group) => ({ ...group, runIds: group.runIds.filter((id) => shown.has(id)) })).filter((group) => group.runIds.length > 0)
  }, [allGroups, plotted])
  const { grouped, groupedKey, groupedError, loadGrouped } = useGroupedSeries(
    useShallow((state) => ({ grouped: state.data, groupedKey: state.requestKey, groupedError: state.error, loadGrouped: state.load }))
  )
  // Panels whose groups main aggregates over every candidate: grouped, on the step axis (the
  // browser's aggregation of the first runs stands in if main's answer failed).
  const fromServer = useCallback((panel: PanelConfig): boolean => groupBy !== null && panel.xAxis === 'step' && groupedError === null, [groupBy, groupedError])
  const plotRuns: PlotRun[] = useMemo(() => {
    // Selected runs keep the colour they have in the compare view; otherwise colours by table order.
    const colors = selected.length > 0 ? runColors(window.localStorage, experimentId, selected) : null
    return plotted.map((row, index) => ({ id: row.id, name: row.name, color: colors?.[row.id] ?? colorOfSlot(index) }))
  }, [plotted, selected, experimentId])

  // The runs' own series, for the panels the browser draws.
  const wantedKeys = useMemo(() => {
    const keys = new Set<string>()
    for (const panel of panels) {
      if (fromServer(panel)) continue
      for (const key of panel.metrics) keys.add(key)
      if (panel.xAxis.startsWith('metric:')) keys.add(panel.xAxis.slice('metric:'.length))
    }
    return [...keys]
  }, [panels, fromServer])
  // Main's means and bands of every candidate, for the grouped step panels.
  const groupedKeys = useMemo(() => [...new Set(panels.filter((panel) => groupBy !== null && panel.xAxis === 'step').flatMap((panel) => panel.metrics))].sort(), [panels, groupBy])
  const candidateIds = useMemo(() => candidates.map((row) => row.id), [candidates])
  const groupedRequest: GroupedSeriesRequest | null = useMemo(
    () => (shown && groupBy && groupedKeys.length > 0 && candidateIds.length > 0 ? { experimentId, runIds: candidateIds, groupBy, keys: groupedKeys } : null),
    [shown, experimentId, groupBy, groupedKeys, candidateIds]
  )
  const wantedGroupedKey = useMemo(() => (groupedRequest ? requestKey(groupedRequest) : null), [groupedRequest])
  useEffect(() => {
    if (groupedRequest) void loadGrouped(groupedRequest)
  }, [groupedRequest, loadGrouped])
  // The answer drawn: main's for this grouping (while another request loads, none; while new
  // points are re-read, the last one).
  const groupedData = grouped !== null && groupedKey === wantedGroupedKey ? grouped : null
  const plottedIds = useMemo(() => plotted.map((row) => row.id), [plotted])
  useEffect(() => {
    if (shown && plottedIds.length > 0 && wantedKeys.length > 0) void ensureSeries(plottedIds, wantedKeys)
  }, [shown, plottedIds, wantedKeys, ensureSeries])

  // One plot per panel, rebuilt only when its inputs change (a new plot redraws the chart).
  const plots = useMemo(() => {
    const samples = new Map<string, Sample[] | null>()
    const samplesOf = (runId: number, key: string): Sample[] | null => {
      const id = seriesKey(runId, key)
      if (!samples.has(id)) {
        const entry = series[id]
        samples.set(id, entry?.series ? seriesSamples(entry.series) : null)
      }
      return samples.get(id)!
    }
    return panels.map((panel) =>
      fromServer(panel) && allGroups && groupedData ? buildGroupedStepPlot(panel, allGroups, groupedData) : buildPanelPlot(panel, plotRuns, groups, samplesOf)
    )
  }, [panels, plotRuns, groups, allGroups, groupedData, series, fromServer])
  const loading = Object.values(series).some((entry) => entry.loading)
  const [newMetric, setNewMetric] = useState('')

  return (
    <section className="panel experiment-charts" aria-label={label}>
      <div className="panel-header">
        <h2>
          <button type="button" className="disclosure" aria-expanded={shown} onClick={() => setShown(!shown)}>
            <span aria-hidden="true">{shown ? '▾' : '▸'}</span> {title}
          </button>
        </h2>
        {shown && (
          <div className="chart-controls">
            <span className="subtle" data-testid="charts-scope">
              {chartsScope({ maxRuns: MAX_CHART_RUNS, plotted: plotted.length, candidates: candidates.length, selected: selected.length > 0, groupBy, groups: allGroups?.length ?? 0, browserPanels: panels.filter((panel) => !fromServer(panel)).length, groupedError: groupedError?.message ?? null })}
            </span>
            <label>
              add chart{' '}
              <select aria-label="add chart" value={newMetric} onChange={(event) => setNewMetric(event.target.value)}>
                <option value="">metric…</option>
                {metricKeys.map((key) => (
                  <option key={key} value={key}>
                    {key}
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              disabled={newMetric === ''}
              onClick={() => {
                addPanel([newMetric], panels)
                setNewMetric('')
              }}
            >
              Add
            </button>
          </div>
        )}
      </div>
      {shown && metricKeys.length === 0 && <p className="subtle">No run here has logged a metric series yet.</p>}
      {shown && (
        <div className="chart-panels">
          {panels.map((panel, index) => {
            const plot = plots[index]!
            const panelLoading = fromServer(panel)
              ? groupedData === null && groupedError === null
              : plotted.some((row) => panel.metrics.some((key) => series[seriesKey(row.id, key)]?.loading))
            return (
              <ChartPanel
                key={panel.id}
                config={panel}
                plot={plot}
                grouped={groups !== null}
                metricKeys={metricKeys}
                position={index}
                count={panels.length}
                loading={panelLoading || (loading && plot.lines.length === 0)}
                onChange={(patch) => updatePanel(panel.id, patch, panels)}
                onMove={(delta) => movePanel(panel.id, delta, panels)}
                onRemove={() => removePanel(panel.id, panels)}
              />
            )
          })}
        </div>
      )}
    </section>
  )
}

