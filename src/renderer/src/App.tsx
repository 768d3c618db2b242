import { useEffect } from 'react'
import { useConnectionStore } from './connection-store'

export function App(): React.JSX.Element {
  const status = useConnectionStore((state) => state.status)
  const error = useConnectionStore((state) => state.error)
  const refresh = useConnectionStore((state) => state.refresh)

  useEffect(() => {
    void refresh()
    const timer = setInterval(() => void refresh(), 5000)
    return () => clearInterval(timer)
  }, [refresh])

  return (
    <main className="shell">
      <h1>Hypercube</h1>
      {error && <p className="error" role="alert">{error.message}</p>}
      {status && (
        <dl className="status" aria-label="connection">
          <dt>Database</dt>
          <dd>{status.database.description}</dd>
          <dt>Experiments</dt>
          <dd data-testid="experiment-count">{status.counts.experiments}</dd>
          <dt>Runs</dt>
          <dd data-testid="run-count">{status.counts.runs}</dd>
          <dt>Metric points</dt>
          <dd>{status.counts.metricPoints}</dd>
          <dt>Data folder</dt>
          <dd>{status.dataDir}</dd>
        </dl>
      )}
      {!status && !error && <p>Connecting…</p>}
    </main>
  )
}
