import { createStore } from 'zustand/vanilla'
import { readJson, writeJson, type KeyValueStorage } from '../lib/storage'

/**
 * Light or dark: the user's choice (system / light / dark) and the theme it resolves to, which
 * `apply` puts on the page (html[data-theme], read by styles.css and the charts).
 *
 * The choice is kept in the window's storage, not in the workspace settings: it belongs to this
 * screen and browser (a shared `serve` workspace is opened from several), and it must be known
 * before the first paint, without waiting on a call to main.
 */

export type ThemeChoice = 'system' | 'light' | 'dark'
export type Theme = 'light' | 'dark'
export const THEME_CHOICES: readonly ThemeChoice[] = ['system', 'light', 'dark']
export const themeKey = 'hypercube.theme'

const isThemeChoice = (value: unknown): value is ThemeChoice => value === 'system' || value === 'light' || value === 'dark'

/** prefers-color-scheme: dark, as matchMedia answers it. */
export interface SystemDarkQuery {
  matches: boolean
  addEventListener(type: 'change', listener: (event: { matches: boolean }) => void): void
}

export interface ThemeState {
  choice: ThemeChoice
  theme: Theme
  setChoice: (choice: ThemeChoice) => void
}

export const resolveTheme = (choice: ThemeChoice, systemDark: boolean): Theme => (choice === 'system' ? (systemDark ? 'dark' : 'light') : choice)

export function createThemeStore(deps: { storage: KeyValueStorage; systemDark: SystemDarkQuery; apply: (theme: Theme) => void }) {
  const choice = readJson(deps.storage, themeKey, isThemeChoice, 'system')
  const store = createStore<ThemeState>()((set, get) => ({
    choice,
    theme: resolveTheme(choice, deps.systemDark.matches),
    setChoice: (next) => {
      writeJson(deps.storage, themeKey, next)
      set({ choice: next, theme: resolveTheme(next, deps.systemDark.matches) })
      deps.apply(get().theme)
    }
  }))
  deps.apply(store.getState().theme)
  // "system" follows the system's setting as it changes.
  deps.systemDark.addEventListener('change', (event) => {
    const theme = resolveTheme(store.getState().choice, event.matches)
    if (theme === store.getState().theme) return
    store.setState({ theme })
    deps.apply(theme)
  })
  return store
}

export type ThemeStore = ReturnType<typeof createThemeStore>
