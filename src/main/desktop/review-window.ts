import { basename } from 'node:path'
import { reviewOrigin } from './navigation-policy'

/**
 * File → Open Review Bundle…, decided here; the Electron glue (index.ts) shows the dialog, asks
 * the core's review host to open the bundle, and opens a window on the review's login URL —
 * a window without the preload's bridge, allowed on the review's loopback origin only
 * (navigation-policy.ts, decideReviewNavigation).
 */

export interface OpenDialogSpec {
  title: string
  buttonLabel: string
  properties: Array<'openFile'>
  filters: Array<{ name: string; extensions: string[] }>
}

export function reviewBundleDialog(): OpenDialogSpec {
  return {
    title: 'Open Review Bundle',
    buttonLabel: 'Review',
    properties: ['openFile'],
    // "All files" too: a bundle renamed by a mail client still opens (its manifest is checked anyway).
    filters: [
      { name: 'Review bundles', extensions: ['hcube'] },
      { name: 'All files', extensions: ['*'] }
    ]
  }
}

/** The file the user chose, or null when they cancelled. */
export function chosenBundle(result: { canceled: boolean; filePaths: readonly string[] }): string | null {
  if (result.canceled || result.filePaths.length !== 1) return null
  return result.filePaths[0]!
}

export interface ReviewWindowPlan {
  /** The origin the window may stay on. */
  origin: string
  /** What the window loads first: the one-time login URL. */
  url: string
  title: string
}

/**
 * The window for an opened review, or an error naming what is wrong: the review host answers a
 * loopback origin and a login URL on it; anything else would be a window on a page the app did
 * not start, so it is refused.
 */
export function planReviewWindow(file: string, opened: { origin: string; loginUrl: string }): ReviewWindowPlan {
  const origin = reviewOrigin(opened.origin)
  if (origin === null || origin !== opened.origin) throw new Error(`the review is not served on a loopback address (${opened.origin})`)
  if (reviewOrigin(opened.loginUrl) !== origin) throw new Error(`the review's login URL is not on its own server (${opened.loginUrl})`)
  return { origin, url: opened.loginUrl, title: `Review — ${basename(file)} (read-only)` }
}
