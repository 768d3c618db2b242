import { createStore } from 'zustand/vanilla'
import type { HypercubeApi } from '../../../shared/contract'
import type { GroupedSeries } from '../../../shared/grouped-series'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'

/**
 * The grouped charts' data when the runs table is grouped: per group and metric its mean, min,
 * max and std per step bucket over EVERY run of the table, computed by main in PostgreSQL (one
 * runs.groupedSeries call), where the browser could only fetch a hundred runs' series.
 */

/** Step buckets asked per metric: a few per pixel column of a wide panel. */
export const GROUPED_MAX_BUCKETS = 1_000

export interface GroupedSeriesRequest {
  experimentId: number
  runIds: readonly number[]
  groupBy: string
  keys: readonly string[]
}

export interface GroupedSeriesState {
  /** The request the state is for (requestKey of it); null before the first. */
  requestKey: string | null
  request: GroupedSeriesRequest | null
  /** The request's runs, for the live updates to ask whether a run's new points concern it. */
  requestRuns: ReadonlySet<number>
  /** The answer to `requestKey`'s request, once it came. */
  data: GroupedSeries | null
  loading: boolean
  error: ErrorInfo | null
  /** Asks for a request unless it is the one loaded or loading; `force` asks again (new points logged). */
  load: (request: GroupedSeriesRequest, force?: boolean) => Promise<void>
  /** Re-reads the answer when new points of one of these runs concern it (pushed "metrics logged"), drawing the old one meanwhile. */
  refreshRuns: (runIds: readonly number[]) => Promise<void>
}

export const requestKey = (request: GroupedSeriesRequest): string =>
  `${request.experimentId}|${request.groupBy}|${request.keys.join('\u0000')}|${request.runIds.join(',')}`

export function createGroupedSeriesStore(api: HypercubeApi) {
  return createStore<GroupedSeriesState>()((set, get) => ({
    requestKey: null,
    request: null,
    requestRuns: new Set<number>(),
    data: null,
    loading: false,
    error: null,
    load: async (request, force = false) => {
      const key = requestKey(request)
      if (!force && get().requestKey === key && (get().loading || get().data !== null)) return
      // A different request's answer is not shown meanwhile (other groups or runs); a forced
      // re-read of the same one keeps it drawn until the new answer comes.
      set(get().requestKey === key ? { loading: true, error: null } : { requestKey: key, request, requestRuns: new Set(request.runIds), data: null, loading: true, error: null })
      try {
        const data = await call(api, 'runs.groupedSeries', { ...request, runIds: [...request.runIds], keys: [...request.keys], maxBuckets: GROUPED_MAX_BUCKETS })
        if (get().requestKey === key) set({ data, loading: false })
      } catch (error) {
        if (get().requestKey === key) set({ loading: false, error: errorInfo(error) })
      }
    },
    refreshRuns: async (runIds) => {
      const { request, requestRuns } = get()
      if (request && runIds.some((runId) => requestRuns.has(runId))) await get().load(request, true)
    }
  }))
}

export type GroupedSeriesStore = ReturnType<typeof createGroupedSeriesStore>
