import { useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { MlflowImportReport } from '../../../shared/domain'
import { useExperiments } from '../stores'
import { ErrorNote, ImportProblems, useModalDialog } from './common'
import './mlflow-import.css'

const COUNTS: Array<[keyof MlflowImportReport['imported'], string]> = [
  ['experiments', 'experiments'],
  ['runs', 'runs'],
  ['points', 'metric points'],
  ['params', 'params'],
  ['tags', 'tags'],
  ['datasetInputs', 'dataset inputs'],
  ['artifacts', 'artifacts'],
  ['loggedModels', 'logged models'],
  ['registeredModels', 'models'],
  ['modelVersions', 'model versions'],
  ['aliases', 'aliases']
]

/**
 * "Import from MLflow": the same import as `hypercube import-mlflow`, run by main into this
 * workspace — an mlruns folder, an mlflow.db, a PostgreSQL store or a running server. Preview is
 * a dry run (what would be imported; nothing written); the import shows its progress and then
 * the report.
 */
export function MlflowImportDialog({ onClose }: { onClose: () => void }): React.JSX.Element {
  const { state, importFromMlflow, reset } = useExperiments(
    useShallow((store) => ({ state: store.mlflowImport, importFromMlflow: store.importFromMlflow, reset: store.resetMlflowImport }))
  )
  const [source, setSource] = useState('')
  const [experiments, setExperiments] = useState('')
  const [artifactsDir, setArtifactsDir] = useState('')
  const [token, setToken] = useState('')
  const close = (): void => {
    if (state.running) return // an import runs to its end; the dialog stays to show it
    reset()
    onClose()
  }
  const { dialogRef, trapTab } = useModalDialog(close)
  const start = (dryRun: boolean): void => {
    const names = experiments
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '')
    void importFromMlflow({
      source: source.trim(),
      dryRun,
      ...(names.length > 0 ? { experiments: names } : {}),
      ...(artifactsDir.trim() !== '' ? { artifactsDir: artifactsDir.trim() } : {}),
      ...(token !== '' ? { token } : {})
    })
  }
  const percent = state.progress && state.progress.total > 0 ? Math.floor((state.progress.done / state.progress.total) * 100) : 0
  const report = state.report

  return (
    <dialog ref={dialogRef} className="modal mlflow-import" aria-label="Import from MLflow" onKeyDown={trapTab}>
      <form
        onSubmit={(event) => {
          event.preventDefault()
          start(false)
        }}
      >
        <h2>Import from MLflow</h2>
        <p className="subtle">Runs keep their MLflow ids, so mlflow clients go on working against them; what is here already is skipped.</p>
        <label className="field">
          Source
          <input
            aria-label="Source"
            required
            autoFocus
            value={source}
            onChange={(event) => setSource(event.target.value)}
            placeholder="/path/to/mlruns, /path/to/mlflow.db, postgresql://…, https://mlflow.example.com"
          />
        </label>
        <label className="field">
          Experiments (names, comma-separated; empty for all)
          <input aria-label="Experiments" value={experiments} onChange={(event) => setExperiments(event.target.value)} />
        </label>
        <label className="field">
          Artifacts folder (for a database store whose artifacts are elsewhere)
          <input aria-label="Artifacts folder" value={artifactsDir} onChange={(event) => setArtifactsDir(event.target.value)} />
        </label>
        <label className="field">
          Token (for a running server; else MLFLOW_TRACKING_TOKEN)
          <input aria-label="Token" type="password" autoComplete="off" value={token} onChange={(event) => setToken(event.target.value)} />
        </label>
        {state.running && (
          <div className="import-progress" role="status">
            <progress aria-label="Import progress" value={state.progress?.done ?? 0} max={state.progress?.total || 1} />
            <span>
              {percent} % {state.progress ? `— ${state.progress.detail}` : '— reading the store…'}
            </span>
          </div>
        )}
        <ErrorNote error={state.error} title="Cannot import" />
        {report && (
          <section className="import-report" aria-label="Import report" tabIndex={0}>
            <h3>
              {report.dryRun ? 'Would import' : 'Imported'} from {report.source}
            </h3>
            <dl>
              {COUNTS.map(([key, label]) => (
                <div key={key}>
                  <dt>{label}</dt>
                  <dd>{report.imported[key].toLocaleString()}</dd>
                </div>
              ))}
            </dl>
            <p>
              Skipped (already here): {report.skipped.experiments.length} experiments, {report.skipped.runs.length} runs, {report.skipped.registeredModels.length} models
            </p>
            <ImportProblems problems={report.problems} />
          </section>
        )}
        <div className="modal-actions">
          <button type="button" onClick={close} disabled={state.running}>
            {report && !report.dryRun ? 'Close' : 'Cancel'}
          </button>
          <button type="button" onClick={() => start(true)} disabled={state.running || source.trim() === ''}>
            Preview
          </button>
          <button type="submit" disabled={state.running || source.trim() === ''}>
            Import
          </button>
        </div>
      </form>
    </dialog>
  )
}
