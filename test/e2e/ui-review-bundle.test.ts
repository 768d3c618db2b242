import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BundleExporter } from '../../src/main/bundle/bundle-exporter'
import { startCore } from '../../src/main/core'
import { createSilentLogger } from '../../src/main/logging'
import { createTestDatabase, makeDataDir, startTestCore } from '../support/test-env'
import { assertRendererBuilt, axeViolations, isSeriousOrCritical, launchChromium, repoRoot, screenshotsDir } from './ui-harness'

/**
 * `hypercube review FILE` in a browser (issue 15): the built CLI serves a bundle read-only with
 * a banner; the views show the bundle's data; a write is refused with the read-only message;
 * "Import into my workspace" imports it into the workspace, which then holds the run.
 */

const builtCli = join(repoRoot, 'out', 'main', 'cli.js')
let work: string
let bundle: string
let runUuid: string
let review: ChildProcess
let output = ''
let browser: Browser
let page: Page
const workspace = makeDataDir()
let database: { url: string; drop: () => Promise<void> }

beforeAll(async () => {
  assertRendererBuilt()
  if (!existsSync(builtCli)) throw new Error('out/main/cli.js is missing: run `npx electron-vite build` first')
  work = mkdtempSync(join(tmpdir(), 'hypercube-review-e2e-'))
  const source = await startTestCore({ http: false })
  try {
    const { services } = source.core
    const experiment = await services.experiments.create({ name: 'reviewed-sweep', description: 'sent by a colleague' })
    const run = await services.runs.start({ experimentId: experiment.id, name: 'lr-0.003', hyperparameters: { lr: 0.003, optimizer: 'adamw' } })
    await services.runs.logValidatedMetrics(
      run.id,
      Array.from({ length: 30 }, (_, step) => ({ key: 'val_loss', value: 1 / (step + 2), step: BigInt(step), epoch: null, timestamp: 1_700_000_000_000 + step, kind: 'validation' as const }))
    )
    await services.runs.complete({ runId: run.id, status: 'completed', finalMetrics: { val_loss: 0.0323 } })
    runUuid = run.uuid
    bundle = join(work, 'colleague.hcube')
    const exporter = new BundleExporter(services, source.core.mlflow)
    await exporter.write(await exporter.plan({ experiment: 'reviewed-sweep', artifacts: true }), bundle)
  } finally {
    await source.close()
  }
  database = await createTestDatabase()
  review = spawn(process.execPath, [builtCli, 'review', bundle, '--port', '0', '--data-dir', workspace.dir, '--database-url', database.url])
  review.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const loginUrl = await new Promise<string>((resolve, reject) => {
    review.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /^UI: (\S+)$/m.exec(output)
      if (match) resolve(match[1]!)
    })
    review.once('exit', (code) => reject(new Error(`review exited (${code}):\n${output}`)))
  })
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  await page.goto(loginUrl)
}, 180_000)

afterAll(async () => {
  await browser?.close()
  if (review && review.exitCode === null) {
    review.kill('SIGTERM')
    await new Promise((resolve) => review.once('exit', resolve))
  }
  await database?.drop()
  workspace.remove()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('hypercube review in a browser', () => {
  it('shows the bundle read-only with its banner, refuses a write, and imports it into the workspace', async () => {
    expect(output).toContain('Reviewing bundle colleague.hcube — read-only')
    const banner = page.getByRole('region', { name: 'Review bundle' })
    await expect.poll(() => banner.textContent()).toContain('Reviewing bundle colleague.hcube — read-only.')
    expect(await banner.textContent()).toContain('1 runs and 30 metric points from reviewed-sweep')
    expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])

    // The same views: the experiment, its run in the table, the run's page with its params.
    await page.getByRole('link', { name: 'reviewed-sweep' }).click()
    await expect.poll(() => page.getByRole('table', { name: 'runs' }).textContent()).toContain('lr-0.003')
    await page.getByRole('link', { name: 'lr-0.003' }).first().click()
    await expect.poll(() => page.locator('main').textContent()).toContain('adamw')
    await page.screenshot({ path: join(screenshotsDir, 'ui-review-bundle-run.png') })

    // A write is refused with the read-only message.
    await page.getByRole('navigation').getByRole('link', { name: 'Experiments' }).click()
    await page.getByLabel('new experiment name').fill('my own experiment')
    await page.getByRole('button', { name: 'Create experiment' }).click()
    await expect.poll(() => page.locator('.create-form').textContent()).toContain('read-only: this is a review of the bundle colleague.hcube')

    // "Import into my workspace".
    await banner.getByRole('button', { name: 'Import into my workspace' }).click()
    await expect.poll(() => banner.getByRole('status').textContent(), { timeout: 60_000 }).toContain('Imported into your workspace: 1 runs imported, 0 already there.')
    await page.screenshot({ path: join(screenshotsDir, 'ui-review-bundle-imported.png') })
    expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])

    review.kill('SIGTERM')
    expect(await new Promise((resolve) => review.once('exit', resolve))).toBe(0)
    const mine = await startCore({ dataDir: workspace.dir, databaseUrl: database.url, logger: createSilentLogger(), http: false, plugins: false, healthCheckIntervalMs: false })
    try {
      const run = (await mine.services.runs.findByUuid(runUuid))!
      expect(run).toMatchObject({ name: 'lr-0.003', status: 'completed', hyperparameters: { lr: 0.003, optimizer: 'adamw' } })
      expect(await mine.services.experiments.findByName('my own experiment')).toBeUndefined()
    } finally {
      await mine.close()
    }
  }, 180_000)
})
