import type { CallName, CallOutcome, HypercubeApi, PushedEvent } from '../../../shared/contract'
import { decodeWire, encodeWire } from '../../../shared/wire-format'

/**
 * The serve-mode transport: the contract over a WebSocket to the page's own server (calls and
 * pushed events), with plain HTTP POSTs for calls while the socket is down. The session cookie
 * set at login authenticates both; nothing here knows a token.
 */

interface Pending {
  resolve: (outcome: CallOutcome<unknown>) => void
}

const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 5000]

export function createServeTransport(origin: string): HypercubeApi {
  const wsUrl = `${origin.replace(/^http/, 'ws')}/ui/ws`
  const listeners = new Set<(event: PushedEvent) => void>()
  const pending = new Map<number, Pending>()
  let nextId = 1
  let socket: WebSocket | undefined
  let open = false
  let attempts = 0
  let everOpened = false

  const emit = (event: PushedEvent): void => {
    for (const listener of [...listeners]) listener(event)
  }

  const connect = (): void => {
    const ws = new WebSocket(wsUrl)
    socket = ws
    ws.onopen = () => {
      open = true
      attempts = 0
      if (everOpened) emit({ name: 'transport.reconnected', payload: {} })
      everOpened = true
    }
    ws.onmessage = (message) => {
      const data = decodeWire(String(message.data)) as { id?: number; outcome?: CallOutcome<unknown>; event?: PushedEvent }
      if (data.event) emit(data.event)
      else if (typeof data.id === 'number' && data.outcome) {
        pending.get(data.id)?.resolve(data.outcome)
        pending.delete(data.id)
      }
    }
    ws.onclose = () => {
      open = false
      // Calls in flight on the dead socket fail as unavailable (their view shows it); new
      // calls go over HTTP until the socket is back.
      for (const [id, call] of [...pending]) {
        pending.delete(id)
        call.resolve({ ok: false, error: { code: 'unavailable', message: 'the connection to Hypercube closed; try again' } })
      }
      const delay = RECONNECT_DELAYS_MS[Math.min(attempts, RECONNECT_DELAYS_MS.length - 1)]!
      attempts++
      setTimeout(connect, delay)
    }
  }
  connect()

  const overHttp = async (name: CallName, input: unknown): Promise<CallOutcome<unknown>> => {
    try {
      const response = await fetch(`${origin}/ui/api/call`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: encodeWire({ name, input }),
        credentials: 'same-origin'
      })
      const text = await response.text()
      if (response.status === 401) return { ok: false, error: { code: 'unavailable', message: 'signed out: open the URL that `hypercube serve` printed' } }
      try {
        return decodeWire(text) as CallOutcome<unknown>
      } catch {
        return { ok: false, error: { code: 'internal', message: `unexpected answer from the server (HTTP ${response.status})` } }
      }
    } catch (error) {
      return { ok: false, error: { code: 'unavailable', message: `cannot reach Hypercube: ${(error as Error).message}` } }
    }
  }

  return {
    invoke: ((name: CallName, input: unknown) => {
      if (!open || !socket) return overHttp(name, input)
      const id = nextId++
      const ws = socket
      return new Promise<CallOutcome<unknown>>((resolve) => {
        pending.set(id, { resolve })
        ws.send(encodeWire({ id, name, input }))
      })
    }) as HypercubeApi['invoke'],
    onEvent: (listener) => {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    }
  }
}
