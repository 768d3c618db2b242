import { randomBytes } from 'node:crypto'
import { tokensMatch } from '../api-token'

const LOGIN_TTL_MS = 24 * 60 * 60 * 1000
const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000

/**
 * The browser's way in: `hypercube serve` prints a URL with a one-time login token; opening it
 * exchanges the token for a session cookie (HttpOnly, SameSite=Strict). The token then no
 * longer works, so a URL left in shell history or a screenshot opens nothing. Sessions live in
 * memory: restarting the server signs every browser out, and a new printed URL signs it in.
 */
export class UiSessions {
  private readonly logins = new Map<string, number>()
  private readonly sessions = new Map<string, number>()

  constructor(private readonly now: () => number = Date.now) {}

  /** A new one-time login token. */
  createLoginToken(): string {
    const token = randomBytes(24).toString('base64url')
    this.logins.set(token, this.now() + LOGIN_TTL_MS)
    return token
  }

  /** Consumes a login token: a new session id if it was valid and unused, else undefined. */
  exchange(loginToken: string): string | undefined {
    this.prune()
    let matched: string | undefined
    // Constant-time comparison against each outstanding token (there are a handful at most).
    for (const candidate of this.logins.keys()) if (tokensMatch(loginToken, candidate)) matched = candidate
    if (matched === undefined) return undefined
    this.logins.delete(matched)
    const session = randomBytes(32).toString('base64url')
    this.sessions.set(session, this.now() + SESSION_TTL_MS)
    return session
  }

  isValid(session: string | undefined): boolean {
    if (!session) return false
    const expiresAt = this.sessions.get(session)
    if (expiresAt === undefined) return false
    if (expiresAt <= this.now()) {
      this.sessions.delete(session)
      return false
    }
    return true
  }

  private prune(): void {
    const now = this.now()
    for (const [token, expiresAt] of this.logins) if (expiresAt <= now) this.logins.delete(token)
    for (const [session, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(session)
  }
}
