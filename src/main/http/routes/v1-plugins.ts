import { z } from 'zod'
import { DomainError } from '../../../shared/errors'
import type { PluginInfo } from '../../../shared/plugins'
import type { DoorServices } from '../../services/core-services'
import type { PluginControl } from '../../plugins/plugin-control'
import { defineRoute, type AnyRoute } from '../route-table'

const pluginParams = z.object({ name: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a plugin name') }).strict()

export function toApiPlugin(plugin: PluginInfo) {
  return {
    name: plugin.name,
    version: plugin.version,
    description: plugin.description,
    kind: plugin.kind,
    is_metric: plugin.isMetric,
    plugin_api_version: plugin.pluginApiVersion,
    napi_version: plugin.napiVersion,
    source: plugin.source,
    platform: plugin.platformKey,
    binary_path: plugin.binaryPath,
    blake3: plugin.blake3,
    checksum: plugin.checksum,
    state: plugin.state,
    host_pid: plugin.hostPid,
    disabled_by: plugin.disabledBy,
    recent_crashes: plugin.recentCrashes,
    last_error: plugin.lastError,
    loaded_at: plugin.loadedAt
  }
}

/** The plugins page's actions, through the API as well (reload, enable, disable). */
export function pluginRoutes(services: DoorServices): AnyRoute[] {
  const registry = (): PluginControl => {
    if (!services.plugins) throw new DomainError('unavailable', 'this Hypercube runs without geometric plugins')
    return services.plugins
  }
  const known = (name: string): PluginInfo => {
    const plugin = registry().get(name)
    if (!plugin) throw new DomainError('not_found', `no plugin named ${name}`, 'name')
    return plugin
  }
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/plugins',
      summary: 'Geometric plugins with their version, binary, checksum state, host state and last error',
      tag: 'plugins',
      handler: async () => ({ plugins: (services.plugins?.list() ?? []).map(toApiPlugin) })
    }),
    ...(['reload', 'enable', 'disable'] as const).map((action) =>
      defineRoute({
        method: 'POST',
        path: `/v1/plugins/:name/${action}`,
        summary:
          action === 'reload' ? "Restart a plugin's host (picks up a rebuilt binary)" : action === 'enable' ? 'Enable a disabled plugin' : 'Disable a plugin (its host stops)',
        tag: 'plugins',
        params: pluginParams,
        handler: async ({ params }) => {
          known(params.name)
          return toApiPlugin(await registry()[action](params.name))
        }
      })
    )
  ]
}
