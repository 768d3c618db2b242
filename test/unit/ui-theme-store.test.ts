import { describe, expect, it } from 'vitest'
import { memoryStorage } from '../../src/renderer/src/lib/storage'
import { createThemeStore, themeKey, type Theme } from '../../src/renderer/src/stores/theme-store'

/** A prefers-color-scheme query the test turns. */
function systemQuery(dark: boolean) {
  const listeners: Array<(event: { matches: boolean }) => void> = []
  const query = {
    matches: dark,
    addEventListener: (_type: 'change', listener: (event: { matches: boolean }) => void) => void listeners.push(listener),
    turn: (next: boolean) => {
      query.matches = next
      for (const listener of listeners) listener({ matches: next })
    }
  }
  return query
}

describe('theme store', () => {
  it('follows the system until the user chooses, remembers the choice, and applies every change', () => {
    const storage = memoryStorage()
    const system = systemQuery(true)
    const applied: Theme[] = []
    const store = createThemeStore({ storage, systemDark: system, apply: (theme) => applied.push(theme) })
    expect(store.getState()).toMatchObject({ choice: 'system', theme: 'dark' })
    system.turn(false)
    expect(store.getState().theme).toBe('light')
    store.getState().setChoice('dark')
    system.turn(true)
    system.turn(false)
    expect(store.getState().theme).toBe('dark')
    expect(applied).toEqual(['dark', 'light', 'dark'])
    expect(storage.getItem(themeKey)).toBe('"dark"')

    // A new window reads the choice back; a malformed one falls back to the system.
    expect(createThemeStore({ storage, systemDark: systemQuery(false), apply: () => {} }).getState()).toMatchObject({ choice: 'dark', theme: 'dark' })
    storage.setItem(themeKey, '"purple"')
    expect(createThemeStore({ storage, systemDark: systemQuery(false), apply: () => {} }).getState()).toMatchObject({ choice: 'system', theme: 'light' })
  })
})
