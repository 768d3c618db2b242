/**
 * The dock (macOS) / launcher (Linux, Unity-style docks) badge: how many runs are live
 * (status running) in the workspace. Counted from the database rather than from the events
 * alone, so runs started before the app, or by a script while it was closed, count too; the
 * events only say when to count again, at most once per interval.
 */
import type { ExperimentService } from '../services/experiment-service'
import type { RunService } from '../services/run-service'

const EXPERIMENTS_PER_QUERY = 1_000

export async function countLiveRuns(services: { experiments: Pick<ExperimentService, 'list'>; runs: Pick<RunService, 'searchRuns'> }): Promise<number> {
  const experimentIds = (await services.experiments.list()).map((experiment) => experiment.id)
  let live = 0
  for (let start = 0; start < experimentIds.length; start += EXPERIMENTS_PER_QUERY) {
    for (let pageToken: string | undefined, first = true; first || pageToken; first = false) {
      const page = await services.runs.searchRuns({ experimentIds: experimentIds.slice(start, start + EXPERIMENTS_PER_QUERY), filter: "status = 'running'", maxResults: 50_000, ...(pageToken ? { pageToken } : {}) })
      live += page.runs.length
      pageToken = page.nextPageToken
    }
  }
  return live
}

export interface BadgeScheduler {
  /** Something changed: count again (now, or when the interval since the last count is over). */
  poke(): void
  dispose(): void
}

/**
 * Coalesces pokes: one count at a time, at most one per `intervalMs`; a poke while counting or
 * waiting leads to one more count after. `show` gets each new number (not repeats).
 */
export function scheduleBadge(options: { count: () => Promise<number>; show: (live: number) => void; intervalMs: number; onError?: (error: unknown) => void; setTimer?: (run: () => void, ms: number) => { cancel(): void } }): BadgeScheduler {
  const setTimer = options.setTimer ?? ((run: () => void, ms: number) => {
    const timer = setTimeout(run, ms)
    return { cancel: () => clearTimeout(timer) }
  })
  let shown: number | undefined
  let pending = false
  let busy = false
  let timer: { cancel(): void } | undefined
  let disposed = false
  const runCount = async (): Promise<void> => {
    timer = undefined
    if (disposed || !pending) return
    pending = false
    busy = true
    try {
      const live = await options.count()
      if (!disposed && live !== shown) {
        shown = live
        options.show(live)
      }
    } catch (error) {
      options.onError?.(error)
    } finally {
      busy = false
      // Pokes that came meanwhile are answered after the interval.
      if (!disposed) timer = setTimer(() => void runCount(), options.intervalMs)
    }
  }
  return {
    poke() {
      if (disposed) return
      pending = true
      if (!busy && !timer) void runCount()
    },
    dispose() {
      disposed = true
      timer?.cancel()
    }
  }
}

/** The pushed events after which the live count may have changed. */
export function changesLiveRuns(eventName: string): boolean {
  return eventName === 'runs.changed' || eventName === 'experiments.changed' || eventName === 'events.resync'
}

/** Where Electron can show a count: the macOS dock and Linux launchers (Unity's protocol); Windows has only overlay icons. */
export function badgeSupported(platform: NodeJS.Platform): boolean {
  return platform === 'darwin' || platform === 'linux'
}
