import { calls, isCallName, type ApiInfo, type CallName, type CallOutcome, type CallResults, type PushedEvent, type RunRow } from '../shared/contract'
import type { RunWithMetrics, SystemStatus } from '../shared/domain'
import { DomainError, isDomainError } from '../shared/errors'
import type { Disposable } from '../shared/event'
import { parseInput } from '../shared/schemas'
import type { z } from 'zod'
import type { CoreServices } from './core'
import type { Logger } from './logging'

/** What the contract needs from the core; the core itself, or the part built before its HTTP server. */
export interface ContractContext {
  readonly services: CoreServices
  readonly logger: Logger
  status(): Promise<SystemStatus>
  apiInfo(): ApiInfo
}

type Parsed<Name extends CallName> = z.output<(typeof calls)[Name]['input']>
export type ContractHandlers = { [Name in CallName]: (input: Parsed<Name>) => Promise<CallResults[Name]> }

export function toRunRow(run: RunWithMetrics): RunRow {
  const { logs: _logs, stackTrace: _stackTrace, errorMessage, ...row } = run
  return { ...row, hasError: errorMessage !== null }
}

/** Each contract call mapped to a service: the only place the contract meets the core. */
export function createContractHandlers(context: ContractContext): ContractHandlers {
  const { experiments, runs } = context.services
  return {
    'system.status': () => context.status(),
    'system.apiInfo': async () => context.apiInfo(),
    'experiments.list': (input) => experiments.list(input),
    'experiments.get': (input) => experiments.get(input.experimentId),
    'experiments.create': (input) => experiments.create(input),
    'experiments.update': (input) => experiments.update(input),
    'runs.list': async (input) => (await runs.listByExperiment(input.experimentId)).map(toRunRow),
    'runs.search': async (input) =>
      (await runs.searchRuns({ experimentIds: [input.experimentId], filter: input.filter, maxResults: input.maxResults })).runs.map(toRunRow),
    'runs.rows': async (input) => {
      const rows: RunRow[] = []
      for (const runId of input.runIds) {
        try {
          rows.push(toRunRow(await runs.getWithMetrics(runId)))
        } catch (error) {
          // A run named by an event may be gone by now; the others still answer.
          if (!(isDomainError(error) && error.code === 'not_found')) throw error
        }
      }
      return rows
    },
    'runs.get': (input) => runs.getWithMetrics(input.runId),
    'runs.checkpoints': (input) => runs.listCheckpoints(input.runId),
    'runs.metricSeries': (input) => runs.metricSeries(input),
    'artifacts.list': (input) => context.services.artifacts.list(input.runId),
    'artifacts.verify': (input) => context.services.artifacts.verify(input.artifactId),
    'runs.leaderboard': (input) => runs.leaderboard(input)
  }
}

/**
 * Validates an untrusted call (name and input) and runs it. Transport-neutral: Electron IPC and
 * the serve-mode transport both go through here, and errors come back as data with their code.
 */
export async function dispatchCall(handlers: ContractHandlers, name: unknown, input: unknown, logger: Logger): Promise<CallOutcome<unknown>> {
  try {
    if (!isCallName(name)) throw new DomainError('invalid_argument', `unknown call ${JSON.stringify(name)}`, 'name')
    const parsed = parseInput(calls[name].input, input ?? {})
    const handler = handlers[name] as (input: unknown) => Promise<unknown>
    return { ok: true, value: await handler(parsed) }
  } catch (error) {
    if (isDomainError(error)) return { ok: false, error: error.toJSON() }
    logger.error({ err: error, call: name }, 'call failed')
    return { ok: false, error: { code: 'internal', message: 'internal error; see the log in the data folder' } }
  }
}

/**
 * Forwards the services' events as contract events to `send` (a window's webContents, a
 * WebSocket): one subscription per connected renderer, disposed when it goes.
 */
export function subscribeToEvents(services: CoreServices, send: (event: PushedEvent) => void): Disposable {
  const subscriptions = [
    services.runs.onDidChangeRun((run) => send({ name: 'runs.changed', payload: { runId: run.id, experimentId: run.experimentId, status: run.status } })),
    services.runs.onDidLogMetrics((logged) => send({ name: 'metrics.logged', payload: logged })),
    services.experiments.onDidChangeExperiment((experiment) => send({ name: 'experiments.changed', payload: experiment }))
  ]
  return { dispose: () => subscriptions.forEach((subscription) => subscription.dispose()) }
}
