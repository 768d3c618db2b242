import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { drawnChart, freshPage, openSettings as openSettingsOf, over, rowsOfColor as rowsOfColorIn, setField as setFieldOf, xPixel, yPixel, type DrawnChart } from './chart-panel-helpers'
import { openServeBrowser, type ServeBrowser } from './compare-charts-helpers'
import { axeViolations, isSeriousOrCritical, screenshotsDir } from './ui-harness'

/**
 * Issue 13, "Chart panels" on the compare page: each overlay chart (one metric, every compared
 * run a line in its compare colour) has the experiment page's per-chart settings — log y,
 * smoothing with the raw line faded behind, a y range, an x axis of relative time or another
 * metric — and exports, and the settings are in the compare address. Three runs go in through
 * /v1 as a training script sends them; the test reads what the user sees: the tick labels uPlot
 * drew, canvas pixels in a run's colour, the hover readout, the exported CSV.
 */

let ui: ServeBrowser
let experimentId: number
let runIds: number[] = []

/** loss of run i at a step: (1 + i) · f(step); accuracy = 1 − loss / 20; noisy (runs 0 and 1) zigzags 2/8 and 12/18. */
const f = (step: number): number => 0.5 + 2 / (1 + step / 5)
const LAST_STEP = 50
const START = Date.UTC(2026, 0, 5, 12, 0, 0)
/** Each run started two hours after the one before, one point a second. */
const timeOf = (run: number, step: number): number => START + run * 7_200_000 + step * 1000
const noisy = (run: number, step: number): number => (step % 2 === 0 ? 2 : 8) + 10 * run
const NAMES = ['cmp-0', 'cmp-1', 'cmp-2']

async function seed(): Promise<void> {
  const experiment = await ui.api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'compare-chart-settings' })
  experimentId = experiment.experiment_id
  for (let i = 0; i < 3; i++) {
    const run = await ui.api<{ run_id: number }>('POST', '/v1/ml/runs', { experiment_id: experimentId, run_name: NAMES[i], hyperparameters: { lr: 0.1 / (i + 1) } })
    const points = []
    for (let step = 0; step <= LAST_STEP; step++) {
      const loss = (1 + i) * f(step)
      points.push({ key: 'loss', value: loss, step, timestamp: timeOf(i, step) })
      points.push({ key: 'accuracy', value: 1 - loss / 20, step, timestamp: timeOf(i, step) })
      if (i < 2) points.push({ key: 'noisy', value: noisy(i, step), step, timestamp: timeOf(i, step) })
    }
    await ui.api('POST', '/v1/ml/metrics', { run_id: run.run_id, points })
    await ui.api('POST', '/v1/ml/runs/complete', { run_id: run.run_id })
    runIds.push(run.run_id)
  }
}

const compareHash = (): string => `#/experiments/${experimentId}/compare?runs=${runIds.join(',')}`
const overlay = (key: string, page: Page = ui.page): Locator => page.getByTestId(`overlay-${key}`)

/** What a chart drew (chart-panel-helpers), and its pixels in one column, on this page or another. */
const drawn = (key: string, page: Page = ui.page): Promise<DrawnChart> => drawnChart(overlay(key, page))
const rowsOfColor = (key: string, cssX: number, rgb: readonly number[], tolerance: number): Promise<number[]> => rowsOfColorIn(overlay(key), cssX, rgb, tolerance)
const yPixelLog = (d: DrawnChart, y: number): number => d.plotTop + (1 - (Math.log10(y) - Math.log10(d.yMin)) / (Math.log10(d.yMax) - Math.log10(d.yMin))) * d.plotHeight

/** A run's colour as the chart's legend paints it ([r, g, b]). */
async function colorOf(key: string, run: string): Promise<[number, number, number]> {
  const color = await overlay(key)
    .locator('.panel-legend li', { hasText: run })
    .locator('.group-swatch')
    .evaluate((element) => (globalThis as unknown as { getComputedStyle: (e: unknown) => { backgroundColor: string } }).getComputedStyle(element).backgroundColor)
  return (color.match(/\d+/g) ?? []).slice(0, 3).map(Number) as [number, number, number]
}

const openSettings = (key: string, page: Page = ui.page): Promise<void> => openSettingsOf(overlay(key, page))
const setField = (key: string, label: string, value: string): Promise<void> => setFieldOf(overlay(key), label, value)

