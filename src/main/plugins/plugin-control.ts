import type { PluginInfo } from '../../shared/plugins'

/**
 * What a door needs of the plugins: their list and the three actions. The PluginRegistry in the
 * process that hosts the plugins is one; the API process holds a relay to that registry.
 */
export interface PluginControl {
  list(): PluginInfo[]
  get(name: string): PluginInfo | undefined
  reload(name: string): Promise<PluginInfo>
  enable(name: string): Promise<PluginInfo>
  disable(name: string): Promise<PluginInfo>
}
