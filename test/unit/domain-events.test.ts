import { afterEach, describe, expect, it, vi } from 'vitest'
import { DomainEvents, METRICS_COALESCE_MS, type MetricsLogged, type RunChanged } from '../../src/main/services/domain-events'
import { Emitter } from '../../src/shared/event'

function fakeSource() {
  const received = new Emitter<string>()
  const reconnected = new Emitter<void>()
  return {
    source: { onDidReceive: received.event, onDidReconnect: reconnected.event },
    notify: (payload: object | string) => received.fire(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    reconnect: () => reconnected.fire()
  }
}

describe('DomainEvents', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('coalesces a burst of metric batches into one event per run, summing points and keeping each key once', () => {
    vi.useFakeTimers()
    const { source, notify } = fakeSource()
    const events = new DomainEvents(source)
    const logged: MetricsLogged[] = []
    events.onDidLogMetrics((event) => logged.push(event))
    for (let batch = 0; batch < 40; batch++) notify({ name: 'metrics.logged', runId: 1, points: 1000, keys: batch % 2 ? ['loss', 'acc'] : ['loss'] })
    notify({ name: 'metrics.logged', runId: 2, points: 5, keys: ['lr'] })
    expect(logged).toEqual([])
    vi.advanceTimersByTime(METRICS_COALESCE_MS)
    expect(logged).toEqual([
      { runId: 1, points: 40_000, keys: ['loss', 'acc'] },
      { runId: 2, points: 5, keys: ['lr'] }
    ])
    events.dispose()
  })

  it('a batch announced without its keys (too many to name) makes the coalesced event keyless', () => {
    vi.useFakeTimers()
    const { source, notify } = fakeSource()
    const events = new DomainEvents(source)
    const logged: MetricsLogged[] = []
    events.onDidLogMetrics((event) => logged.push(event))
    notify({ name: 'metrics.logged', runId: 1, points: 10, keys: ['loss'] })
    notify({ name: 'metrics.logged', runId: 1, points: 10, keys: null })
    vi.advanceTimersByTime(METRICS_COALESCE_MS)
    expect(logged).toEqual([{ runId: 1, points: 20, keys: null }])
    events.dispose()
  })

  it('delivers gathered metrics before a run change, so a finished run shows its last points', () => {
    vi.useFakeTimers()
    const { source, notify } = fakeSource()
    const events = new DomainEvents(source)
    const order: string[] = []
    events.onDidLogMetrics((event) => order.push(`metrics ${event.runId}`))
    events.onDidChangeRun((event: RunChanged) => order.push(`run ${event.runId} ${event.status}`))
    notify({ name: 'metrics.logged', runId: 3, points: 1, keys: ['loss'] })
    notify({ name: 'runs.changed', runId: 3, experimentId: 1, status: 'completed' })
    expect(order).toEqual(['metrics 3', 'run 3 completed'])
    events.dispose()
  })

  it('drops malformed or unknown payloads and reports them, then keeps going', () => {
    const { source, notify } = fakeSource()
    const invalid: string[] = []
    const events = new DomainEvents(source, (payload) => invalid.push(payload))
    const experiments: number[] = []
    events.onDidChangeExperiment((event) => experiments.push(event.experimentId))
    notify('not json')
    notify({ name: 'runs.changed', runId: 'x', experimentId: 1, status: 'running' })
    notify({ name: 'runs.changed', runId: 1, experimentId: 1, status: 'exploded' })
    notify({ name: 'something.else' })
    notify({ name: 'experiments.changed', experimentId: 7 })
    expect(invalid).toHaveLength(4)
    expect(experiments).toEqual([7])
    events.dispose()
  })

  it('tells listeners that events may have been missed when the feed reconnects', () => {
    const { source, reconnect } = fakeSource()
    const events = new DomainEvents(source)
    let missed = 0
    events.onDidMissEvents(() => missed++)
    reconnect()
    expect(missed).toBe(1)
    events.dispose()
  })
})
