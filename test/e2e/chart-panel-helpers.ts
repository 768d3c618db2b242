import type { Locator, Page } from 'playwright-core'
import type { ServeBrowser } from './compare-charts-helpers'

/**
 * Reading what a chart panel (ChartPanel: the experiment page's panels and the compare page's
 * overlay charts) drew, for the e2e tests: the scales, plotting area and tick labels its draw
 * hook leaves on its host, pixels of its canvas, and its settings. Each takes the panel's figure.
 */

export interface DrawnChart {
  xMin: number
  xMax: number
  yMin: number
  yMax: number
  plotLeft: number
  plotTop: number
  plotWidth: number
  plotHeight: number
  yTicks: string[]
  xTicks: string[]
  xLabel: string
}

/** The scales, plotting area (CSS pixels of the canvas) and tick labels the chart last drew. */
export async function drawnChart(figure: Locator): Promise<DrawnChart> {
  const data = await figure.locator('.chart-host').evaluate((element) => ({ ...(element as unknown as { dataset: Record<string, string> }).dataset }))
  const number = (key: string): number => Number(data[key])
  return {
    xMin: number('xMin'),
    xMax: number('xMax'),
    yMin: number('yMin'),
    yMax: number('yMax'),
    plotLeft: number('plotLeft'),
    plotTop: number('plotTop'),
    plotWidth: number('plotWidth'),
    plotHeight: number('plotHeight'),
    yTicks: JSON.parse(data.yTicks ?? '[]') as string[],
    xTicks: JSON.parse(data.xTicks ?? '[]') as string[],
    xLabel: data.xLabel ?? ''
  }
}

export const xPixel = (d: DrawnChart, x: number): number => d.plotLeft + ((x - d.xMin) / (d.xMax - d.xMin)) * d.plotWidth
export const yPixel = (d: DrawnChart, y: number): number => d.plotTop + (1 - (y - d.yMin) / (d.yMax - d.yMin)) * d.plotHeight

/** A colour drawn at `alpha` over the white canvas background. */
export const over = (rgb: readonly number[], alpha: number): [number, number, number] => rgb.map((c) => Math.round(255 - alpha * (255 - c))) as [number, number, number]

/**
 * The rows (CSS pixels from the canvas top) of one pixel column whose colour, as seen over the
 * page's white (uPlot's canvas is transparent where it draws nothing), is within `tolerance` of `rgb`.
 */
export async function rowsOfColor(figure: Locator, cssX: number, rgb: readonly number[], tolerance: number): Promise<number[]> {
  return figure.locator('canvas').evaluate(
    (element, [x, target, tol]) => {
      const canvas = element as unknown as {
        width: number
        height: number
        getBoundingClientRect: () => { width: number }
        getContext: (kind: '2d') => { getImageData: (x: number, y: number, w: number, h: number) => { data: Uint8ClampedArray } }
      }
      const scale = canvas.width / canvas.getBoundingClientRect().width
      const column = Math.round(x * scale)
      const { data } = canvas.getContext('2d').getImageData(column, 0, 1, canvas.height)
      const rows: number[] = []
      for (let y = 0; y < canvas.height; y++) {
        const i = y * 4
        const alpha = data[i + 3]! / 255
        if (alpha < 0.05) continue
        const seen = [0, 1, 2].map((c) => data[i + c]! * alpha + 255 * (1 - alpha))
        if (Math.abs(seen[0]! - target[0]!) + Math.abs(seen[1]! - target[1]!) + Math.abs(seen[2]! - target[2]!) <= tol) rows.push(y / scale)
      }
      return rows
    },
    [cssX, rgb, tolerance] as const
  )
}

/** Opens the panel's settings (if closed). */
export async function openSettings(figure: Locator): Promise<void> {
  const settings = figure.locator('details.panel-settings')
  if (!(await settings.evaluate((element) => (element as unknown as { open: boolean }).open))) await settings.locator('summary').click()
}

/** Types a value into one of the panel's settings fields and commits it (Enter). */
export async function setField(figure: Locator, label: string, value: string): Promise<void> {
  await openSettings(figure)
  const field = figure.getByLabel(label, { exact: true })
  await field.fill(value)
  await field.press('Enter')
}

/** A page in a fresh browser context (its own storage: nothing remembered, as a colleague opening a shared link), signed in. */
export async function freshPage(ui: ServeBrowser): Promise<Page> {
  const context = await ui.browser.newContext({ viewport: { width: 1440, height: 900 } })
  const page = await context.newPage()
  await page.goto(ui.testCore.core.ui!.loginUrl())
  await page.getByRole('heading', { name: 'Experiments', exact: true }).waitFor()
  return page
}
