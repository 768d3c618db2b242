import { useEffect, useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import { formatDateTime } from '../lib/format'
import { useSystem } from '../stores'
import { ConfirmDialog, ErrorNote, StatusBadge } from './common'

export function PluginsView(): React.JSX.Element {
  const s = useSystem(useShallow((state) => ({ plugins: state.plugins, error: state.pluginsError, busy: state.pluginBusy, load: state.loadPlugins, act: state.pluginAction })))
  const { load } = s
  useEffect(() => void load(), [load])
  return (
    <div className="page page-wide">
      <div className="page-header">
        <h1>Plugins</h1>
        <span className="subtle">Geometric plugins: native distance functions, each in its own host process.</span>
      </div>
      <ErrorNote error={s.error} title="Plugin action failed" />
      <table className="grid" aria-label="plugins">
        <thead>
          <tr>
            <th>Plugin</th>
            <th>Version</th>
            <th>Binary ({s.plugins[0]?.platformKey ?? 'this platform'})</th>
            <th>Checksum</th>
            <th>Host</th>
            <th>Crashes (5 min)</th>
            <th>Last error</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {s.plugins.map((plugin) => (
            <tr key={plugin.name} data-plugin={plugin.name}>
              <td>
                <strong>{plugin.name}</strong>
                <div className="subtle">{plugin.description}</div>
              </td>
              <td>{plugin.version}</td>
              <td className="mono hash" title={plugin.binaryPath ?? undefined}>
                {plugin.binaryPath?.split('/').pop() ?? '—'}
              </td>
              <td title={plugin.blake3 ?? undefined}>
                <StatusBadge status={plugin.checksum === 'verified' ? 'completed' : plugin.checksum === 'mismatch' ? 'failed' : 'pending'} /> {plugin.checksum}
              </td>
              <td data-testid={`state-${plugin.name}`}>
                {plugin.state}
                {plugin.disabledBy && <span className="subtle"> (by {plugin.disabledBy})</span>}
                {plugin.hostPid !== null && <span className="subtle"> · pid {plugin.hostPid}</span>}
                {plugin.loadedAt && <div className="subtle">loaded {formatDateTime(plugin.loadedAt)}</div>}
              </td>
              <td className="num">{plugin.recentCrashes}</td>
              <td className={plugin.lastError ? 'bad' : ''}>{plugin.lastError ? `${plugin.lastError.code}: ${plugin.lastError.message}` : '—'}</td>
              <td className="actions">
                <button type="button" disabled={s.busy === plugin.name} onClick={() => void s.act('reload', plugin.name)}>
                  Reload
                </button>
                {plugin.state === 'disabled' ? (
                  <button type="button" disabled={s.busy === plugin.name} onClick={() => void s.act('enable', plugin.name)}>
                    Enable
                  </button>
                ) : (
                  <button type="button" disabled={s.busy === plugin.name} onClick={() => void s.act('disable', plugin.name)}>
                    Disable
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

export function SettingsView(): React.JSX.Element {
  const s = useSystem(
    useShallow((state) => ({
      settings: state.settings,
      error: state.settingsError,
      databaseError: state.databaseError,
      saving: state.savingDatabase,
      saved: state.databaseSaved,
      load: state.loadSettings,
      saveDatabase: state.saveDatabase,
      rotateToken: state.rotateToken,
      apiPortError: state.apiPortError,
      saveApiPort: state.saveApiPort,
      reviewerError: state.reviewerError,
      saveReviewerName: state.saveReviewerName
    }))
  )
  const { load } = s
  useEffect(() => void load(), [load])
  const [mode, setMode] = useState<'embedded' | 'external' | null>(null)
  const [url, setUrl] = useState('')
  const [copied, setCopied] = useState(false)
  const [rotating, setRotating] = useState(false)
  const [port, setPort] = useState('')
  const [reviewer, setReviewer] = useState<string | null>(null)
  const settings = s.settings
  const chosenMode = mode ?? settings?.savedDatabase.mode ?? 'embedded'
  return (
    <div className="page">
      <div className="page-header">
        <h1>Settings</h1>
      </div>
      <ErrorNote error={s.error} />
      {settings && (
        <>
          <section className="panel" aria-label="database settings">
            <h2>Database</h2>
            <p>
              Now: <strong data-testid="database-now">{settings.database.description}</strong>
            </p>
            <p>
              Next start: <span data-testid="database-saved">{settings.savedDatabase.description}</span>
              {settings.databaseOverridden && <span className="subtle"> (the command line or HYPERCUBE_DATABASE_URL overrides this choice)</span>}
            </p>
            <form
              className="form-row"
              onSubmit={(event) => {
                event.preventDefault()
                void s.saveDatabase(chosenMode === 'embedded' ? null : url)
              }}
            >
              <label className="inline-check">
                <input type="radio" name="db" checked={chosenMode === 'embedded'} onChange={() => setMode('embedded')} /> Embedded (data in {settings.dataDir}/pg)
              </label>
              <label className="inline-check">
                <input type="radio" name="db" checked={chosenMode === 'external'} onChange={() => setMode('external')} /> PostgreSQL server
              </label>
              {chosenMode === 'external' && (
                <input aria-label="database url" value={url} onChange={(event) => setUrl(event.target.value)} placeholder="postgresql://user:password@host:5432/hypercube" size={48} />
              )}
              <button type="submit" disabled={s.saving || (chosenMode === 'external' && url.trim() === '')}>
                {s.saving ? 'Connecting…' : 'Check and save'}
              </button>
            </form>
            <p className="hint">A server URL is checked by connecting (PostgreSQL 14 or newer, fsync and synchronous commit on) before it is saved to {settings.settingsFile}. It applies on the next start.</p>
            <ErrorNote error={s.databaseError} title="Not saved" />
            {s.saved && <p className="ok" role="status">Saved; restart Hypercube to switch.</p>}
          </section>
          <section className="panel" aria-label="api settings">
            <h2>HTTP API</h2>
            <table className="grid compact">
              <tbody>
                <tr>
                  <th>URL</th>
                  <td className="mono">{settings.api.apiUrl ?? 'not running'}</td>
                </tr>
                <tr>
                  <th>Port</th>
                  <td>
                    {settings.api.port ?? '—'}
                    <form
                      className="form-row"
                      onSubmit={(event) => {
                        event.preventDefault()
                        void s.saveApiPort(port.trim() === '' ? null : Number(port))
                      }}
                    >
                      <input aria-label="api port" inputMode="numeric" value={port} onChange={(event) => setPort(event.target.value)} placeholder="8377 (default)" size={12} />
                      <button type="submit">Save for next start</button>
                    </form>
                    <div className="subtle" data-testid="api-port-saved">
                      Next start: {settings.savedApiPort ?? 'the default (8377, or a free port if it is taken)'}; serve --port still wins.
                    </div>
                    <ErrorNote error={s.apiPortError} title="Not saved" />
                  </td>
                </tr>
                <tr>
                  <th>Token</th>
                  <td>
                    <code data-testid="api-token">{settings.api.token ?? '—'}</code>{' '}
                    <button
                      type="button"
                      disabled={!settings.api.token}
                      onClick={() => {
                        void navigator.clipboard?.writeText(settings.api.token ?? '').then(
                          () => setCopied(true),
                          () => setCopied(false)
                        )
                      }}
                    >
                      {copied ? 'Copied' : 'Copy'}
                    </button>{' '}
                    <button type="button" disabled={!settings.api.token} onClick={() => setRotating(true)}>
                      Rotate…
                    </button>
                    <div className="subtle">Also in {settings.api.tokenFile}</div>
                  </td>
                </tr>
              </tbody>
            </table>
          </section>
          <section className="panel" aria-label="reviewer settings">
            <h2>Reviewer</h2>
            <p className="hint">The name recorded when you approve, reject or deprecate a model version, or deploy one, from this app.</p>
            <form
              className="form-row"
              onSubmit={(event) => {
                event.preventDefault()
                const name = (reviewer ?? settings.reviewer.saved ?? '').trim()
                void s.saveReviewerName(name === '' ? null : name).then(() => setReviewer(null))
              }}
            >
              <input
                aria-label="reviewer name"
                value={reviewer ?? settings.reviewer.saved ?? ''}
                placeholder={settings.reviewer.osDefault}
                onChange={(event) => setReviewer(event.target.value)}
                size={30}
              />
              <button type="submit">Save</button>
            </form>
            <div className="subtle" data-testid="reviewer-name">
              Reviews are recorded as <strong>{settings.reviewer.name}</strong>
              {settings.reviewer.saved === null ? ' (the OS user’s full name; leave the field empty to keep it).' : '.'}
            </div>
            <ErrorNote error={s.reviewerError} title="Not saved" />
          </section>
          <section className="panel" aria-label="data folder">
            <h2>Data folder</h2>
            <p className="mono">{settings.dataDir}</p>
            <p className="hint">Database (when embedded), artifacts, plugins, logs and the API token live here. Start with --data-dir (or HYPERCUBE_DATA_DIR) to use another.</p>
          </section>
        </>
      )}
      {rotating && (
        <ConfirmDialog
          title="Rotate the API token"
          confirmLabel="Rotate"
          onCancel={() => setRotating(false)}
          onConfirm={async () => {
            await s.rotateToken()
            setCopied(false)
            setRotating(false)
          }}
        >
          <p>Scripts using the current token will get 401 until they use the new one.</p>
        </ConfirmDialog>
      )}
    </div>
  )
}
