import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { expect } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'
import { apiClient, assertRendererBuilt, launchChromium, screenshotsDir } from './ui-harness'

/**
 * What the compare-view and chart tests (ui-compare-charts.test.ts) share: a browser signed in
 * to `serve`, sweeps seeded through /v1 as training scripts send them, and readers of what the
 * user sees (computed colours, SVG geometry, canvas pixels).
 */

export type Api = ReturnType<typeof apiClient>

// The test project's TypeScript has no DOM library: the little of it the page-side functions use.
interface Canvas {
  width: number
  height: number
  getContext: (kind: '2d') => { getImageData: (x: number, y: number, width: number, height: number) => { data: Uint8ClampedArray; width: number; height: number } }
  getBoundingClientRect: () => { width: number }
}
interface Window {
  getComputedStyle: (element: unknown) => { getPropertyValue: (name: string) => string }
}

export interface ServeBrowser {
  testCore: TestCore
  browser: Browser
  page: Page
  api: Api
  baseUrl: string
  /** Uncaught exceptions of the page since the last `takePageErrors()`. */
  takePageErrors: () => string[]
  go: (hash: string) => Promise<void>
  shot: (name: string) => Promise<void>
  /** A screenshot of one element, at full size. */
  shotOf: (locator: Locator, name: string) => Promise<void>
  close: () => Promise<void>
}

/** `plugins`: with the plugin hosts (the distance plugins of the similar runs and the heatmap). */
export async function openServeBrowser(options: { plugins?: boolean } = {}): Promise<ServeBrowser> {
  assertRendererBuilt()
  const testCore = await startTestCore({ http: true, plugins: options.plugins === true })
  const baseUrl = testCore.core.http!.url
  const browser = await launchChromium()
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  const page = await context.newPage()
  let errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto(testCore.core.ui!.loginUrl())
  await page.getByRole('heading', { name: 'Experiments', exact: true }).waitFor()
  return {
    testCore,
    browser,
    page,
    api: apiClient(baseUrl, testCore.core.http!.token),
    baseUrl,
    takePageErrors: () => {
      const taken = errors
      errors = []
      return taken
    },
    go: async (hash) => {
      await page.goto(`${baseUrl}/${hash}`)
    },
    shot: async (name) => {
      await page.screenshot({ path: join(screenshotsDir, `ui-compare-charts-${name}.png`), fullPage: true })
    },
    shotOf: async (locator, name) => {
      await locator.screenshot({ path: join(screenshotsDir, `ui-compare-charts-${name}.png`) })
    },
    close: async () => {
      await browser.close()
      await testCore.close()
    }
  }
}

export const LEARNING_RATES = [0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001, 0.00003]

/**
 * Sweeps launched side by side (round-robin, as a scheduler starts them), so the run ids of one
 * sweep are not consecutive. Run i of each sweep: lr LEARNING_RATES[i], optimizer adam/sgd,
 * batch_size 64 everywhere; `loss` for steps 0..(20 + 10 i), `accuracy` once at the end.
 */
export async function seedSweeps(api: Api, names: string[], runsPerSweep: number): Promise<Array<{ experimentId: number; runIds: number[] }>> {
  const sweeps = []
  for (const name of names) {
    const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name })
    sweeps.push({ experimentId: experiment.experiment_id, runIds: [] as number[] })
  }
  for (let i = 0; i < runsPerSweep; i++) {
    for (const [s, sweep] of sweeps.entries()) {
      const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', {
        experiment_id: sweep.experimentId,
        run_name: `${names[s]}-${String(i).padStart(2, '0')}`,
        hyperparameters: { lr: LEARNING_RATES[i % LEARNING_RATES.length], optimizer: i % 2 === 0 ? 'adam' : 'sgd', batch_size: 64 },
        tags: { sweep: names[s]! }
      })
      const lastStep = 20 + 10 * (i % 8)
      const points = []
      for (let step = 0; step <= lastStep; step++) points.push({ key: 'loss', value: (1 + (i % 8)) / (step + 1), step })
      points.push({ key: 'accuracy', value: 0.5 + 0.05 * (i % 8) + 0.001 * i, step: lastStep })
      await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points })
      await api('POST', '/v1/ml/runs/complete', { run_id: run.run_id })
      sweep.runIds.push(run.run_id)
    }
  }
  return sweeps
}

