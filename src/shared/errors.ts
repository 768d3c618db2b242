/**
 * The error every layer speaks. A service throws it, the HTTP API and IPC carry its `code`
 * and `field` across the boundary unchanged, and the UI shows `message` where it happened.
 */
export type ErrorCode =
  | 'invalid_argument' // the caller sent something malformed; `field` says what
  | 'not_found' // what the caller named does not exist
  | 'conflict' // valid input that the current state refuses (lifecycle, write-once, duplicates)
  | 'unavailable' // a dependency (database, plugin host) cannot serve right now
  | 'insufficient_storage' // the disk holding the data folder (or the database) is full: nothing was stored
  | 'read_only' // this app only shows what it holds (a review bundle opened with `hypercube review`): nothing can be changed
  | 'internal' // a bug: never the caller's fault

export interface ErrorInfo {
  code: ErrorCode
  message: string
  /** Dotted path of the input field at fault, e.g. `points[3].step` or `hyperparameters.lr`. */
  field?: string
}

export class DomainError extends Error implements ErrorInfo {
  readonly code: ErrorCode
  readonly field?: string

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message)
    this.name = 'DomainError'
    this.code = code
    if (field !== undefined) this.field = field
  }

  toJSON(): ErrorInfo {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field }
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError
}

export const invalidArgument = (message: string, field?: string): DomainError =>
  new DomainError('invalid_argument', message, field)
export const notFound = (message: string, field?: string): DomainError => new DomainError('not_found', message, field)
export const conflict = (message: string, field?: string): DomainError => new DomainError('conflict', message, field)
export const readOnly = (message: string): DomainError => new DomainError('read_only', message)

/**
 * A write refused because the disk is full (ENOSPC, EDQUOT, PostgreSQL's 53100 disk_full):
 * nothing was stored, and the message names the folder the user can free space on, e.g.
 * `the data folder /home/ana/.hypercube`.
 */
export const insufficientStorage = (where: string): DomainError =>
  new DomainError('insufficient_storage', `no space left on the device holding ${where}: free some space and retry`)

// The `code` Node's file-system calls give an error when the disk (or the user's quota) is full.
const DISK_FULL_ERRNO = new Set(['ENOSPC', 'EDQUOT'])

/**
 * A file-system error that means the disk is full, as insufficient_storage naming `where`;
 * undefined for anything else. For the doors (HTTP error handlers, the contract's dispatch):
 * a write nobody mapped on the way still never reaches the user as a bug.
 */
export function asInsufficientStorage(error: unknown, where: string): DomainError | undefined {
  if (error === null || typeof error !== 'object' || isDomainError(error)) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && DISK_FULL_ERRNO.has(code) ? insufficientStorage(where) : undefined
}
