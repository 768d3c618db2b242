import { useEffect, useRef, useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { ExperimentSummary } from '../../../shared/domain'
import { formatDateTime, formatRelative } from '../lib/format'
import { routeHash } from '../stores/app-store'
import { visibleExperiments } from '../stores/experiments-store'
import { useApp, useExperiments, useSystem } from '../stores'
import { EmptyState, ErrorNote, LogFromScript, Progress, StatusBadge } from './common'
import { MlflowImportDialog } from './MlflowImportDialog'
import { ImportBundleDialog, OpenReviewDialog, OpenReviews } from './BundleDialogs'
import { inDesktopWindow } from '../lib/bundle-transfer'

export function ExperimentsView(): React.JSX.Element {
  const experiments = useExperiments(useShallow(visibleExperiments))
  const { loaded, loading, listError, showArchived, setShowArchived, load, query, setQuery } = useExperiments(
    useShallow((state) => ({
      loaded: state.loaded,
      loading: state.loading,
      listError: state.listError,
      showArchived: state.showArchived,
      setShowArchived: state.setShowArchived,
      load: state.load,
      query: state.query,
      setQuery: state.setQuery
    }))
  )
  const archivedCount = useExperiments((state) => state.experiments.filter((experiment) => experiment.status === 'archived').length)
  const apiInfo = useApp((state) => state.apiInfo)
  const [importing, setImporting] = useState(false)
  const [bundleDialog, setBundleDialog] = useState<'import' | 'review' | null>(null)
  // Reviews are opened from a workspace, not from a review (which cannot import or open one);
  // the desktop window opens them from File → Open Review Bundle… in windows of their own.
  const inReview = useSystem((state) => state.review !== null)
  const opensReviewTabs = !inReview && !inDesktopWindow()

  useEffect(() => {
    void load()
  }, [load])

  return (
    <div className="page">
      <div className="page-header">
        <h1>Experiments</h1>
        <input type="search" className="list-search" aria-label="search experiments" placeholder="Search name, description, tag" value={query} onChange={(event) => setQuery(event.target.value)} />
        <label className="inline-check">
          <input type="checkbox" checked={showArchived} onChange={(event) => setShowArchived(event.target.checked)} /> Show deleted ({archivedCount})
        </label>
      </div>
      {/* A row of their own under the title and the list's filters: in the header they broke onto a second line at 1280 px, one button at a time. */}
      <div className="page-toolbar" role="group" aria-label="Bring experiments in">
        <button type="button" onClick={() => setImporting(true)}>
          Import from MLflow…
        </button>
        {!inReview && (
          <>
            <button type="button" onClick={() => setBundleDialog('import')}>
              Import review bundle…
            </button>
            {opensReviewTabs && (
              <button type="button" onClick={() => setBundleDialog('review')}>
                Open review bundle…
              </button>
            )}
          </>
        )}
      </div>
      {importing && <MlflowImportDialog onClose={() => setImporting(false)} />}
      {bundleDialog === 'import' && <ImportBundleDialog onClose={() => setBundleDialog(null)} />}
      {bundleDialog === 'review' && <OpenReviewDialog onClose={() => setBundleDialog(null)} />}
      {opensReviewTabs && bundleDialog === null && <OpenReviews />}
      <CreateExperimentForm />
      <ErrorNote error={listError} title="Cannot list experiments" />
      {!loaded && loading && <Progress label="Loading experiments…" />}
      {loaded && experiments.length === 0 && query.trim() !== '' && <p className="subtle">No experiment matches “{query.trim()}”.</p>}
      {loaded && experiments.length === 0 && query.trim() === '' && (
        <EmptyState title={archivedCount > 0 ? 'Every experiment is deleted' : 'No experiments yet'}>
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
  const [editingDetails, setEditingDetails] = useState(false)
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
          {Object.keys(experiment.tags).length > 0 && !editing && (
            <div className="tag-list" data-testid={`experiment-tags-${experiment.id}`}>
              {Object.entries(experiment.tags)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([key, value]) => (
                  <span key={key} className="kv">
                    {key} = {value}
                  </span>
                ))}
            </div>
          )}
        </td>
        <td>{archived ? <span className="badge badge-archived">deleted</span> : <StatusBadge status={experiment.status} />}</td>
        <td className="num">{experiment.runCount}</td>
        <td title={formatDateTime(experiment.lastActivityAt)}>{formatRelative(experiment.lastActivityAt)}</td>
        <td>{formatDateTime(experiment.createdAt)}</td>
        <td className="actions">
          {!editing && (
            <button type="button" ref={renameButton} onClick={() => (setName(experiment.name), setEditing(true))}>
              Rename
            </button>
          )}
          {!archived && (
            <button type="button" onClick={() => setEditingDetails(!editingDetails)}>
              Edit details
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
            {archived ? 'Restore' : 'Delete'}
          </button>
        </td>
      </tr>
      {editingDetails && (
        <tr className="details-editor">
          <td colSpan={6}>
            <ExperimentDetailsForm experiment={experiment} onDone={() => setEditingDetails(false)} />
          </td>
        </tr>
      )}
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

/** Description and tags, one "key=value" per line; saved together, and a removed line removes its tag. */
function ExperimentDetailsForm({ experiment, onDone }: { experiment: ExperimentSummary; onDone: () => void }): React.JSX.Element {
  const saveDetails = useExperiments((state) => state.saveDetails)
  const [description, setDescription] = useState(experiment.description)
  const [tagsText, setTagsText] = useState(
    Object.entries(experiment.tags)
      .map(([key, value]) => `${key}=${value}`)
      .join('\n')
  )
  const [busy, setBusy] = useState(false)
  const lines = tagsText.split('\n').filter((line) => line.trim() !== '')
  const malformed = lines.find((line) => !line.includes('=') || line.slice(0, line.indexOf('=')).trim() === '')
  return (
    <form
      className="details-form"
      aria-label={`details of ${experiment.name}`}
      onSubmit={(event) => {
        event.preventDefault()
        if (malformed) return
        const tags = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')).trim(), line.slice(line.indexOf('=') + 1).trim()]))
        setBusy(true)
        void saveDetails(experiment.id, description, tags).then((ok) => {
          setBusy(false)
          if (ok) onDone()
        })
      }}
    >
      <label>
        Description
        <textarea aria-label="experiment description" rows={3} value={description} onChange={(event) => setDescription(event.target.value)} />
      </label>
      <label>
        Tags (one key=value per line)
        <textarea aria-label="experiment tags" rows={3} value={tagsText} onChange={(event) => setTagsText(event.target.value)} />
      </label>
      {malformed && <p className="bad">“{malformed}” is not key=value.</p>}
      <div className="form-row">
        <button type="submit" disabled={busy || malformed !== undefined}>
          Save details
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  )
}
