import { calls, isCallName, type CallName, type CallOutcome, type CallResults } from '../shared/contract'
import { DomainError, isDomainError } from '../shared/errors'
import { parseInput } from '../shared/schemas'
import type { Core } from './core'

type Handlers = { [Name in CallName]: (input: unknown) => Promise<CallResults[Name]> }

/** Each contract call mapped to a service: the only place the contract meets the core. */
export function createContractHandlers(core: Core): Handlers {
  return {
    'system.status': () => core.status()
  }
}

/**
 * Validates an untrusted call (name and input) and runs it. Transport-neutral: Electron IPC and
 * the serve-mode transport both go through here, and errors come back as data with their code.
 */
export async function dispatchCall(handlers: Handlers, name: unknown, input: unknown, core: Core): Promise<CallOutcome<unknown>> {
  try {
    if (!isCallName(name)) throw new DomainError('invalid_argument', `unknown call ${JSON.stringify(name)}`, 'name')
    const parsed = parseInput(calls[name].input, input ?? {})
    return { ok: true, value: await handlers[name](parsed) }
  } catch (error) {
    if (isDomainError(error)) return { ok: false, error: error.toJSON() }
    core.logger.error({ err: error, call: name }, 'call failed')
    return { ok: false, error: { code: 'internal', message: 'internal error; see the log in the data folder' } }
  }
}
