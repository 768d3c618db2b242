import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiDoorState } from '../../src/shared/domain'
import { startTestCore, type TestCore } from '../support/test-env'
import { apiClient, assertRendererBuilt, launchChromium, screenshotsDir } from './ui-harness'

/**
 * The HTTP door in its own process, as in the desktop app (here `serve --api-process`, the UI
 * served by the main process): when the door crashes the user is told it is restarting, and
 * after three crashes in five minutes, that it stopped and where its log is.
 */
describe('the UI when the API process crashes', () => {
  let testCore: TestCore
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    assertRendererBuilt()
    testCore = await startTestCore({ apiProcess: { ui: true } })
    browser = await launchChromium()
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
  })

  afterAll(async () => {
    await browser?.close()
    await testCore?.close()
  })

  const door = (): ApiDoorState => testCore.core.api!.state()

  async function killDoorAndWaitFor(state: ApiDoorState['state']): Promise<void> {
    process.kill(door().pid!, 'SIGKILL')
    await expect.poll(() => door().state, { timeout: 30_000 }).toBe(state)
  }

  it('shows no banner while the door runs, a restarting notice after a crash, and the error with the log path after the third', async () => {
    // A training script's experiment, written through the API process, listed by main.
    const api = apiClient(testCore.core.api!.url!, testCore.core.api!.token)
    await api('POST', '/v1/ml/experiments', { name: 'door-sweep' })
    await page.goto(testCore.core.ui!.loginUrl())
    await expect.poll(() => page.getByRole('heading', { name: 'Experiments' }).count()).toBe(1)
    await expect.poll(() => page.getByText('door-sweep').count()).toBeGreaterThan(0)
    expect(door().state).toBe('running')
    expect(await page.getByRole('alert').count()).toBe(0)

    await killDoorAndWaitFor('restarting')
    const banner = page.getByRole('alert')
    await expect.poll(() => banner.textContent(), { timeout: 10_000 }).toMatch(/crashed and is restarting/)
    await expect.poll(() => door().state, { timeout: 30_000 }).toBe('running')

    await killDoorAndWaitFor('restarting')
    await expect.poll(() => door().state, { timeout: 30_000 }).toBe('running')
    await killDoorAndWaitFor('failed')

    const logFile = door().logFile!
    await expect.poll(() => banner.textContent(), { timeout: 10_000 }).toContain('stopped after 3 crashes in 5 minutes')
    const text = (await banner.textContent())!
    expect(text).toContain(logFile)
    expect(text).toContain('Last crash: the API process exited unexpectedly (signal SIGKILL)')
    expect(text).toContain('Restart Hypercube')
    await page.screenshot({ path: join(screenshotsDir, 'ui-api-door-failed.png') })

    // A reload (or a window opened later) reads the same state from system.status.
    await page.reload()
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 10_000 }).toContain(logFile)
    // The window's own calls still answer: the experiments page lists what main reads.
    await expect.poll(() => page.getByText('door-sweep').count()).toBeGreaterThan(0)
  })
})
