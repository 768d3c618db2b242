import { useState } from 'react'

/**
 * Returns `value` as it was when `key` last changed, so a value rebuilt on every render (a
 * filtered list, derived points) keeps one identity while its content is the same — and
 * hooks that depend on it (useMemo, useEffect) rerun only when the content does.
 * React's "storing information from previous renders" pattern: the set-state during render
 * re-renders this component at once, before its children.
 */
export function useKeyedValue<T>(value: T, key: string): T {
  const [kept, setKept] = useState({ key, value })
  if (kept.key !== key) {
    setKept({ key, value })
    return value
  }
  return kept.value
}
