// The Electron side of ChildSpawner: children as utilityProcess processes of the app's main
// process (plugin hosts, the API process). Under serve and in tests, ForkChildSpawner does it.
import { utilityProcess } from 'electron'
import { splitLines, type ChildProcessHandle, type ChildSpawner, type ChildSpawnOptions } from '../process/child-process'
import { ChildPluginHostSpawner } from '../plugins/host-spawner'

export class UtilityProcessChildSpawner implements ChildSpawner {
  spawn<Outgoing, Incoming>(options: ChildSpawnOptions): ChildProcessHandle<Outgoing, Incoming> {
    // Structured clone carries typed arrays as bytes, like fork's advanced serialization.
    const child = utilityProcess.fork(options.script, options.args ?? [], {
      serviceName: options.serviceName ?? 'Hypercube',
      env: options.env ?? process.env,
      stdio: 'pipe'
    })
    let exited = false
    child.on('exit', () => {
      exited = true
    })
    return {
      get pid() {
        return child.pid
      },
      send: (message) => {
        if (!exited) child.postMessage(message)
      },
      onMessage: (listener) => child.on('message', (message: unknown) => listener(message as Incoming)),
      onOutput: (listener) => {
        child.stdout?.on('data', splitLines((line) => listener(line, 'stdout')))
        child.stderr?.on('data', splitLines((line) => listener(line, 'stderr')))
      },
      // utilityProcess reports only an exit code; a crash shows as a non-zero code.
      onExit: (listener) => child.on('exit', (code: number) => listener({ code, signal: null })),
      kill: () => {
        if (!exited) child.kill()
      }
    }
  }
}

export class UtilityProcessPluginHostSpawner extends ChildPluginHostSpawner {
  constructor() {
    super(new UtilityProcessChildSpawner())
  }
}
