import type { CallInput, CallName, CallResults, HypercubeApi } from '../../../shared/contract'
import type { ErrorInfo } from '../../../shared/errors'

/** A failed contract call, with the error as main sent it (code, message, field). */
export class CallError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message)
    this.name = 'CallError'
  }
}

export async function call<Name extends CallName>(api: HypercubeApi, name: Name, input: CallInput<Name>): Promise<CallResults[Name]> {
  const outcome = await api.invoke(name, input)
  if (!outcome.ok) throw new CallError(outcome.error)
  return outcome.value
}

export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof CallError) return error.info
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) }
}
