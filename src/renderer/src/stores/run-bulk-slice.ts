import type { StateCreator } from 'zustand/vanilla'
import type { HypercubeApi, RunRow } from '../../../shared/contract'
import type { RunKeys } from '../../../shared/domain'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'

/**
 * The runs table's actions on a selection (a slice of the runs-table store): add a tag to the
 * selected runs, soft-delete them, restore them (in the "show deleted" view). They act on the
 * selected runs the table holds, so a run hidden by the filter is never changed unseen. Also
 * the keys the experiment's runs have, which the filter box completes and checks against.
 */
export interface BulkSlice {
  /** The experiment's param, metric and tag keys; null until loaded. */
  keys: RunKeys | null
  loadKeys: () => Promise<void>
  bulkBusy: boolean
  /** What the last bulk action did, or why it failed. */
  bulkOutcome: { message: string; error: ErrorInfo | null } | null
  tagSelected: (key: string, value: string) => Promise<void>
  deleteSelected: () => Promise<void>
  restoreSelected: () => Promise<void>
}

/** What the slice reads from the rest of the store. */
interface Host {
  experimentId: number | null
  rows: RunRow[]
  selected: number[]
  setSelected: (runIds: number[]) => void
  reload: () => Promise<void>
}

/** The selected runs among the rows shown: what a bulk action changes. */
export function selectedShown(state: Pick<Host, 'rows' | 'selected'>): number[] {
  const selected = new Set(state.selected)
  return state.rows.filter((row) => selected.has(row.id)).map((row) => row.id)
}

const plural = (count: number): string => `${count} run${count === 1 ? '' : 's'}`

export const createBulkSlice =
  <S extends BulkSlice & Host>(api: HypercubeApi): StateCreator<S, [], [], BulkSlice> =>
  (set, get) => {
    const patch = (value: Partial<BulkSlice>): void => set(value as Partial<S>)
    let keysFor: number | null = null
    const loadKeys = async (): Promise<void> => {
      const { experimentId } = get()
      if (experimentId === null) return
      // Another experiment: the last one's keys and action outcome do not apply to it.
      if (keysFor !== experimentId) patch({ keys: null, bulkOutcome: null })
      keysFor = experimentId
      try {
        const keys = await call(api, 'runs.keys', { experimentId })
        if (keysFor === experimentId && get().experimentId === experimentId) patch({ keys })
      } catch {
        // Without keys the filter box offers no completions and flags nothing; the filter still works.
      }
    }
    const act = async (run: (runIds: number[]) => Promise<string>, dropFromSelection: boolean): Promise<void> => {
      const runIds = selectedShown(get())
      if (runIds.length === 0 || get().bulkBusy) return
      patch({ bulkBusy: true, bulkOutcome: null })
      try {
        const message = await run(runIds)
        if (dropFromSelection) {
          const gone = new Set(runIds)
          get().setSelected(get().selected.filter((id) => !gone.has(id)))
        }
        patch({ bulkBusy: false, bulkOutcome: { message, error: null } })
        await Promise.all([get().reload(), loadKeys()])
      } catch (error) {
        patch({ bulkBusy: false, bulkOutcome: { message: 'The action failed', error: errorInfo(error) } })
      }
    }
    return {
      keys: null,
      loadKeys,
      bulkBusy: false,
      bulkOutcome: null,
      tagSelected: (key, value) =>
        act(async (runIds) => {
          const { tagged } = await call(api, 'runs.tagMany', { runIds, key, value })
          return `Tagged ${plural(tagged)} with ${key} = ${value}`
        }, false),
      deleteSelected: () =>
        act(async (runIds) => {
          const { runIds: deleted } = await call(api, 'runs.deleteMany', { runIds })
          return `Deleted ${plural(deleted.length)}; "Show deleted runs" lists them for restore`
        }, true),
      restoreSelected: () =>
        act(async (runIds) => {
          const { runIds: restored } = await call(api, 'runs.restoreMany', { runIds })
          return `Restored ${plural(restored.length)}`
        }, true)
    }
  }
