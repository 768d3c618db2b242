import { DomainError, type ErrorCode } from '../../shared/errors'

/**
 * The messages between a ComputeWorker (main side) and the compute worker thread. Plain data
 * only: typed arrays travel by transfer, errors as ErrorInfo-like objects so a DomainError keeps
 * its code and field across the thread boundary.
 */

export interface JobRequest {
  id: number
  job: string
  input: unknown
}

export interface WireError {
  message: string
  /** Present when the worker threw a DomainError. */
  code?: ErrorCode
  field?: string
}

export type JobMessage =
  | { id: number; kind: 'progress'; value: unknown }
  | { id: number; kind: 'result'; value: unknown }
  | { id: number; kind: 'error'; error: WireError }

export function toWireError(error: unknown): WireError {
  if (error instanceof DomainError) return error.toJSON()
  return { message: error instanceof Error ? error.message : String(error) }
}

export function fromWireError(error: WireError): Error {
  if (error.code) return new DomainError(error.code, error.message, error.field)
  return new Error(error.message)
}
