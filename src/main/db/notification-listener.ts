import pg from 'pg'
import { Emitter, type Disposable } from '../../shared/event'
import type { Logger } from '../logging'

/** The one channel every Hypercube write announces itself on (see migrations/0008). */
export const EVENTS_CHANNEL = 'hypercube_events'

const RECONNECT_MIN_MS = 250
const RECONNECT_MAX_MS = 5_000

/**
 * LISTEN on one dedicated connection (a pooled one would drop the subscription on release).
 * When the connection breaks — the server restarted, a failover, pg_terminate_backend — it
 * reconnects with backoff and then fires `onDidReconnect`: notifications sent meanwhile are
 * lost, so whoever shows state must read it again.
 */
export class NotificationListener implements Disposable {
  private readonly didReceive = new Emitter<string>()
  private readonly didReconnect = new Emitter<void>()
  /** Raw payloads, in commit order. */
  readonly onDidReceive = this.didReceive.event
  readonly onDidReconnect = this.didReconnect.event

  private client: pg.Client | undefined
  private disposed = false
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined
  private failures = 0

  private constructor(
    private readonly connectionString: string,
    private readonly logger: Logger
  ) {}

  /** Resolves once LISTEN is in place, so no event committed after this is missed. */
  static async start(connectionString: string, logger: Logger): Promise<NotificationListener> {
    const listener = new NotificationListener(connectionString, logger)
    await listener.connect()
    return listener
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, application_name: 'hypercube-events', connectionTimeoutMillis: 15_000 })
    // Attached before connect: an error on this client must never be unhandled (it would end the process).
    client.on('error', (error) => this.lost(client, error))
    client.on('end', () => this.lost(client, new Error('connection ended')))
    client.on('notification', (message) => {
      if (message.channel === EVENTS_CHANNEL && message.payload !== undefined) this.didReceive.fire(message.payload)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${EVENTS_CHANNEL}`)
    } catch (error) {
      client.removeAllListeners('end')
      await client.end().catch(() => undefined)
      throw error
    }
    if (this.disposed) {
      await client.end().catch(() => undefined)
      return
    }
    this.client = client
    this.failures = 0
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.disposed || this.client !== client) return
    this.client = undefined
    this.logger.warn({ err: error }, 'event connection to PostgreSQL lost; reconnecting')
    client.removeAllListeners('end')
    void client.end().catch(() => undefined)
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    if (this.disposed || this.reconnectTimer) return
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.failures)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      this.connect().then(
        () => {
          if (this.disposed) return
          this.logger.info('event connection to PostgreSQL restored')
          this.didReconnect.fire()
        },
        (error: unknown) => {
          this.failures++
          this.logger.debug({ err: error }, 'event connection still unavailable')
          this.scheduleReconnect()
        }
      )
    }, delay)
    this.reconnectTimer.unref?.()
  }

  dispose(): void {
    this.disposed = true
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    const client = this.client
    this.client = undefined
    if (client) {
      client.removeAllListeners('end')
      void client.end().catch(() => undefined)
    }
    this.didReceive.dispose()
    this.didReconnect.dispose()
  }
}
