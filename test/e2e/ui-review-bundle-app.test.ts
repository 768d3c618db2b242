import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyBundle } from '../../src/main/bundle/bundle-archive'
import { BundleExporter } from '../../src/main/bundle/bundle-exporter'
import { BundleImporter } from '../../src/main/bundle/bundle-importer'
import { formatBytes } from '../../src/renderer/src/lib/format'
import { rewriteBundle, writeExperimentBundle } from '../support/bundle-files'
import { startTestCore, type TestCore } from '../support/test-env'
import { assertRendererBuilt, axeViolations, isSeriousOrCritical, launchChromium, screenshotsDir } from './ui-harness'

/**
 * Issue 15, review bundles in the app (serve mode, Chromium, real PostgreSQL): an experiment
 * exported from its page (the estimate, the progress, the downloaded file read back), a bundle
 * imported from the experiments page (upload, a tampered one refused naming its member, the
 * report, the runs in the table, a second import adding nothing), and a bundle opened as a
 * review in a new tab whose "Import into my workspace" brings its runs into this workspace.
 */

let workspace: TestCore
let browser: Browser
let context: BrowserContext
let page: Page
let work: string
/** A colleague's bundle (an experiment this workspace does not have), and a tampered copy. */
let colleagueBundle: string
let colleagueUuids: string[]
let tamperedBundle: string
let tamperedMember: string
/** Another colleague's bundle, opened as a review. */
let reviewedBundle: string
let reviewedUuids: string[]

const ARTIFACT_BYTES = 300_000

