import { describe, expect, it } from 'vitest'
import { storageFailure } from '../../src/main/artifacts/artifact-store'
import { dispatchCall, type ContractHandlers } from '../../src/main/contract-handlers'
import { createSilentLogger } from '../../src/main/logging'
import { asDomainError, isDiskFull } from '../../src/main/db/database'
import { STATUS_BY_CODE, toErrorResponse } from '../../src/main/http/errors'
import { toMlflowError } from '../../src/main/http/mlflow/mlflow-routes'
import { DomainError, insufficientStorage, isDomainError, type ErrorCode } from '../../src/shared/errors'

/**
 * How failures that are not bugs reach the two HTTP doors (issue 11 item 11): a full disk is 507
 * naming the data folder (/v1 `insufficient_storage`, MLflow `RESOURCE_EXHAUSTED`), a value the
 * database cannot hold is a 400, and only a bug is a 500. No mount needed: disk-full.test.ts
 * fills a real tmpfs.
 */

const errno = (code: string, message = `${code}: failed`): Error => Object.assign(new Error(message), { code })
/** What pg rejects with: an Error carrying the SQLSTATE as `code`. */
const pgError = (code: string, message: string): Error => Object.assign(new Error(message), { code, severity: 'ERROR' })

const FULL = 'no space left on the device holding the data folder /data/hypercube: free some space and retry'

describe('a full disk', () => {
  it('is 507 insufficient_storage on /v1, naming the data folder, for ENOSPC and EDQUOT from anywhere', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) {
      expect(toErrorResponse(errno(code), { dataDir: '/data/hypercube' })).toEqual({
        status: 507,
        body: { error: { code: 'insufficient_storage', message: FULL } },
        isBug: false
      })
    }
  })

  it("is 507 RESOURCE_EXHAUSTED on the MLflow door, with the same message", () => {
    expect(toMlflowError(errno('ENOSPC'), { dataDir: '/data/hypercube' })).toEqual({ status: 507, body: { error_code: 'RESOURCE_EXHAUSTED', message: FULL }, isBug: false })
    expect(toMlflowError(insufficientStorage('the data folder /data/hypercube'))).toEqual({ status: 507, body: { error_code: 'RESOURCE_EXHAUSTED', message: FULL }, isBug: false })
  })

  it('is insufficient_storage from the artifact store (ENOSPC, EDQUOT), naming the data folder', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) {
      const mapped = storageFailure(errno(code), '/data/hypercube')
      expect(isDomainError(mapped) && mapped.toJSON()).toEqual({ code: 'insufficient_storage', message: FULL })
    }
  })

  it("is insufficient_storage from PostgreSQL's disk_full (53100) and the insufficient_resources family when it is the disk", () => {
    const where = 'the data folder /data/hypercube'
    const extend = pgError('53100', 'could not extend file "base/16384/16412": No space left on device')
    expect(isDiskFull(extend)).toBe(true)
    expect((asDomainError(extend, where) as DomainError).toJSON()).toEqual({ code: 'insufficient_storage', message: FULL })
    expect((asDomainError(pgError('53000', 'could not write to temporary file: No space left on device'), where) as DomainError).code).toBe('insufficient_storage')
    // Out of memory or connections is not the disk: left alone (a 500 to investigate).
    for (const other of [pgError('53200', 'out of memory'), pgError('53300', 'sorry, too many clients already'), pgError('53000', 'out of shared memory')]) {
      expect(isDiskFull(other)).toBe(false)
      expect(asDomainError(other, where)).toBe(other)
    }
    expect((asDomainError(extend, 'the database at db.example:5432/hypercube') as Error).message).toBe(
      'no space left on the device holding the database at db.example:5432/hypercube: free some space and retry'
    )
  })

  it('reaches the UI through the contract as insufficient_storage with the message it shows', async () => {
    const handlers = { 'settings.get': async () => Promise.reject(errno('ENOSPC', "ENOSPC: no space left on device, open '/data/hypercube/settings.json.tmp'")) }
    const outcome = await dispatchCall(handlers as unknown as ContractHandlers, 'settings.get', {}, createSilentLogger(), '/data/hypercube')
    expect(outcome).toEqual({ ok: false, error: { code: 'insufficient_storage', message: FULL } })
  })

  it('has a status for every error code', () => {
    const codes: ErrorCode[] = ['invalid_argument', 'not_found', 'conflict', 'unavailable', 'insufficient_storage', 'internal']
    expect(codes.map((code) => STATUS_BY_CODE[code])).toEqual([400, 404, 409, 503, 507, 500])
  })
})

describe('a value the database cannot hold', () => {
  it('is invalid_argument (400), not a 500: NUL in text, untranslatable \\u0000, numbers out of range, bad number text', () => {
    for (const [code, message] of [
      ['22021', 'invalid byte sequence for encoding "UTF8": 0x00'],
      ['22P05', 'unsupported Unicode escape sequence'],
      ['22003', 'value "100000000000000000000" is out of range for type bigint'],
      ['22P02', 'invalid input syntax for type bigint: "1.5"']
    ] as const) {
      const mapped = asDomainError(pgError(code, message), 'the data folder /d')
      expect(isDomainError(mapped) && mapped.toJSON()).toEqual({ code: 'invalid_argument', message: `a value cannot be stored: ${message}` })
      expect(toErrorResponse(mapped).status).toBe(400)
      expect(toMlflowError(mapped)).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } })
    }
  })

  it('leaves other database errors alone, and a bug stays a 500', () => {
    const syntax = pgError('42601', 'syntax error at or near "SELEC"')
    expect(asDomainError(syntax, 'the data folder /d')).toBe(syntax)
    expect(toErrorResponse(syntax)).toMatchObject({ status: 500, isBug: true, body: { error: { code: 'internal' } } })
    expect(toErrorResponse(errno('EIO'), { dataDir: '/d' })).toMatchObject({ status: 500, isBug: true })
  })
})
