import { connect, type Socket } from 'node:net'

/** A raw WebSocket upgrade request for the serve UI's /ui/ws, with extra headers (Origin, Cookie). */
export function upgradeRequest(port: number, headers: Record<string, string> = {}): string {
  const lines = [
    'GET /ui/ws HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
  ]
  return `${lines.join('\r\n')}\r\n\r\n`
}

/**
 * Sends an upgrade request, reads the first chunk of the answer, and (unless kept) closes;
 * `status` is the status line's code. Fails if no answer starts within 10 s.
 */
export function attemptUpgrade(port: number, headers: Record<string, string> = {}, keep = false): Promise<{ status: string; head: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer to the upgrade within 10 s')))
    socket.once('error', reject)
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0)
      if (!keep) socket.destroy()
      const head = chunk.toString('latin1')
      resolve({ status: /^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? head.slice(0, 20), head, socket })
    })
    socket.write(upgradeRequest(port, headers))
  })
}
