import { useEffect, useRef, useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import { useRunsTable } from '../stores'
import { selectedShown } from '../stores/run-bulk-slice'
import { ErrorNote } from './common'

/** The runs table's tools above the rows: run-name search, the deleted-runs switch, bulk actions, export and the column picker. */

const NAME_SEARCH_DEBOUNCE_MS = 150

/** Narrows the rows to runs whose name contains the text, as the user types (on top of the filter). */
export function NameSearch(): React.JSX.Element {
  const { nameQuery, setNameQuery } = useRunsTable(useShallow((state) => ({ nameQuery: state.nameQuery, setNameQuery: state.setNameQuery })))
  const [text, setText] = useState(nameQuery)
  const typed = useRef(nameQuery)
  // The address may change the search (back/forward, a shared link): the box follows it.
  useEffect(() => {
    if (nameQuery !== typed.current) {
      typed.current = nameQuery
      setText(nameQuery)
    }
  }, [nameQuery])
  useEffect(() => {
    if (text === typed.current) return
    const timer = setTimeout(() => {
      typed.current = text
      setNameQuery(text)
    }, NAME_SEARCH_DEBOUNCE_MS)
    return () => clearTimeout(timer)
  }, [text, setNameQuery])
  return (
    <input
      type="search"
      className="name-search"
      aria-label="search run names"
      placeholder="Search run names"
      spellCheck={false}
      value={text}
      onChange={(event) => setText(event.target.value)}
    />
  )
}

export function ShowDeletedToggle(): React.JSX.Element {
  const { showDeleted, setShowDeleted } = useRunsTable(useShallow((state) => ({ showDeleted: state.showDeleted, setShowDeleted: state.setShowDeleted })))
  return (
    <label className="show-deleted">
      <input type="checkbox" checked={showDeleted} onChange={(event) => void setShowDeleted(event.target.checked)} /> Show deleted runs
    </label>
  )
}

/** Tag, delete or restore the selected runs the table shows. */
export function BulkActions(): React.JSX.Element | null {
  const { count, showDeleted, busy, outcome, tagSelected, deleteSelected, restoreSelected } = useRunsTable(
    useShallow((state) => ({
      count: selectedShown(state).length,
      showDeleted: state.showDeleted,
      busy: state.bulkBusy,
      outcome: state.bulkOutcome,
      tagSelected: state.tagSelected,
      deleteSelected: state.deleteSelected,
      restoreSelected: state.restoreSelected
    }))
  )
  const [tagging, setTagging] = useState(false)
  const [key, setKey] = useState('')
  const [value, setValue] = useState('')
  const keyInput = useRef<HTMLInputElement>(null)
  useEffect(() => {
    if (tagging) keyInput.current?.focus()
  }, [tagging])
  const runs = `${count} run${count === 1 ? '' : 's'}`
  return (
    <div className="bulk-actions" role="group" aria-label="bulk actions">
      {count > 0 && !showDeleted && !tagging && (
        <button type="button" disabled={busy} onClick={() => setTagging(true)}>
          Tag {runs}…
        </button>
      )}
      {count > 0 && !showDeleted && tagging && (
        <form
          className="bulk-tag"
          onSubmit={(event) => {
            event.preventDefault()
            if (key.trim() === '') return
            void tagSelected(key.trim(), value).then(() => setTagging(false))
          }}
          onKeyDown={(event) => {
            if (event.key === 'Escape') setTagging(false)
          }}
        >
          <input ref={keyInput} aria-label="tag key" placeholder="key" value={key} onChange={(event) => setKey(event.target.value)} />
          <input aria-label="tag value" placeholder="value" value={value} onChange={(event) => setValue(event.target.value)} />
          <button type="submit" disabled={busy || key.trim() === ''}>
            Add tag to {runs}
          </button>
          <button type="button" onClick={() => setTagging(false)}>
            Cancel
          </button>
        </form>
      )}
      {count > 0 && !showDeleted && (
        <button type="button" className="danger" disabled={busy} onClick={() => void deleteSelected()}>
          Delete {runs}
        </button>
      )}
      {count > 0 && showDeleted && (
        <button type="button" disabled={busy} onClick={() => void restoreSelected()}>
          Restore {runs}
        </button>
      )}
      {outcome && (
        <span className="bulk-outcome" role="status">
          {outcome.error ? <ErrorNote error={outcome.error} title={outcome.message} /> : outcome.message}
        </span>
      )}
    </div>
  )
}

/** The chosen columns in their order, each with move buttons (the keyboard's way to reorder), then the others. */
export function ColumnPicker({ available, shown }: { available: string[]; shown: string[] }): React.JSX.Element {
  const { toggleColumn, moveColumn } = useRunsTable(useShallow((state) => ({ toggleColumn: state.toggleColumn, moveColumn: state.moveColumn })))
  const others = available.filter((id) => !shown.includes(id))
  return (
    <details className="column-picker">
      <summary>Columns</summary>
      <div className="column-picker-menu" role="group" aria-label="columns">
        {available.length === 0 && shown.length === 0 && <p className="subtle">No params, metrics or tags logged yet.</p>}
        {shown.map((id, index) => (
          <div className="column-choice" key={id}>
            <label>
              <input type="checkbox" checked onChange={() => toggleColumn(id, available)} /> {id}
            </label>
            <span className="column-move">
              <button type="button" aria-label={`move ${id} left`} disabled={index === 0} onClick={() => moveColumn(id, -1, available)}>
                ◀
              </button>
              <button type="button" aria-label={`move ${id} right`} disabled={index === shown.length - 1} onClick={() => moveColumn(id, 1, available)}>
                ▶
              </button>
            </span>
          </div>
        ))}
        {shown.length > 0 && others.length > 0 && <hr />}
        {others.map((id) => (
          <div className="column-choice" key={id}>
            <label>
              <input type="checkbox" checked={false} onChange={() => toggleColumn(id, available)} /> {id}
            </label>
          </div>
        ))}
      </div>
    </details>
  )
}
