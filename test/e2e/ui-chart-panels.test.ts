import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Locator } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { drawnChart, openSettings as openSettingsOf, over, rowsOfColor as rowsOfColorIn, setField as setFieldOf, xPixel, yPixel, type DrawnChart } from './chart-panel-helpers'
import { openServeBrowser, type ServeBrowser } from './compare-charts-helpers'
import { axeViolations, isSeriousOrCritical, repoRoot, screenshotsDir } from './ui-harness'

/**
 * Grouping and chart panels (issue 13, "what users of the anchors expect") in a real browser
 * against `serve`: a sweep goes in through /v1 as a training script sends it, and the test reads
 * what the user sees — group header rows and counts, canvas pixels in a group's colour between
 * its min and max, the y tick labels uPlot drew, the panel order after a reload, exported files.
 */

let ui: ServeBrowser
let experimentId: number

/** loss of run i at a step: (1 + i) · f(step); runs 0–2 use adam, 3–5 sgd. accuracy = 1 − loss / 20. */
const f = (step: number): number => 0.5 + 2 / (1 + step / 5)
const LAST_STEP = 50
const START = Date.UTC(2026, 0, 5, 12, 0, 0)
const ADAM: [number, number, number] = [0x4e, 0x79, 0xa7]
const SGD: [number, number, number] = [0xf2, 0x8e, 0x2b]

async function seed(): Promise<number> {
  const experiment = await ui.api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'grouped-sweep' })
  for (let i = 0; i < 6; i++) {
    const run = await ui.api<{ run_id: number }>('POST', '/v1/ml/runs', {
      experiment_id: experiment.experiment_id,
      run_name: `sweep-${i}`,
      hyperparameters: { optimizer: i < 3 ? 'adam' : 'sgd', lr: 0.1 / (i + 1) },
      tags: { arch: i % 2 === 0 ? 'cnn' : 'mlp' }
    })
    const points = []
    for (let step = 0; step <= LAST_STEP; step++) {
      const loss = (1 + i) * f(step)
      points.push({ key: 'loss', value: loss, step, timestamp: START + step * 1000 })
      points.push({ key: 'accuracy', value: 1 - loss / 20, step, timestamp: START + step * 1000 })
      // One run logs a noisy series that zigzags between 2 and 8 around 5.
      if (i === 0) points.push({ key: 'noisy', value: step % 2 === 0 ? 2 : 8, step, timestamp: START + step * 1000 })
    }
    await ui.api('POST', '/v1/ml/metrics', { run_id: run.run_id, points })
    await ui.api('POST', '/v1/ml/runs/complete', { run_id: run.run_id })
  }
  return experiment.experiment_id
}

/** The experiment page afresh: no remembered panels, the Charts section opened. */
async function openExperiment(query = ''): Promise<void> {
  await ui.go(`#/experiments/${experimentId}${query}`)
  await ui.page.evaluate('localStorage.clear()')
  await ui.page.reload()
  await expect.poll(() => ui.page.getByTestId('run-count').textContent()).toBe('6 runs')
  await ui.page.getByRole('button', { name: 'Charts' }).click()
}

const panel = (title: string): Locator => ui.page.getByRole('region', { name: `chart ${title}`, exact: true })

/** What a panel drew (chart-panel-helpers), its pixels in one column, and its settings. */
const drawn = (title: string): Promise<DrawnChart> => drawnChart(panel(title))
const rowsOfColor = (title: string, cssX: number, rgb: readonly number[], tolerance: number): Promise<number[]> => rowsOfColorIn(panel(title), cssX, rgb, tolerance)
const setField = (title: string, label: string, value: string): Promise<void> => setFieldOf(panel(title), label, value)
const openSettings = (title: string): Promise<void> => openSettingsOf(panel(title))

async function panelTitles(): Promise<string[]> {
  return ui.page.locator('.chart-panels figure figcaption strong').allTextContents()
}

/** axe-core's serious and critical findings on the page as it is. */
async function axeSerious(): Promise<Array<{ id: string; impact: string | null; targets: string[] }>> {
  return (await axeViolations(ui.page)).filter(isSeriousOrCritical)
}

