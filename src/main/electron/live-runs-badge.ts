// The live-runs badge's Electron side: counts and coalescing are in desktop/live-runs-badge.ts.
import { app } from 'electron'
import type { Core } from '../core'
import { badgeSupported, changesLiveRuns, countLiveRuns, scheduleBadge } from '../desktop/live-runs-badge'

export function installLiveRunsBadge(core: Core): { dispose(): void } {
  if (!badgeSupported(process.platform)) return { dispose() {} }
  const scheduler = scheduleBadge({
    count: () => countLiveRuns(core.services),
    show: (live) => app.setBadgeCount(live),
    intervalMs: 2_000,
    onError: (error) => core.logger.warn({ err: error }, 'could not count live runs for the badge')
  })
  const subscription = core.contract.subscribe((pushed) => {
    if (changesLiveRuns(pushed.name)) scheduler.poke()
  })
  scheduler.poke()
  return {
    dispose() {
      subscription.dispose()
      scheduler.dispose()
    }
  }
}
