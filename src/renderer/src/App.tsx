import { useEffect } from 'react'
import { parseRoute, routeHash } from './stores/app-store'
import { appStore, useApp } from './stores'
import { ExperimentsView } from './views/ExperimentsView'
import { ExperimentView } from './views/ExperimentView'
import { RunView } from './views/RunView'

export function App(): React.JSX.Element {
  const route = useApp((state) => state.route)
  const loadApiInfo = useApp((state) => state.loadApiInfo)

  useEffect(() => {
    void loadApiInfo()
    const onHashChange = (): void => appStore.getState().setRoute(parseRoute(window.location.hash))
    window.addEventListener('hashchange', onHashChange)
    return () => window.removeEventListener('hashchange', onHashChange)
  }, [loadApiInfo])

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href={routeHash({ page: 'experiments' })}>
          Hypercube
        </a>
        <nav>
          <a href={routeHash({ page: 'experiments' })} className={route.page === 'experiments' ? 'active' : ''}>
            Experiments
          </a>
        </nav>
      </header>
      <main className="content">
        {route.page === 'experiments' && <ExperimentsView />}
        {route.page === 'experiment' && <ExperimentView experimentId={route.experimentId} tab={route.tab} />}
        {route.page === 'run' && <RunView runId={route.runId} />}
      </main>
    </div>
  )
}
