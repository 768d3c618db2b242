import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { axisTickLabels, colorsByRun, compareAllRuns, LEARNING_RATES, openServeBrowser, pixelsOfColor, polylineYs, seedSweeps, type ServeBrowser } from './compare-charts-helpers'

/**
 * Issue 13, "broken today" items 1, 3, 4 and 5: the compare view's scatter, run colours and
 * parallel coordinates, and the chart x-axis modes, in a real browser against `serve` on a real
 * PostgreSQL. Each test checks what the user sees: SVG geometry and tick labels, computed
 * colours, canvas pixels, the chart legend under the cursor.
 */

let ui: ServeBrowser
let sweep: { experimentId: number; runIds: number[] }
let wide: { experimentId: number; runIds: number[] }

/** The legend of the compared runs at the top of the compare page. */
const runsLegend = () => ui.page.locator('section.panel').filter({ has: ui.page.getByRole('heading', { name: 'Runs', exact: true }) }).locator('.legend-item')

const sweepName = (i: number): string => `sweep-a-${String(i).padStart(2, '0')}`

describe('compare view and charts in a browser against serve', () => {
  beforeAll(async () => {
    ui = await openServeBrowser()
    // Four sweeps started side by side: the runs of one sweep do not have consecutive ids.
    const sweeps = await seedSweeps(ui.api, ['sweep-a', 'sweep-b', 'sweep-c', 'sweep-d'], 8)
    sweep = sweeps[0]!
    wide = (await seedSweeps(ui.api, ['wide'], 20))[0]!
  }, 120_000)

  afterAll(async () => {
    await ui?.close()
  })

  it('scatter draws one point per run where its values are, and a constant x does not break it (item 1)', async () => {
    const { page } = ui
    ui.takePageErrors()
    await compareAllRuns(page, ui.go, sweep.experimentId, 8)
    const scatter = page.getByTestId('scatter')
    await scatter.scrollIntoViewIfNeeded()
    await page.getByLabel('scatter x').selectOption('params.lr')
    await page.getByLabel('scatter y').selectOption('metrics.accuracy')
    await expect.poll(() => scatter.locator('figcaption').textContent()).toContain('8 runs with both values')

    const points = scatter.locator('circle[data-run-name]')
    await expect.poll(() => points.count()).toBe(8)
    const boxes = await points.evaluateAll((circles) =>
      circles.map((circle) => {
        const box = circle.getBoundingClientRect()
        return { name: circle.getAttribute('data-run-name')!, x: box.x + box.width / 2, y: box.y + box.height / 2, width: box.width }
      })
    )
    const frame = (await scatter.locator('svg').boundingBox())!
    for (const box of boxes) {
      expect(box.width).toBeGreaterThan(4)
      expect(box.x).toBeGreaterThan(frame.x)
      expect(box.x).toBeLessThan(frame.x + frame.width)
      expect(box.y).toBeGreaterThan(frame.y)
      expect(box.y).toBeLessThan(frame.y + frame.height)
    }
    const byName = Object.fromEntries(boxes.map((box) => [box.name, box]))
    // Run i has lr LEARNING_RATES[i] (falling with i) and accuracy rising with i: up and to the left.
    for (let i = 1; i < 8; i++) {
      expect(byName[sweepName(i)]!.x).toBeLessThan(byName[sweepName(i - 1)]!.x - 5)
      expect(byName[sweepName(i)]!.y).toBeLessThan(byName[sweepName(i - 1)]!.y - 5)
    }
    // lr spans more than three decades: the x axis is logarithmic, so the points are evenly spread.
    const gaps = [1, 2, 3, 4, 5, 6, 7].map((i) => byName[sweepName(i - 1)]!.x - byName[sweepName(i)]!.x)
    expect(Math.min(...gaps)).toBeGreaterThan(10)
    await ui.shotOf(scatter, 'scatter')

    // batch_size is 64 for every run.
    await page.getByLabel('scatter x').selectOption('params.batch_size')
    await expect.poll(() => scatter.locator('figcaption').textContent()).toContain('metrics.accuracy against params.batch_size')
    await expect.poll(() => points.count()).toBe(8)
    const constant = await points.evaluateAll((circles) => circles.map((circle) => circle.getBoundingClientRect()).map((box) => ({ x: box.x + box.width / 2, y: box.y + box.height / 2 })))
    expect(new Set(constant.map((point) => Math.round(point.x))).size).toBe(1)
    expect(new Set(constant.map((point) => Math.round(point.y))).size).toBe(8)
    expect(await scatter.locator('.x-axis .tick').allTextContents()).toEqual(['64'])
    expect(ui.takePageErrors()).toEqual([])
    await ui.shot('scatter-constant-x')
  }, 60_000)

  it('gives each of 8 and of 20 compared runs its own colour, the same in every view (item 3)', async () => {
    const { page } = ui
    await compareAllRuns(page, ui.go, sweep.experimentId, 8)
    await expect.poll(() => page.getByTestId('overlay-loss').getAttribute('data-runs')).toBe('8')

    const legend = await colorsByRun(runsLegend(), { name: 'text', colorOf: '.swatch', property: 'background-color' })
    const names = Array.from({ length: 8 }, (_, i) => sweepName(i))
    expect(Object.keys(legend).sort()).toEqual(names)
    expect(new Set(Object.values(legend)).size).toBe(8)
    await expect.poll(() => page.getByTestId('scatter').locator('circle[data-run-name]').count()).toBe(8)

    const table = await colorsByRun(page.getByTestId('compare-table').locator('thead th:has(.swatch)'), { name: 'text', colorOf: '.swatch', property: 'background-color' })
    const parallel = await colorsByRun(page.locator('svg.parallel polyline[data-run-id]'), { name: 'title', property: 'stroke' })
    const scatter = await colorsByRun(page.getByTestId('scatter').locator('circle[data-run-name]'), { name: { attribute: 'data-run-name' }, property: 'fill' })
    const overlay = await colorsByRun(page.getByTestId('overlay-loss').locator('.panel-legend li'), { name: 'text', colorOf: '.group-swatch', property: 'background-color' })
    expect(table).toEqual(legend)
    expect(parallel).toEqual(legend)
    expect(scatter).toEqual(legend)
    expect(overlay).toEqual(legend)
    await ui.shot('colours-8')

    // Reopened, each run keeps its colour.
    await page.reload()
    await expect.poll(() => page.getByRole('heading', { name: 'Compare 8 runs' }).count()).toBe(1)
    expect(await colorsByRun(runsLegend(), { name: 'text', colorOf: '.swatch', property: 'background-color' })).toEqual(legend)

    await compareAllRuns(page, ui.go, wide.experimentId, 20)
    const wideLegend = await colorsByRun(runsLegend(), { name: 'text', colorOf: '.swatch', property: 'background-color' })
    expect(Object.keys(wideLegend)).toHaveLength(20)
    expect(new Set(Object.values(wideLegend)).size).toBe(20)
    const wideParallel = await colorsByRun(page.locator('svg.parallel polyline[data-run-id]'), { name: 'title', property: 'stroke' })
    expect(wideParallel).toEqual(wideLegend)
    await ui.shot('colours-20')
  }, 60_000)

  it('parallel coordinates: one honest value, categorical and log axes, no axes for what the runs lack (item 4)', async () => {
    const { page } = ui
    await compareAllRuns(page, ui.go, sweep.experimentId, 8)
    const picker = page.getByRole('group', { name: 'parallel coordinates axes' })
    await page.locator('summary', { hasText: /^Axes/ }).click()
    for (const dimension of ['params.lr', 'params.optimizer', 'params.batch_size', 'metrics.accuracy']) {
      const box = picker.getByLabel(dimension, { exact: true })
      if (!(await box.isChecked())) await box.check()
    }
    await page.locator('summary', { hasText: /^Axes/ }).click()
    const svg = page.getByTestId('parallel-coordinates')
    await svg.scrollIntoViewIfNeeded()

    // batch_size is 64 for all: one label, no made-up 63.5…64.5 range, every line through it at one height.
    expect(await axisTickLabels(page, 'params.batch_size')).toEqual(['64'])
    const axes = await svg.locator('g[data-axis]').evaluateAll((groups) => groups.map((group) => group.getAttribute('data-axis')))
    const ys = await polylineYs(page)
    const batchIndex = axes.indexOf('params.batch_size')
    expect(new Set(Object.values(ys).map((points) => points[batchIndex])).size).toBe(1)

    // optimizer is a string: a categorical axis with one label per value; runs of one value meet there.
    expect((await axisTickLabels(page, 'params.optimizer')).sort()).toEqual(['adam', 'sgd'])
    const optimizerIndex = axes.indexOf('params.optimizer')
    const adam = new Set([0, 2, 4, 6].map((i) => ys[sweepName(i)]![optimizerIndex]))
    const sgd = new Set([1, 3, 5, 7].map((i) => ys[sweepName(i)]![optimizerIndex]))
    expect(adam.size).toBe(1)
    expect(sgd.size).toBe(1)
    expect([...adam][0]).not.toBe([...sgd][0])

    // lr spans 0.00003…0.1: a log axis by default, labelled in decades, runs evenly apart.
    const lrIndex = axes.indexOf('params.lr')
    expect(await axisTickLabels(page, 'params.lr')).toEqual(['0.1', '0.01', '0.001', '0.0001'])
    const lrYs = LEARNING_RATES.map((_, i) => ys[sweepName(i)]![lrIndex]!)
    for (let i = 1; i < 8; i++) expect(lrYs[i]! - lrYs[i - 1]!).toBeGreaterThan(15)
    await ui.shotOf(svg, 'parallel-log')
    // The toggle puts it back on a linear scale, where the small rates crowd at the bottom.
    const toggle = page.getByRole('button', { name: 'log scale for params.lr' })
    expect(await toggle.getAttribute('aria-pressed')).toBe('true')
    await toggle.click()
    await expect.poll(() => toggle.getAttribute('aria-pressed')).toBe('false')
    const linear = await axisTickLabels(page, 'params.lr')
    expect(linear).not.toContain('0.0001')
    expect(linear.length).toBeGreaterThanOrEqual(3)
    const linearYs = (await polylineYs(page))
    expect(Math.abs(linearYs[sweepName(7)]![lrIndex]! - linearYs[sweepName(6)]![lrIndex]!)).toBeLessThan(1)
    await ui.shotOf(svg, 'parallel-linear')
    await toggle.click()

    // Another experiment whose runs log other things: no axis is left over from this one.
    const rl = await ui.api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'rl' })
    for (const gamma of [0.9, 0.99]) {
      const run = await ui.api<{ run_id: number }>('POST', '/v1/ml/runs', { experiment_id: rl.experiment_id, run_name: `rl-${gamma}`, hyperparameters: { gamma } })
      await ui.api('POST', '/v1/ml/metrics', { run_id: run.run_id, points: [{ key: 'reward', value: gamma * 100, step: 1 }] })
    }
    await compareAllRuns(page, ui.go, rl.experiment_id, 2)
    await expect.poll(() => svg.locator('g[data-axis]').evaluateAll((groups) => groups.map((group) => group.getAttribute('data-axis')))).toEqual(['params.gamma', 'metrics.reward'])
    const reward = (await axisTickLabels(page, 'metrics.reward')).map(Number)
    expect(reward.length).toBeGreaterThanOrEqual(2)
    expect(reward.every((value) => value >= 90 && value <= 99)).toBe(true)
    await ui.shot('parallel-other-experiment')
  }, 90_000)

  it('on the epoch axis, a metric logged without epochs says so instead of an empty box (item 5)', async () => {
    const { page, api } = ui
    const run = await axesRun(api)
    await ui.go(`#/runs/${run}`)
    const gradNorm = page.getByTestId('chart-grad_norm')
    const loss = page.getByTestId('chart-loss')
    await expect.poll(() => gradNorm.getAttribute('data-total-points')).toBe('40')
    await page.getByLabel('x-axis').selectOption('epoch')
    await expect.poll(() => gradNorm.textContent()).toContain('logged without epochs')
    expect(await gradNorm.locator('canvas').count()).toBe(0)
    await expect.poll(async () => Number(await loss.locator('.chart-host').getAttribute('data-drawn-points'))).toBe(30)
    expect(await loss.textContent()).not.toContain('logged without epochs')
    await ui.shotOf(page.getByRole('region', { name: 'metrics charts' }), 'epoch-axis')
  }, 60_000)

  it('on the time axis, points logged without timestamps stay together and the axis spans the real time (item 5)', async () => {
    const { page, api } = ui
    const run = await axesRun(api)
    await ui.go(`#/runs/${run}`)
    const gradNorm = page.getByTestId('chart-grad_norm')
    const loss = page.getByTestId('chart-loss')
    await expect.poll(() => gradNorm.getAttribute('data-total-points')).toBe('40')
    await page.getByLabel('x-axis').selectOption('time')
    await expect.poll(async () => Number(await gradNorm.locator('.chart-host').getAttribute('data-drawn-points'))).toBe(40)
    // loss came in one batch: one instant, shown as seconds around it, not years.
    await expect.poll(async () => Number(await loss.locator('.chart-host').getAttribute('data-x-span'))).toBeGreaterThan(0)
    expect(Number(await loss.locator('.chart-host').getAttribute('data-x-span'))).toBeLessThanOrEqual(60)
    const instant = await pixelsOfColor(loss.locator('canvas').first(), [37, 99, 235])
    expect(instant.count).toBeGreaterThan(20)
    expect(instant.maxX - instant.minX).toBeLessThan(8)
    // grad_norm came in two batches 1.5 s apart: the axis spans those 1.5 s (and a little margin),
    // each batch is one vertical stroke, at the two ends of the plot, joined by the line between them.
    const span = Number(await gradNorm.locator('.chart-host').getAttribute('data-x-span'))
    expect(span).toBeGreaterThan(1.4)
    expect(span).toBeLessThan(3)
    const line = await pixelsOfColor(gradNorm.locator('canvas').first(), [37, 99, 235])
    expect(line.count).toBeGreaterThan(50)
    expect(line.maxX - line.minX).toBeGreaterThan(line.width * 0.6)
    await ui.shotOf(page.getByRole('region', { name: 'metrics charts' }), 'time-axis')
  }, 60_000)

  it('overlay hover shows values only of runs that have a point at that step (item 5)', async () => {
    const { page } = ui
    // Hovering step ~85 of loss, only sweep-a-07 (logged to step 90) has a value; the others stopped at 20…80.
    await compareAllRuns(page, ui.go, sweep.experimentId, 8)
    const overlay = page.getByTestId('overlay-loss')
    await expect.poll(() => overlay.getAttribute('data-runs')).toBe('8')
    await overlay.scrollIntoViewIfNeeded()
    const over = (await overlay.locator('.u-over').boundingBox())!
    await page.mouse.move(over.x + over.width * (85 / 90), over.y + over.height / 2)
    // The readout under the chart: `step 85 · <run> <value> · …`, a part per run with a value there.
    const readout = overlay.getByTestId('panel-readout')
    const hovered = async (): Promise<{ step: number; runs: string[] }> => {
      const [x = '', ...parts] = ((await readout.textContent()) ?? '').split(' · ')
      return { step: Number(/^step (\S+)/.exec(x)?.[1] ?? NaN), runs: parts.map((part) => part.slice(0, part.lastIndexOf(' '))) }
    }
    await expect.poll(async () => (await hovered()).step).toBeGreaterThanOrEqual(84)
    expect((await hovered()).runs).toEqual([sweepName(7)])
    await ui.shotOf(overlay, 'overlay-hover-late')
    // At step ~10 every run has a point.
    await page.mouse.move(over.x + over.width * (10 / 90), over.y + over.height / 2)
    await expect.poll(async () => (await hovered()).step).toBeLessThanOrEqual(12)
    expect((await hovered()).runs).toHaveLength(8)
  }, 60_000)
})

let axesRunId: number | undefined
/**
 * One run: loss with epochs for steps 0..29 in one batch (one timestamp); grad_norm without epochs or timestamps in two
 * batches 1.5 s apart (the server stamps each batch with its arrival time).
 */
async function axesRun(api: ServeBrowser['api']): Promise<number> {
  if (axesRunId !== undefined) return axesRunId
  const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'axes' })
  const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', { experiment_id: experiment.experiment_id, run_name: 'axes-run' })
  const withEpochs = Array.from({ length: 30 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), step, epoch: Math.floor(step / 10) }))
  await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points: withEpochs })
  const batch = (from: number) => Array.from({ length: 20 }, (_, i) => ({ key: 'grad_norm', value: 2 + Math.sin(from + i), step: from + i }))
  await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points: batch(0) })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points: batch(20) })
  axesRunId = run.run_id
  return axesRunId
}
