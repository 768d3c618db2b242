import { isIP } from 'node:net'

/**
 * Which Host and Origin the HTTP server answers. A server on loopback is reachable by every web
 * page the user opens: a page on a name the attacker controls (`127.0.0.1.nip.io`, or any name
 * rebound to 127.0.0.1 by DNS) must be refused by its Host, and a page of another origin by its
 * Origin. So only names that cannot be anyone else's are accepted: loopback IP literals
 * (127.0.0.0/8 as a dotted quad, `[::1]`), `localhost`, and the one host the user configured.
 */
export interface HostPolicy {
  /** Whether a request's Host header names this server. */
  allowsHost(hostHeader: string | undefined): boolean
  /** The browser origins of this server's own pages, on `port`. */
  ownOrigins(port: number): string[]
  allowsOrigin(origin: string, port: number): boolean
}

/** `localhost`, an IPv4 literal in 127.0.0.0/8, or `::1`. Names are compared without case. */
export function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase()
  if (name === 'localhost' || name === '::1') return true
  // isIP accepts only a real dotted quad: no `127.1`, no `0177.0.0.1`, no `127.0.0.1.nip.io`.
  return isIP(name) === 4 && name.startsWith('127.')
}

/**
 * The host part of a Host header (`name`, `name:port`, `[v6]` or `[v6]:port`), or undefined when
 * the header is not of that form (a port that is not digits, as in `127.0.0.1:1@evil.com`).
 */
export function hostnameOf(hostHeader: string): string | undefined {
  let hostname: string
  let port: string | undefined
  if (hostHeader.startsWith('[')) {
    const close = hostHeader.indexOf(']')
    if (close === -1) return undefined
    hostname = hostHeader.slice(1, close)
    const rest = hostHeader.slice(close + 1)
    if (rest !== '' && !rest.startsWith(':')) return undefined
    port = rest === '' ? undefined : rest.slice(1)
    if (isIP(hostname) !== 6) return undefined
  } else {
    const colon = hostHeader.indexOf(':')
    hostname = colon === -1 ? hostHeader : hostHeader.slice(0, colon)
    port = colon === -1 ? undefined : hostHeader.slice(colon + 1)
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return undefined
  if (hostname === '') return undefined
  return hostname.toLowerCase()
}

/**
 * @param configuredHost the interface the user asked to listen on (`--host`), accepted as a Host
 * name too: they reach the server by it. Loopback names need no configuring.
 */
export function createHostPolicy(configuredHost?: string): HostPolicy {
  const extra = configuredHost !== undefined && !isLoopbackName(configuredHost) ? configuredHost.toLowerCase() : undefined
  const ownOrigins = (port: number): string[] => [
    `http://127.0.0.1:${port}`,
    `http://localhost:${port}`,
    `http://[::1]:${port}`,
    ...(extra === undefined ? [] : [`http://${isIP(extra) === 6 ? `[${extra}]` : extra}:${port}`])
  ]
  return {
    allowsHost(hostHeader) {
      const hostname = hostHeader === undefined ? undefined : hostnameOf(hostHeader)
      return hostname !== undefined && (isLoopbackName(hostname) || hostname === extra)
    },
    ownOrigins,
    allowsOrigin: (origin, port) => ownOrigins(port).includes(origin)
  }
}
