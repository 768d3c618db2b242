import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'
import { compareThreeRuns, compareVersions, pluginsAndSettings, registryAndDeployments, type ScenarioContext } from './compare-models-scenarios'
import { apiClient, assertRendererBuilt, launchChromium } from './ui-harness'

/**
 * UI part 2 in a real browser against `serve`, on a real PostgreSQL with the plugin hosts:
 * comparing runs, the model registry with approval, deployments with rollback, comparing two
 * safetensors versions, plugins and settings. Screenshots of each view go to test-results/.
 */

let testCore: TestCore
let browser: Browser
let page: Page
let context: ScenarioContext

describe('compare, models, deployments, plugins and settings in a browser against serve', () => {
  beforeAll(async () => {
    assertRendererBuilt()
    testCore = await startTestCore({ http: true, plugins: true })
    const baseUrl = testCore.core.http!.url
    browser = await launchChromium()
    const browserContext = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    page = await browserContext.newPage()
    await page.goto(testCore.core.ui!.loginUrl())
    await page.getByRole('heading', { name: 'Experiments', exact: true }).waitFor()
    context = {
      page,
      // The token is read per request: the settings scenario rotates it.
      api: (method, path, body) => apiClient(baseUrl, testCore.core.http!.token)(method, path, body),
      go: async (hash) => {
        await page.goto(`${baseUrl}/${hash}`)
      },
      shot: 'ui',
      workDir: join(testCore.dataDir, 'models')
    }
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await testCore?.close()
  })

  it('compares three runs: diff-only table, overlay, scatter, similar runs under each plugin, heatmap, brushing', async () => {
    const plugins = testCore.core.services.plugins!.list().map((plugin) => plugin.name)
    expect(plugins.sort()).toEqual(['cosine', 'euclidean', 'manhattan'])
    await compareThreeRuns(context, plugins)
  }, 120_000)

  let model: Awaited<ReturnType<typeof registryAndDeployments>>
  it('registers, approves, deploys a canary, promotes, rolls back; a rejected version is not offered', async () => {
    model = await registryAndDeployments(context)
  }, 120_000)

  it('compares two safetensors versions tensor by tensor with progress', async () => {
    await compareVersions(context, model)
  }, 60_000)

  it('shows plugins (disable, enable) and settings (bad URL not saved, token rotated at once)', async () => {
    await pluginsAndSettings(context, testCore.core.http!.token)
  }, 60_000)
})
