import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshPage } from './chart-panel-helpers'
import { compareAllRuns, openServeBrowser, seedSweeps, type ServeBrowser } from './compare-charts-helpers'

/**
 * Issue 13, "URLs you can share and reload": the compare view's runs and its scatter and
 * parallel-coordinates settings, and the experiment's chart panel settings, are in the address.
 * A reload, the same address in another browser (no remembered state: a shared link) and
 * back/forward show them; the test reads what the user sees — the compared runs' names, the
 * settings controls' values, the drawn charts' axis labels.
 */

let ui: ServeBrowser
let sweep: { experimentId: number; runIds: number[] }

const names = Array.from({ length: 8 }, (_, i) => `share-${String(i).padStart(2, '0')}`)

/** What the compare page shows: the heading, the runs' names in the legend, the scatter's settings and axis labels. */
async function compareSeen(page: Page) {
  await expect.poll(() => page.getByRole('heading', { name: /^Compare \d+ runs$/ }).count()).toBe(1)
  await expect.poll(() => page.getByTestId('scatter').count()).toBe(1)
  const scatter = page.getByTestId('scatter')
  return {
    heading: await page.getByRole('heading', { name: /^Compare \d+ runs$/ }).textContent(),
    runs: (await page.getByTestId('compare-legend').locator('.legend-item').allTextContents()).map((text) => text.trim()),
    x: await page.getByLabel('scatter x').inputValue(),
    y: await page.getByLabel('scatter y').inputValue(),
    logX: await page.getByLabel('scatter log x').isChecked(),
    xLabel: await scatter.locator('.x-axis > text').textContent(),
    yLabel: await scatter.locator('.y-axis > text').textContent(),
    axes: await page.locator('svg.parallel g[data-axis]').evaluateAll((groups) => groups.map((group) => group.getAttribute('data-axis')))
  }
}

const chart = (page: Page, title: string) => page.getByRole('region', { name: `chart ${title}`, exact: true })

async function drawnAxes(page: Page, title: string): Promise<{ xLabel: string; yTicks: string[] }> {
  const host = chart(page, title).locator('.chart-host')
  return { xLabel: (await host.getAttribute('data-x-label')) ?? '', yTicks: JSON.parse((await host.getAttribute('data-y-ticks')) ?? '[]') as string[] }
}

/** What one chart panel shows: its settings controls' values, its caption and the axis label uPlot drew. */
async function panelSeen(page: Page, title: string) {
  const panel = chart(page, title)
  await expect.poll(() => panel.locator('.chart-host').getAttribute('data-x-label')).not.toBeNull()
  const details = panel.locator('details.panel-settings')
  if (!(await details.evaluate((element) => (element as unknown as { open: boolean }).open))) await details.locator('summary').click()
  return {
    xAxis: await panel.getByLabel('x axis').inputValue(),
    logY: await panel.getByLabel('log y').isChecked(),
    method: await panel.getByLabel('smoothing method').inputValue(),
    yMax: await panel.getByLabel('y max').inputValue(),
    caption: (await panel.locator('figcaption .subtle').textContent())?.trim(),
    // uPlot draws its axes on the canvas: the panel records the x label and y tick labels it drew.
    ...(await drawnAxes(page, title))
  }
}

