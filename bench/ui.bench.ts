import type { Page } from 'playwright-core'
import { startCore } from '../src/main/core'
import { createSilentLogger } from '../src/main/logging'
import { assertRendererBuilt, launchChromium } from '../test/e2e/ui-harness'
import { makeBenchDataDir, makePoints } from './support'

/**
 * `npm run bench:ui`: headless Chromium against serve (the renderer build over HTTP/WebSocket)
 * on an embedded PostgreSQL (or HYPERCUBE_DATABASE_URL, an empty database).
 *  1. navigation → the runs table of 10,000 runs rendered (target ≤ 1 s);
 *  2. opening a run → its chart of a 1,000,000-point series drawn (target ≤ 300 ms).
 * Needs `npx electron-vite build` first.
 */

const RUNS = 10_000
const SERIES_POINTS = 1_000_000
const REPEATS = 5

/** The little of the DOM the page-side predicates use (this file compiles without the DOM lib). */
interface PageElement {
  textContent: string | null
  dataset: Record<string, string | undefined>
  querySelector(selector: string): PageElement | null
}
interface PageDocument {
  querySelector(selector: string): PageElement | null
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

async function timeTable(page: Page, url: string): Promise<number> {
  await page.goto('about:blank')
  const started = performance.now()
  await page.goto(url)
  // Evaluated in the page (a function, not a string: the renderer's CSP forbids eval): the
  // toolbar names every run (the sweep's and the long run) and the first row is on screen.
  await page.waitForFunction(
    (count) => {
      const doc = (globalThis as unknown as { document: PageDocument }).document
      return doc.querySelector('[data-testid="run-count"]')?.textContent === `${count} runs` && doc.querySelector('.tbody [role="row"]') !== null
    },
    (RUNS + 1).toLocaleString('en-US'),
    { polling: 'raf', timeout: 60_000 }
  )
  return performance.now() - started
}

async function timeChart(page: Page, baseUrl: string, experimentId: number, runId: number): Promise<number> {
  await page.goto(`${baseUrl}/#/experiments/${experimentId}/leaderboard`)
  await page.waitForSelector('[aria-label="leaderboard metric"]')
  const started = performance.now()
  await page.evaluate((hash) => void ((globalThis as unknown as { location: { hash: string } }).location.hash = hash), `#/runs/${runId}`)
  // Evaluated in the page: the chart holds the whole series and uPlot has drawn it.
  await page.waitForFunction(
    (total) => {
      const doc = (globalThis as unknown as { document: PageDocument }).document
      const chart = doc.querySelector('[data-testid="chart-loss"]')
      const host = chart?.querySelector('.chart-host')
      return chart?.dataset.totalPoints === String(total) && Number(host?.dataset.drawnPoints ?? 0) > 0
    },
    SERIES_POINTS,
    { polling: 'raf', timeout: 60_000 }
  )
  return performance.now() - started
}

async function main(): Promise<void> {
  assertRendererBuilt()
  const data = makeBenchDataDir()
  const core = await startCore({ dataDir: data.dir, logger: createSilentLogger(), plugins: false, http: { port: 0 } })
  const browser = await launchChromium()
  try {
    const { experiments, runs } = core.services
    console.log(`UI benchmark — ${core.database.description}`)
    const setupStarted = performance.now()
    const experiment = await experiments.create({ name: 'ui-bench' })
    const lrs = ['0.1', '0.01', '0.001', '0.0001']
    for (let first = 0; first < RUNS; first += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, RUNS - first) }, async (_, offset) => {
          const i = first + offset
          const run = await runs.start({ experimentId: experiment.id, name: `run-${i}`, hyperparameters: { lr: lrs[i % 4], batch_size: 32 << i % 3 }, tags: { shard: String(i % 10) } })
          await runs.logValidatedMetrics(run.id, [
            { key: 'val_loss', value: Math.random(), step: 10n, epoch: 1, timestamp: Date.now(), kind: 'validation' },
            { key: 'accuracy', value: Math.random(), step: 10n, epoch: 1, timestamp: Date.now(), kind: 'validation' }
          ])
        })
      )
    }
    const longRun = await runs.start({ experimentId: experiment.id, name: 'long-run' })
    for (let first = 0; first < SERIES_POINTS; first += 200_000) await runs.logValidatedMetrics(longRun.id, makePoints(200_000, ['loss'], first))
    console.log(`setup: ${RUNS.toLocaleString('en-US')} runs and a ${SERIES_POINTS.toLocaleString('en-US')}-point series in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`)

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto(core.ui!.loginUrl())
    const baseUrl = core.http!.url
    const tableUrl = `${baseUrl}/#/experiments/${experiment.id}`

    const tableTimes: number[] = []
    for (let i = 0; i < REPEATS; i++) tableTimes.push(await timeTable(page, tableUrl))
    const chartTimes: number[] = []
    for (let i = 0; i < REPEATS; i++) chartTimes.push(await timeChart(page, baseUrl, experiment.id, longRun.id))

    const format = (times: number[]) => `median ${median(times).toFixed(0)} ms (runs: ${times.map((time) => time.toFixed(0)).join(', ')} ms)`
    console.log(`navigation → rendered runs table of ${RUNS.toLocaleString('en-US')} runs: ${format(tableTimes)}; target ≤ 1000 ms → ${(median(tableTimes) / 1000).toFixed(2)}× the target`)
    console.log(`open run → drawn chart of a ${SERIES_POINTS.toLocaleString('en-US')}-point series: ${format(chartTimes)}; target ≤ 300 ms → ${(median(chartTimes) / 300).toFixed(2)}× the target`)
  } finally {
    await browser.close()
    await core.close()
    data.remove()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
