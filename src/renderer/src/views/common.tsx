import { useState, type ReactNode } from 'react'
import type { ApiInfo } from '../../../shared/contract'
import type { ErrorInfo } from '../../../shared/errors'

export function StatusBadge({ status }: { status: string }): React.JSX.Element {
  return <span className={`badge badge-${status}`}>{status}</span>
}

export function ErrorNote({ error, title }: { error: ErrorInfo | null | undefined; title?: string }): React.JSX.Element | null {
  if (!error) return null
  return (
    <div className="error-note" role="alert">
      {title && <strong>{title}: </strong>}
      {error.message}
      {error.field && <span className="error-field"> ({error.field})</span>}
    </div>
  )
}

/** For work that takes a moment: an indeterminate bar with what is happening. */
export function Progress({ label }: { label: string }): React.JSX.Element {
  return (
    <div className="progress" role="status" aria-live="polite">
      <div className="progress-bar" />
      <span>{label}</span>
    </div>
  )
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }): React.JSX.Element {
  return (
    <section className="empty-state">
      <h2>{title}</h2>
      {children}
    </section>
  )
}

/** How a training script logs to this Hypercube: the API URL and token, ready to paste. */
export function LogFromScript({ apiInfo, experimentId }: { apiInfo: ApiInfo | null; experimentId?: number }): React.JSX.Element {
  const url = apiInfo?.apiUrl ?? 'http://127.0.0.1:8377/v1'
  const token = apiInfo?.token ?? '<token from the api-token file in the data folder>'
  const experiment = experimentId === undefined ? '<experiment id>' : String(experimentId)
  const snippet = `import requests

API = "${url}"
HEADERS = {"Authorization": "Bearer ${token}"}

run = requests.post(f"{API}/ml/runs", headers=HEADERS, json={
    "experiment_id": ${experiment}, "run_name": "first-run", "hyperparameters": {"lr": 0.001},
}).json()
for step in range(100):
    requests.post(f"{API}/ml/metrics", headers=HEADERS, json={
        "run_id": run["run_id"],
        "points": [{"key": "loss", "value": 1 / (step + 1), "step": step}],
    })
requests.post(f"{API}/ml/runs/complete", headers=HEADERS, json={"run_id": run["run_id"]})`
  return (
    <div className="log-from-script">
      <p>
        Log from a training script through the HTTP API at <code>{url}</code>
        {apiInfo && (
          <>
            {' '}
            with the token in <code>{apiInfo.tokenFile}</code>
          </>
        )}
        :
      </p>
      <pre className="snippet">{snippet}</pre>
      <p className="hint">
        The API reference is at <code>{url}/docs</code>. Runs appear here while they log.
      </p>
    </div>
  )
}

/**
 * Asks before an action that changes what is deployed or approved: the action runs only on
 * "confirm", with the optional notes the user typed.
 */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  notesLabel,
  notesRequired = false,
  onConfirm,
  onCancel
}: {
  title: string
  children?: ReactNode
  confirmLabel: string
  /** Shows a notes field with this label (approval notes, rejection reason…). */
  notesLabel?: string
  notesRequired?: boolean
  onConfirm: (notes: string | null) => void | Promise<void>
  onCancel: () => void
}): React.JSX.Element {
  const [notes, setNotes] = useState('')
  const [busy, setBusy] = useState(false)
  return (
    <div className="modal-backdrop">
      <form
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-label={title}
        onSubmit={(event) => {
          event.preventDefault()
          setBusy(true)
          void Promise.resolve(onConfirm(notes.trim() === '' ? null : notes.trim())).finally(() => setBusy(false))
        }}
      >
        <h2>{title}</h2>
        {children}
        {notesLabel && (
          <label className="field">
            {notesLabel}
            <textarea aria-label={notesLabel} value={notes} onChange={(event) => setNotes(event.target.value)} rows={3} autoFocus />
          </label>
        )}
        <div className="modal-actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" disabled={busy || (notesRequired && notes.trim() === '')}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </div>
  )
}
