import { useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { RunWithMetrics } from '../../../shared/domain'
import { useRunPage } from '../stores'
import { NOTE_TAG } from '../stores/run-page-store'
import { ConfirmDialog, ErrorNote, StatusBadge } from './common'
import { Markdown } from './Markdown'

/** The run page's header: the name (renamed in place), status, ids, and delete / restore. */
export function RunHeader({ run }: { run: RunWithMetrics }): React.JSX.Element {
  const { deleted, editError, rename, deleteRun, restoreRun, clearEditError } = useRunPage(
    useShallow((state) => ({
      deleted: state.deleted,
      editError: state.editError,
      rename: state.rename,
      deleteRun: state.deleteRun,
      restoreRun: state.restoreRun,
      clearEditError: state.clearEditError
    }))
  )
  const [name, setName] = useState<string | null>(null)
  const [confirmingDelete, setConfirmingDelete] = useState(false)
  return (
    <>
      <div className="page-header">
        {name === null ? (
          <h1 data-testid="run-name">{run.name}</h1>
        ) : (
          <form
            className="rename-form"
            aria-label="rename run"
            onSubmit={(event) => {
              event.preventDefault()
              void rename(name).then((ok) => ok && setName(null))
            }}
          >
            <input aria-label="run name" value={name} autoFocus onChange={(event) => setName(event.target.value)} onKeyDown={(event) => event.key === 'Escape' && (setName(null), clearEditError())} />
            <button type="submit" disabled={name.trim() === ''}>
              Save
            </button>
            <button type="button" onClick={() => (setName(null), clearEditError())}>
              Cancel
            </button>
          </form>
        )}
        <StatusBadge status={run.status} />
        {deleted && (
          <span className="badge badge-failed" data-testid="run-deleted">
            deleted
          </span>
        )}
        <span className="subtle">
          id {run.id} · uuid {run.uuid}
        </span>
        <span className="actions">
          {name === null && !deleted && (
            <button type="button" onClick={() => setName(run.name)}>
              Rename
            </button>
          )}
          {deleted ? (
            <button type="button" onClick={() => void restoreRun()}>
              Restore
            </button>
          ) : (
            <button type="button" onClick={() => setConfirmingDelete(true)}>
              Delete…
            </button>
          )}
        </span>
      </div>
      {deleted && (
        <p className="subtle" role="status">
          This run is deleted: it is left out of the experiment’s runs, counts and searches, and takes no writes, until it is restored.
        </p>
      )}
      <ErrorNote error={editError} title="Not saved" />
      {confirmingDelete && (
        <ConfirmDialog
          title={`Delete run ${run.name}`}
          confirmLabel="Delete"
          onCancel={() => setConfirmingDelete(false)}
          onConfirm={async () => {
            await deleteRun()
            setConfirmingDelete(false)
          }}
        >
          <p>The run leaves the experiment’s lists (MLflow’s soft delete); its data is kept and Restore on this page brings it back.</p>
        </ConfirmDialog>
      )}
    </>
  )
}

/** Tags, each removable, and a form to set one (a key that exists gets the new value). The note tag is shown as the note, not here. */
export function RunTags({ run }: { run: RunWithMetrics }): React.JSX.Element {
  const { deleted, setTag, deleteTag } = useRunPage(useShallow((state) => ({ deleted: state.deleted, setTag: state.setTag, deleteTag: state.deleteTag })))
  const [key, setKey] = useState('')
  const [value, setValue] = useState('')
  const entries = Object.entries(run.tags)
    .filter(([tag]) => tag !== NOTE_TAG)
    .sort(([a], [b]) => a.localeCompare(b))
  return (
    <section className="panel" aria-label="tags">
      <h2>Tags</h2>
      {entries.length === 0 ? (
        <p className="subtle">No tags.</p>
      ) : (
        <table className="grid compact" data-testid="run-tags">
          <tbody>
            {entries.map(([tag, tagValue]) => (
              <tr key={tag} data-tag={tag}>
                <th>{tag}</th>
                <td className="mono">{tagValue}</td>
                <td className="actions">
                  {!deleted && (
                    <button type="button" aria-label={`remove tag ${tag}`} onClick={() => void deleteTag(tag)}>
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!deleted && (
        <form
          className="form-row"
          aria-label="set tag"
          onSubmit={(event) => {
            event.preventDefault()
            void setTag(key, value).then((ok) => ok && (setKey(''), setValue('')))
          }}
        >
          <input aria-label="tag key" placeholder="key" value={key} onChange={(event) => setKey(event.target.value)} size={14} />
          <input aria-label="tag value" placeholder="value" value={value} onChange={(event) => setValue(event.target.value)} size={20} />
          <button type="submit" disabled={key.trim() === ''}>
            Set tag
          </button>
        </form>
      )}
    </section>
  )
}

/** The run's note: Markdown, rendered without any HTML of its own; edited in place. */
export function RunNote({ run }: { run: RunWithMetrics }): React.JSX.Element {
  const { deleted, setNote } = useRunPage(useShallow((state) => ({ deleted: state.deleted, setNote: state.setNote })))
  const note = run.tags[NOTE_TAG] ?? ''
  const [draft, setDraft] = useState<string | null>(null)
  return (
    <section className="panel" aria-label="note">
      <div className="panel-header">
        <h2>Note</h2>
        {draft === null && !deleted && (
          <button type="button" onClick={() => setDraft(note)}>
            {note === '' ? 'Add a note' : 'Edit note'}
          </button>
        )}
      </div>
      {draft !== null ? (
        <form
          onSubmit={(event) => {
            event.preventDefault()
            void setNote(draft).then((ok) => ok && setDraft(null))
          }}
        >
          <textarea aria-label="note markdown" rows={8} className="note-editor" value={draft} onChange={(event) => setDraft(event.target.value)} />
          <div className="form-row">
            <button type="submit">Save note</button>
            <button type="button" onClick={() => setDraft(null)}>
              Cancel
            </button>
            <span className="subtle">Markdown: # heading, **bold**, *italic*, `code`, lists, [links](https://…). Kept in the tag {NOTE_TAG}, as MLflow does.</span>
          </div>
        </form>
      ) : note === '' ? (
        <p className="subtle">No note.</p>
      ) : (
        <Markdown source={note} label="run note" />
      )}
    </section>
  )
}
