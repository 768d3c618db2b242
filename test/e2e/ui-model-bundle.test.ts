import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyBundle } from '../../src/main/bundle/bundle-archive'
import { BundleImporter } from '../../src/main/bundle/bundle-importer'
import { startTestCore, type TestCore } from '../support/test-env'
import { assertRendererBuilt, launchChromium, screenshotsDir } from './ui-harness'

/**
 * Issue 15: "export … a model with its versions and lineage" from the app, as `hypercube export
 * --model` does — the model page's Export review bundle…, its estimate, the download, and the
 * file read back: the versions with their approvals, alias and deployments, and the source runs'
 * points, imported into a fresh workspace.
 */

let workspace: TestCore
let browser: Browser
let page: Page
let work: string
const POINTS = 300

beforeAll(async () => {
  assertRendererBuilt()
  work = mkdtempSync(join(tmpdir(), 'hypercube-model-bundle-'))
  workspace = await startTestCore({ http: true })
  const { experiments, runs, models } = workspace.core.services
  const experiment = await experiments.create({ name: 'model-sweep' })
  const sources = []
  for (let index = 0; index < 3; index++) {
    const run = await runs.start({ experimentId: experiment.id, name: `train-${index}` })
    await runs.logValidatedMetrics(
      run.id,
      Array.from({ length: POINTS }, (_, step) => ({ key: 'loss', value: index + 1 / (step + 1), step: BigInt(step), epoch: null, timestamp: 1_700_000_000_000 + step, kind: 'train' as const }))
    )
    await runs.complete({ runId: run.id, status: 'completed', finalMetrics: { loss: index + 0.01 } })
    sources.push(run)
  }
  // Versions from two of the three runs: the third is not the model's and stays out.
  const v1 = await models.registerVersion({ modelName: 'ranker', version: '1', artifactUri: 'runs:/a/model', sourceRunId: sources[0]!.id })
  const v2 = await models.registerVersion({ modelName: 'ranker', version: '2', artifactUri: 'runs:/b/model', sourceRunId: sources[1]!.id, parentVersionId: v1.id })
  await models.approve({ versionId: v1.id, notes: 'baseline', actor: 'lead' })
  await models.approve({ versionId: v2.id, notes: 'better', actor: 'lead' })
  await models.deploy({ modelName: 'ranker', versionId: v2.id, target: 'production', actor: 'ops' })
  await models.setAlias({ modelName: 'ranker', alias: 'champion', versionId: v2.id })

  browser = await launchChromium()
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
  page = await context.newPage()
  await page.goto(workspace.core.ui!.loginUrl())
  await page.getByRole('heading', { name: 'Experiments', exact: true }).waitFor()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await workspace?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('a model exported from its page', () => {
  it('shows what the bundle holds before export, downloads it, and the file imports with its versions, deployment and source runs', async () => {
    await page.goto(`${workspace.core.http!.url}/#/models/ranker`)
    await page.getByRole('button', { name: 'Export review bundle…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Export review bundle' })
    await expect
      .poll(() => dialog.locator('.bundle-summary').textContent())
      .toContain(`The model ranker with its versions, approvals, aliases and deployments, and their 2 source runs (of model-sweep): ${(2 * POINTS).toLocaleString('en-US')} metric points.`)
    expect(await dialog.locator('.bundle-estimate').textContent()).toMatch(/^Estimated size: about [\d.]+ KiB as ranker-model\.hcube$/)
    await page.screenshot({ path: join(screenshotsDir, 'ui-model-bundle-estimate.png') })

    const download = page.waitForEvent('download', { timeout: 60_000 })
    await dialog.getByRole('button', { name: 'Export' }).click()
    const downloaded = await download
    expect(downloaded.suggestedFilename()).toBe('ranker-model.hcube')
    const file = join(work, 'ranker.hcube')
    await downloaded.saveAs(file)
    await expect.poll(() => dialog.getByRole('status').last().textContent()).toContain(`Exported 2 runs and ${(2 * POINTS).toLocaleString('en-US')} metric points: ranker-model.hcube`)

    const { header } = await verifyBundle(file)
    expect(header.models).toEqual(['ranker'])
    expect(header.totals).toMatchObject({ runs: 2, points: 2 * POINTS })

    const fresh = await startTestCore({ http: false })
    try {
      const report = await new BundleImporter(fresh.core.services).import(file)
      expect(report.problems).toEqual([])
      expect(report.versions.created).toHaveLength(2)
      const versions = await fresh.core.services.models.listVersions('ranker')
      expect(versions.map((version) => [version.version, version.approvalStatus, version.aliases])).toEqual([
        ['2', 'approved', ['champion']],
        ['1', 'approved', []]
      ])
      expect(versions.find((version) => version.version === '2')).toMatchObject({ isDeployed: true, deploymentTarget: 'production' })
      const importedRuns = await fresh.core.services.runs.listByExperiment((await fresh.core.services.experiments.list()).find((entry) => entry.name === 'model-sweep')!.id)
      expect(importedRuns.map((run) => run.name).sort()).toEqual(['train-0', 'train-1'])
      expect(importedRuns.every((run) => run.metrics[0]!.count === POINTS)).toBe(true)
    } finally {
      await fresh.close()
    }
  })

  it('names the model that is not there', async () => {
    await page.goto('about:blank')
    await page.goto(`${workspace.core.http!.url}/#/models/no-such-model`)
    await page.getByRole('button', { name: 'Export review bundle…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Export review bundle' })
    await expect.poll(() => dialog.locator('.error-note').textContent()).toMatch(/no-such-model/)
    expect(await dialog.getByRole('button', { name: 'Export' }).isDisabled()).toBe(true)
  })
})
