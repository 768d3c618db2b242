import { useRef, useState, type PointerEvent as ReactPointerEvent } from 'react'
import { MAX_COLUMN_WIDTH, MIN_COLUMN_WIDTH } from '../stores/app-store'

/**
 * Resizing and moving the runs table's columns by pointer: the right edge of a header resizes
 * its column (once pressed, ←/→ change it by 10 px), and a param, metric or tag header
 * dragged sideways drops before the header it is released over. The keyboard's way to move a
 * column is the column picker's move buttons.
 */

const KEY_STEP = 10
/** A press that moves less than this is a click (it sorts), not a drag. */
const DRAG_THRESHOLD = 6

export function ColumnResizer({
  label,
  width,
  onResize
}: {
  label: string
  width: number
  /** `done` once the pointer is released or a key pressed: then the width is remembered. */
  onResize: (width: number, done: boolean) => void
}): React.JSX.Element {
  const start = useRef<{ x: number; width: number } | null>(null)
  return (
    <div
      role="separator"
      aria-orientation="vertical"
      aria-label={`resize ${label}`}
      aria-valuenow={Math.round(width)}
      aria-valuemin={MIN_COLUMN_WIDTH}
      aria-valuemax={MAX_COLUMN_WIDTH}
      // Out of the Tab order, which goes from one sort button to the next (there Alt+←/→ resizes); once pressed, ←/→ resize.
      tabIndex={-1}
      className="column-resizer"
      onPointerDown={(event) => {
        event.preventDefault()
        event.stopPropagation()
        event.currentTarget.setPointerCapture(event.pointerId)
        // preventDefault above also prevents the focus a press gives; ←/→ need it.
        event.currentTarget.focus()
        start.current = { x: event.clientX, width }
      }}
      onPointerMove={(event) => {
        if (start.current) onResize(start.current.width + event.clientX - start.current.x, false)
      }}
      onPointerUp={(event) => {
        if (!start.current) return
        onResize(start.current.width + event.clientX - start.current.x, true)
        start.current = null
      }}
      onKeyDown={(event) => {
        if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return
        event.preventDefault()
        onResize(width + (event.key === 'ArrowRight' ? KEY_STEP : -KEY_STEP), true)
      }}
    />
  )
}

export interface ColumnDrag {
  /** The column being dragged and where the pointer is, while a drag is on. */
  dragging: { id: string; x: number } | null
  /** Pointer handlers for a movable header. */
  handlers: (id: string) => {
    onPointerDown: (event: ReactPointerEvent<HTMLElement>) => void
    onPointerMove: (event: ReactPointerEvent<HTMLElement>) => void
    onPointerUp: (event: ReactPointerEvent<HTMLElement>) => void
    onClickCapture: (event: React.MouseEvent) => void
  }
}

/**
 * `targetAt(x)` names the movable header under the pointer and whether the pointer is on its
 * right half; `onPlace(id, beforeId)` moves the column (beforeId null: last).
 */
export function useColumnDrag(
  targetAt: (x: number) => { id: string; after: boolean; nextId: string | null } | null,
  onPlace: (id: string, beforeId: string | null) => void
): ColumnDrag {
  const [dragging, setDragging] = useState<{ id: string; x: number } | null>(null)
  const press = useRef<{ id: string; x: number; moved: boolean } | null>(null)
  const suppressClick = useRef(false)
  return {
    dragging,
    handlers: (id) => ({
      onPointerDown: (event) => {
        if (event.button !== 0) return
        press.current = { id, x: event.clientX, moved: false }
      },
      onPointerMove: (event) => {
        const current = press.current
        if (!current || current.id !== id) return
        if (!current.moved && Math.abs(event.clientX - current.x) < DRAG_THRESHOLD) return
        if (!current.moved) {
          current.moved = true
          event.currentTarget.setPointerCapture(event.pointerId)
        }
        setDragging({ id, x: event.clientX })
      },
      onPointerUp: (event) => {
        const current = press.current
        press.current = null
        if (!current || !current.moved) return
        setDragging(null)
        suppressClick.current = true
        setTimeout(() => (suppressClick.current = false), 0)
        const target = targetAt(event.clientX)
        if (target && target.id !== id) onPlace(id, target.after ? target.nextId : target.id)
      },
      onClickCapture: (event) => {
        // The click that ends a drag must not sort the column.
        if (suppressClick.current) {
          suppressClick.current = false
          event.stopPropagation()
          event.preventDefault()
        }
      }
    })
  }
}
