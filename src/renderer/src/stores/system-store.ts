import { createStore, type StateCreator } from 'zustand/vanilla'
import type { AppSettings, HypercubeApi } from '../../../shared/contract'
import type { ErrorInfo } from '../../../shared/errors'
import type { PluginInfo } from '../../../shared/plugins'
import type { ApiDoorState, ReviewImportResult, ReviewInfo } from '../../../shared/domain'
import { call, errorInfo } from '../lib/call'

/** The plugins page and Settings, from two slices. */

interface PluginsSlice {
  plugins: PluginInfo[]
  pluginsLoaded: boolean
  pluginsError: ErrorInfo | null
  /** The plugin an action is running on, so its buttons wait. */
  pluginBusy: string | null
  loadPlugins: () => Promise<void>
  setPlugins: (plugins: PluginInfo[]) => void
  pluginAction: (action: 'reload' | 'enable' | 'disable', name: string) => Promise<void>
}

interface SettingsSlice {
  settings: AppSettings | null
  settingsError: ErrorInfo | null
  /** Why the last database URL was not saved (validation happens in main by connecting). */
  databaseError: ErrorInfo | null
  savingDatabase: boolean
  databaseSaved: boolean
  loadSettings: () => Promise<void>
  saveDatabase: (url: string | null) => Promise<void>
  rotateToken: () => Promise<void>
  /** Why the last API port was not saved. */
  apiPortError: ErrorInfo | null
  saveApiPort: (port: number | null) => Promise<void>
  reviewerError: ErrorInfo | null
  /** Saves who reviews and deploys from this app; null goes back to the OS user's full name. */
  saveReviewerName: (name: string | null) => Promise<void>
}

interface ApiDoorSlice {
  /** The HTTP door's state, shown as a banner when it is restarting or has given up. */
  apiState: ApiDoorState | null
  loadApiState: () => Promise<void>
  setApiState: (state: ApiDoorState) => void
  /** Set when this app shows a review bundle read-only (`hypercube review FILE`): the banner says so. */
  review: ReviewInfo | null
  reviewImporting: boolean
  reviewImport: ReviewImportResult | null
  reviewImportError: ErrorInfo | null
  /** "Import into my workspace": the normal import of the reviewed bundle into the user's workspace. */
  importReview: (onConflict: 'skip' | 'keep-both' | 'replace') => Promise<void>
  /** The review was closed from its banner: its server is gone, so the window shows that instead of failing calls. */
  reviewClosed: boolean
  reviewClosing: boolean
  reviewCloseError: ErrorInfo | null
  /** "Close review" (a review opened from a running app): the app stops it, server and folder. */
  closeReview: () => Promise<void>
}

export type SystemState = PluginsSlice & SettingsSlice & ApiDoorSlice

type Slice<T> = StateCreator<SystemState, [], [], T>

const createPluginsSlice =
  (api: HypercubeApi): Slice<PluginsSlice> =>
  (set) => ({
    plugins: [],
    pluginsLoaded: false,
    pluginsError: null,
    pluginBusy: null,
    loadPlugins: async () => {
      try {
        set({ plugins: await call(api, 'plugins.list', {}), pluginsLoaded: true, pluginsError: null })
      } catch (error) {
        set({ pluginsLoaded: true, pluginsError: errorInfo(error) })
      }
    },
    setPlugins: (plugins) => set({ plugins, pluginsLoaded: true }),
    pluginAction: async (action, name) => {
      set({ pluginBusy: name, pluginsError: null })
      try {
        const info = await call(api, `plugins.${action}`, { name })
        set((state) => ({ plugins: state.plugins.map((plugin) => (plugin.name === name ? info : plugin)), pluginBusy: null }))
      } catch (error) {
        set({ pluginBusy: null, pluginsError: errorInfo(error) })
      }
    }
  })

const createSettingsSlice =
  (api: HypercubeApi): Slice<SettingsSlice> =>
  (set) => ({
    settings: null,
    settingsError: null,
    databaseError: null,
    savingDatabase: false,
    databaseSaved: false,
    loadSettings: async () => {
      try {
        set({ settings: await call(api, 'settings.get', {}), settingsError: null })
      } catch (error) {
        set({ settingsError: errorInfo(error) })
      }
    },
    saveDatabase: async (url) => {
      set({ savingDatabase: true, databaseError: null, databaseSaved: false })
      try {
        set({ settings: await call(api, 'settings.setDatabase', { url }), savingDatabase: false, databaseSaved: true })
      } catch (error) {
        set({ savingDatabase: false, databaseError: errorInfo(error) })
      }
    },
    rotateToken: async () => {
      try {
        set({ settings: await call(api, 'settings.rotateToken', {}), settingsError: null })
      } catch (error) {
        set({ settingsError: errorInfo(error) })
      }
    },
    apiPortError: null,
    saveApiPort: async (port) => {
      try {
        set({ settings: await call(api, 'settings.setApiPort', { port }), apiPortError: null })
      } catch (error) {
        set({ apiPortError: errorInfo(error) })
      }
    },
    reviewerError: null,
    saveReviewerName: async (name) => {
      try {
        set({ settings: await call(api, 'settings.setReviewerName', { name }), reviewerError: null })
      } catch (error) {
        set({ reviewerError: errorInfo(error) })
      }
    }
  })

const createApiDoorSlice =
  (api: HypercubeApi): Slice<ApiDoorSlice> =>
  (set) => ({
    apiState: null,
    loadApiState: async () => {
      try {
        const status = await call(api, 'system.status', {})
        set({ apiState: status.api, review: status.review ?? null })
      } catch {
        // The banner only adds to what the other views report; a failed read shows nothing new.
      }
    },
    setApiState: (apiState) => set({ apiState }),
    review: null,
    reviewImporting: false,
    reviewImport: null,
    reviewImportError: null,
    importReview: async (onConflict) => {
      set({ reviewImporting: true, reviewImport: null, reviewImportError: null })
      try {
        set({ reviewImport: await call(api, 'review.importIntoWorkspace', { onConflict }), reviewImporting: false })
      } catch (error) {
        set({ reviewImportError: errorInfo(error), reviewImporting: false })
      }
    },
    reviewClosed: false,
    reviewClosing: false,
    reviewCloseError: null,
    closeReview: async () => {
      set({ reviewClosing: true, reviewCloseError: null })
      try {
        await call(api, 'review.close', {})
        set({ reviewClosed: true, reviewClosing: false })
      } catch (error) {
        set({ reviewCloseError: errorInfo(error), reviewClosing: false })
      }
    }
  })

export function createSystemStore(api: HypercubeApi) {
  return createStore<SystemState>()((...args) => ({
    ...createPluginsSlice(api)(...args),
    ...createSettingsSlice(api)(...args),
    ...createApiDoorSlice(api)(...args)
  }))
}

export type SystemStore = ReturnType<typeof createSystemStore>
