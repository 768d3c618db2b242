import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** `<dataDir>/api-token`: made on first start, mode 0600, 256 random bits. */
export function apiTokenFile(dataDir: string): string {
  return join(dataDir, 'api-token')
}

export function readOrCreateApiToken(dataDir: string): string {
  const file = apiTokenFile(dataDir)
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim()
    if (token.length >= 32) {
      chmodSync(file, 0o600)
      return token
    }
  }
  return rotateApiToken(dataDir)
}

export function rotateApiToken(dataDir: string): string {
  const token = randomBytes(32).toString('base64url')
  writeFileSync(apiTokenFile(dataDir), `${token}\n`, { mode: 0o600 })
  chmodSync(apiTokenFile(dataDir), 0o600)
  return token
}

/** Constant-time comparison, so response timing cannot leak the token byte by byte. */
export function tokensMatch(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
