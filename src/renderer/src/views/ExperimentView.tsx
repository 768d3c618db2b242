import { useEffect, useState } from 'react'
import type { PanelConfig } from '../lib/chart-panels'
import { routeHash, type RunsTableUrlState } from '../stores/app-store'
import { runsTableStore, useApp, useExperiments, useRunsTable } from '../stores'
import { selectedShown } from '../stores/run-bulk-slice'
import { ExportBundleDialog } from './BundleDialogs'
import { ExperimentCharts } from './ExperimentCharts'
import { LeaderboardView } from './LeaderboardView'
import { RunsTableView } from './RunsTableView'
import { StatusBadge } from './common'

export function ExperimentView({
  experimentId,
  tab,
  table,
  charts
}: {
  experimentId: number
  tab: 'runs' | 'leaderboard'
  table?: RunsTableUrlState
  charts?: PanelConfig[]
}): React.JSX.Element {
  const experiment = useExperiments((state) => state.experiments.find((candidate) => candidate.id === experimentId))
  const loaded = useExperiments((state) => state.loaded)
  const load = useExperiments((state) => state.load)
  const apiInfo = useApp((state) => state.apiInfo)
  // The export takes the runs selected in the table (those it shows), else the whole experiment.
  const selectedCount = useRunsTable((state) => (state.experimentId === experimentId ? selectedShown(state).length : 0))
  const [exportRunIds, setExportRunIds] = useState<number[] | null>(null)

  useEffect(() => {
    if (!loaded) void load()
  }, [loaded, load])

  return (
    <div className="page page-wide">
      <div className="breadcrumbs">
        <a href={routeHash({ page: 'experiments' })}>Experiments</a> / <span>{experiment?.name ?? `#${experimentId}`}</span>
      </div>
      <div className="page-header">
        <h1>{experiment?.name ?? `Experiment ${experimentId}`}</h1>
        {experiment && <StatusBadge status={experiment.status} />}
        {experiment && <span className="subtle">id {experiment.id} · {experiment.runCount} runs</span>}
        {experiment && (
          <button
            type="button"
            className="export-bundle"
            onClick={() => {
              const state = runsTableStore.getState()
              setExportRunIds(state.experimentId === experimentId ? selectedShown(state) : [])
            }}
          >
            {selectedCount > 0 ? `Export ${selectedCount} selected run${selectedCount === 1 ? '' : 's'} as review bundle…` : 'Export review bundle…'}
          </button>
        )}
      </div>
      {exportRunIds !== null && <ExportBundleDialog target={{ experimentId, runIds: exportRunIds }} onClose={() => setExportRunIds(null)} />}
      {loaded && !experiment && <p className="error-note">Experiment {experimentId} does not exist (or was just deleted).</p>}
      <nav className="tabs" aria-label="experiment views">
        <a className={tab === 'runs' ? 'active' : ''} href={routeHash({ page: 'experiment', experimentId, tab: 'runs' })}>
          Runs
        </a>
        <a className={tab === 'leaderboard' ? 'active' : ''} href={routeHash({ page: 'experiment', experimentId, tab: 'leaderboard' })}>
          Leaderboard
        </a>
      </nav>
      {tab === 'runs' ? (
        <>
          <ExperimentCharts experimentId={experimentId} urlPanels={charts} />
          <RunsTableView experimentId={experimentId} apiInfo={apiInfo} urlState={table} />
        </>
      ) : (
        <LeaderboardView experimentId={experimentId} />
      )}
    </div>
  )
}