/** The compare page afresh (nothing remembered), all three runs drawn in every overlay chart. */
async function openCompare(): Promise<void> {
  await ui.go('#/experiments')
  await ui.page.evaluate('localStorage.clear()')
  await ui.go(compareHash())
  await ui.page.reload()
  await expect.poll(() => overlay('loss').getAttribute('data-runs')).toBe('3')
  await expect.poll(async () => (await drawn('loss')).yTicks.length).toBeGreaterThan(1)
}

/** The CSV the chart's export button downloads, as rows of cells. */
async function exportedCsv(key: string): Promise<string[][]> {
  const [download] = await Promise.all([ui.page.waitForEvent('download'), overlay(key).getByRole('button', { name: 'CSV' }).click()])
  return readFileSync((await download.path())!, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(','))
}

/** TensorBoard's smoothing as the method says: an exponential moving average with weight w, debiased at the start. */
function ema(values: number[], weight: number): number[] {
  let last = 0
  return values.map((value, i) => {
    last = last * weight + (1 - weight) * value
    return last / (1 - weight ** (i + 1))
  })
}

const isPowerOfTen = (label: string): boolean => /^(1|10+|0\.0*1)$/.test(label)

function shot(name: string, page: Page = ui.page): Promise<Buffer> {
  return page.screenshot({ path: join(screenshotsDir, `ui-compare-chart-settings-${name}.png`), fullPage: true })
}