beforeAll(async () => {
  assertRendererBuilt()
  work = mkdtempSync(join(tmpdir(), 'hypercube-bundle-ui-'))
  const colleague = await startTestCore({ http: false })
  try {
    colleagueBundle = join(work, 'colleague.hcube')
    colleagueUuids = await writeExperimentBundle(colleague.core, colleagueBundle, 'colleague-sweep', 2, 40)
    reviewedBundle = join(work, 'reviewed.hcube')
    reviewedUuids = await writeExperimentBundle(colleague.core, reviewedBundle, 'reviewed-elsewhere', 1, 25)
  } finally {
    await colleague.close()
  }
  tamperedMember = `runs/${colleagueUuids[1]}/metrics/0.arrow`
  tamperedBundle = join(work, 'tampered.hcube')
  await rewriteBundle(colleagueBundle, tamperedBundle, (name, bytes) => {
    if (name !== tamperedMember) return bytes
    const copy = Buffer.from(bytes)
    copy[copy.length - 20]! ^= 0x01
    return copy
  })

  workspace = await startTestCore({ http: true })
  const { services } = workspace.core
  const experiment = await services.experiments.create({ name: 'my-sweep', description: 'mine' })
  for (let index = 0; index < 3; index++) {
    const run = await services.runs.start({ experimentId: experiment.id, name: `mine-${index}`, hyperparameters: { lr: 0.01 * (index + 1) } })
    await services.runs.logValidatedMetrics(
      run.id,
      Array.from({ length: 1_000 }, (_, step) => ({ key: 'loss', value: index + 1 / (step + 1), step: BigInt(step), epoch: null, timestamp: 1_700_000_000_000 + step, kind: 'train' as const }))
    )
    await services.artifacts.putFile(run.id, 'model/weights.bin', new Uint8Array(ARTIFACT_BYTES).fill(index + 1))
    await services.runs.complete({ runId: run.id, status: 'completed', finalMetrics: { loss: index + 0.001 } })
  }

  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
  page = await context.newPage()
  await page.goto(workspace.core.ui!.loginUrl())
  await page.getByRole('heading', { name: 'Experiments', exact: true }).waitFor()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await workspace?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

type Seen = Array<{ value: number; max: number; text: string }>
/** What the recorder below uses of the page (the tests compile without the DOM's types). */
interface ProgressDom {
  document: { body: unknown; querySelector(selector: string): { value: number; max: number; parentElement: { textContent: string | null } | null } | null }
  MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void }
  seenProgress?: Seen
}

/** Records every value a progress bar takes while it is on screen (React may show a step for only a frame). */
async function watchProgress(label: string): Promise<void> {
  await page.evaluate((name) => {
    const dom = globalThis as unknown as ProgressDom
    const seen: Seen = []
    dom.seenProgress = seen
    const record = (): void => {
      const bar = dom.document.querySelector(`progress[aria-label="${name}"]`)
      if (bar) seen.push({ value: bar.value, max: bar.max, text: bar.parentElement?.textContent ?? '' })
    }
    new dom.MutationObserver(record).observe(dom.document.body, { subtree: true, childList: true, attributes: true, characterData: true })
  }, label)
}

async function seenProgress(): Promise<Seen> {
  return page.evaluate(() => (globalThis as unknown as ProgressDom).seenProgress ?? [])
}

/** The import report's counts as the dialog shows them, by label. */
async function reportCounts(dialog: ReturnType<Page['getByRole']>): Promise<Record<string, string>> {
  const report = dialog.getByRole('region', { name: 'Import report' })
  const labels = await report.locator('dt').allTextContents()
  const values = await report.locator('dd').allTextContents()
  return Object.fromEntries(labels.map((label, i) => [label, values[i]!]))
}

describe('review bundles in the app', () => {
  it('exports the selected runs with the size estimate shown first and progress while it writes; the download is the bundle', async () => {
    await page.getByRole('link', { name: 'my-sweep' }).click()
    const table = page.getByRole('table', { name: 'runs' })
    await expect.poll(() => table.textContent()).toContain('mine-2')
    // Select two of the three runs: the export takes those.
    for (const name of ['mine-0', 'mine-2']) await table.getByRole('checkbox', { name: `select ${name} for comparison` }).check()
    await page.getByRole('button', { name: 'Export 2 selected runs as review bundle…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Export review bundle' })

    // The estimate, before anything is written: what the exporter's plan says, at the bundle's rate.
    const summary = dialog.getByRole('region', { name: 'What the bundle will hold' })
    await expect.poll(() => summary.textContent()).toContain('The 2 selected runs of my-sweep: 2,000 metric points')
    const totals = { runs: 2, points: 2_000, artifactFiles: 2, artifactBytes: 2 * ARTIFACT_BYTES }
    expect(await summary.textContent()).toContain(`Include artifacts (2 files, ${formatBytes(2 * ARTIFACT_BYTES)})`)
    expect(await summary.textContent()).toContain(`Estimated size: about ${formatBytes(BundleExporter.estimateBytes(totals, true))} as my-sweep-2-runs.hcube`)
    // Without the artifacts the estimate drops by their bytes.
    await summary.getByRole('checkbox', { name: /Include artifacts/ }).uncheck()
    expect(await summary.textContent()).toContain(`Estimated size: about ${formatBytes(BundleExporter.estimateBytes(totals, false))}`)
    await summary.getByRole('checkbox', { name: /Include artifacts/ }).check()
    await page.screenshot({ path: join(screenshotsDir, 'ui-bundle-export-estimate.png') })
    expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])

    await watchProgress('Export progress')
    const download = page.waitForEvent('download', { timeout: 60_000 })
    await dialog.getByRole('button', { name: 'Export', exact: true }).click()
    const downloaded = await download
    expect(downloaded.suggestedFilename()).toBe('my-sweep-2-runs.hcube')
    const file = join(work, 'downloaded.hcube')
    await downloaded.saveAs(file)
    await expect.poll(() => dialog.getByRole('status').last().textContent()).toContain('Exported 2 runs and 2,000 metric points, 2 artifact files: my-sweep-2-runs.hcube')
    const seen = await seenProgress()
    // The bar moved through the export (runs' metrics, then artifacts) and said what it was doing.
    expect(seen.some((step) => step.value > 0 && step.value < step.max)).toBe(true)
    expect(seen.some((step) => /\d+ % — run mine-\d: (loss|artifact model\/weights\.bin)/.test(step.text))).toBe(true)
    await page.screenshot({ path: join(screenshotsDir, 'ui-bundle-export-done.png') })

    // The downloaded file is the bundle: every member checks, and it imports value for value.
    const { header, manifest } = await verifyBundle(file)
    expect(header.totals).toEqual(totals)
    expect(header.runs.map((run) => run.name).sort()).toEqual(['mine-0', 'mine-2'])
    expect(manifest.members.length).toBeGreaterThan(0)
    const fresh = await startTestCore({ http: false })
    try {
      const report = await new BundleImporter(fresh.core.services).import(file)
      expect(report.runs.imported).toHaveLength(2)
      for (const name of ['mine-0', 'mine-2']) {
        const mine = (await workspace.core.services.runs.listByExperiment((await workspace.core.services.experiments.findByName('my-sweep'))!.id)).find((run) => run.name === name)!
        const theirs = (await fresh.core.services.runs.findByUuid(mine.uuid))!
        const points = await fresh.core.services.runs.metricHistory({ runId: theirs.id, key: 'loss', limit: 10_000 })
        const original = await workspace.core.services.runs.metricHistory({ runId: mine.id, key: 'loss', limit: 10_000 })
        expect(points).toEqual(original)
        expect((await fresh.core.services.artifacts.listFiles(theirs.id, '', true)).filter((entry) => !entry.isDirectory).map((entry) => [entry.path, entry.sizeBytes])).toEqual([
          ['model/weights.bin', ARTIFACT_BYTES]
        ])
      }
    } finally {
      await fresh.close()
    }
    await dialog.getByRole('button', { name: 'Close' }).click()
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0)
  }, 180_000)

  it('refuses a tampered bundle naming the member, imports a good one with its report, and a second import adds nothing', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Experiments' }).click()
    const before = (await workspace.core.status()).counts

    await page.getByRole('button', { name: 'Import review bundle…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Import review bundle' })
    await dialog.getByLabel('Bundle file').setInputFiles(tamperedBundle)
    const alert = dialog.getByRole('alert')
    await expect.poll(() => alert.textContent(), { timeout: 60_000 }).toContain(`member ${tamperedMember} failed its hash check`)
    expect(await alert.textContent()).toContain('tampered.hcube')
    expect(await alert.textContent()).toContain('nothing was imported')
    expect((await workspace.core.status()).counts).toEqual(before)
    await page.screenshot({ path: join(screenshotsDir, 'ui-bundle-import-tampered.png') })

    // The good one: uploaded with progress, checked, no conflicts, imported with progress.
    await watchProgress('Import progress')
    await dialog.getByLabel('Bundle file').setInputFiles(colleagueBundle)
    const contents = dialog.getByRole('region', { name: 'Bundle contents' })
    await expect.poll(() => contents.textContent(), { timeout: 60_000 }).toContain('colleague.hcube')
    expect(await contents.textContent()).toContain('2 runs and 80 metric points from colleague-sweep')
    expect(await dialog.getByRole('radio').count()).toBe(0) // nothing here yet: no conflict to settle
    await dialog.getByRole('button', { name: 'Import', exact: true }).click()
    await expect.poll(() => dialog.getByRole('heading', { level: 3 }).textContent(), { timeout: 60_000 }).toContain('Imported from colleague.hcube')
    const counts = await reportCounts(dialog)
    expect(counts).toMatchObject({ 'experiments created': '1', 'runs imported': '2', 'runs skipped': '0', 'metric points': '80' })
    expect((await seenProgress()).some((step) => step.value > 0)).toBe(true)
    await page.screenshot({ path: join(screenshotsDir, 'ui-bundle-import-report.png') })
    expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])
    await dialog.getByRole('button', { name: 'Close' }).click()

    // The experiment is in the list, its runs in its table.
    const names = page.getByRole('table', { name: 'experiments' })
    await expect.poll(() => names.textContent()).toContain('colleague-sweep')
    await page.getByRole('link', { name: 'colleague-sweep' }).click()
    const table = page.getByRole('table', { name: 'runs' })
    await expect.poll(() => table.textContent()).toContain('colleague-sweep-run-0')
    expect(await table.textContent()).toContain('colleague-sweep-run-1')
    const after = (await workspace.core.status()).counts
    expect(after.runs).toBe(before.runs + 2)

    // Again: the conflict is shown with the choice; skip (the default) adds nothing.
    await page.getByRole('navigation').getByRole('link', { name: 'Experiments' }).click()
    await page.getByRole('button', { name: 'Import review bundle…' }).click()
    const again = page.getByRole('dialog', { name: 'Import review bundle' })
    await again.getByLabel('Bundle file').setInputFiles(colleagueBundle)
    const conflicts = again.getByRole('group')
    await expect.poll(() => conflicts.textContent(), { timeout: 60_000 }).toMatch(/2 of its runs are already here: colleague-sweep-run-(0, colleague-sweep-run-1|1, colleague-sweep-run-0)/)
    expect(await again.getByRole('radio', { name: /Skip them/ }).isChecked()).toBe(true)
    expect(await again.getByRole('radio').count()).toBe(3)
    await page.screenshot({ path: join(screenshotsDir, 'ui-bundle-import-conflict.png') })
    await again.getByRole('button', { name: 'Import', exact: true }).click()
    await expect.poll(() => again.getByRole('heading', { level: 3 }).textContent(), { timeout: 60_000 }).toContain('Imported from colleague.hcube')
    expect(await reportCounts(again)).toMatchObject({ 'runs imported': '0', 'runs skipped': '2', 'metric points': '0', 'experiments created': '0' })
    expect((await workspace.core.status()).counts).toEqual(after)
    for (const uuid of colleagueUuids) expect(await workspace.core.services.runs.findByUuid(uuid)).toBeDefined()
    await again.getByRole('button', { name: 'Close' }).click()
  }, 180_000)

  it('opens a bundle as a review in a new tab; its "Import into my workspace" brings the runs into this workspace; closing it stops the review', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Experiments' }).click()
    await page.getByRole('button', { name: 'Open review bundle…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Open review bundle' })
    const opened = context.waitForEvent('page', { timeout: 120_000 })
    await dialog.getByLabel('Bundle file').setInputFiles(reviewedBundle)
    const review = await opened
    await review.waitForLoadState()

    // The review tab: its own origin, the banner, the bundle's runs in the same views.
    expect(new URL(review.url()).origin).not.toBe(new URL(page.url()).origin)
    const banner = review.getByRole('region', { name: 'Review bundle' })
    await expect.poll(() => banner.textContent(), { timeout: 30_000 }).toContain('Reviewing bundle reviewed.hcube — read-only.')
    expect(await banner.textContent()).toContain('1 runs and 25 metric points from reviewed-elsewhere')
    await review.getByRole('link', { name: 'reviewed-elsewhere' }).click()
    await expect.poll(() => review.getByRole('table', { name: 'runs' }).textContent()).toContain('reviewed-elsewhere-run-0')
    await review.screenshot({ path: join(screenshotsDir, 'ui-bundle-review-tab.png') })
    // Not in the workspace yet.
    expect(await workspace.core.services.runs.findByUuid(reviewedUuids[0]!)).toBeUndefined()

    // "Import into my workspace": through the running workspace's own services (no second core on its folder).
    await banner.getByRole('button', { name: 'Import into my workspace' }).click()
    await expect.poll(() => banner.getByRole('status').textContent(), { timeout: 60_000 }).toContain('Imported into your workspace: 1 runs imported, 0 already there.')
    await review.screenshot({ path: join(screenshotsDir, 'ui-bundle-review-imported.png') })

    // Back in the original tab, without a reload: the list shows the experiment (live, from the
    // import's events), the dialog says which review is open, and the run is in this workspace.
    await page.bringToFront()
    await expect.poll(() => page.getByRole('table', { name: 'experiments' }).textContent(), { timeout: 30_000 }).toContain('reviewed-elsewhere')
    expect(await dialog.getByRole('region', { name: 'Open reviews' }).textContent()).toContain('Opened in a new tab: reviewed.hcube')
    await page.screenshot({ path: join(screenshotsDir, 'ui-bundle-review-opener.png') })
    await dialog.getByRole('button', { name: 'Close', exact: true }).click()
    await page.getByRole('link', { name: 'reviewed-elsewhere' }).click()
    await expect.poll(() => page.getByRole('table', { name: 'runs' }).textContent()).toContain('reviewed-elsewhere-run-0')
    expect((await workspace.core.services.runs.findByUuid(reviewedUuids[0]!))?.name).toBe('reviewed-elsewhere-run-0')

    // The review is listed on the experiments page; closing it stops its server.
    await page.getByRole('navigation').getByRole('link', { name: 'Experiments' }).click()
    const reviews = page.getByRole('region', { name: 'Open reviews' })
    await expect.poll(() => reviews.textContent()).toContain('reviewed.hcube')
    const origin = new URL(review.url()).origin
    expect((await fetch(`${origin}/`)).status).toBe(401) // up (and asking for a login)
    // "Open again": a new one-time login, the same review.
    const reopened = context.waitForEvent('page', { timeout: 30_000 })
    await reviews.getByRole('button', { name: 'Open again' }).click()
    const again = await reopened
    await expect.poll(() => again.getByRole('region', { name: 'Review bundle' }).textContent(), { timeout: 30_000 }).toContain('Reviewing bundle reviewed.hcube — read-only.')
    expect(new URL(again.url()).origin).toBe(origin)
    await again.close()
    await reviews.getByRole('button', { name: 'Close review' }).click()
    await expect.poll(() => page.getByRole('region', { name: 'Open reviews' }).count()).toBe(0)
    await expect(fetch(`${origin}/`)).rejects.toThrow()
    expect(workspace.core.reviews!.list()).toEqual([])
  }, 240_000)

  it('"Close review" in the review tab stops the review: the tab says it is closed, the opener\'s list drops it at once, its port refuses connections', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Experiments' }).click()
    await page.getByRole('button', { name: 'Open review bundle…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Open review bundle' })
    const opened = context.waitForEvent('page', { timeout: 120_000 })
    await dialog.getByLabel('Bundle file').setInputFiles(reviewedBundle)
    const review = await opened
    await review.waitForLoadState()
    const banner = review.getByRole('region', { name: 'Review bundle' })
    await expect.poll(() => banner.textContent(), { timeout: 30_000 }).toContain('Reviewing bundle reviewed.hcube — read-only.')
    const origin = new URL(review.url()).origin
    expect((await fetch(`${origin}/`)).status).toBe(401) // up
    await page.bringToFront()
    await dialog.getByRole('button', { name: 'Close', exact: true }).click()
    const reviews = page.getByRole('region', { name: 'Open reviews' })
    await expect.poll(() => reviews.textContent()).toContain('reviewed.hcube')

    await review.bringToFront()
    await banner.getByRole('button', { name: 'Close review' }).click()
    const closed = review.getByRole('region', { name: 'Review closed' })
    await expect.poll(() => closed.count(), { timeout: 30_000 }).toBe(1)
    expect(await closed.getByRole('heading', { level: 1 }).textContent()).toBe('This review is closed')
    expect(await closed.textContent()).toContain('The review of reviewed.hcube was stopped: its server and its throwaway copy are gone.')
    // Nothing else is left to fail: no banner, no views calling a server that is gone.
    expect(await review.getByRole('region', { name: 'Review bundle' }).count()).toBe(0)
    expect(await review.getByRole('alert').count()).toBe(0)
    await review.screenshot({ path: join(screenshotsDir, 'ui-bundle-review-closed.png') })
    expect((await axeViolations(review)).filter(isSeriousOrCritical)).toEqual([])

    // The opener's list, without a reload: the review is gone from it (the host's reviews.changed event).
    await page.bringToFront()
    await expect.poll(() => page.getByRole('region', { name: 'Open reviews' }).count(), { timeout: 30_000 }).toBe(0)
    // Its server stopped: the port refuses connections; the host holds no review.
    await expect.poll(() => fetch(`${origin}/`).then(() => 'answered', () => 'refused'), { timeout: 30_000 }).toBe('refused')
    expect(workspace.core.reviews!.list()).toEqual([])
    await review.close()
  }, 240_000)
})

describe('reviews close with the app', () => {
  it('stops every open review and removes its copy of the bundle when the core closes', async () => {
    const app = await startTestCore({ http: true })
    const copy = join(work, 'owned-copy.hcube')
    copyFileSync(reviewedBundle, copy)
    let origin: string
    try {
      const { review } = await app.core.reviews!.open(copy, { name: 'owned-copy.hcube', ownsFile: true })
      origin = review.origin
      expect((await fetch(`${origin}/`)).status).toBe(401)
    } finally {
      await app.close()
    }
    await expect(fetch(`${origin}/`)).rejects.toThrow()
    expect(existsSync(copy)).toBe(false)
  }, 180_000)
})
