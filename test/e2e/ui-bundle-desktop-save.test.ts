import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyBundle } from '../../src/main/bundle/bundle-archive'
import { startTestCore, type TestCore } from '../support/test-env'
import { assertRendererBuilt, launchChromium, screenshotsDir } from './ui-harness'

/**
 * The desktop window's export (issue 15 follow-up): main saves the written export where the user
 * chose — the window never reads the file. No Electron binary runs here, so the renderer is
 * driven in Chromium with a stand-in for the preload's bridge (window.hypercube: the same two
 * functions, carried by serve mode's call route instead of IPC), which makes it take the desktop
 * path; main's save dialog is a fake injected as the desktop shell injects the real one
 * (CoreOptions.chooseExportPath).
 */

let core: TestCore
let browser: Browser
let page: Page
let work: string
/** The fake save dialog: what it answers next, and the names it was offered. */
const chooser: { answer: string | null; asked: string[] } = { answer: null, asked: [] }

beforeAll(async () => {
  assertRendererBuilt()
  work = mkdtempSync(join(tmpdir(), 'hypercube-desktop-save-'))
  core = await startTestCore({
    http: true,
    chooseExportPath: async (fileName) => {
      chooser.asked.push(fileName)
      return chooser.answer
    }
  })
  const { services } = core.core
  const experiment = await services.experiments.create({ name: 'desk-sweep' })
  for (let index = 0; index < 2; index++) {
    const run = await services.runs.start({ experimentId: experiment.id, name: `desk-${index}` })
    await services.runs.logValidatedMetrics(
      run.id,
      Array.from({ length: 50 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), step: BigInt(step), epoch: null, timestamp: 1_700_000_000_000 + step, kind: 'train' as const }))
    )
    await services.runs.complete({ runId: run.id, status: 'completed' })
  }
  browser = await launchChromium()
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  // The preload's bridge, carried over HTTP: invoke answers the call's outcome as IPC does.
  await context.addInitScript(() => {
    const g = globalThis as unknown as { hypercube: unknown; fetch: (url: string, init: unknown) => Promise<{ json(): Promise<unknown> }> }
    g.hypercube = {
      invoke: async (name: string, input: unknown) =>
        (await g.fetch('/ui/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, input }) })).json(),
      onEvent: () => () => undefined
    }
  })
  page = await context.newPage()
  await page.goto(core.core.ui!.loginUrl())
  await page.getByRole('heading', { name: 'Experiments', exact: true }).waitFor()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await core?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('export from the desktop window', () => {
  it('main asks where to save: cancelled, the dialog says the export waits and offers Save…; saved, it names the file, which is the bundle', async () => {
    // The desktop path: no "Open review bundle…" (the desktop opens reviews from its File menu).
    expect(await page.getByRole('button', { name: 'Open review bundle…' }).count()).toBe(0)
    await page.getByRole('link', { name: 'desk-sweep' }).click()
    await page.getByRole('button', { name: 'Export review bundle…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Export review bundle' })
    await expect.poll(() => dialog.getByRole('region', { name: 'What the bundle will hold' }).textContent()).toContain('All 2 runs of desk-sweep')

    chooser.answer = null
    await dialog.getByRole('button', { name: 'Export', exact: true }).click()
    await expect.poll(() => dialog.textContent(), { timeout: 60_000 }).toContain('Not saved yet: the export waits here for an hour.')
    expect(chooser.asked).toEqual(['desk-sweep.hcube'])
    expect(await dialog.textContent()).toContain('Exported 2 runs and 100 metric points')

    const saved = join(work, 'chosen', 'desk copy.hcube')
    mkdirSync(join(work, 'chosen'))
    chooser.answer = saved
    await dialog.getByRole('button', { name: 'Save…' }).click()
    await expect.poll(() => dialog.textContent(), { timeout: 60_000 }).toContain(`Saved to ${saved}.`)
    expect(await dialog.getByRole('button', { name: 'Save…' }).count()).toBe(0)
    expect(chooser.asked).toEqual(['desk-sweep.hcube', 'desk-sweep.hcube'])
    await page.screenshot({ path: join(screenshotsDir, 'ui-bundle-desktop-saved.png') })
    expect(existsSync(saved)).toBe(true)
    expect((await verifyBundle(saved)).header.totals).toMatchObject({ runs: 2, points: 100 })
    await dialog.getByRole('button', { name: 'Close', exact: true }).click()
  }, 120_000)
})
