import { useShallow } from 'zustand/react/shallow'
import { useRunsTable } from '../stores'

const EXAMPLES = [
  "metrics.val_loss < 0.3 and params.lr = '0.001'",
  "status = 'completed' or (tags.team = 'vision' and name LIKE 'resnet%')"
]

/** The runs filter: a query typed by the user, applied on Enter, errors shown at their position. */
export function FilterBar(): React.JSX.Element {
  const { filterText, filterError, appliedFilter, setFilterText, applyFilter } = useRunsTable(
    useShallow((state) => ({
      filterText: state.filterText,
      filterError: state.filterError,
      appliedFilter: state.appliedFilter,
      setFilterText: state.setFilterText,
      applyFilter: state.applyFilter
    }))
  )
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
          aria-label="filter runs"
          className={`filter-input${filterError ? ' invalid' : ''}`}
          spellCheck={false}
          placeholder={`Filter, e.g. ${EXAMPLES[0]}`}
          value={filterText}
          aria-invalid={filterError !== null}
          aria-describedby={filterError ? 'filter-error' : undefined}
          onChange={(event) => setFilterText(event.target.value)}
        />
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
      {!filterError && (
        <div className="filter-help subtle">
          Fields: <code>metrics.&lt;key&gt;</code> <code>params.&lt;key&gt;</code> <code>tags.&lt;key&gt;</code> <code>status</code> <code>name</code>; operators{' '}
          <code>= != &lt; &lt;= &gt; &gt;= LIKE</code>, <code>and</code>, <code>or</code>, parentheses. E.g. <code>{EXAMPLES[1]}</code>. A metric is
          the run&apos;s final value when it reported one at completion, else its latest logged value.
        </div>
      )}
    </form>
  )
}
