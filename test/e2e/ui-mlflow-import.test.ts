import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'
import { assertRendererBuilt, axeViolations, isSeriousOrCritical, launchChromium, repoRoot, screenshotsDir } from './ui-harness'

/**
 * Issue 15: "Import from MLflow" in the app (serve mode, Chromium, a real PostgreSQL): the mlflow
 * 3.6 client's real file store (test/fixtures/mlflow-stores/mlruns) previewed, then imported with
 * progress, and what the user sees after each step read from the screen.
 */

const mlruns = join(repoRoot, 'test', 'fixtures', 'mlflow-stores', 'mlruns')
let testCore: TestCore
let browser: Browser
let page: Page

/** The report's counts as the dialog shows them, by label. */
async function reportCounts(): Promise<Record<string, string>> {
  const report = page.getByRole('region', { name: 'Import report' })
  const labels = await report.locator('dt').allTextContents()
  const values = await report.locator('dd').allTextContents()
  return Object.fromEntries(labels.map((label, i) => [label, values[i]!]))
}

describe('Import from MLflow, in the app', () => {
  beforeAll(async () => {
    assertRendererBuilt()
    testCore = await startTestCore({ http: true })
    browser = await launchChromium()
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
    await page.goto(testCore.core.ui!.loginUrl())
    await page.getByRole('heading', { name: 'Experiments', exact: true }).waitFor()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await testCore?.close()
  })

  it('names the field when the source cannot be read, and writes nothing', async () => {
    await page.getByRole('button', { name: 'Import from MLflow…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Import from MLflow' })
    await dialog.getByLabel('Source').fill(join(mlruns, 'no-such-store'))
    await dialog.getByRole('button', { name: 'Import', exact: true }).click()
    const alert = dialog.getByRole('alert')
    await expect.poll(() => alert.textContent()).toContain('cannot read the MLflow store')
    expect(await alert.textContent()).toContain('no such file or folder')
    // Esc closes it, and nothing was imported.
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0)
    expect((await testCore.core.status()).counts.runs).toBe(0)
  }, 60_000)

  it('previews what would be imported, then imports it with progress; the experiments appear in the list', async () => {
    await page.getByRole('button', { name: 'Import from MLflow…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Import from MLflow' })
    await dialog.getByLabel('Source').fill(mlruns)

    await dialog.getByRole('button', { name: 'Preview' }).click()
    await expect.poll(async () => dialog.getByRole('heading', { level: 3 }).textContent()).toContain('Would import from')
    const preview = await reportCounts()
    expect(Number(preview.runs)).toBeGreaterThan(0)
    expect(Number(preview['metric points'].replace(/,/g, ''))).toBeGreaterThan(0)
    expect((await testCore.core.status()).counts.runs).toBe(0) // a dry run writes nothing

    // Progress events arrive while it runs; the bar ends full.
    const seen: number[] = []
    const watch = setInterval(() => {
      void dialog
        .getByLabel('Import progress')
        .evaluate((bar) => (bar as unknown as { value: number; max: number }).value / (bar as unknown as { value: number; max: number }).max)
        .then((fraction) => seen.push(fraction))
        .catch(() => undefined)
    }, 20)
    await dialog.getByRole('button', { name: 'Import', exact: true }).click()
    await expect.poll(async () => dialog.getByRole('heading', { level: 3 }).textContent(), { timeout: 60_000 }).toContain('Imported from')
    clearInterval(watch)
    const imported = await reportCounts()
    expect(imported).toEqual(preview) // what the preview promised is what was done
    expect(seen.some((fraction) => fraction > 0)).toBe(true)
    const counts = (await testCore.core.status()).counts
    expect(counts.runs).toBe(Number(imported.runs))
    await page.screenshot({ path: join(screenshotsDir, 'ui-mlflow-import-report.png') })
    expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])

    await dialog.getByRole('button', { name: 'Close' }).click()
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0)
    const names = await page.getByRole('table', { name: 'experiments' }).locator('tbody tr td:first-child').allTextContents()
    expect(names.join('\n')).toContain('fixture-a/classification')
    expect(names.join('\n')).toContain('fixture-a/hpo')

    // Again: everything is skipped, nothing changes.
    await page.getByRole('button', { name: 'Import from MLflow…' }).click()
    await page.getByRole('dialog', { name: 'Import from MLflow' }).getByLabel('Source').fill(mlruns)
    await page.getByRole('dialog', { name: 'Import from MLflow' }).getByRole('button', { name: 'Import', exact: true }).click()
    const again = page.getByRole('dialog', { name: 'Import from MLflow' })
    await expect.poll(async () => again.getByRole('heading', { level: 3 }).textContent(), { timeout: 60_000 }).toContain('Imported from')
    expect((await reportCounts()).runs).toBe('0')
    expect(await again.getByRole('region', { name: 'Import report' }).textContent()).toContain(`Skipped (already here): `)
    expect((await testCore.core.status()).counts.runs).toBe(counts.runs)
  }, 120_000)
})
