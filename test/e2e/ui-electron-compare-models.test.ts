import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { compareThreeRuns, compareVersions, pluginsAndSettings, registryAndDeployments, type ScenarioContext } from './compare-models-scenarios'
import { apiClient, electronBinary, launchElectronApp } from './ui-harness'

/**
 * The issue-7 scenarios in the Electron window (IPC transport). Skipped, with the reason in the
 * suite name, where the Electron binary is not installed (as in ui-electron.test.ts).
 */

const binary = electronBinary()
const present = binary.path !== undefined
const SKIP = present ? '' : ` — skipped: ${binary.reason}`
// Said out loud too, so the reason shows in the run's output, not only in verbose reports.
if (!present) console.warn(`Electron window tests skipped: ${binary.reason}`)

type Bridge = { hypercube: { invoke: (name: string, input: unknown) => Promise<{ ok: boolean; value: unknown }> } }

describe(`compare, models, deployments, plugins and settings in the Electron window${SKIP}`, () => {
  let appWindow: Page
  let context: ScenarioContext
  let cleanup: Array<() => Promise<void> | void> = []
  const invoke = async (name: string, input: unknown) => appWindow.evaluate(([n, i]) => (globalThis as unknown as Bridge).hypercube.invoke(n as string, i), [name, input] as const)

  beforeAll(async () => {
    if (!present) return
    const launched = await launchElectronApp(binary.path!)
    appWindow = launched.window
    cleanup = [launched.close]
    context = {
      page: appWindow,
      // Read per request: the settings scenario rotates the token.
      api: async (method, path, body) => {
        const info = (await invoke('system.apiInfo', {})).value as { apiUrl: string; token: string }
        return apiClient(info.apiUrl.replace(/\/v1$/, ''), info.token)(method, path, body)
      },
      go: async (hash) => {
        await appWindow.evaluate((value) => ((globalThis as unknown as { location: { hash: string } }).location.hash = value), hash)
      },
      shot: 'electron',
      workDir: join(launched.dataDir, 'models')
    }
  }, 120_000)

  afterAll(async () => {
    // close() quits the app, then removes its data folder and database.
    for (const step of cleanup.reverse()) await step()
  })

  it.skipIf(!present)('compares three runs under every loaded plugin', async () => {
    const plugins = ((await invoke('plugins.list', {})).value as Array<{ name: string }>).map((plugin) => plugin.name)
    await compareThreeRuns(context, plugins)
  }, 120_000)

  let model: Awaited<ReturnType<typeof registryAndDeployments>>
  it.skipIf(!present)('registers, approves, deploys a canary, promotes, rolls back; a rejected version is not offered', async () => {
    model = await registryAndDeployments(context)
  }, 120_000)

  it.skipIf(!present)('compares two safetensors versions', async () => {
    await compareVersions(context, model)
  }, 60_000)

  it.skipIf(!present)('shows plugins and settings', async () => {
    const token = ((await invoke('system.apiInfo', {})).value as { token: string }).token
    await pluginsAndSettings(context, token)
  }, 60_000)
})
