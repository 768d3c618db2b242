import { useLayoutEffect, useRef, useState, type ReactNode } from 'react'
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
      <pre className="snippet" tabIndex={0} aria-label="example script">
        {snippet}
      </pre>
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
/**
 * A native modal <dialog>: the page behind is inert, focus moves in (the first focusable control,
 * or one marked autoFocus), Esc calls onCancel (the parent closes it by unmounting), Tab stays among
 * the dialog's controls, and on close focus goes back to what opened it.
 */
export function useModalDialog(onCancel: () => void): {
  dialogRef: React.RefObject<HTMLDialogElement | null>
  trapTab: (event: React.KeyboardEvent<HTMLDialogElement>) => void
} {
  const dialogRef = useRef<HTMLDialogElement>(null)
  const onCancelRef = useRef(onCancel)
  onCancelRef.current = onCancel
  useLayoutEffect(() => {
    const dialog = dialogRef.current
    if (!dialog) return
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
    const cancel = (event: Event): void => {
      event.preventDefault()
      onCancelRef.current()
    }
    dialog.addEventListener('cancel', cancel)
    if (!dialog.open) dialog.showModal()
    return () => {
      dialog.removeEventListener('cancel', cancel)
      if (dialog.open) dialog.close()
      if (opener?.isConnected) opener.focus()
    }
  }, [])
  const trapTab = (event: React.KeyboardEvent<HTMLDialogElement>): void => {
    // Tab stays among the dialog's controls (the browser would otherwise let it reach its own UI).
    if (event.key !== 'Tab') return
    const focusable = [...event.currentTarget.querySelectorAll<HTMLElement>('button, textarea, input, select, a[href], [tabindex]:not([tabindex="-1"])')].filter(
      (element) => !element.hasAttribute('disabled')
    )
    if (focusable.length === 0) return
    const first = focusable[0]!
    const last = focusable[focusable.length - 1]!
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault()
      last.focus()
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault()
      first.focus()
    }
  }
  return { dialogRef, trapTab }
}

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
  const { dialogRef, trapTab } = useModalDialog(onCancel)

  return (
    <dialog ref={dialogRef} className="modal" aria-label={title} onKeyDown={trapTab}>
      <form
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
    </dialog>
  )
}

/** What an import could not bring in, and why (the MLflow and review-bundle import reports). */
export function ImportProblems({ problems }: { problems: readonly string[] }): React.JSX.Element | null {
  if (problems.length === 0) return null
  return (
    <ul className="import-problems" aria-label="Not imported">
      {problems.map((problem) => (
        <li key={problem}>{problem}</li>
      ))}
    </ul>
  )
}
