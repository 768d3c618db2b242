import { DomainError } from '../../src/shared/errors'

/** The DomainError a synchronous call throws; the test fails if it succeeds or throws anything else. */
export function errorOf(action: () => unknown): DomainError {
  try {
    action()
  } catch (error) {
    if (error instanceof DomainError) return error
    throw error
  }
  throw new Error('expected a DomainError')
}
