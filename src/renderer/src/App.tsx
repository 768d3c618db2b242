import { useEffect, useState } from 'react'
import { parseRoute, routeHash } from './stores/app-store'
import { appStore, systemStore, useApp, useSystem, useTheme } from './stores'
import { THEME_CHOICES, type ThemeChoice } from './stores/theme-store'
import { ExperimentsView } from './views/ExperimentsView'
import { ExperimentView } from './views/ExperimentView'
import { MlflowRunLink, RunView } from './views/RunView'
import { CompareView } from './views/CompareView'
import { ModelsView, ModelView } from './views/ModelsView'
import { PluginsView, SettingsView } from './views/SystemViews'

export function App(): React.JSX.Element {
  const route = useApp((state) => state.route)
  const loadApiInfo = useApp((state) => state.loadApiInfo)
  const reviewClosed = useSystem((state) => state.reviewClosed)

  useEffect(() => {
    void loadApiInfo()
    void systemStore.getState().loadApiState()
    const onHashChange = (): void => appStore.getState().setRoute(parseRoute(window.location.hash))
    window.addEventListener('hashchange', onHashChange)
    return () => window.removeEventListener('hashchange', onHashChange)
  }, [loadApiInfo])

  // Its server is gone: every view would only show failed calls.
  if (reviewClosed) return <ReviewClosed />

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href={routeHash({ page: 'experiments' })}>
          Hypercube
        </a>
        <nav>
          <a href={routeHash({ page: 'experiments' })} className={['experiments', 'experiment', 'run', 'mlflowRun', 'compare'].includes(route.page) ? 'active' : ''}>
            Experiments
          </a>
          <a href={routeHash({ page: 'models' })} className={route.page === 'models' || route.page === 'model' ? 'active' : ''}>
            Models
          </a>
          <a href={routeHash({ page: 'plugins' })} className={route.page === 'plugins' ? 'active' : ''}>
            Plugins
          </a>
          <a href={routeHash({ page: 'settings' })} className={route.page === 'settings' ? 'active' : ''}>
            Settings
          </a>
        </nav>
        <ThemeSwitch />
      </header>
      <ReviewBanner />
      <ApiDoorBanner />
      <main className="content">
        {route.page === 'experiments' && <ExperimentsView />}
        {route.page === 'experiment' && <ExperimentView experimentId={route.experimentId} tab={route.tab} table={route.table} charts={route.charts} />}
        {route.page === 'run' && <RunView runId={route.runId} />}
        {route.page === 'mlflowRun' && <MlflowRunLink experimentId={route.experimentId} runUuid={route.runUuid} />}
        {route.page === 'compare' && <CompareView experimentId={route.experimentId} url={route.compare} />}
        {route.page === 'models' && <ModelsView />}
        {route.page === 'model' && <ModelView modelName={route.modelName} tab={route.tab} />}
        {route.page === 'plugins' && <PluginsView />}
        {route.page === 'settings' && <SettingsView />}
      </main>
    </div>
  )
}

/** System / light / dark, remembered for this window's browser (theme-store.ts). */
function ThemeSwitch(): React.JSX.Element {
  const choice = useTheme((state) => state.choice)
  const setChoice = useTheme((state) => state.setChoice)
  return (
    <label className="theme-switch">
      <span>Theme</span>{' '}
      <select aria-label="theme" value={choice} onChange={(event) => setChoice(event.target.value as ThemeChoice)}>
        {THEME_CHOICES.map((option) => (
          <option key={option} value={option}>
            {option === 'system' ? 'System' : option === 'light' ? 'Light' : 'Dark'}
          </option>
        ))}
      </select>
    </label>
  )
}

/** A review closed from its banner: what happened, and how to see the bundle again. */
function ReviewClosed(): React.JSX.Element {
  const review = useSystem((state) => state.review)
  return (
    <div className="app">
      <main className="content">
        <section className="review-closed" aria-label="Review closed">
          <h1>This review is closed</h1>
          <p>
            The review of {review?.bundle ?? 'the bundle'} was stopped: its server and its throwaway copy are gone. Anything imported from it stays in your workspace.
          </p>
          <p>To look at it again, open the bundle from your workspace (Open review bundle…). You can close this tab.</p>
        </section>
      </main>
    </div>
  )
}

/**
 * In a review (`hypercube review FILE`, or one opened from a running app): what is shown, that
 * nothing can be changed, the one way to bring it in, and — when the app opened it — Close review.
 */
function ReviewBanner(): React.JSX.Element | null {
  const review = useSystem((state) => state.review)
  const importing = useSystem((state) => state.reviewImporting)
  const result = useSystem((state) => state.reviewImport)
  const error = useSystem((state) => state.reviewImportError)
  const importReview = useSystem((state) => state.importReview)
  const closing = useSystem((state) => state.reviewClosing)
  const closeError = useSystem((state) => state.reviewCloseError)
  const closeReview = useSystem((state) => state.closeReview)
  const [onConflict, setOnConflict] = useState<'skip' | 'keep-both' | 'replace'>('skip')
  if (!review) return null
  return (
    <section className="banner banner-review" aria-label="Review bundle">
      <p>
        <strong>Reviewing bundle {review.bundle} — read-only.</strong> {review.runs} runs and {review.points.toLocaleString('en-US')} metric points from{' '}
        {review.experiments.join(', ') || 'no experiment'}
        {review.models.length > 0 ? `, models ${review.models.join(', ')}` : ''}, written {new Date(review.createdAt).toLocaleString()}. Nothing here can be
        changed; it is not in your workspace.
      </p>
      <div className="banner-actions">
        <label>
          Runs already in your workspace:{' '}
          <select value={onConflict} onChange={(event) => setOnConflict(event.target.value as typeof onConflict)} disabled={importing}>
            <option value="skip">skip them</option>
            <option value="keep-both">keep both</option>
            <option value="replace">replace them</option>
          </select>
        </label>
        <button type="button" onClick={() => void importReview(onConflict)} disabled={importing}>
          {importing ? 'Importing…' : 'Import into my workspace'}
        </button>
        <span className="muted">into {review.workspace}</span>
        {review.closable && (
          <button type="button" className="review-close" onClick={() => void closeReview()} disabled={closing || importing}>
            {closing ? 'Closing…' : 'Close review'}
          </button>
        )}
      </div>
      {result && (
        <div role="status">
          <p>
            Imported into your workspace: {result.imported} runs imported, {result.skipped} already there.
          </p>
          {/* Scrolls when long: focusable, so the keyboard can scroll it too. */}
          <pre className="review-report" tabIndex={0} aria-label="import report">
            {result.report}
          </pre>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          Not imported: {error.message}
        </p>
      )}
      {closeError && (
        <p role="alert" className="error">
          Not closed: {closeError.message}
        </p>
      )}
    </section>
  )
}

/** Says so when the HTTP door (training scripts' /v1 and MLflow API) is down, and where its log is. */
function ApiDoorBanner(): React.JSX.Element | null {
  const api = useSystem((state) => state.apiState)
  if (!api || (api.state !== 'failed' && api.state !== 'restarting')) return null
  return (
    <div className="banner banner-error" role="alert">
      {api.state === 'failed' ? (
        <>
          The API for training scripts stopped after {api.recentCrashes} crashes in 5 minutes and was not restarted. Last crash: {api.error}. Its
          log: <code>{api.logFile}</code>. Restart Hypercube to try again.
        </>
      ) : (
        <>The API for training scripts crashed and is restarting{api.error ? ` (${api.error})` : ''}. Scripts will reconnect.</>
      )}
    </div>
  )
}