describe('shareable addresses of the compare view and the chart panels', () => {
  beforeAll(async () => {
    ui = await openServeBrowser()
    sweep = (await seedSweeps(ui.api, ['share'], 8))[0]!
  }, 120_000)

  afterAll(async () => {
    await ui?.close()
  })

  it('compare: the runs and the scatter and axes settings survive a reload, open from a shared link, and back/forward step through them', async () => {
    const { page } = ui
    ui.takePageErrors()
    await compareAllRuns(page, ui.go, sweep.experimentId, 8)
    // Opened from the runs table, the address names the compared runs at once.
    await expect.poll(() => new URL(page.url()).hash).toContain(`runs=${sweep.runIds.join('%2C')}`)

    await page.getByLabel('scatter x').selectOption('params.lr')
    await page.getByLabel('scatter y').selectOption('metrics.accuracy')
    // lr spans three decades: log by default; the user makes it linear.
    await expect.poll(() => page.getByLabel('scatter log x').isChecked()).toBe(true)
    await page.getByLabel('scatter log x').uncheck()
    await expect.poll(() => page.getByTestId('scatter').locator('.x-axis > text').textContent()).toBe('params.lr')
    await page.locator('details.column-picker summary', { hasText: /^Axes/ }).click()
    await page.getByRole('group', { name: 'parallel coordinates axes' }).getByLabel('params.batch_size').uncheck()
    const set = await compareSeen(page)
    expect(set).toMatchObject({ heading: 'Compare 8 runs', runs: names, x: 'params.lr', y: 'metrics.accuracy', logX: false, xLabel: 'params.lr', yLabel: 'metrics.accuracy' })
    expect(set.axes).not.toContain('params.batch_size')
    expect(set.axes.length).toBeGreaterThan(1)
    const address = page.url()
    expect(new URL(address).hash).toMatch(/sx=params\.lr&sy=metrics\.accuracy/)

    await page.reload()
    expect(await compareSeen(page)).toEqual(set)

    // The same address elsewhere (no remembered selection): the same runs, drawn the same way.
    const other = await freshPage(ui)
    await other.goto(address)
    expect(await compareSeen(other)).toEqual(set)
    await other.context().close()

    // Back: the axis removed last comes back; back again: the x axis is log again.
    await page.goBack()
    await expect.poll(async () => (await compareSeen(page)).axes).toContain('params.batch_size')
    await page.goBack()
    await expect.poll(() => page.getByLabel('scatter log x').isChecked()).toBe(true)
    expect(await page.getByTestId('scatter').locator('.x-axis > text').textContent()).toBe('params.lr (log)')
    await page.goForward()
    await expect.poll(() => page.getByLabel('scatter log x').isChecked()).toBe(false)
    expect((await compareSeen(page)).runs).toEqual(names)
    expect(ui.takePageErrors()).toEqual([])
  }, 120_000)

  it('compare: a zoomed overlay chart stays zoomed across a reload and in a shared link; back undoes the zoom', async () => {
    const { page } = ui
    ui.takePageErrors()
    await ui.go(`#/experiments/${sweep.experimentId}/compare?runs=${sweep.runIds.join(',')}`)
    const overlay = page.getByTestId('overlay-loss')
    await expect.poll(() => overlay.getAttribute('data-runs')).toBe('8')
    await expect.poll(() => overlay.locator('figcaption').textContent()).not.toContain('loading')
    const host = overlay.locator('.chart-host')
    await expect.poll(() => host.getAttribute('data-x-max')).not.toBeNull()
    const whole = { min: Number(await host.getAttribute('data-x-min')), max: Number(await host.getAttribute('data-x-max')) }
    // Drag across the middle third of the plot.
    await overlay.scrollIntoViewIfNeeded()
    const box = (await overlay.locator('.u-over').boundingBox())!
    await page.mouse.move(box.x + box.width / 3, box.y + box.height / 2)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 })
    await page.mouse.move(box.x + (2 * box.width) / 3, box.y + box.height / 2, { steps: 5 })
    await page.mouse.up()
    await expect.poll(() => overlay.getByRole('button', { name: 'Reset zoom' }).count()).toBe(1)
    await expect.poll(() => new URL(page.url()).hash).toMatch(/zoom=\d+-\d+%3Aloss/)
    const zoomed = async () => ({ min: Number(await host.getAttribute('data-x-min')), max: Number(await host.getAttribute('data-x-max')) })
    await expect.poll(async () => (await zoomed()).max).toBeLessThan(whole.max)
    const range = await zoomed()
    expect(range.min).toBeGreaterThan(whole.min)

    await page.reload()
    await expect.poll(() => overlay.getByRole('button', { name: 'Reset zoom' }).count()).toBe(1)
    await expect.poll(zoomed).toEqual(range)
    const other = await freshPage(ui)
    await other.goto(page.url())
    const otherHost = other.getByTestId('overlay-loss').locator('.chart-host')
    await expect.poll(async () => ({ min: Number(await otherHost.getAttribute('data-x-min')), max: Number(await otherHost.getAttribute('data-x-max')) })).toEqual(range)
    await other.context().close()

    await page.goBack()
    await expect.poll(() => overlay.getByRole('button', { name: 'Reset zoom' }).count()).toBe(0)
    await expect.poll(zoomed).toEqual(whole)
    expect(ui.takePageErrors()).toEqual([])
  }, 120_000)

  it('chart panels: metrics, x axis, log, smoothing and y range survive a reload, open from a shared link, and back/forward step through them', async () => {
    const { page } = ui
    await ui.go(`#/experiments/${sweep.experimentId}`)
    await page.evaluate('localStorage.clear()')
    await page.reload()
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('8 runs')
    await page.getByRole('button', { name: 'Charts' }).click()
    const before = await panelSeen(page, 'loss')
    expect(before).toMatchObject({ xAxis: 'step', logY: false, method: 'ema', yMax: '' })
    expect(before.xLabel).toBe('step')

    const panel = chart(page, 'loss')
    await panel.getByLabel('x axis').selectOption('relative')
    await panel.getByLabel('log y').check()
    await panel.getByLabel('smoothing method').selectOption('gaussian')
    await panel.getByLabel('y max').fill('5')
    await panel.getByLabel('y max').press('Enter')
    // A second metric in the panel: its title becomes "loss, accuracy".
    await panel.locator('fieldset').getByLabel('accuracy').check()
    const title = 'loss, accuracy'
    const set = await panelSeen(page, title)
    expect(set).toMatchObject({ xAxis: 'relative', logY: true, method: 'gaussian', yMax: '5' })
    expect(set.caption).toContain('vs relative time (s)')
    expect(set.caption).toContain('log y')
    expect(set.xLabel).toBe('relative time (s)')
    // A log y axis labels only powers of ten.
    expect(set.yTicks.length).toBeGreaterThan(0)
    for (const tick of set.yTicks) expect(Math.log10(Number(tick)) % 1).toBeCloseTo(0)
    const address = page.url()
    expect(new URL(address).hash).toContain('charts=')

    await page.reload()
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('8 runs')
    expect(await panelSeen(page, title)).toEqual(set)

    const other = await freshPage(ui)
    await other.goto(address)
    await expect.poll(() => other.getByTestId('run-count').textContent()).toBe('8 runs')
    expect(await panelSeen(other, title)).toEqual(set)
    await other.context().close()

    // Back: the second metric goes, then the y max, then the smoothing method.
    await page.goBack()
    await expect.poll(() => chart(page, 'loss').count()).toBe(1)
    expect(await panelSeen(page, 'loss')).toMatchObject({ xAxis: 'relative', logY: true, method: 'gaussian', yMax: '5' })
    await page.goBack()
    await expect.poll(async () => (await panelSeen(page, 'loss')).yMax).toBe('')
    await page.goBack()
    await expect.poll(async () => (await panelSeen(page, 'loss')).method).toBe('ema')
    await page.goBack()
    await page.goBack()
    const first = await panelSeen(page, 'loss')
    expect(first).toMatchObject({ xAxis: 'step', logY: false })
    expect(first.xLabel).toBe('step')
    await page.goForward()
    await expect.poll(async () => (await panelSeen(page, 'loss')).xAxis).toBe('relative')
    expect((await panelSeen(page, 'loss')).xLabel).toBe('relative time (s)')
  }, 120_000)
})
