import { describe, expect, it } from 'vitest'
import { badgeSupported, changesLiveRuns, scheduleBadge } from '../../src/main/desktop/live-runs-badge'

/** Timers run by hand: `fire()` runs the pending one. */
function manualTimers() {
  const pending: Array<{ run: () => void; ms: number; cancelled: boolean }> = []
  return {
    pending,
    setTimer: (run: () => void, ms: number) => {
      const timer = { run, ms, cancelled: false }
      pending.push(timer)
      return { cancel: () => (timer.cancelled = true) }
    },
    fire: () => {
      const timer = pending.shift()
      if (timer && !timer.cancelled) timer.run()
    }
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('live-runs badge: counting again when runs change, at most once per interval', () => {
  it('counts at once on the first poke, and shows the number', async () => {
    const timers = manualTimers()
    const shown: number[] = []
    const scheduler = scheduleBadge({ count: async () => 3, show: (live) => shown.push(live), intervalMs: 2000, setTimer: timers.setTimer })
    scheduler.poke()
    await settle()
    expect(shown).toEqual([3])
    expect(timers.pending.map((timer) => timer.ms)).toEqual([2000])
  })

  it('answers a burst of pokes with one more count after the interval, and shows only changes', async () => {
    const timers = manualTimers()
    const counts = [1, 2, 2]
    let calls = 0
    const shown: number[] = []
    const scheduler = scheduleBadge({ count: async () => counts[calls++], show: (live) => shown.push(live), intervalMs: 2000, setTimer: timers.setTimer })
    scheduler.poke()
    await settle()
    for (let i = 0; i < 50; i++) scheduler.poke()
    await settle()
    expect(calls).toBe(1)
    timers.fire()
    await settle()
    expect(calls).toBe(2)
    expect(shown).toEqual([1, 2])
    scheduler.poke()
    timers.fire()
    await settle()
    expect(calls).toBe(3)
    expect(shown).toEqual([1, 2])
  })

  it('does not count when the interval ends without a poke, nor after dispose', async () => {
    const timers = manualTimers()
    let calls = 0
    const scheduler = scheduleBadge({ count: async () => ++calls, show: () => {}, intervalMs: 2000, setTimer: timers.setTimer })
    scheduler.poke()
    await settle()
    timers.fire()
    await settle()
    expect(calls).toBe(1)
    scheduler.dispose()
    scheduler.poke()
    timers.fire()
    await settle()
    expect(calls).toBe(1)
  })

  it('reports a failed count and keeps going', async () => {
    const timers = manualTimers()
    const errors: unknown[] = []
    let fail = true
    const shown: number[] = []
    const scheduler = scheduleBadge({
      count: async () => {
        if (fail) throw new Error('database away')
        return 4
      },
      show: (live) => shown.push(live),
      onError: (error) => errors.push(error),
      intervalMs: 2000,
      setTimer: timers.setTimer
    })
    scheduler.poke()
    await settle()
    expect(errors).toHaveLength(1)
    fail = false
    scheduler.poke()
    timers.fire()
    await settle()
    expect(shown).toEqual([4])
  })

  it('counts again after run, experiment and resync events only; shows on macOS and Linux, not Windows', () => {
    expect(['runs.changed', 'experiments.changed', 'events.resync'].every(changesLiveRuns)).toBe(true)
    expect(['metrics.logged', 'models.versionChanged', 'deployments.changed', 'plugins.changed', 'api.stateChanged'].some(changesLiveRuns)).toBe(false)
    expect([badgeSupported('darwin'), badgeSupported('linux'), badgeSupported('win32')]).toEqual([true, true, false])
  })
})
