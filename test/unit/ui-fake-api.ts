import type { CallName, CallOutcome, HypercubeApi, PushedEvent } from '../../src/shared/contract'
import type { ErrorInfo } from '../../src/shared/errors'
import type { RunRow } from '../../src/shared/contract'

/** A main process in miniature for store tests: answers calls from handlers, records them, pushes events. */
export class Refusal {
  constructor(readonly error: ErrorInfo) {}
}

export function fakeApi(handlers: Partial<Record<CallName, (input: any) => unknown>>) {
  const calls: Array<{ name: CallName; input: any }> = []
  const listeners = new Set<(event: PushedEvent) => void>()
  const api: HypercubeApi = {
    invoke: (async (name: CallName, input: unknown): Promise<CallOutcome<unknown>> => {
      calls.push({ name, input })
      const handler = handlers[name]
      if (!handler) return { ok: false, error: { code: 'internal', message: `no fake for ${name}` } }
      const value = await handler(input)
      return value instanceof Refusal ? { ok: false, error: value.error } : { ok: true, value }
    }) as HypercubeApi['invoke'],
    onEvent: (listener) => {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    }
  }
  return {
    api,
    calls,
    callsOf: (name: CallName) => calls.filter((call) => call.name === name),
    push: (event: PushedEvent) => listeners.forEach((listener) => listener(event))
  }
}

export function runRow(id: number, experimentId: number, overrides: Partial<RunRow> = {}): RunRow {
  return {
    id,
    uuid: id.toString(16).padStart(32, '0'),
    experimentId,
    name: `run-${id}`,
    status: 'running',
    hyperparameters: { lr: 0.01 },
    tags: {},
    finalMetrics: {},
    randomSeed: null,
    gitCommit: null,
    resources: { gpuHours: null, cpuHours: null, peakMemoryBytes: null },
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:00.000Z',
    completedAt: null,
    updatedAt: '2026-01-01T00:00:00.000Z',
    metrics: [{ key: 'loss', lastValue: 1 / id, lastStep: 10n, lastTimestamp: 0, min: 0, max: 1, count: 11 }],
    hasError: false,
    ...overrides
  }
}
