import { flushSync } from 'react-dom'
import { useMemo, useRef, useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import { applySuggestion, suggest, unknownKeys } from '../lib/filter-suggest'
import { useRunsTable } from '../stores'

const EXAMPLES = [
  "metrics.val_loss < 0.3 and params.lr = '0.001'",
  "status = 'completed' or (tags.team = 'vision' and name LIKE 'resnet%')"
]

const LIST_ID = 'filter-suggestions'

/**
 * The runs filter: a query typed by the user, applied on Enter, errors shown at their position.
 * While typing, a list completes the word at the caret (the experiment's metrics./params./tags.
 * keys, attributes, operators, and/or): ↓/↑ choose, Enter or Tab takes the choice, Esc closes
 * (an ARIA combobox). A filter naming a key no run has says so, with the closest key.
 */
export function FilterBar(): React.JSX.Element {
  const { filterText, filterError, appliedFilter, setFilterText, applyFilter, keys, loadKeys, showDeleted } = useRunsTable(
    useShallow((state) => ({
      filterText: state.filterText,
      filterError: state.filterError,
      appliedFilter: state.appliedFilter,
      setFilterText: state.setFilterText,
      applyFilter: state.applyFilter,
      keys: state.keys,
      loadKeys: state.loadKeys,
      showDeleted: state.showDeleted
    }))
  )
  const input = useRef<HTMLInputElement>(null)
  const [caret, setCaret] = useState(0)
  const [open, setOpen] = useState(false)
  const [active, setActive] = useState(-1)
  const suggestions = useMemo(() => suggest(filterText, caret, keys), [filterText, caret, keys])
  const listShown = open && suggestions.items.length > 0
  // The keys are the active runs' ones: among deleted runs, nothing is flagged.
  const unknown = useMemo(() => (showDeleted ? [] : unknownKeys(appliedFilter, keys)), [appliedFilter, keys, showDeleted])

  const follow = (element: HTMLInputElement): void => {
    setCaret(element.selectionStart ?? element.value.length)
    setActive(-1)
  }
  const take = (index: number): void => {
    const item = suggestions.items[index]
    if (!item) return
    const next = applySuggestion(filterText, suggestions, item)
    // The new text is in the input when flushSync returns, and the caret goes after the insertion
    // at once: moved a frame later, it jumped back before what the user typed meanwhile (CI saw
    // "tags.team  'nlp'=" for "tags.team = 'nlp'" typed right after Enter). The next list
    // (operators after a field, say) opens at once.
    flushSync(() => {
      setFilterText(next.text)
      setCaret(next.caret)
      setActive(-1)
    })
    input.current?.setSelectionRange(next.caret, next.caret)
  }
  const position = filterError?.position ?? null
  return (
    <form
      className="filter-bar"
      onSubmit={(event) => {
        event.preventDefault()
        void applyFilter()
      }}
    >
      <div className="filter-row">
        <input
          ref={input}
          aria-label="filter runs"
          className={`filter-input${filterError ? ' invalid' : ''}`}
          spellCheck={false}
          autoComplete="off"
          placeholder={`Filter, e.g. ${EXAMPLES[0]}`}
          value={filterText}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={listShown}
          aria-controls={LIST_ID}
          aria-activedescendant={listShown && active >= 0 ? `${LIST_ID}-${active}` : undefined}
          aria-invalid={filterError !== null}
          aria-describedby={filterError ? 'filter-error' : unknown.length > 0 ? 'filter-warning' : undefined}
          onChange={(event) => {
            setFilterText(event.target.value)
            follow(event.target)
            setOpen(true)
          }}
          onFocus={(event) => {
            follow(event.target)
            void loadKeys()
          }}
          onClick={(event) => {
            follow(event.currentTarget)
            setOpen(true)
          }}
          onBlur={() => setOpen(false)}
          onKeyUp={(event) => {
            if (event.key === 'ArrowLeft' || event.key === 'ArrowRight' || event.key === 'Home' || event.key === 'End') follow(event.currentTarget)
          }}
          onKeyDown={(event) => {
            if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
              event.preventDefault()
              if (!listShown) {
                setOpen(true)
                setActive(event.key === 'ArrowDown' ? 0 : suggestions.items.length - 1)
                return
              }
              const count = suggestions.items.length
              setActive((current) => (event.key === 'ArrowDown' ? (current + 1) % count : (current - 1 + count) % count))
            } else if ((event.key === 'Enter' || event.key === 'Tab') && listShown && active >= 0) {
              // Enter takes the highlighted completion; with none highlighted it applies the filter.
              event.preventDefault()
              take(active)
            } else if (event.key === 'Escape' && listShown) {
              event.preventDefault()
              setOpen(false)
              setActive(-1)
            } else if (event.key === 'Enter') {
              setOpen(false)
            }
          }}
        />
        {listShown && (
          <ul className="filter-suggestions" id={LIST_ID} role="listbox" aria-label="filter suggestions">
            {suggestions.items.map((item, index) => (
              <li
                key={`${item.kind}:${item.label}`}
                id={`${LIST_ID}-${index}`}
                role="option"
                aria-selected={index === active}
                // mousedown, not click: the input keeps focus (its blur would close the list first).
                onMouseDown={(event) => {
                  event.preventDefault()
                  take(index)
                }}
              >
                <span>{item.label}</span>
                <span className="kind">{item.kind}</span>
              </li>
            ))}
          </ul>
        )}
        <button type="submit">Apply</button>
        {appliedFilter && (
          <button
            type="button"
            onClick={() => {
              setFilterText('')
              void applyFilter()
            }}
          >
            Clear
          </button>
        )}
      </div>
      {filterError && (
        <div className="filter-error" id="filter-error" role="alert">
          {position !== null && (
            <pre className="filter-caret" aria-hidden="true">
              {filterText.slice(0, position)}
              <mark>{filterText.slice(position, position + 1) || ' '}</mark>
              {filterText.slice(position + 1)}
              {'\n'}
              {' '.repeat(position)}^
            </pre>
          )}
          <span>{filterError.message}</span>
        </div>
      )}
      {!filterError && unknown.length > 0 && (
        <div className="filter-warning" id="filter-warning" role="status">
          {unknown.map(({ field, closest }) => (
            <div key={field}>
              No run has <code>{field}</code>
              {closest ? (
                <>
                  {' '}
                  — did you mean <code>{closest}</code>?
                </>
              ) : (
                ', so it matches nothing.'
              )}
            </div>
          ))}
        </div>
      )}
      {!filterError && unknown.length === 0 && (
        <div className="filter-help subtle">
          Fields: <code>metrics.&lt;key&gt;</code> <code>params.&lt;key&gt;</code> <code>tags.&lt;key&gt;</code> <code>status</code> <code>name</code>; operators{' '}
          <code>= != &lt; &lt;= &gt; &gt;= LIKE</code>, <code>and</code>, <code>or</code>, parentheses. E.g. <code>{EXAMPLES[1]}</code>. A metric is
          the run&apos;s final value when it reported one at completion, else its latest logged value.
        </div>
      )}
    </form>
  )
}
