import { useEffect } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { Artifact, RunWithMetrics } from '../../../shared/domain'
import { durationMs, formatBytes, formatDateTime, formatDuration, formatJsonValue, formatNumber } from '../lib/format'
import { routeHash } from '../stores/app-store'
import { useApp, useExperiments, useRunPage } from '../stores'
import type { XAxis } from '../stores/run-page-store'
import { ArtifactBrowser } from './ArtifactBrowser'
import { EmptyState, ErrorNote, Progress } from './common'
import { RunChartPanels } from './ExperimentCharts'
import { MetricChart } from './MetricChart'
import { RunHeader, RunNote, RunTags } from './RunEditing'

/** The mlflow client's run link (`…/#/experiments/1/runs/<run id>`): opens that run's page. */
export function MlflowRunLink({ experimentId, runUuid }: { experimentId: number; runUuid: string }): React.JSX.Element {
  const { openMlflowRun, error } = useApp(useShallow((state) => ({ openMlflowRun: state.openMlflowRun, error: state.mlflowRunError })))
  useEffect(() => {
    void openMlflowRun(runUuid)
  }, [runUuid, openMlflowRun])
  return (
    <div className="page">
      <ErrorNote error={error} title={`Cannot open MLflow run ${runUuid}`} />
      {error ? (
        <p>
          <a href={routeHash({ page: 'experiment', experimentId, tab: 'runs' })}>Open experiment {experimentId}</a>
        </p>
      ) : (
        <Progress label="Opening the run…" />
      )}
    </div>
  )
}

export function RunView({ runId }: { runId: number }): React.JSX.Element {
  const { run, runLoading, runError, open } = useRunPage(
    useShallow((state) => ({ run: state.runId === runId ? state.run : null, runLoading: state.runLoading, runError: state.runError, open: state.open }))
  )
  const experimentName = useExperiments((state) => state.experiments.find((experiment) => experiment.id === run?.experimentId)?.name)
  const loadExperiments = useExperiments((state) => state.load)

  useEffect(() => {
    void open(runId)
  }, [runId, open])

  // Reached directly (a link, a reload), the experiments are not loaded yet: the breadcrumb
  // names the run's experiment once they are.
  const experimentKnown = experimentName !== undefined
  useEffect(() => {
    if (run && !experimentKnown) void loadExperiments()
  }, [run, experimentKnown, loadExperiments])

  return (
    <div className="page page-wide">
      <div className="breadcrumbs">
        <a href={routeHash({ page: 'experiments' })}>Experiments</a>
        {run && (
          <>
            {' / '}
            <a href={routeHash({ page: 'experiment', experimentId: run.experimentId, tab: 'runs' })}>{experimentName ?? `Experiment ${run.experimentId}`}</a>
          </>
        )}
        {' / '}
        <span>{run?.name ?? `Run ${runId}`}</span>
      </div>
      <ErrorNote error={runError} title="Cannot load this run" />
      {!run && runLoading && <Progress label="Loading run…" />}
      {run && (
        <>
          <RunHeader run={run} />
          <RunSummary run={run} />
          <RunNote run={run} />
          {run.errorMessage && (
            <section className="panel error-panel" aria-label="error">
              <h2>Error</h2>
              <p className="error-message">{run.errorMessage}</p>
              {run.stackTrace && (
                // Focusable, so a keyboard can scroll it (axe: scrollable-region-focusable).
                <pre className="stack-trace" tabIndex={0} aria-label="stack trace">
                  {run.stackTrace}
                </pre>
              )}
            </section>
          )}
          <Charts run={run} />
          <RunChartPanels run={run} />
          <div className="two-columns">
            <KeyValues title="Parameters" values={run.hyperparameters} empty="No parameters logged." />
            <RunTags run={run} />
          </div>
          <MetricSummaries run={run} />
          <FinalMetrics run={run} />
          <Checkpoints />
          <ArtifactBrowser key={run.id} runId={run.id} label="artifacts" editable />
          <ExternalArtifacts />
          <section className="panel" aria-label="logs">
            <h2>Logs</h2>
            {run.logs ? (
              // Focusable, so a keyboard can scroll it (axe: scrollable-region-focusable).
              <pre className="logs" tabIndex={0} aria-label="run logs">
                {run.logs}
              </pre>
            ) : (
              <p className="subtle">No logs were sent with this run (they come with its completion).</p>
            )}
          </section>
        </>
      )}
    </div>
  )
}

