import { useEffect, useRef, useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { ExperimentSummary } from '../../../shared/domain'
import { formatDateTime, formatRelative } from '../lib/format'
import { routeHash } from '../stores/app-store'
import { visibleExperiments } from '../stores/experiments-store'
import { useApp, useExperiments } from '../stores'
import { EmptyState, ErrorNote, LogFromScript, Progress, StatusBadge } from './common'

export function ExperimentsView(): React.JSX.Element {
  const experiments = useExperiments(useShallow(visibleExperiments))
  const { loaded, loading, listError, showArchived, setShowArchived, load } = useExperiments(
    useShallow((state) => ({
      loaded: state.loaded,
      loading: state.loading,
      listError: state.listError,
      showArchived: state.showArchived,
      setShowArchived: state.setShowArchived,
      load: state.load
    }))
  )
  const archivedCount = useExperiments((state) => state.experiments.filter((experiment) => experiment.status === 'archived').length)
  const apiInfo = useApp((state) => state.apiInfo)

  useEffect(() => {
    void load()
  }, [load])

  return (
    <div className="page">
      <div className="page-header">
        <h1>Experiments</h1>
        <label className="inline-check">
          <input type="checkbox" checked={showArchived} onChange={(event) => setShowArchived(event.target.checked)} /> Show archived ({archivedCount})
        </label>
      </div>
      <CreateExperimentForm />
      <ErrorNote error={listError} title="Cannot list experiments" />
      {!loaded && loading && <Progress label="Loading experiments…" />}
      {loaded && experiments.length === 0 && (
        <EmptyState title={archivedCount > 0 ? 'Every experiment is archived' : 'No experiments yet'}>
          <p>Create one above, or let a training script create it through the API (POST {apiInfo?.apiUrl ?? '…/v1'}/ml/experiments).</p>
          <LogFromScript apiInfo={apiInfo} />
        </EmptyState>
      )}
      {experiments.length > 0 && (
        <table className="grid experiments" aria-label="experiments">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th className="num">Runs</th>
              <th>Last activity</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {experiments.map((experiment) => (
              <ExperimentRow key={experiment.id} experiment={experiment} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}

function CreateExperimentForm(): React.JSX.Element {
  const { creating, createError, create, clearCreateError } = useExperiments(
    useShallow((state) => ({ creating: state.creating, createError: state.createError, create: state.create, clearCreateError: state.clearCreateError }))
  )
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  return (
    <form
      className="create-form"
      onSubmit={(event) => {
        event.preventDefault()
        void create(name, description).then((id) => {
          if (id !== undefined) {
            setName('')
            setDescription('')
          }
        })
      }}
    >
      <input
        aria-label="new experiment name"
        placeholder="New experiment name"
        value={name}
        onChange={(event) => {
          setName(event.target.value)
          if (createError) clearCreateError()
        }}
      />
      <input aria-label="new experiment description" placeholder="Description (optional)" value={description} onChange={(event) => setDescription(event.target.value)} />
      <button type="submit" disabled={creating || name.trim() === ''}>
        {creating ? 'Creating…' : 'Create experiment'}
      </button>
      <ErrorNote error={createError} />
    </form>
  )
}

function ExperimentRow({ experiment }: { experiment: ExperimentSummary }): React.JSX.Element {
  const rowError = useExperiments((state) => state.rowErrors[experiment.id])
  const rename = useExperiments((state) => state.rename)
  const setArchived = useExperiments((state) => state.setArchived)
  const clearRowError = useExperiments((state) => state.clearRowError)
  const [editing, setEditing] = useState(false)
  const [name, setName] = useState(experiment.name)
  const [busy, setBusy] = useState(false)
  const archived = experiment.status === 'archived'
  const renameButton = useRef<HTMLButtonElement>(null)
  const wasEditing = useRef(false)

  // Leaving the editor (saved, cancelled, Esc) puts focus back on Rename, not on <body>.
  useEffect(() => {
    if (wasEditing.current && !editing) renameButton.current?.focus()
    wasEditing.current = editing
  }, [editing])

  const cancelRename = (): void => {
    setEditing(false)
    setName(experiment.name)
    clearRowError(experiment.id)
  }

  return (
    <>
      <tr data-testid={`experiment-${experiment.id}`} className={archived ? 'muted' : ''}>
        <td>
          {editing ? (
            <form
              className="rename-form"
              onSubmit={(event) => {
                event.preventDefault()
                setBusy(true)
                void rename(experiment.id, name).then((ok) => {
                  setBusy(false)
                  if (ok) setEditing(false)
                })
              }}
            >
              <input
                aria-label="experiment name"
                value={name}
                autoFocus
                onChange={(event) => setName(event.target.value)}
                onKeyDown={(event) => {
                  if (event.key === 'Escape') {
                    event.preventDefault()
                    cancelRename()
                  }
                }}
              />
              <button type="submit" disabled={busy}>
                Save
              </button>
              <button type="button" onClick={cancelRename}>
                Cancel
              </button>
            </form>
          ) : (
            <a href={routeHash({ page: 'experiment', experimentId: experiment.id, tab: 'runs' })}>{experiment.name}</a>
          )}
          {experiment.description && !editing && <div className="subtle">{experiment.description}</div>}
        </td>
        <td>
          <StatusBadge status={experiment.status} />
        </td>
        <td className="num">{experiment.runCount}</td>
        <td title={formatDateTime(experiment.lastActivityAt)}>{formatRelative(experiment.lastActivityAt)}</td>
        <td>{formatDateTime(experiment.createdAt)}</td>
        <td className="actions">
          {!editing && (
            <button type="button" ref={renameButton} onClick={() => (setName(experiment.name), setEditing(true))}>
              Rename
            </button>
          )}
          <button
            type="button"
            disabled={busy}
            onClick={() => {
              setBusy(true)
              void setArchived(experiment.id, !archived).then(() => setBusy(false))
            }}
          >
            {archived ? 'Restore' : 'Archive'}
          </button>
        </td>
      </tr>
      {rowError && (
        <tr className="row-error">
          <td colSpan={6}>
            <ErrorNote error={rowError} />
          </td>
        </tr>
      )}
    </>
  )
}