describe('compare page: the overlay charts’ own settings (issue 13)', () => {
  beforeAll(async () => {
    ui = await openServeBrowser()
    runIds = []
    await seed()
  }, 120_000)

  beforeEach(() => {
    expect(ui.takePageErrors()).toEqual([])
  })

  afterAll(async () => {
    await ui?.close()
  })

  it('draws a chart in the runs’ compare colours and labels its y axis in powers of ten on a log scale', async () => {
    await openCompare()
    // Each run's line is in the colour the compare page's legend gives it.
    const legend = await ui.page
      .getByTestId('compare-legend')
      .locator('.legend-item')
      .evaluateAll((items) => items.map((item) => [item.textContent?.trim(), (globalThis as unknown as { getComputedStyle: (e: unknown) => { backgroundColor: string } }).getComputedStyle(item.querySelector('.swatch')).backgroundColor]))
    for (const [name, color] of legend) expect(`rgb(${(await colorOf('loss', name!)).join(', ')})`).toBe(color)

    const linear = (await drawn('loss')).yTicks
    expect(linear.every(isPowerOfTen)).toBe(false)
    await openSettings('loss')
    await overlay('loss').getByLabel('log y').check()
    await expect.poll(async () => (await drawn('loss')).yTicks.every(isPowerOfTen)).toBe(true)
    const ticks = (await drawn('loss')).yTicks.map(Number)
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! / ticks[i - 1]!).toBeCloseTo(10, 9)
    // loss spans 0.68 (run 0's last) to 7.5 (run 2's first): the decades around 1.
    expect(ticks).toContain(1)
    expect(ticks).toContain(10)
    // Run 1's line crosses step 37 where a log axis puts 2·f(37).
    const d = await drawn('loss')
    const rows = await rowsOfColor('loss', xPixel(d, 37), await colorOf('loss', 'cmp-1'), 60)
    expect(rows.length).toBeGreaterThan(0)
    for (const y of rows) expect(Math.abs(y - yPixelLog(d, 2 * f(37)))).toBeLessThanOrEqual(3)
    expect(await overlay('loss').locator('figcaption').textContent()).toContain('log y')
    expect(decodeURIComponent(new URL(ui.page.url()).hash)).toContain('"logY":true')
    await overlay('loss').scrollIntoViewIfNeeded()
    await shot('log-y')
  })

  it('smooths every run’s line as the method says (EMA, running mean), the raw line still drawn faded behind it', async () => {
    await openCompare()
    const d = await drawn('noisy')
    const color = await colorOf('noisy', 'cmp-0')
    const x = xPixel(d, 25) // a peak of run 0's zigzag (8)
    const nearTop = (rows: number[]): number[] => rows.filter((y) => y < yPixel(d, 7) && y > yPixel(d, 9))
    expect(nearTop(await rowsOfColor('noisy', x, color, 40)).length).toBeGreaterThan(0)
    await openSettings('noisy')
    await overlay('noisy').getByLabel('smoothing method').selectOption({ label: 'EMA' })
    await overlay('noisy').getByLabel('smoothing strength').fill('0.6')
    await expect.poll(() => overlay('noisy').locator('figcaption').textContent()).toContain('EMA 0.60')
    // Smoothed, run 0's strong line stays near 5 at the peak; its faded raw line still reaches 8.
    await expect.poll(async () => nearTop(await rowsOfColor('noisy', x, color, 40)).length).toBe(0)
    const strong = await rowsOfColor('noisy', x, color, 40)
    expect(strong.length).toBeGreaterThan(0)
    for (const y of strong.filter((row) => row > yPixel(d, 9))) expect(Math.abs(y - yPixel(d, 5))).toBeLessThan(yPixel(d, 5) - yPixel(d, 7))
    expect(nearTop(await rowsOfColor('noisy', x, over(color, 0.25), 24)).length).toBeGreaterThan(0)
    await overlay('noisy').scrollIntoViewIfNeeded()
    await shot('smoothing-ema')

    // The plotted numbers: each run's raw values and, beside them, their EMA with weight 0.6.
    const [header, ...rows] = await exportedCsv('noisy')
    expect(header).toEqual(['step', 'cmp-0 (raw)', 'cmp-0', 'cmp-1 (raw)', 'cmp-1'])
    expect(rows.map((row) => Number(row[0]))).toEqual(Array.from({ length: LAST_STEP + 1 }, (_, step) => step))
    for (const [run, column] of [
      [0, 1],
      [1, 3]
    ] as const) {
      const raw = rows.map((row) => Number(row[column]))
      expect(raw).toEqual(rows.map((_, step) => noisy(run, step)))
      expect(rows.map((row) => Number(row[column + 1]))).toEqual(ema(raw, 0.6).map((value) => expect.closeTo(value, 9)))
    }

    // Hovering step 25 reads the smoothed values (not the raw ones).
    const canvasBox = (await overlay('noisy').locator('canvas').boundingBox())!
    await ui.page.mouse.move(canvasBox.x + xPixel(d, 25), canvasBox.y + yPixel(d, 5))
    const expected = (run: number): number => Number(ema(rows.map((_, step) => noisy(run, step)), 0.6)[25]!.toPrecision(6))
    await expect.poll(() => overlay('noisy').getByTestId('panel-readout').textContent()).toBe(`step 25 · cmp-0 ${expected(0)} · cmp-1 ${expected(1)}`)
    await ui.page.mouse.move(0, 0)

    // A running mean over 61 points (strength 0.6): from the start up to each step, here.
    await overlay('noisy').getByLabel('smoothing method').selectOption({ label: 'running mean' })
    await expect.poll(() => overlay('noisy').locator('figcaption').textContent()).toContain('running mean 0.60')
    const [, ...meanRows] = await exportedCsv('noisy')
    const raw0 = meanRows.map((row) => Number(row[1]))
    expect(meanRows.map((row) => Number(row[2]))).toEqual(raw0.map((_, i) => expect.closeTo(raw0.slice(0, i + 1).reduce((a, b) => a + b, 0) / (i + 1), 9)))
  })

  it('shows the y range the user sets', async () => {
    await openCompare()
    await setField('loss', 'y min', '0')
    await setField('loss', 'y max', '4')
    await expect.poll(async () => (await drawn('loss')).yMax).toBe(4)
    const d = await drawn('loss')
    expect(d.yMin).toBe(0)
    expect(d.yTicks[0]).toBe('0')
    expect(d.yTicks.at(-1)).toBe('4')
    for (const tick of d.yTicks.map(Number)) expect(tick >= 0 && tick <= 4).toBe(true)
    // Run 0's line is where this axis puts f(37).
    const rows = await rowsOfColor('loss', xPixel(d, 37), await colorOf('loss', 'cmp-0'), 60)
    expect(rows.length).toBeGreaterThan(0)
    for (const y of rows) expect(Math.abs(y - yPixel(d, f(37)))).toBeLessThanOrEqual(3)
    await overlay('loss').scrollIntoViewIfNeeded()
    await shot('y-range')
  })

  it('puts relative time or another metric on the x axis, and exports the numbers plotted', async () => {
    await openCompare()
    await openSettings('loss')
    // Wall time: the runs started two hours apart.
    await overlay('loss').getByLabel('x axis').selectOption('wall')
    await expect.poll(async () => (await drawn('loss')).xLabel).toBe('wall time')
    expect((await drawn('loss')).xMax - (await drawn('loss')).xMin).toBeGreaterThanOrEqual(2 * 7200 + LAST_STEP)

    // Relative time: every run from its own first point, one point a second.
    await overlay('loss').getByLabel('x axis').selectOption('relative')
    await expect.poll(async () => (await drawn('loss')).xLabel).toBe('relative time (s)')
    const d = await drawn('loss')
    expect([d.xMin, d.xMax]).toEqual([0, LAST_STEP])
    expect(d.xTicks[0]).toBe('0')
    for (const tick of d.xTicks.map(Number)) expect(tick >= 0 && tick <= LAST_STEP).toBe(true)
    const [header, ...rows] = await exportedCsv('loss')
    expect(header).toEqual(['relative time (s)', ...NAMES])
    expect(rows.map((row) => row.map(Number))).toEqual(Array.from({ length: LAST_STEP + 1 }, (_, t) => [t, ...[1, 2, 3].map((k) => expect.closeTo(k * f(t), 9))]))
    await shot('relative-time')

    // loss against accuracy: each point is one run's (accuracy, loss) at one step.
    await overlay('loss').getByLabel('x axis').selectOption('metric:accuracy')
    await expect.poll(async () => (await drawn('loss')).xLabel).toBe('accuracy')
    const m = await drawn('loss')
    expect(m.xMax).toBeLessThan(1)
    expect(m.xMin).toBeGreaterThan(0.6)
    for (const tick of m.xTicks.map(Number)) expect(tick >= m.xMin && tick <= m.xMax).toBe(true)
    const [metricHeader, ...metricRows] = await exportedCsv('loss')
    expect(metricHeader).toEqual(['accuracy', ...NAMES])
    let checked = 0
    for (const row of metricRows) {
      for (let column = 1; column < row.length; column++) {
        if (row[column] === '') continue
        expect(Number(row[column])).toBeCloseTo(20 * (1 - Number(row[0])), 6)
        checked++
      }
    }
    expect(checked).toBe(3 * (LAST_STEP + 1))
    await overlay('loss').scrollIntoViewIfNeeded()
    await shot('metric-vs-metric')
  })

  it('keeps the settings across a reload and in a shared link; back and forward step through them', async () => {
    await openCompare()
    await openSettings('loss')
    await overlay('loss').getByLabel('x axis').selectOption('relative')
    await overlay('loss').getByLabel('log y').check()
    await overlay('loss').getByLabel('smoothing method').selectOption({ label: 'Gaussian' })
    await overlay('loss').getByLabel('smoothing strength').fill('0.4')
    // noisy (2 to 18) is drawn up to 20 by itself: 30 is the user's.
    await setField('noisy', 'y max', '30')
    await expect.poll(async () => (await drawn('noisy')).yMax).toBe(30)
    await expect.poll(async () => (await drawn('loss')).yTicks.every(isPowerOfTen)).toBe(true)
    const seen = async (page: Page) => ({
      loss: { ...(await drawn('loss', page)), caption: await overlay('loss', page).locator('figcaption .subtle').first().textContent() },
      noisy: { yMax: (await drawn('noisy', page)).yMax, yTicks: (await drawn('noisy', page)).yTicks }
    })
    const before = await seen(ui.page)
    expect(before.loss.caption).toContain('vs relative time (s) · log y · Gaussian 0.40')
    expect(before.loss.xLabel).toBe('relative time (s)')

    await ui.page.reload()
    await expect.poll(async () => (await drawn('noisy')).yMax).toBe(30)
    await expect.poll(() => seen(ui.page)).toEqual(before)
    await openSettings('loss')
    expect(await overlay('loss').getByLabel('log y').isChecked()).toBe(true)
    expect(await overlay('loss').getByLabel('x axis').inputValue()).toBe('relative')
    expect(await overlay('loss').getByLabel('smoothing method').inputValue()).toBe('gaussian')
    expect(await overlay('loss').getByLabel('smoothing strength').inputValue()).toBe('0.4')

    // The same address in another browser: nothing remembered there, the same charts.
    const other = await freshPage(ui)
    await other.goto(ui.page.url())
    await expect.poll(() => overlay('loss', other).getAttribute('data-runs')).toBe('3')
    await expect.poll(() => seen(other)).toEqual(before)
    await shot('shared-link', other)
    await other.context().close()

    // Back: the y max of noisy undone, then the smoothing strength's drag (one history entry with the method), then log y.
    await ui.page.goBack()
    await expect.poll(async () => (await drawn('noisy')).yMax).toBeLessThan(30)
    expect((await drawn('loss')).yTicks).toEqual(before.loss.yTicks)
    await ui.page.goBack()
    await expect.poll(() => overlay('loss').locator('figcaption .subtle').first().textContent()).not.toContain('Gaussian')
    await ui.page.goBack()
    await expect.poll(() => overlay('loss').locator('figcaption .subtle').first().textContent()).not.toContain('log y')
    await expect.poll(async () => (await drawn('loss')).yTicks.every(isPowerOfTen)).toBe(false)
    await ui.page.goForward()
    await expect.poll(async () => (await drawn('loss')).yTicks.every(isPowerOfTen)).toBe(true)
  })

  it('zooms a chart on its own x axis: the step range is re-read and goes in the address beside the settings', async () => {
    await openCompare()
    await openSettings('loss')
    await overlay('loss').getByLabel('log y').check()
    await expect.poll(async () => (await drawn('loss')).yTicks.every(isPowerOfTen)).toBe(true)
    const whole = await drawn('loss')
    expect([whole.xMin, whole.xMax]).toEqual([0, LAST_STEP])
    /** Drags across the loss chart from one fraction of its width to another. */
    const drag = async (from: number, to: number): Promise<void> => {
      await overlay('loss').locator('.u-over').scrollIntoViewIfNeeded()
      const box = (await overlay('loss').locator('.u-over').boundingBox())!
      await ui.page.mouse.move(box.x + box.width * from, box.y + box.height / 2)
      await ui.page.mouse.down()
      await ui.page.mouse.move(box.x + (box.width * (from + to)) / 2, box.y + box.height / 2, { steps: 5 })
      await ui.page.mouse.move(box.x + box.width * to, box.y + box.height / 2, { steps: 5 })
      await ui.page.mouse.up()
    }
    await drag(0.3, 0.7)
    await expect.poll(() => overlay('loss').getByRole('button', { name: 'Reset zoom' }).count()).toBe(1)
    await expect.poll(async () => (await drawn('loss')).xMax).toBeLessThan(LAST_STEP)
    const zoomed = await drawn('loss')
    expect(zoomed.xMin).toBeGreaterThan(10)
    expect(zoomed.xMax).toBeLessThan(40)
    // Still a log axis.
    expect(zoomed.yTicks.every(isPowerOfTen)).toBe(true)
    const hash = decodeURIComponent(new URL(ui.page.url()).hash)
    expect(hash).toMatch(/zoom=\d+-\d+:loss/)
    expect(hash).toContain('"logY":true')
    await ui.page.reload()
    await expect.poll(async () => [(await drawn('loss')).xMin, (await drawn('loss')).xMax]).toEqual([zoomed.xMin, zoomed.xMax])
    // A double-click resets the zoom.
    await overlay('loss').locator('.u-over').dblclick()
    await expect.poll(async () => (await drawn('loss')).xMax).toBe(LAST_STEP)
    expect(await overlay('loss').getByRole('button', { name: 'Reset zoom' }).count()).toBe(0)

    // On relative time the zoomed range keeps its place on the axis: a run's time counts from its first point, not the range's.
    await openSettings('loss')
    await overlay('loss').getByLabel('x axis').selectOption('relative')
    await expect.poll(async () => (await drawn('loss')).xLabel).toBe('relative time (s)')
    await drag(0.3, 0.7)
    await expect.poll(() => overlay('loss').getByRole('button', { name: 'Reset zoom' }).count()).toBe(1)
    await expect.poll(async () => (await drawn('loss')).xMax).toBeLessThan(LAST_STEP)
    const relative = await drawn('loss')
    expect(relative.xMin).toBeGreaterThan(10)
    expect(relative.xMax).toBeLessThan(40)
    const [, ...rows] = await exportedCsv('loss')
    // Run 0's loss at relative time t is f(t) (one point a second from its first).
    for (const row of rows) expect(Number(row[1])).toBeCloseTo(f(Number(row[0])), 9)
    await ui.page.reload()
    await expect.poll(async () => [(await drawn('loss')).xLabel, (await drawn('loss')).xMin, (await drawn('loss')).xMax]).toEqual(['relative time (s)', relative.xMin, relative.xMax])
  })

  it('passes axe in the light and the dark theme with a chart’s settings open', async () => {
    for (const theme of ['light', 'dark'] as const) {
      await openCompare()
      await ui.page.getByLabel('theme').selectOption(theme)
      await expect.poll(() => ui.page.evaluate('document.documentElement.dataset.theme')).toBe(theme)
      await openSettings('loss')
      await overlay('loss').getByLabel('smoothing strength').fill('0.5')
      await expect.poll(() => overlay('loss').locator('figcaption').textContent()).toContain('EMA 0.50')
      expect((await axeViolations(ui.page)).filter(isSeriousOrCritical)).toEqual([])
      await overlay('loss').scrollIntoViewIfNeeded()
      await shot(`settings-${theme}`)
    }
    await ui.page.getByLabel('theme').selectOption('system')
  })
})