function RunSummary({ run }: { run: RunWithMetrics }): React.JSX.Element {
  const items: Array<[string, string]> = [
    ['Created', formatDateTime(run.createdAt)],
    ['Started', formatDateTime(run.startedAt)],
    ['Completed', formatDateTime(run.completedAt)],
    ['Duration', formatDuration(durationMs(run.startedAt, run.completedAt))],
    ['Random seed', run.randomSeed === null ? '—' : run.randomSeed.toString()],
    ['Git commit', run.gitCommit ?? '—'],
    ['GPU hours', formatNumber(run.resources.gpuHours)],
    ['CPU hours', formatNumber(run.resources.cpuHours)],
    ['Peak memory', formatBytes(run.resources.peakMemoryBytes)]
  ]
  return (
    <section className="panel summary" aria-label="summary">
      <dl className="facts">
        {items.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd className={label === 'Git commit' ? 'mono' : undefined}>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  )
}

function KeyValues({ title, values, empty }: { title: string; values: Record<string, unknown>; empty: string }): React.JSX.Element {
  const entries = Object.entries(values).sort(([a], [b]) => a.localeCompare(b))
  return (
    <section className="panel" aria-label={title.toLowerCase()}>
      <h2>{title}</h2>
      {entries.length === 0 ? (
        <p className="subtle">{empty}</p>
      ) : (
        <table className="grid compact">
          <tbody>
            {entries.map(([key, value]) => (
              <tr key={key}>
                <th>{key}</th>
                <td className="mono">{formatJsonValue(value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

function Charts({ run }: { run: RunWithMetrics }): React.JSX.Element {
  const { charts, xAxis, smoothing, logScale, setXAxis, setSmoothing, setLogScale, zoom, resetZoom } = useRunPage(
    useShallow((state) => ({
      charts: state.charts,
      xAxis: state.xAxis,
      smoothing: state.smoothing,
      logScale: state.logScale,
      setXAxis: state.setXAxis,
      setSmoothing: state.setSmoothing,
      setLogScale: state.setLogScale,
      zoom: state.zoom,
      resetZoom: state.resetZoom
    }))
  )
  const keys = [...new Set([...run.metrics.map((metric) => metric.key), ...Object.keys(charts)])].sort()
  return (
    <section className="panel" aria-label="metrics charts">
      <div className="panel-header">
        <h2>Metrics</h2>
        <div className="chart-controls">
          <label>
            x-axis{' '}
            <select aria-label="x-axis" value={xAxis} onChange={(event) => setXAxis(event.target.value as XAxis)}>
              <option value="step">step</option>
              <option value="epoch">epoch</option>
              <option value="time">time</option>
            </select>
          </label>
          <label>
            smoothing{' '}
            <input
              aria-label="smoothing"
              type="range"
              min={0}
              max={0.99}
              step={0.01}
              value={smoothing}
              onChange={(event) => setSmoothing(Number(event.target.value))}
            />{' '}
            <span className="mono">{smoothing.toFixed(2)}</span>
          </label>
          <label className="inline-check">
            <input type="checkbox" aria-label="log scale" checked={logScale} onChange={(event) => setLogScale(event.target.checked)} /> log scale
          </label>
        </div>
      </div>
      {keys.length === 0 && (
        <EmptyState title="No metrics yet">
          <p>
            Charts appear here as soon as the run logs a metric (POST /v1/ml/metrics with this run's id, {run.id}); they update live.
          </p>
        </EmptyState>
      )}
      <p className="hint">{keys.length > 0 && 'Drag across a chart to zoom (the range is re-read at full detail); double-click to zoom out.'}</p>
      <div className="charts">
        {keys.map((key) => {
          const chart = charts[key]
          return (
            <MetricChart
              key={key}
              metricKey={key}
              series={chart?.series ?? null}
              loading={chart?.loading ?? true}
              error={chart?.error ?? null}
              zoomed={chart?.zoom != null}
              xAxis={xAxis}
              smoothing={smoothing}
              logScale={logScale}
              onZoom={(range) => void zoom(key, range)}
              onResetZoom={() => void resetZoom(key)}
            />
          )
        })}
      </div>
    </section>
  )
}

function MetricSummaries({ run }: { run: RunWithMetrics }): React.JSX.Element | null {
  if (run.metrics.length === 0) return null
  return (
    <section className="panel" aria-label="latest metrics">
      <h2>Latest metrics</h2>
      <table className="grid compact">
        <thead>
          <tr>
            <th>Key</th>
            <th className="num">Last</th>
            <th className="num">Step</th>
            <th className="num">Min</th>
            <th className="num">Max</th>
            <th className="num">Points</th>
          </tr>
        </thead>
        <tbody>
          {run.metrics.map((metric) => (
            <tr key={metric.key}>
              <th>{metric.key}</th>
              <td className="num">{formatNumber(metric.lastValue)}</td>
              <td className="num">{metric.lastStep.toString()}</td>
              <td className="num">{formatNumber(metric.min)}</td>
              <td className="num">{formatNumber(metric.max)}</td>
              <td className="num">{metric.count.toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

/** What the run reported at completion (`final_metrics`); these values win over logged ones in the table, filter and leaderboard. */
function FinalMetrics({ run }: { run: RunWithMetrics }): React.JSX.Element | null {
  const entries = Object.entries(run.finalMetrics)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .sort(([a], [b]) => a.localeCompare(b))
  if (entries.length === 0) return null
  return (
    <section className="panel" aria-label="final metrics">
      <h2>Final metrics</h2>
      <p className="hint">Reported when the run completed. The runs table, filter (metrics.&lt;key&gt;) and leaderboard use these values over the logged ones.</p>
      <table className="grid compact">
        <tbody>
          {entries.map(([key, value]) => (
            <tr key={key}>
              <th>{key}</th>
              <td className="num">{formatNumber(value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

function Checkpoints(): React.JSX.Element {
  const checkpoints = useRunPage((state) => state.checkpoints)
  return (
    <section className="panel" aria-label="checkpoints">
      <h2>Checkpoints</h2>
      {checkpoints.length === 0 ? (
        <p className="subtle">No checkpoints saved (POST /v1/ml/runs/&lt;id&gt;/checkpoints).</p>
      ) : (
        <table className="grid compact">
          <thead>
            <tr>
              <th />
              <th className="num">Step</th>
              <th className="num">Epoch</th>
              <th>Path</th>
              <th>Metrics</th>
              <th className="num">Size</th>
              <th>BLAKE3</th>
            </tr>
          </thead>
          <tbody>
            {checkpoints.map((checkpoint) => (
              <tr key={checkpoint.id} className={checkpoint.isBest ? 'best' : ''}>
                <td>{checkpoint.isBest && <span className="badge badge-best">best</span>}</td>
                <td className="num">{checkpoint.step.toString()}</td>
                <td className="num">{checkpoint.epoch ?? '—'}</td>
                <td className="mono">{checkpoint.path}</td>
                <td className="mono">
                  {Object.entries(checkpoint.metricsSnapshot)
                    .map(([key, value]) => `${key}=${formatJsonValue(value)}`)
                    .join(', ')}
                </td>
                <td className="num">{formatBytes(checkpoint.sizeBytes)}</td>
                <td className="mono hash">{checkpoint.blake3 ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

/**
 * Artifacts registered by URI (kept outside Hypercube: s3://, gs://…): listed with what was
 * recorded of them. Stored files are in the artifact browser above.
 */
function ExternalArtifacts(): React.JSX.Element | null {
  const { artifacts, artifactsError } = useRunPage(useShallow((state) => ({ artifacts: state.artifacts, artifactsError: state.artifactsError })))
  const external = artifacts.filter((artifact) => artifact.uri !== null)
  if (external.length === 0 && !artifactsError) return null
  return (
    <section className="panel" aria-label="artifacts stored elsewhere">
      <h2>Artifacts stored elsewhere</h2>
      <ErrorNote error={artifactsError} title="Cannot list artifacts" />
      {external.length > 0 && (
        <table className="grid compact">
          <thead>
            <tr>
              <th>URI</th>
              <th>Kind</th>
              <th className="num">Size</th>
              <th>BLAKE3</th>
              <th>Verified</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {external.map((artifact) => (
              <ArtifactRow key={artifact.id} artifact={artifact} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

function ArtifactRow({ artifact }: { artifact: Artifact }): React.JSX.Element {
  const verifying = useRunPage((state) => state.verifying[artifact.id] ?? false)
  const result = useRunPage((state) => state.verifications[artifact.id])
  const verify = useRunPage((state) => state.verify)
  const stored = artifact.uri === null
  return (
    <tr>
      <td className="mono">{artifact.uri ?? artifact.path}</td>
      <td>{artifact.kind}</td>
      <td className="num">{formatBytes(artifact.sizeBytes)}</td>
      <td className="mono hash" title={artifact.blake3 ?? undefined}>
        {artifact.blake3 ?? '—'}
      </td>
      <td>
        {result && 'verified' in result ? (
          result.verified ? (
            <span className="ok">✓ matches ({formatDateTime(artifact.verifiedAt)})</span>
          ) : (
            <span className="bad">✗ differs: now {result.actualBlake3.slice(0, 16)}…, {formatBytes(result.actualSizeBytes)}</span>
          )
        ) : result ? (
          <span className="bad">{result.message}</span>
        ) : (
          formatDateTime(artifact.verifiedAt)
        )}
      </td>
      <td>
        {stored && (
          <button type="button" disabled={verifying} onClick={() => void verify(artifact.id)}>
            {verifying ? 'Verifying…' : 'Verify'}
          </button>
        )}
      </td>
    </tr>
  )
}