function shot(name: string): Promise<Buffer> {
  return ui.page.screenshot({ path: join(screenshotsDir, `ui-chart-panels-${name}.png`), fullPage: true })
}

describe('grouping and chart panels (issue 13)', () => {
  beforeAll(async () => {
    ui = await openServeBrowser()
    experimentId = await seed()
  })

  beforeEach(() => {
    expect(ui.takePageErrors()).toEqual([])
  })

  afterAll(async () => {
    await ui?.close()
  })

  describe('grouping', () => {
    it('groups the runs table by a param: header rows with counts, folding, and the choice in the address across a reload', async () => {
      await openExperiment()
      await ui.page.getByLabel('group by').selectOption('params.optimizer')
      const headers = ui.page.locator('.tbody .group-row')
      await expect.poll(() => headers.allTextContents()).toEqual(['▾params.optimizer = adam 3 runs', '▾params.optimizer = sgd 3 runs'])
      expect(await ui.page.evaluate('location.hash')).toContain('group=params.optimizer')
      // Under each header, its own runs.
      const order = await ui.page.locator('.tbody [role="row"]').evaluateAll((rows) => rows.map((row) => row.textContent ?? ''))
      const sgdAt = order.findIndex((text) => text.includes('optimizer = sgd'))
      expect(order.slice(1, sgdAt).map((text) => /sweep-\d/.exec(text)?.[0]).sort()).toEqual(['sweep-0', 'sweep-1', 'sweep-2'])
      expect(order.slice(sgdAt + 1).map((text) => /sweep-\d/.exec(text)?.[0]).sort()).toEqual(['sweep-3', 'sweep-4', 'sweep-5'])
      await shot('table-grouped')
      await ui.page.locator('.tbody .group-row', { hasText: 'adam' }).getByRole('button').click()
      await expect.poll(() => ui.page.locator('.tbody [role="row"]:not(.group-row)').count()).toBe(3)
      expect(await headers.first().getByRole('button').getAttribute('aria-expanded')).toBe('false')
      await ui.page.reload()
      await expect.poll(() => headers.allTextContents()).toEqual(['▾params.optimizer = adam 3 runs', '▾params.optimizer = sgd 3 runs'])
      // By a tag, too.
      await ui.page.getByLabel('group by').selectOption('tags.arch')
      await expect.poll(() => headers.allTextContents()).toEqual(['▾tags.arch = cnn 3 runs', '▾tags.arch = mlp 3 runs'])
    })

    it('draws each group as its mean line and a min–max band in the group colour, and a ±std band on request', async () => {
      await openExperiment('?group=params.optimizer')
      await expect.poll(() => ui.page.getByTestId('charts-scope').textContent()).toBe('6 runs in 2 groups by params.optimizer')
      await setField('loss', 'y min', '0')
      await setField('loss', 'y max', '16')
      await expect.poll(async () => (await drawn('loss')).yMax).toBe(16)
      const d = await drawn('loss')
      expect(d.yMin).toBe(0)
      const step = 37 // between the vertical grid lines (every 5 steps)
      const x = xPixel(d, step)
      for (const [rgb, first] of [
        [ADAM, 0],
        [SGD, 3]
      ] as const) {
        const min = (1 + first) * f(step)
        const mean = (2 + first) * f(step)
        const max = (3 + first) * f(step)
        const band = await rowsOfColor('loss', x, over(rgb, 0.22), 18)
        const line = await rowsOfColor('loss', x, rgb, 60)
        // The band fills the rows between the group's max and min line, and nothing outside them.
        expect(band.length).toBeGreaterThan(0.6 * (yPixel(d, min) - yPixel(d, max)))
        expect(Math.min(...band)).toBeGreaterThanOrEqual(yPixel(d, max) - 2)
        expect(Math.max(...band)).toBeLessThanOrEqual(yPixel(d, min) + 2)
        // The mean line crosses this column at the mean.
        expect(line.length).toBeGreaterThan(0)
        for (const y of line) expect(Math.abs(y - yPixel(d, mean))).toBeLessThanOrEqual(3)
      }
      // Hovering reads each group's mean at the step under the cursor.
      const canvasBox = (await panel('loss').locator('canvas').boundingBox())!
      await ui.page.mouse.move(canvasBox.x + xPixel(d, step), canvasBox.y + yPixel(d, 8))
      await expect.poll(() => panel('loss').getByTestId('panel-readout').textContent()).toBe(`step ${step} · adam mean ${Number((2 * f(step)).toPrecision(6))} · sgd mean ${Number((5 * f(step)).toPrecision(6))}`)
      await ui.page.mouse.move(0, 0)
      await panel('loss').locator('details.panel-settings summary').click() // closed, for the README's picture
      await panel('loss').scrollIntoViewIfNeeded()
      await panel('loss').screenshot({ path: join(screenshotsDir, 'ui-chart-panels-grouped-bands.png') })
      // The README's picture is retaken only when asked (HYPERCUBE_UPDATE_DOCS=1): a test run does not rewrite committed files.
      if (process.env.HYPERCUBE_UPDATE_DOCS === '1') {
        mkdirSync(join(repoRoot, 'docs'), { recursive: true })
        copyFileSync(join(screenshotsDir, 'ui-chart-panels-grouped-bands.png'), join(repoRoot, 'docs', 'grouped-chart-bands.png'))
      }

      // ±1 std of (1, 2, 3)·f is ±0.816·f around the mean: a narrower band than min–max (zoomed in on adam's to see it).
      await openSettings('loss')
      await panel('loss').getByLabel('band').selectOption('std')
      await setField('loss', 'y max', '3')
      await expect.poll(async () => (await drawn('loss')).yMax).toBe(3)
      const z = await drawn('loss')
      const std = Math.sqrt(2 / 3) * f(step)
      const mean = 2 * f(step)
      await expect
        .poll(async () => {
          const rows = await rowsOfColor('loss', x, over(ADAM, 0.22), 18)
          return rows.length > 0 && Math.min(...rows) >= yPixel(z, mean + std) - 2 && Math.max(...rows) <= yPixel(z, mean - std) + 2
        })
        .toBe(true)
      const stdBand = await rowsOfColor('loss', x, over(ADAM, 0.22), 18)
      expect(stdBand.length).toBeGreaterThan(0.8 * (yPixel(z, mean - std) - yPixel(z, mean + std)))
      // Well inside the min–max span (the max line is 8 px above the band's top here).
      expect(Math.min(...stdBand)).toBeGreaterThan(yPixel(z, 3 * f(step)) + 4)
      await shot('grouped-std')
    })
  })

  describe('chart panels', () => {
    it('labels the y axis in powers of ten once the panel is on a log scale', async () => {
      await openExperiment()
      await expect.poll(async () => (await drawn('loss')).yTicks.length).toBeGreaterThan(2)
      const linear = (await drawn('loss')).yTicks
      const isPowerOfTen = (label: string): boolean => /^(1|10+|0\.0*1)$/.test(label)
      expect(linear.every(isPowerOfTen)).toBe(false)
      await openSettings('loss')
      await panel('loss').getByLabel('log y').check()
      await expect.poll(async () => (await drawn('loss')).yTicks.every(isPowerOfTen)).toBe(true)
      const ticks = (await drawn('loss')).yTicks.map(Number)
      expect(ticks.length).toBeGreaterThanOrEqual(2)
      for (let i = 1; i < ticks.length; i++) expect(ticks[i]! / ticks[i - 1]!).toBeCloseTo(10, 9)
      // Loss runs from 0.68 to 15: the axis spans those decades.
      expect(ticks).toContain(1)
      expect(ticks).toContain(10)
      await shot('log-scale')
    })

    it('smooths a line (every method), keeping the raw line faded behind it', async () => {
      await openExperiment()
      const color = (await panel('noisy').locator('.panel-legend .group-swatch').first().evaluate((element) => (globalThis as unknown as { getComputedStyle: (e: unknown) => { backgroundColor: string } }).getComputedStyle(element).backgroundColor))
      const rgb = (color.match(/\d+/g) ?? []).slice(0, 3).map(Number) as [number, number, number]
      await expect.poll(async () => (await drawn('noisy')).yMax).toBeGreaterThan(8)
      const d = await drawn('noisy')
      const x = xPixel(d, 25) // a peak of the zigzag (8)
      const nearTop = (rows: number[]): number[] => rows.filter((y) => y < yPixel(d, 7))
      // Raw, the zigzag reaches 8: the full-strength line has pixels near the top.
      expect(nearTop(await rowsOfColor('noisy', x, rgb, 40)).length).toBeGreaterThan(0)
      await openSettings('noisy')
      for (const method of ['EMA', 'running mean', 'Gaussian']) {
        await panel('noisy').getByLabel('smoothing method').selectOption({ label: method })
        await panel('noisy').getByLabel('smoothing strength').fill('0.6')
        await expect.poll(() => panel('noisy').locator('figcaption .subtle').textContent()).toContain(`${method} 0.60`)
        // Smoothed, the strong line stays near 5; the faded raw line still reaches 8 behind it.
        await expect.poll(async () => nearTop(await rowsOfColor('noisy', x, rgb, 40)).length).toBe(0)
        const strong = await rowsOfColor('noisy', x, rgb, 40)
        expect(strong.length).toBeGreaterThan(0)
        for (const y of strong) expect(Math.abs(y - yPixel(d, 5))).toBeLessThan(yPixel(d, 5) - yPixel(d, 7))
        expect(nearTop(await rowsOfColor('noisy', x, over(rgb, 0.25), 24)).length).toBeGreaterThan(0)
      }
      await shot('smoothing')
    })

    it('draws several metrics in one panel, against relative time or another metric', async () => {
      await openExperiment()
      await openSettings('loss')
      await panel('loss').getByRole('group', { name: 'Metrics' }).getByLabel('noisy').check()
      const both = panel('loss, noisy')
      await expect.poll(() => both.locator('.panel-legend li').allTextContents()).toContain(' sweep-0 · noisy')
      expect(await both.locator('.panel-legend li').allTextContents()).toContain(' sweep-5 · loss')
      await both.getByRole('group', { name: 'Metrics' }).getByLabel('noisy').uncheck()

      await panel('loss').getByLabel('x axis').selectOption('relative')
      await expect.poll(async () => (await drawn('loss')).xMin).toBe(0)
      expect((await drawn('loss')).xMax).toBe(LAST_STEP) // one point a second

      // loss against accuracy: every plotted point is the same run's (accuracy, loss) at one step.
      await panel('loss').getByLabel('x axis').selectOption('metric:accuracy')
      await expect.poll(async () => (await drawn('loss')).xMax).toBeLessThan(1)
      const [download] = await Promise.all([ui.page.waitForEvent('download'), panel('loss').getByRole('button', { name: 'CSV' }).click()])
      const [header, ...rows] = readFileSync((await download.path())!, 'utf8').trim().split('\n').map((line) => line.split(','))
      expect(header![0]).toBe('accuracy')
      let checked = 0
      for (const row of rows) {
        for (let column = 1; column < row.length; column++) {
          if (row[column] === '') continue
          expect(Number(row[column])).toBeCloseTo(20 * (1 - Number(row[0])), 6)
          checked++
        }
      }
      expect(checked).toBe(6 * (LAST_STEP + 1))
      await shot('metric-vs-metric')
    })

    it('keeps the panel order and size per experiment across a reload', async () => {
      await openExperiment()
      await expect.poll(panelTitles).toEqual(['accuracy', 'loss', 'noisy'])
      await panel('accuracy').getByRole('button', { name: 'move chart later' }).click()
      await panel('noisy').getByRole('button', { name: 'move chart earlier' }).click()
      await expect.poll(panelTitles).toEqual(['loss', 'noisy', 'accuracy'])
      const handle = panel('noisy').getByRole('separator', { name: 'resize chart' })
      await handle.focus()
      await handle.press('ArrowDown')
      await handle.press('ArrowDown')
      await panel('loss').getByRole('button', { name: 'Wide' }).click()
      // Dragging the handle resizes too.
      await panel('accuracy').getByRole('separator', { name: 'resize chart' }).scrollIntoViewIfNeeded()
      const box = (await panel('accuracy').getByRole('separator', { name: 'resize chart' }).boundingBox())!
      await ui.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
      await ui.page.mouse.down()
      await ui.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 + 60, { steps: 4 })
      await ui.page.mouse.up()
      await expect.poll(() => panel('accuracy').locator('canvas').evaluate((element) => (element as unknown as { getBoundingClientRect: () => { height: number } }).getBoundingClientRect().height)).toBe(300)

      await ui.page.reload()
      await expect.poll(panelTitles).toEqual(['loss', 'noisy', 'accuracy'])
      const heightOf = (title: string): Promise<number> => panel(title).locator('canvas').evaluate((element) => (element as unknown as { getBoundingClientRect: () => { height: number } }).getBoundingClientRect().height)
      await expect.poll(() => heightOf('noisy')).toBe(280)
      expect(await heightOf('accuracy')).toBe(300)
      expect(await heightOf('loss')).toBe(240)
      const widths = await Promise.all(['loss', 'noisy'].map((title) => panel(title).evaluate((element) => (element as unknown as { getBoundingClientRect: () => { width: number } }).getBoundingClientRect().width)))
      expect(widths[0]!).toBeGreaterThan(1.8 * widths[1]!)
      await shot('order-after-reload')
    })

    it('shows the experiment’s panels, in its order and with their settings, on a run page for that run', async () => {
      await openExperiment()
      await expect.poll(panelTitles).toEqual(['accuracy', 'loss', 'noisy'])
      await panel('noisy').getByRole('button', { name: 'move chart earlier' }).click()
      await openSettings('noisy')
      await panel('noisy').getByLabel('smoothing strength').fill('0.6')
      await expect.poll(panelTitles).toEqual(['accuracy', 'noisy', 'loss'])

      const sweep0 = await ui.page.locator('.tbody [role="row"]', { hasText: 'sweep-0' }).getAttribute('data-run-id')
      await ui.go(`#/runs/${sweep0}`)
      const section = ui.page.getByRole('region', { name: 'chart panels' })
      await expect.poll(() => section.getByRole('button', { name: 'Chart panels' }).getAttribute('aria-expanded')).toBe('true')
      await expect.poll(() => section.locator('figure figcaption strong').allTextContents()).toEqual(['accuracy', 'noisy', 'loss'])
      expect(await panel('noisy').locator('figcaption .subtle').textContent()).toContain('EMA 0.60')
      expect(await panel('loss').locator('.panel-legend li').allTextContents()).toEqual([' sweep-0'])
      // The run's own line: its CSV is the run's loss at every step.
      const [csv] = await Promise.all([ui.page.waitForEvent('download'), panel('loss').getByRole('button', { name: 'CSV' }).click()])
      const lines = readFileSync((await csv.path())!, 'utf8').trim().split('\n')
      expect(lines[0]).toBe('step,sweep-0')
      expect(lines.slice(1).map((line) => line.split(',').map(Number))).toEqual(Array.from({ length: LAST_STEP + 1 }, (_, step) => [step, expect.closeTo(f(step), 9)]))
      // Drawn: the loss line crosses step 37 at f(37).
      const d = await drawn('loss')
      const rows = await rowsOfColor('loss', xPixel(d, 37), [0x4e, 0x79, 0xa7], 60)
      expect(rows.length).toBeGreaterThan(0)
      for (const y of rows) expect(Math.abs(y - yPixel(d, f(37)))).toBeLessThanOrEqual(3)
      await section.scrollIntoViewIfNeeded()
      await shot('run-page-panels')
    })

    it('draws a 1,000,000-point run from a few hundred points (the series API downsamples), over its whole range', async () => {
      const experiment = await ui.api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'long-run' })
      const run = await ui.api<{ run_id: number }>('POST', '/v1/ml/runs', { experiment_id: experiment.experiment_id, run_name: 'long' })
      const total = 1_000_000
      for (let from = 0; from < total; from += 20_000) {
        const steps = Array.from({ length: 20_000 }, (_, i) => from + i)
        await ui.api('POST', '/v1/ml/metrics', { run_id: run.run_id, series: [{ key: 'loss', steps, values: steps.map((step) => 1 / (1 + step / 1000)) }] })
      }
      await ui.go(`#/experiments/${experiment.experiment_id}`)
      await expect.poll(() => ui.page.getByTestId('run-count').textContent()).toBe('1 run')
      const section = ui.page.getByRole('region', { name: 'charts' })
      if ((await section.getByRole('button', { name: 'Charts' }).getAttribute('aria-expanded')) !== 'true') await section.getByRole('button', { name: 'Charts' }).click()
      await expect.poll(async () => (await drawn('loss')).xMax, { timeout: 15_000 }).toBe(total - 1)
      expect((await drawn('loss')).xMin).toBe(0)
      const [csv] = await Promise.all([ui.page.waitForEvent('download'), panel('loss').getByRole('button', { name: 'CSV' }).click()])
      const rows = readFileSync((await csv.path())!, 'utf8').trim().split('\n').slice(1).map((line) => line.split(',').map(Number))
      // At most 500 points per run and key: 250 buckets, each drawn through its first and last point.
      expect(rows.length).toBeGreaterThan(200)
      expect(rows.length).toBeLessThanOrEqual(500)
      expect(rows[0]).toEqual([0, 1])
      expect(rows.at(-1)![0]).toBe(total - 1)
      for (const [step, value] of rows) expect(value).toBeCloseTo(1 / (1 + step! / 1000), 12)
    })

    it('passes axe with the panels open, grouped, a panel’s settings shown', async () => {
      await openExperiment('?group=params.optimizer')
      await expect.poll(async () => (await drawn('loss')).yTicks.length).toBeGreaterThan(0)
      await openSettings('loss')
      expect(await axeSerious()).toEqual([])
    })

    it('exports a chart as PNG at the size drawn, as SVG, and as CSV of the plotted data', async () => {
      await openExperiment('?group=params.optimizer')
      await expect.poll(async () => (await drawn('loss')).yTicks.length).toBeGreaterThan(0)
      const canvasSize = await panel('loss').locator('canvas').evaluate((element) => ({ width: (element as unknown as { width: number }).width, height: (element as unknown as { height: number }).height }))

      const [png] = await Promise.all([ui.page.waitForEvent('download'), panel('loss').getByRole('button', { name: 'PNG' }).click()])
      expect(png.suggestedFilename()).toBe('loss.png')
      const bytes = readFileSync((await png.path())!)
      expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG')
      expect({ width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) }).toEqual(canvasSize)

      const [svg] = await Promise.all([ui.page.waitForEvent('download'), panel('loss').getByRole('button', { name: 'SVG' }).click()])
      const svgText = readFileSync((await svg.path())!, 'utf8')
      expect(svgText).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
      // Two group bands, and each group's mean line with its name.
      expect(svgText.match(/<polygon /g)).toHaveLength(2)
      expect(svgText).toContain('<title>adam mean</title>')
      expect(svgText).toContain('<title>sgd mean</title>')

      const [csv] = await Promise.all([ui.page.waitForEvent('download'), panel('loss').getByRole('button', { name: 'CSV' }).click()])
      const lines = readFileSync((await csv.path())!, 'utf8').trim().split('\n')
      expect(lines[0]).toBe('step,adam max,adam min,adam mean,sgd max,sgd min,sgd mean')
      expect(lines).toHaveLength(1 + LAST_STEP + 1)
      const at40 = lines[1 + 40]!.split(',').map(Number)
      expect(at40[0]).toBe(40)
      expect(at40.slice(1)).toEqual([3, 1, 2, 6, 4, 5].map((k) => expect.closeTo(k * f(40), 9)))
    })
  })
})
