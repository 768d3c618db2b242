import { join } from 'node:path'
import type { Locator } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { drawnChart, over, rowsOfColor as rowsOfColorIn, xPixel, yPixel } from './chart-panel-helpers'
import { openServeBrowser, type ServeBrowser } from './compare-charts-helpers'
import { screenshotsDir } from './ui-harness'

/**
 * Grouped charts over every run of a sweep (issue 13): the browser draws at most the first 100
 * runs' own series, so a group's band over a larger sweep must come from main (computed in
 * PostgreSQL). A 180-run sweep where only runs beyond the table's first 100 reach high values:
 * grouped by a param, the step-axis chart says it covers all 180 runs and draws adam's band up to
 * their max, with the mean of all 90 adam runs under the cursor; on the relative-time axis the
 * browser's aggregation of the first 100 runs is drawn, and the scope line says so.
 */

let ui: ServeBrowser
let experimentId: number

const RUNS = 180
/** The runs created first: the table lists the newest first, so these are all past its first 100 rows. */
const HIGH_ADAM_BELOW = 40
const LAST_STEP = 20
const START = Date.UTC(2026, 0, 5, 12, 0, 0)
const ADAM: [number, number, number] = [0x4e, 0x79, 0xa7]

const optimizerOf = (i: number): 'adam' | 'sgd' => (i % 2 === 0 ? 'adam' : 'sgd')
const g = (step: number): number => 1 + 0.5 / (1 + step)
/** loss of run i: 9·g for the first 20 adam runs, (1 … 1.4)·g for every other run. */
const lossOf = (i: number, step: number): number => (i < HIGH_ADAM_BELOW && optimizerOf(i) === 'adam' ? 9 : 1 + (i % 5) * 0.1) * g(step)

function groupStats(optimizer: 'adam' | 'sgd', step: number) {
  const values = Array.from({ length: RUNS }, (_, i) => i)
    .filter((i) => optimizerOf(i) === optimizer)
    .map((i) => lossOf(i, step))
  return { mean: values.reduce((sum, v) => sum + v, 0) / values.length, min: Math.min(...values), max: Math.max(...values) }
}

async function seed(): Promise<number> {
  const experiment = await ui.api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'big-grouped-sweep' })
  // Ten at a time, each ten after the ones before: the runs' creation order follows i from one ten to the next.
  for (let first = 0; first < RUNS; first += 10) {
    await Promise.all(
      Array.from({ length: 10 }, async (_, offset) => {
        const i = first + offset
        const run = await ui.api<{ run_id: number }>('POST', '/v1/ml/runs', {
          experiment_id: experiment.experiment_id,
          run_name: `run-${String(i).padStart(3, '0')}`,
          hyperparameters: { optimizer: optimizerOf(i) }
        })
        const points = Array.from({ length: LAST_STEP + 1 }, (_, step) => ({ key: 'loss', value: lossOf(i, step), step, timestamp: START + step * 1000 }))
        await ui.api('POST', '/v1/ml/metrics', { run_id: run.run_id, points })
        await ui.api('POST', '/v1/ml/runs/complete', { run_id: run.run_id })
      })
    )
  }
  return experiment.experiment_id
}

const panel = (title: string): Locator => ui.page.getByRole('region', { name: `chart ${title}`, exact: true })

/** What the panel titled `title` drew (chart-panel-helpers), and the rows of a pixel column in a colour. */
const drawn = (title: string) => drawnChart(panel(title))
const rowsOfColor = (title: string, cssX: number, rgb: readonly number[], tolerance: number) => rowsOfColorIn(panel(title), cssX, rgb, tolerance)

