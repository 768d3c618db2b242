import { useEffect, useRef, useState } from 'react'
import type { BundleCheck, BundleConflictMode, BundleExportEstimate, BundleExportResult, BundleImportReport, BundleSaveResult } from '../../../shared/bundles'
import type { ErrorInfo } from '../../../shared/errors'
import { bundleDownloadUrl, newRequestId, onBundleProgress, uploadBundle, type BundleProgress } from '../lib/bundle-transfer'
import { saveDownload } from '../lib/download'
import { call, errorInfo } from '../lib/call'
import { formatBytes } from '../lib/format'
import { api, useExperiments } from '../stores'
import { ErrorNote, ImportProblems, useModalDialog } from './common'
import './mlflow-import.css'
import './bundle-dialogs.css'

/**
 * Review bundles (.hcube) from the window — the same exporter and importer as `hypercube export`,
 * `import` and `review`, run by main: export an experiment or the selected runs (size estimate
 * first, then progress, then the download), import a bundle (upload, every member checked, the
 * conflict choice, progress, the report), and open one read-only as a review in a new tab.
 */

const count = (value: number): string => value.toLocaleString('en-US')

/** A long step's bar with its percentage and what is being done. */
function StepProgress({ label, progress, fallback }: { label: string; progress: BundleProgress | null; fallback: string }): React.JSX.Element {
  const percent = progress && progress.total > 0 ? Math.min(100, Math.floor((progress.done / progress.total) * 100)) : 0
  return (
    <div className="import-progress" role="status">
      <progress aria-label={label} value={progress?.done ?? 0} max={progress?.total || 1} />
      <span>
        {percent} % — {progress?.detail ?? fallback}
      </span>
    </div>
  )
}

/** Runs `work` with the 'bundles.progress' events of its requestId going to `onProgress`. */
async function withProgress<T>(onProgress: (progress: BundleProgress) => void, work: (requestId: string) => Promise<T>): Promise<T> {
  const requestId = newRequestId()
  const stop = onBundleProgress(api, requestId, onProgress)
  try {
    return await work(requestId)
  } finally {
    stop()
  }
}

/** What the export dialog writes: an experiment (the selected runs when there are any), or a registered model. */
export type ExportTarget = { experimentId: number; runIds: number[] } | { modelName: string }

