import { contextBridge, ipcRenderer } from 'electron'
import { INVOKE_CHANNEL, type HypercubeApi } from '../shared/contract'

// The renderer gets exactly one typed function; ipcRenderer itself never crosses the bridge.
const api: HypercubeApi = {
  invoke: (name, input) => ipcRenderer.invoke(INVOKE_CHANNEL, name, input)
}

contextBridge.exposeInMainWorld('hypercube', api)
