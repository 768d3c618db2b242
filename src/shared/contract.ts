import { z } from 'zod'
import type { SystemStatus } from './domain'
import type { ErrorInfo } from './errors'

/**
 * The one contract between renderer and main: every call's name, its input schema (parsed in
 * main before any service sees the input) and its result type. Electron IPC carries it in the
 * desktop app; the serve-mode transport carries the same calls to a browser.
 */
export const calls = {
  'system.status': { input: z.object({}).strict() }
} as const

export interface CallResults {
  'system.status': SystemStatus
}

export type CallName = keyof typeof calls
export type CallInput<Name extends CallName> = z.input<(typeof calls)[Name]['input']>

/** What crosses the boundary: errors keep their code and field. */
export type CallOutcome<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo }

/** The single Electron IPC channel that carries contract calls. */
export const INVOKE_CHANNEL = 'hypercube:invoke'

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(calls, name)
}

/** The API the renderer sees, whatever the transport. */
export interface HypercubeApi {
  invoke<Name extends CallName>(name: Name, input: CallInput<Name>): Promise<CallOutcome<CallResults[Name]>>
}