export function ExportBundleDialog({ target, onClose }: { target: ExportTarget; onClose: () => void }): React.JSX.Element {
  const [estimate, setEstimate] = useState<BundleExportEstimate | null>(null)
  const [artifacts, setArtifacts] = useState(true)
  const [running, setRunning] = useState(false)
  const [progress, setProgress] = useState<BundleProgress | null>(null)
  const [result, setResult] = useState<BundleExportResult | null>(null)
  /** Where main saved the export (the desktop app), or that the user cancelled. */
  const [saved, setSaved] = useState<BundleSaveResult | null>(null)
  const [error, setError] = useState<ErrorInfo | null>(null)
  const close = (): void => {
    if (!running) onClose()
  }
  const { dialogRef, trapTab } = useModalDialog(close)
  const runIds = 'runIds' in target ? target.runIds : []
  const selection = runIds.length > 0 ? runIds : undefined
  const targetKey = 'modelName' in target ? `model:${target.modelName}` : `experiment:${target.experimentId}`

  useEffect(() => {
    let current = true
    const estimating = 'modelName' in target ? call(api, 'bundles.estimateModel', { modelName: target.modelName }) : call(api, 'bundles.estimate', { experimentId: target.experimentId, runIds: selection })
    estimating
      .then((value) => current && setEstimate(value))
      .catch((caught: unknown) => current && setError(errorInfo(caught)))
    return () => {
      current = false
    }
    // The selection is fixed while the dialog is open.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [targetKey])

  const start = async (): Promise<void> => {
    setRunning(true)
    setError(null)
    setProgress(null)
    try {
      const written = await withProgress(setProgress, (requestId) =>
        'modelName' in target
          ? call(api, 'bundles.exportModel', { modelName: target.modelName, artifacts, requestId })
          : call(api, 'bundles.export', { experimentId: target.experimentId, runIds: selection, artifacts, requestId })
      )
      setResult(written)
      const url = bundleDownloadUrl(written.exportId)
      if (url) saveDownload(url, written.fileName)
      else setSaved(await call(api, 'bundles.saveExport', { exportId: written.exportId }))
    } catch (caught) {
      setError(errorInfo(caught))
    } finally {
      setRunning(false)
    }
  }

  /** The desktop app, after the save dialog was cancelled (or refused a folder): the export still waits, to save again. */
  const saveAgain = async (exportId: string): Promise<void> => {
    setRunning(true)
    setError(null)
    try {
      setSaved(await call(api, 'bundles.saveExport', { exportId }))
    } catch (caught) {
      setError(errorInfo(caught))
    } finally {
      setRunning(false)
    }
  }

  const estimated = estimate && (artifacts ? estimate.estimatedBytes.withArtifacts : estimate.estimatedBytes.withoutArtifacts)
  return (
    <dialog ref={dialogRef} className="modal bundle-dialog" aria-label="Export review bundle" onKeyDown={trapTab}>
      <h2>Export review bundle</h2>
      <p className="subtle">One .hcube file to review elsewhere (Open review bundle…) or to import into another workspace; every metric point exactly.</p>
      {!estimate && !error && <p role="status">Sizing the export…</p>}
      {estimate && (
        <section className="bundle-summary" aria-label="What the bundle will hold">
          {'modelName' in target ? (
            <p>
              The model {target.modelName} with its versions, approvals, aliases and deployments, and their {count(estimate.runs)} source run{estimate.runs === 1 ? '' : 's'}
              {estimate.experiments.length > 0 ? ` (of ${estimate.experiments.join(', ')})` : ''}: {count(estimate.points)} metric points.
            </p>
          ) : (
            <p>
              {runIds.length > 0 ? `The ${count(estimate.runs)} selected runs` : `All ${count(estimate.runs)} runs`} of {estimate.experiments.join(', ')}: {count(estimate.points)} metric points
              {estimate.models.length > 0 ? `, models ${estimate.models.join(', ')} with their versions` : ''}.
            </p>
          )}
          <label className="inline-check">
            <input type="checkbox" checked={artifacts} disabled={running || result !== null} onChange={(event) => setArtifacts(event.target.checked)} /> Include artifacts ({count(estimate.artifactFiles)} files,{' '}
            {formatBytes(estimate.artifactBytes)})
          </label>
          <p className="bundle-estimate">
            Estimated size: <strong>about {formatBytes(estimated ?? 0)}</strong> as {estimate.fileName}
          </p>
        </section>
      )}
      {running && <StepProgress label="Export progress" progress={progress} fallback="reading the runs…" />}
      <ErrorNote error={error} title="Cannot export" />
      {result && (
        <p className="bundle-done" role="status">
          Exported {count(result.runs)} runs and {count(result.points)} metric points{result.artifactFiles > 0 ? `, ${count(result.artifactFiles)} artifact files` : ''}: {result.fileName}, {formatBytes(result.bytes)}.
          {result.problems.length > 0 && ` Not exported: ${result.problems.join('; ')}`}
        </p>
      )}
      {saved?.status === 'saved' && (
        <p className="bundle-done" role="status">
          Saved to {saved.path}.
        </p>
      )}
      {saved?.status === 'cancelled' && (
        <p className="subtle" role="status">
          Not saved yet: the export waits here for an hour.
        </p>
      )}
      <div className="modal-actions">
        <button type="button" onClick={close} disabled={running}>
          {result ? 'Close' : 'Cancel'}
        </button>
        {result && !bundleDownloadUrl(result.exportId) && saved?.status !== 'saved' && (
          <button type="button" onClick={() => void saveAgain(result.exportId)} disabled={running}>
            Save…
          </button>
        )}
        {!result && (
          <button type="button" onClick={() => void start()} disabled={running || !estimate}>
            Export
          </button>
        )}
      </div>
    </dialog>
  )
}

/** The .hcube file chooser of the import and review dialogs. */
function BundleFileInput({ onPick }: { onPick: (file: File | undefined) => void }): React.JSX.Element {
  return (
    <label className="field">
      Bundle file (.hcube)
      <input
        type="file"
        aria-label="Bundle file"
        accept=".hcube,application/gzip"
        onChange={(event) => {
          const file = event.target.files?.[0]
          // Emptied, so choosing the same file again (after a refusal, or to import it twice) is a change too.
          event.target.value = ''
          onPick(file)
        }}
      />
    </label>
  )
}

type Phase = 'pick' | 'uploading' | 'checking' | 'checked' | 'importing' | 'done' | 'opening' | 'opened'

/** Upload then check, shared by the import and the review dialogs. */
function useBundleUpload() {
  const [phase, setPhase] = useState<Phase>('pick')
  const [sent, setSent] = useState<{ bytes: number; total: number } | null>(null)
  const [progress, setProgress] = useState<BundleProgress | null>(null)
  const [error, setError] = useState<ErrorInfo | null>(null)
  const upload = async (file: File): Promise<{ bundleId: string; fileName: string } | null> => {
    setError(null)
    setPhase('uploading')
    setSent({ bytes: 0, total: file.size })
    try {
      return await uploadBundle(api, file, (bytes) => setSent({ bytes, total: file.size }))
    } catch (caught) {
      setError(errorInfo(caught))
      setPhase('pick')
      return null
    }
  }
  return { phase, setPhase, sent, progress, setProgress, error, setError, upload }
}

function UploadProgress({ sent }: { sent: { bytes: number; total: number } | null }): React.JSX.Element {
  return (
    <div className="import-progress" role="status">
      <progress aria-label="Upload progress" value={sent?.bytes ?? 0} max={sent?.total || 1} />
      <span>
        Uploading {formatBytes(sent?.bytes ?? 0)} of {formatBytes(sent?.total ?? 0)}
      </span>
    </div>
  )
}

const CONFLICT_CHOICES: Array<{ mode: BundleConflictMode; label: string; explain: string }> = [
  { mode: 'skip', label: 'Skip them', explain: 'the runs here stay as they are' },
  { mode: 'keep-both', label: 'Keep both', explain: "the bundle's runs come in as new runs beside these" },
  { mode: 'replace', label: 'Replace them', explain: "the runs here are deleted for good and the bundle's take their place" }
]

const REPORT_COUNTS = (report: BundleImportReport): Array<[string, string]> => [
  ['experiments created', count(report.experiments.created.length)],
  ['runs imported', count(report.runs.imported.length)],
  ['runs replaced', count(report.runs.replaced.length)],
  ['runs kept both', count(report.runs.copied.length)],
  ['runs skipped', count(report.runs.skipped.length)],
  ['metric points', count(report.points)],
  ['artifact files', count(report.artifacts.files)],
  ['checkpoints', count(report.checkpoints)],
  ['models created', count(report.models.created.length)],
  ['model versions', count(report.versions.created.length)]
]

export function ImportBundleDialog({ onClose }: { onClose: () => void }): React.JSX.Element {
  const { phase, setPhase, sent, progress, setProgress, error, setError, upload } = useBundleUpload()
  const [check, setCheck] = useState<BundleCheck | null>(null)
  const [onConflict, setOnConflict] = useState<BundleConflictMode>('skip')
  const [report, setReport] = useState<BundleImportReport | null>(null)
  const reload = useExperiments((state) => state.load)
  const busy = phase === 'uploading' || phase === 'checking' || phase === 'importing'
  const staged = useRef<string | null>(null)
  const close = (): void => {
    if (busy) return
    // A bundle checked but not imported goes now rather than in an hour.
    if (staged.current) void api.invoke('bundles.discard', { bundleId: staged.current }).catch(() => undefined)
    onClose()
  }
  const { dialogRef, trapTab } = useModalDialog(close)

  const pick = async (file: File | undefined): Promise<void> => {
    if (!file) return
    setCheck(null)
    setReport(null)
    const uploaded = await upload(file)
    if (!uploaded) return
    setPhase('checking')
    setProgress(null)
    try {
      const checked = await withProgress(setProgress, (requestId) => call(api, 'bundles.check', { bundleId: uploaded.bundleId, requestId }))
      staged.current = checked.bundleId
      setCheck(checked)
      setPhase('checked')
    } catch (caught) {
      setError(errorInfo(caught))
      setPhase('pick')
    }
  }

  const start = async (): Promise<void> => {
    if (!check) return
    setPhase('importing')
    setProgress(null)
    setError(null)
    try {
      const done = await withProgress(setProgress, (requestId) => call(api, 'bundles.import', { bundleId: check.bundleId, onConflict, requestId }))
      staged.current = null
      setReport(done)
      setPhase('done')
      await reload()
    } catch (caught) {
      staged.current = null
      setError(errorInfo(caught))
      setPhase('pick')
    }
  }

  return (
    <dialog ref={dialogRef} className="modal bundle-dialog" aria-label="Import review bundle" onKeyDown={trapTab}>
      <h2>Import review bundle</h2>
      <p className="subtle">Runs keep their ids, so importing a bundle twice adds nothing twice; every member is checked against the bundle's manifest first.</p>
      {(phase === 'pick' || phase === 'checked' || phase === 'done') && (
        <BundleFileInput onPick={(file) => void pick(file)} />
      )}
      {phase === 'uploading' && <UploadProgress sent={sent} />}
      {phase === 'checking' && <StepProgress label="Check progress" progress={progress} fallback="checking every member against the manifest…" />}
      <ErrorNote error={error} title="Cannot import" />
      {check && phase === 'checked' && (
        <section className="bundle-summary" aria-label="Bundle contents">
          <p>
            {check.fileName}: {count(check.members)} members checked. {count(check.runs)} runs and {count(check.points)} metric points from {check.experiments.join(', ') || 'no experiment'}
            {check.artifactFiles > 0 ? `, ${count(check.artifactFiles)} artifact files` : ''}
            {check.models.length > 0 ? `, models ${check.models.join(', ')}` : ''}.
          </p>
          {check.conflicts.length > 0 && (
            <fieldset className="bundle-conflicts">
              <legend>
                {count(check.conflicts.length)} of its runs are already here: {check.conflicts.slice(0, 5).map((run) => run.name).join(', ')}
                {check.conflicts.length > 5 ? ', …' : ''}
              </legend>
              {CONFLICT_CHOICES.map((choice) => (
                <label key={choice.mode} className="inline-check">
                  <input type="radio" name="on-conflict" value={choice.mode} checked={onConflict === choice.mode} onChange={() => setOnConflict(choice.mode)} /> {choice.label} — {choice.explain}
                </label>
              ))}
            </fieldset>
          )}
        </section>
      )}
      {phase === 'importing' && <StepProgress label="Import progress" progress={progress} fallback="importing…" />}
      {report && (
        <section className="import-report" aria-label="Import report" tabIndex={0}>
          <h3>Imported from {report.file}</h3>
          <dl>
            {REPORT_COUNTS(report).map(([label, value]) => (
              <div key={label}>
                <dt>{label}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          <ImportProblems problems={report.problems} />
        </section>
      )}
      <div className="modal-actions">
        <button type="button" onClick={close} disabled={busy}>
          {report ? 'Close' : 'Cancel'}
        </button>
        {phase === 'checked' && (
          <button type="button" onClick={() => void start()}>
            Import
          </button>
        )}
      </div>
    </dialog>
  )
}

/** Opens the review's login URL in a new tab (noopener: the review is another origin with nothing to do with this page). */
function openReviewTab(loginUrl: string): void {
  window.open(loginUrl, '_blank', 'noopener')
}

export function OpenReviewDialog({ onClose }: { onClose: () => void }): React.JSX.Element {
  const { phase, setPhase, sent, progress, setProgress, error, setError, upload } = useBundleUpload()
  const [opened, setOpened] = useState<{ reviewId: string; bundle: string } | null>(null)
  const busy = phase === 'uploading' || phase === 'opening'
  const close = (): void => {
    if (!busy) onClose()
  }
  const { dialogRef, trapTab } = useModalDialog(close)

  const pick = async (file: File | undefined): Promise<void> => {
    if (!file) return
    const uploaded = await upload(file)
    if (!uploaded) return
    setPhase('opening')
    setProgress(null)
    try {
      const { review, loginUrl } = await withProgress(setProgress, (requestId) => call(api, 'reviews.open', { bundleId: uploaded.bundleId, requestId }))
      setOpened({ reviewId: review.reviewId, bundle: review.info.bundle })
      setPhase('opened')
      openReviewTab(loginUrl)
    } catch (caught) {
      setError(errorInfo(caught))
      setPhase('pick')
    }
  }

  return (
    <dialog ref={dialogRef} className="modal bundle-dialog" aria-label="Open review bundle" onKeyDown={trapTab}>
      <h2>Open review bundle</h2>
      <p className="subtle">Browse a bundle read-only, in a new tab, without importing it: it is loaded into a throwaway database of its own. Its “Import into my workspace” then brings it here.</p>
      {phase === 'pick' && (
        <BundleFileInput onPick={(file) => void pick(file)} />
      )}
      {phase === 'uploading' && <UploadProgress sent={sent} />}
      {phase === 'opening' && <StepProgress label="Review progress" progress={progress} fallback="checking the bundle and loading it into its own database…" />}
      <ErrorNote error={error} title="Cannot open the review" />
      {opened && <OpenReviews highlight={opened.reviewId} />}
      <div className="modal-actions">
        <button type="button" onClick={close} disabled={busy}>
          {opened ? 'Close' : 'Cancel'}
        </button>
      </div>
    </dialog>
  )
}

/** The reviews this app has open, each to open again or close (its server stopped, its folder removed). */
export function OpenReviews({ highlight }: { highlight?: string }): React.JSX.Element | null {
  const [reviews, setReviews] = useState<Array<{ reviewId: string; bundle: string }>>([])
  const [error, setError] = useState<ErrorInfo | null>(null)
  const load = async (): Promise<void> => {
    try {
      setReviews((await call(api, 'reviews.list', {})).map((review) => ({ reviewId: review.reviewId, bundle: review.info.bundle })))
    } catch (caught) {
      setError(errorInfo(caught))
    }
  }
  useEffect(() => {
    void load()
  }, [highlight])
  // A review closed elsewhere (its own banner's Close review, another tab) leaves the list at once.
  useEffect(
    () =>
      api.onEvent((event) => {
        if (event.name === 'reviews.changed') setReviews(event.payload.map((review) => ({ reviewId: review.reviewId, bundle: review.info.bundle })))
      }),
    []
  )
  if (reviews.length === 0 && !error) return null
  return (
    <section className="open-reviews" aria-label="Open reviews">
      <ErrorNote error={error} />
      <ul>
        {reviews.map((review) => (
          <li key={review.reviewId} className={review.reviewId === highlight ? 'just-opened' : undefined}>
            <span>
              {review.reviewId === highlight ? 'Opened in a new tab: ' : 'Open review: '}
              <strong>{review.bundle}</strong>
            </span>
            <button
              type="button"
              onClick={() =>
                void call(api, 'reviews.loginUrl', { reviewId: review.reviewId })
                  .then(({ loginUrl }) => openReviewTab(loginUrl))
                  .catch((caught: unknown) => setError(errorInfo(caught)))
              }
            >
              Open again
            </button>
            <button
              type="button"
              onClick={() =>
                void call(api, 'reviews.close', { reviewId: review.reviewId })
                  .then(load)
                  .catch((caught: unknown) => setError(errorInfo(caught)))
              }
            >
              Close review
            </button>
          </li>
        ))}
      </ul>
    </section>
  )
}
