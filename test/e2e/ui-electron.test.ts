import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiClient, electronBinary, launchElectronApp, screenshotsDir } from './ui-harness'

/**
 * The same scenarios in the Electron window (IPC transport, preload bridge). They need the
 * Electron binary, which is not downloaded here (ELECTRON_SKIP_BINARY_DOWNLOAD=1): where it is
 * missing they report themselves skipped, with that reason. Reading node_modules/electron's
 * path.txt instead of `require('electron')`, because that require downloads a missing binary.
 */

const binary = electronBinary()
const electronBinaryExists = binary.path !== undefined
const SKIP = electronBinaryExists ? '' : ` — skipped: ${binary.reason}`
// Said out loud too, so the reason shows in the run's output, not only in verbose reports.
if (!electronBinaryExists) console.warn(`Electron window tests skipped: ${binary.reason}`)

describe(`the UI in the Electron window${SKIP}`, () => {
  let appWindow: Page
  let cleanup: Array<() => Promise<void> | void> = []

  beforeAll(async () => {
    if (!electronBinaryExists) return
    const launched = await launchElectronApp(binary.path!)
    appWindow = launched.window
    cleanup = [launched.close]
  })

  afterAll(async () => {
    // close() quits the app, then removes its data folder and database.
    for (const step of cleanup.reverse()) await step()
  })

  it.skipIf(!electronBinaryExists)('exposes only the typed bridge to the renderer: invoke and onEvent, no ipcRenderer, no Node', async () => {
    const surface = await appWindow.evaluate(() => ({
      keys: Object.keys((globalThis as unknown as { hypercube: object }).hypercube).sort(),
      require: typeof (globalThis as unknown as { require?: unknown }).require,
      process: typeof (globalThis as unknown as { process?: unknown }).process
    }))
    expect(surface).toEqual({ keys: ['invoke', 'onEvent'], require: 'undefined', process: 'undefined' })
  })

  it.skipIf(!electronBinaryExists)('shows runs logged through the API in the table, filtered and sorted, and a live chart on the run page', async () => {
    const info = await appWindow.evaluate(async () => {
      const api = (globalThis as unknown as { hypercube: { invoke: (name: string, input: unknown) => Promise<{ ok: boolean; value: { apiUrl: string; token: string } }> } }).hypercube
      return (await api.invoke('system.apiInfo', {})).value
    })
    const api = apiClient(info.apiUrl.replace(/\/v1$/, ''), info.token)
    const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'electron-e2e' })
    const runIds: number[] = []
    for (let i = 0; i < 6; i++) {
      const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', { experiment_id: experiment.experiment_id, run_name: `run-${i}`, hyperparameters: { lr: i % 2 ? '0.01' : '0.001' } })
      await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points: [{ key: 'val_loss', value: 0.1 * (i + 1), step: 1 }] })
      runIds.push(run.run_id)
    }
    await appWindow.evaluate((hash) => ((globalThis as unknown as { location: { hash: string } }).location.hash = hash), `#/experiments/${experiment.experiment_id}`)
    const names = () => appWindow.locator('.tbody [role="row"] [role="cell"]:nth-child(3)').allTextContents()
    await expect.poll(async () => (await names()).length).toBe(6)
    await appWindow.getByLabel('filter runs').fill("metrics.val_loss < 0.35 and params.lr = '0.001' or name = 'run-5'")
    await appWindow.getByLabel('filter runs').press('Enter')
    await expect.poll(async () => (await names()).sort()).toEqual(['run-0', 'run-2', 'run-5'])
    await appWindow.getByRole('columnheader', { name: /^val_loss/ }).click()
    await appWindow.getByRole('columnheader', { name: /^val_loss/ }).click()
    await expect.poll(async () => (await names())[0]).toBe('run-5')
    await appWindow.screenshot({ path: join(screenshotsDir, 'electron-runs-table.png') })

    await appWindow.evaluate((hash) => ((globalThis as unknown as { location: { hash: string } }).location.hash = hash), `#/runs/${runIds[0]}`)
    const chart = appWindow.getByTestId('chart-val_loss')
    await expect.poll(() => chart.getAttribute('data-total-points')).toBe('1')
    await api('POST', '/v1/ml/metrics', { run_id: runIds[0], points: [{ key: 'val_loss', value: 0.05, step: 2 }] })
    await expect.poll(() => chart.getAttribute('data-total-points'), { timeout: 5_000 }).toBe('2')
    await appWindow.screenshot({ path: join(screenshotsDir, 'electron-run.png') })
  })
})
