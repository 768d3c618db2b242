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
