import { create } from 'zustand'
import type { SystemStatus } from '../../shared/domain'
import type { ErrorInfo } from '../../shared/errors'
import type { HypercubeApi } from '../../shared/contract'

export interface ConnectionState {
  status: SystemStatus | null
  error: ErrorInfo | null
  loading: boolean
  refresh: () => Promise<void>
}

export function createConnectionStore(api: HypercubeApi | undefined) {
  return create<ConnectionState>()((set) => ({
    status: null,
    error: null,
    loading: false,
    refresh: async () => {
      if (!api) {
        set({ error: { code: 'unavailable', message: 'No connection to the Hypercube core (open this page from the app).' } })
        return
      }
      set({ loading: true })
      const outcome = await api.invoke('system.status', {})
      set(outcome.ok ? { status: outcome.value, error: null, loading: false } : { error: outcome.error, loading: false })
    }
  }))
}

export const useConnectionStore = createConnectionStore(typeof window === 'undefined' ? undefined : window.hypercube)
