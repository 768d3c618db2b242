import { join } from 'node:path'

/** What a second launch does to the first instance's window: bring it back and to the front. */
export interface FocusableWindow {
  isMinimized(): boolean
  restore(): void
  isVisible(): boolean
  show(): void
  focus(): void
}

/** Returns false when there is no window yet (the first instance is still starting); it opens one when ready. */
export function focusFirstWindow(window: FocusableWindow | undefined): boolean {
  if (!window) return false
  if (window.isMinimized()) window.restore()
  if (!window.isVisible()) window.show()
  window.focus()
  return true
}

/**
 * Electron's profile folder (userData: its caches, cookies and the single-instance lock) for an
 * app started on a data folder of its own (HYPERCUBE_DATA_DIR): inside that folder, so the lock
 * means "one app per data folder", as hypercube.lock does — two apps on two data folders (a
 * second profile, tests running side by side) do not hand over to each other. null: Electron's
 * default, the one profile of the user's own app.
 */
export function profileDirFor(env: NodeJS.ProcessEnv, dataDir: string): string | null {
  return env.HYPERCUBE_DATA_DIR ? join(dataDir, 'electron-profile') : null
}
