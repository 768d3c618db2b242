/** The child's side of the message channel to the process that started it. */
export interface ParentChannel<Outgoing, Incoming> {
  send(message: Outgoing): void
  onMessage(listener: (message: Incoming) => void): void
}

interface ElectronParentPort {
  postMessage(message: unknown): void
  on(event: 'message', listener: (event: { data: unknown }) => void): void
}

/**
 * Opens the channel whichever way this process was started: an Electron utilityProcess has
 * `process.parentPort`; a forked Node process has `process.send`. A forked child exits when its
 * parent goes away (the IPC channel closes), so a killed app leaves no orphans spinning; a
 * utilityProcess is ended by Electron itself.
 */
export function openParentChannel<Outgoing, Incoming>(who: string, onParentGone: () => void = () => process.exit(0)): ParentChannel<Outgoing, Incoming> {
  const parentPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort
  if (parentPort) {
    return {
      send: (message) => parentPort.postMessage(message),
      onMessage: (listener) => parentPort.on('message', (event) => listener(event.data as Incoming))
    }
  }
  if (!process.send) throw new Error(`${who} must be started with an IPC channel (fork or utilityProcess)`)
  process.on('disconnect', onParentGone)
  // Ctrl-C in a terminal signals the whole process group; this child's lifetime belongs to its
  // parent, which shuts it down in order.
  process.on('SIGINT', () => undefined)
  return {
    send: (message) => {
      if (process.connected) process.send!(message)
    },
    onMessage: (listener) => process.on('message', (message) => listener(message as Incoming))
  }
}