/** Ticks every run of the experiment in the runs table and opens Compare. */
export async function compareAllRuns(page: Page, go: ServeBrowser['go'], experimentId: number, count: number): Promise<void> {
  await go(`#/experiments/${experimentId}`)
  await expect.poll(() => page.getByTestId('run-count').textContent()).toBe(`${count} runs`)
  await page.getByLabel('select every shown run').check()
  await page.getByRole('link', { name: `Compare ${count}` }).click()
  await expect.poll(() => page.getByRole('heading', { name: `Compare ${count} runs` }).count()).toBe(1)
}

/**
 * The colour each run is drawn in by one view: for every element of `items`, the run's name (its
 * text, its SVG <title>, or an attribute) and the computed `property` of itself or of a child.
 */
export async function colorsByRun(
  items: Locator,
  spec: { name: 'text' | 'title' | { attribute: string } | { selector: string }; colorOf?: string; property: 'background-color' | 'border-color' | 'stroke' | 'fill' }
): Promise<Record<string, string>> {
  const entries = await items.evaluateAll((elements, { name, colorOf, property }) => {
    return elements.map((element) => {
      const label =
        name === 'text'
          ? (element.textContent ?? '')
          : name === 'title'
            ? (element.querySelector('title')?.textContent ?? '')
            : 'attribute' in name
              ? (element.getAttribute(name.attribute) ?? '')
              : (element.querySelector(name.selector)?.textContent ?? '')
      const painted = colorOf ? element.querySelector(colorOf) : element
      // Page-side code: it runs in the browser, so it can use nothing of this module but types.
      const style = painted ? (globalThis as unknown as Window).getComputedStyle(painted) : null
      return [label.trim(), style ? style.getPropertyValue(property) : 'none'] as const
    })
  }, spec)
  return Object.fromEntries(entries)
}

/** The pixels of a canvas close to one colour: how many, and the x range they cover (CSS pixels of the canvas). */
export async function pixelsOfColor(canvas: Locator, rgb: [number, number, number], tolerance = 40): Promise<{ count: number; minX: number; maxX: number; width: number }> {
  return canvas.evaluate(
    (element, [target, tol]) => {
      const c = element as unknown as Canvas
      const context = c.getContext('2d')
      const { data, width, height } = context.getImageData(0, 0, c.width, c.height)
      let count = 0
      let minX = Infinity
      let maxX = -Infinity
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 4
          if (data[i + 3]! < 128) continue
          if (Math.abs(data[i]! - target[0]) + Math.abs(data[i + 1]! - target[1]) + Math.abs(data[i + 2]! - target[2]) > tol) continue
          count++
          minX = Math.min(minX, x)
          maxX = Math.max(maxX, x)
        }
      }
      const scale = c.width / c.getBoundingClientRect().width
      return { count, minX: minX / scale, maxX: maxX / scale, width: width / scale }
    },
    [rgb, tolerance] as const
  )
}

/** The tick labels of a parallel-coordinates axis, top to bottom. */
export async function axisTickLabels(page: Page, dimension: string): Promise<string[]> {
  const ticks = page.locator(`svg.parallel g[data-axis="${dimension}"] .tick`)
  const entries = await ticks.evaluateAll((elements) => elements.map((element) => [Number(element.getAttribute('data-y')), element.textContent ?? ''] as const))
  return [...entries].sort((a, b) => a[0] - b[0]).map(([, label]) => label)
}

/** The y of a run's parallel-coordinates line where it crosses the axis at `index` (SVG units). */
export async function polylineYs(page: Page): Promise<Record<string, number[]>> {
  const entries = await page
    .locator('svg.parallel polyline[data-run-id]')
    .evaluateAll((elements) =>
      elements.map((element) => [element.querySelector('title')?.textContent ?? '', (element.getAttribute('points') ?? '').split(' ').filter(Boolean).map((point: string) => Number(point.split(',')[1]))] as const)
    )
  return Object.fromEntries(entries)
}
