/**
 * Remembering the window's size and place between launches, checked against the displays
 * there are now: a window saved on a monitor since unplugged, or larger than the screen it
 * comes back to, must still open where the user can see and grab it.
 */

export interface Rectangle {
  x: number
  y: number
  width: number
  height: number
}

export interface SavedWindowState {
  bounds: Rectangle
  maximized: boolean
}

export const DEFAULT_WINDOW_SIZE = { width: 1280, height: 800 } as const
export const MIN_WINDOW_SIZE = { width: 800, height: 560 } as const
/** How much of the title bar must be on a display for a saved place to be kept. */
const MIN_VISIBLE_TITLE_BAR = { width: 120, height: 32 } as const

function isFiniteInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 1_000_000
}

/** A saved state read back from settings.json (a hand-edited file may hold anything); null when unusable. */
export function parseWindowState(value: unknown): SavedWindowState | null {
  if (typeof value !== 'object' || value === null) return null
  const { bounds, maximized } = value as { bounds?: unknown; maximized?: unknown }
  if (typeof bounds !== 'object' || bounds === null) return null
  const { x, y, width, height } = bounds as Record<string, unknown>
  if (!isFiniteInteger(x) || !isFiniteInteger(y) || !isFiniteInteger(width) || !isFiniteInteger(height)) return null
  if (width <= 0 || height <= 0) return null
  return { bounds: { x, y, width, height }, maximized: maximized === true }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high)
}

function overlap(a: Rectangle, b: Rectangle): Rectangle | null {
  const x = Math.max(a.x, b.x)
  const y = Math.max(a.y, b.y)
  const right = Math.min(a.x + a.width, b.x + b.width)
  const bottom = Math.min(a.y + a.height, b.y + b.height)
  return right > x && bottom > y ? { x, y, width: right - x, height: bottom - y } : null
}

export interface WindowPlacement {
  /** x/y absent: let the OS place the window (centred on the primary display). */
  bounds: { x?: number; y?: number; width: number; height: number }
  maximized: boolean
}

/**
 * Where to open the window, given what was saved and the displays' work areas (primary first).
 * The saved place is kept when enough of its title bar is on some display; the size is then
 * fitted into that display and the window moved inside it. Otherwise the saved size (fitted
 * into the primary display) opens at the OS's default place.
 */
export function placeWindow(saved: SavedWindowState | null, workAreas: readonly Rectangle[]): WindowPlacement {
  const primary = workAreas[0]
  // At least the minimum size (unless the display is smaller still), at most the display.
  const fit = (size: { width: number; height: number }, area: Rectangle | undefined) => ({
    width: area ? clamp(size.width, Math.min(MIN_WINDOW_SIZE.width, area.width), area.width) : Math.max(size.width, MIN_WINDOW_SIZE.width),
    height: area ? clamp(size.height, Math.min(MIN_WINDOW_SIZE.height, area.height), area.height) : Math.max(size.height, MIN_WINDOW_SIZE.height)
  })
  if (!saved) return { bounds: fit(DEFAULT_WINDOW_SIZE, primary), maximized: false }
  const titleBar: Rectangle = { x: saved.bounds.x, y: saved.bounds.y, width: saved.bounds.width, height: MIN_VISIBLE_TITLE_BAR.height }
  const home = workAreas.find((area) => {
    const visible = overlap(titleBar, area)
    return visible !== null && visible.width >= Math.min(MIN_VISIBLE_TITLE_BAR.width, saved.bounds.width) && visible.height >= Math.min(MIN_VISIBLE_TITLE_BAR.height, saved.bounds.height)
  })
  if (!home) return { bounds: fit(saved.bounds, primary), maximized: saved.maximized }
  const size = fit(saved.bounds, home)
  const x = Math.min(Math.max(saved.bounds.x, home.x), home.x + home.width - size.width)
  const y = Math.min(Math.max(saved.bounds.y, home.y), home.y + home.height - size.height)
  return { bounds: { x, y, ...size }, maximized: saved.maximized }
}
