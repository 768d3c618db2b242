import type { CallInput, CallName, CallOutcome, HypercubeApi, PushedEvent } from '../../src/shared/contract'
import type { ErrorInfo } from '../../src/shared/errors'
import type { RunRow } from '../../src/shared/contract'

/** A main process in miniature for store tests: answers calls from handlers, records them, pushes events. */
export class Refusal {
  constructor(readonly error: ErrorInfo) {}
}

/** A handler per call, typed by the contract's input for that call. */
export type FakeHandlers = { [Name in CallName]?: (input: CallInput<Name>) => unknown }
/** A call the fake received, its input typed by its name. */
export type RecordedCall = { [Name in CallName]: { name: Name; input: CallInput<Name> } }[CallName]

export function fakeApi(handlers: FakeHandlers) {
  const calls: RecordedCall[] = []
  const listeners = new Set<(event: PushedEvent) => void>()
  const api: HypercubeApi = {
    invoke: (async (name: CallName, input: unknown): Promise<CallOutcome<unknown>> => {
      calls.push({ name, input } as RecordedCall)
      // The contract pairs name and input; the lookup by a variable name loses that pairing.
      const handler = handlers[name] as ((input: unknown) => unknown) | undefined
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
    callsOf: <Name extends CallName>(name: Name) => calls.filter((call): call is Extract<RecordedCall, { name: Name }> => call.name === name),
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
