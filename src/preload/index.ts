import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { EVENT_CHANNEL, INVOKE_CHANNEL } from '../shared/contract-channels'
import type { HypercubeApi, PushedEvent } from '../shared/contract'

// The renderer gets exactly two typed functions; ipcRenderer itself never crosses the bridge.
const api: HypercubeApi = {
  invoke: (name, input) => ipcRenderer.invoke(INVOKE_CHANNEL, name, input),
  onEvent: (listener) => {
    // The IPC event (with its sender) stays here: the renderer sees only the payload.
    const forward = (_event: IpcRendererEvent, pushed: PushedEvent): void => listener(pushed)
    ipcRenderer.on(EVENT_CHANNEL, forward)
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, forward)
  }
}

contextBridge.exposeInMainWorld('hypercube', api)
