import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatNumber } from '../../src/renderer/src/lib/format'
import { compareAllRuns, openServeBrowser, seedSweeps, type ServeBrowser } from './compare-charts-helpers'

/**
 * Issue 13, "Compare": the side-by-side table's min/max colours have a legend, and the distance
 * heatmap has a colour scale (a gradient labelled with the smallest and largest distance) and
 * labels that are not clipped, even for long run names. Read in a browser against `serve` with
 * the distance plugins: legend text and colours, scale labels against the cells' distances,
 * label bounding boxes against the heatmap's.
 */

let ui: ServeBrowser
let sweep: { experimentId: number; runIds: number[] }
const SWEEP = 'a-rather-long-sweep-name-for-labels'

interface Box {
  x: number
  y: number
  width: number
  height: number
}

describe('compare: min/max legend and heatmap scale', () => {
  beforeAll(async () => {
    ui = await openServeBrowser({ plugins: true })
    sweep = (await seedSweeps(ui.api, [SWEEP], 8))[0]!
  }, 120_000)

  afterAll(async () => {
    await ui?.close()
  })

  it('the side-by-side table says what its colours mean, in the colours it uses', async () => {
    const { page } = ui
    await compareAllRuns(page, ui.go, sweep.experimentId, 8)
    const legend = page.getByTestId('minmax-legend')
    await expect.poll(() => legend.textContent()).toBe('lowest the lowest value of a row · highest the highest value of a row (rows of numbers that differ)')
    // Page-side: the test project has no DOM library, so the browser's getComputedStyle is reached through globalThis.
    const background = (selector: string) =>
      page
        .locator(selector)
        .first()
        .evaluate((element) => (globalThis as unknown as { getComputedStyle: (element: unknown) => { backgroundColor: string } }).getComputedStyle(element).backgroundColor)
    // params.lr differs across the runs: its row has a lowest and a highest cell.
    await expect.poll(() => page.locator('[data-testid="compare-table"] tr[data-dimension="params.lr"] td.is-min').count()).toBe(1)
    const minCell = await background('[data-testid="compare-table"] tr[data-dimension="params.lr"] td.is-min')
    const maxCell = await background('[data-testid="compare-table"] tr[data-dimension="params.lr"] td.is-max')
    expect(minCell).not.toBe(maxCell)
    expect(await background('[data-testid="minmax-legend"] .is-min')).toBe(minCell)
    expect(await background('[data-testid="minmax-legend"] .is-max')).toBe(maxCell)
    // lr falls with the run's index: run 7 has the lowest lr, run 0 the highest.
    expect(await page.locator('tr[data-dimension="params.lr"] td.is-min').textContent()).toBe('3.0000e-5')
    await ui.shotOf(page.getByTestId('compare-table').locator('..'), 'minmax-legend')
  }, 60_000)

  it('the heatmap has a colour scale from its smallest to its largest distance, and no clipped label', async () => {
    const { page } = ui
    await compareAllRuns(page, ui.go, sweep.experimentId, 8)
    await page.getByRole('button', { name: 'Distance matrix' }).click()
    const heatmap = page.getByTestId('distance-heatmap')
    await expect.poll(() => heatmap.locator('rect[data-distance]').count(), { timeout: 20_000 }).toBe(64)
    await heatmap.scrollIntoViewIfNeeded()

    const distances = (await heatmap.locator('rect[data-distance]').evaluateAll((rects) => rects.map((rect) => Number(rect.getAttribute('data-distance'))))).filter(Number.isFinite)
    const min = Math.min(...distances)
    const max = Math.max(...distances)
    expect(max).toBeGreaterThan(min)
    const scale = heatmap.getByTestId('heatmap-scale')
    expect(await scale.locator('.heatmap-scale-min').textContent()).toBe(formatNumber(min))
    expect(await scale.locator('.heatmap-scale-max').textContent()).toBe(formatNumber(max))
    // The gradient runs from the colour of the closest cell to that of the farthest.
    const fillOf = (value: number) => heatmap.locator(`rect[data-distance="${value}"]`).first().getAttribute('fill')
    const stops = await heatmap.locator('linearGradient stop').evaluateAll((elements) => elements.map((stop) => stop.getAttribute('stop-color')))
    expect(stops).toEqual([await fillOf(min), await fillOf(max)])

    // Every label (run names on both axes, scale labels) lies inside the heatmap's box: nothing is cut off.
    const frame = (await heatmap.boundingBox())!
    const boxes = await heatmap.locator('text').evaluateAll((texts) =>
      texts.map((text) => {
        const box = text.getBoundingClientRect()
        return { text: text.textContent ?? '', x: box.x, y: box.y, width: box.width, height: box.height }
      })
    )
    const labels = boxes.filter((box) => box.text.startsWith(SWEEP.slice(0, 10)))
    expect(labels).toHaveLength(16)
    expect(boxes.length).toBeGreaterThanOrEqual(16 + 3)
    const inside = (box: Box): boolean =>
      box.x >= frame.x - 0.5 && box.y >= frame.y - 0.5 && box.x + box.width <= frame.x + frame.width + 0.5 && box.y + box.height <= frame.y + frame.height + 0.5
    expect(boxes.filter((box) => box.width > 0 && !inside(box))).toEqual([])
    // Long names are cut in the middle, keeping the ends that tell sweep runs apart; the whole name is the label's tooltip.
    const rowLabels = await heatmap.locator('text.heatmap-label[data-axis="row"]').evaluateAll((texts) => texts.map((text) => text.firstChild?.textContent ?? ''))
    expect(rowLabels[0]).toMatch(/^a-rather-lo.*….*-labels-00$/)
    expect(new Set(rowLabels).size).toBe(8)
    expect(await heatmap.locator('text.heatmap-label title').first().textContent()).toBe(`${SWEEP}-00`)
    await ui.shotOf(heatmap, 'heatmap-scale')
  }, 60_000)
})
