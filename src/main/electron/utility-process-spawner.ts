// The Electron side of PluginHostSpawner: plugin hosts as utilityProcess children of the
// app's main process. (Under serve and in tests, ForkPluginHostSpawner does the same job.)
import { utilityProcess } from 'electron'
import { pluginHostEnvironment, splitLines, type PluginHostProcess, type PluginHostSpawner, type PluginHostSpawnOptions } from '../plugins/host-spawner'
import type { HostResponse } from '../plugins/host-protocol'

export class UtilityProcessPluginHostSpawner implements PluginHostSpawner {
  spawn(options: PluginHostSpawnOptions): PluginHostProcess {
    // Structured clone carries typed arrays as bytes, like fork's advanced serialization.
    const child = utilityProcess.fork(options.hostScript, [options.pluginName], {
      serviceName: `Hypercube plugin: ${options.pluginName}`,
      env: pluginHostEnvironment(options.pluginDir),
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
      onMessage: (listener) => child.on('message', (message: unknown) => listener(message as HostResponse)),
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