describe('grouped chart bands over every run of the table (issue 13)', () => {
  beforeAll(async () => {
    ui = await openServeBrowser()
    experimentId = await seed()
  }, 180_000)

  beforeEach(() => {
    expect(ui.takePageErrors()).toEqual([])
  })

  afterAll(async () => {
    await ui?.close()
  })

  it('draws a group band up to the max of runs beyond the first 100, says it covers all 180, and says when a panel covers only 100', async () => {
    await ui.go(`#/experiments/${experimentId}?group=params.optimizer`)
    await ui.page.evaluate('localStorage.clear()')
    await ui.page.reload()
    await expect.poll(() => ui.page.getByTestId('run-count').textContent(), { timeout: 30_000 }).toBe(`${RUNS} runs`)
    // The table's first 100 rows are the newest runs: none of the high adam runs among them.
    const firstRows = await ui.page.locator('.tbody [role="row"]:not(.group-row)').evaluateAll((rows) => rows.slice(0, 5).map((row) => /run-\d+/.exec(row.textContent ?? '')?.[0]))
    expect(firstRows.every((name) => name !== undefined && Number(name.slice(4)) >= HIGH_ADAM_BELOW)).toBe(true)
    await ui.page.getByRole('button', { name: 'Charts' }).click()
    await expect.poll(() => ui.page.getByTestId('charts-scope').textContent(), { timeout: 30_000 }).toBe(`${RUNS} runs in 2 groups by params.optimizer`)

    // The y axis reaches adam's true max (9·g, from runs past the first 100; the first 100 stay under 1.4·g ≈ 2.1).
    await expect.poll(async () => (await drawn('loss')).yMax, { timeout: 30_000 }).toBeGreaterThanOrEqual(9 * g(0))
    const d = await drawn('loss')
    expect(await panel('loss').getAttribute('data-runs')).toBe(String(RUNS))
    expect(d.yTicks.some((tick) => Number(tick) >= 9)).toBe(true)
    const step = 13
    const adam = groupStats('adam', step)
    expect(adam.max).toBeCloseTo(9 * g(step), 9)
    // adam's band fills its column from its max (a high run's value) down to its min.
    const band = await rowsOfColor('loss', xPixel(d, step), over(ADAM, 0.22), 18)
    expect(band.length).toBeGreaterThan(0.6 * (yPixel(d, adam.min) - yPixel(d, adam.max)))
    expect(Math.min(...band)).toBeGreaterThanOrEqual(yPixel(d, adam.max) - 2)
    expect(Math.min(...band)).toBeLessThanOrEqual(yPixel(d, adam.max) + 3)
    expect(Math.max(...band)).toBeLessThanOrEqual(yPixel(d, adam.min) + 2)

    // Under the cursor, each group's mean over all its 90 runs.
    const canvasBox = (await panel('loss').locator('canvas').boundingBox())!
    await ui.page.mouse.move(canvasBox.x + xPixel(d, step), canvasBox.y + yPixel(d, 5))
    const sgd = groupStats('sgd', step)
    await expect
      .poll(() => panel('loss').getByTestId('panel-readout').textContent())
      .toBe(`step ${step} · adam mean ${Number(adam.mean.toPrecision(6))} · sgd mean ${Number(sgd.mean.toPrecision(6))}`)
    await ui.page.mouse.move(0, 0)
    await panel('loss').scrollIntoViewIfNeeded()
    await panel('loss').screenshot({ path: join(screenshotsDir, 'ui-grouped-bands-all-runs.png') })

    // On the relative-time axis the browser aggregates the first 100 runs' series: adam's band
    // there stays under 1.4·g, and the scope line says whose bands those are.
    await panel('loss').locator('details.panel-settings summary').click()
    await panel('loss').getByLabel('x axis').selectOption('relative')
    await expect
      .poll(() => ui.page.getByTestId('charts-scope').textContent(), { timeout: 30_000 })
      .toBe(`${RUNS} runs in 2 groups by params.optimizer; on a time or metric x axis, bands of the first 100 runs`)
    // Once the first 100 runs' series are in (and only theirs: 100 runs drawn).
    await expect.poll(() => panel('loss').locator('figcaption').textContent(), { timeout: 60_000 }).not.toContain('loading')
    expect(await panel('loss').getAttribute('data-runs')).toBe('100')
    const relative = await drawn('loss')
    expect(relative.yMax).toBeLessThan(3)
    // adam's band there ends at the first 100 runs' max, 1.4·g.
    const firstHundred = await rowsOfColor('loss', xPixel(relative, step), over(ADAM, 0.22), 18)
    expect(firstHundred.length === 0 || Math.min(...firstHundred) >= yPixel(relative, 1.4 * g(step)) - 3).toBe(true)
    await ui.page.screenshot({ path: join(screenshotsDir, 'ui-grouped-bands-first-100.png'), fullPage: true })
  })
})
