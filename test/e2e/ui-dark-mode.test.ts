import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openServeBrowser, pixelsOfColor, seedSweeps, type ServeBrowser } from './compare-charts-helpers'
import { axeViolations, isSeriousOrCritical, repoRoot, screenshotsDir } from './ui-harness'

/**
 * Issue 13, "Dark mode": the theme follows the system's prefers-color-scheme, a switch in the
 * top bar chooses system / light / dark and is remembered; axe-core finds nothing serious or
 * critical on any page in either theme; a dark page is dark (screenshot pixels) and the charts
 * drawn in code use the theme's colours (canvas pixels of the axis text and grid).
 */

let ui: ServeBrowser
let sweep: { experimentId: number; runIds: number[] }
const MODEL = 'theme-model'

/** Every page of the app, with a heading that says it has drawn. */
function pages(): Array<{ name: string; hash: string; ready: (page: Page) => Promise<void> }> {
  const heading = (name: string | RegExp) => async (page: Page) => {
    await page.getByRole('heading', { name, level: 1 }).first().waitFor()
  }
  const { experimentId, runIds } = sweep
  return [
    { name: 'experiments', hash: '#/', ready: heading('Experiments') },
    {
      name: 'experiment runs table and charts',
      hash: `#/experiments/${experimentId}`,
      ready: async (page) => {
        await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('4 runs')
        if ((await page.getByRole('button', { name: 'Charts' }).getAttribute('aria-expanded')) !== 'true') await page.getByRole('button', { name: 'Charts' }).click()
        await page.locator('.chart-panel canvas').first().waitFor()
      }
    },
    { name: 'leaderboard', hash: `#/experiments/${experimentId}/leaderboard`, ready: async (page) => void (await page.getByLabel('leaderboard metric').waitFor()) },
    { name: 'run', hash: `#/runs/${runIds[0]}`, ready: async (page) => void (await page.getByTestId('chart-loss').locator('canvas').first().waitFor()) },
    {
      name: 'compare',
      hash: `#/experiments/${experimentId}/compare?runs=${runIds.join(',')}`,
      ready: async (page) => {
        await expect.poll(() => page.getByTestId('overlay-loss').getAttribute('data-runs')).toBe('4')
        await page.getByTestId('scatter').waitFor()
      }
    },
    { name: 'models', hash: '#/models', ready: async (page) => void (await page.getByRole('link', { name: MODEL }).first().waitFor()) },
    { name: 'model versions', hash: `#/models/${MODEL}`, ready: heading(MODEL) },
    { name: 'model lineage', hash: `#/models/${MODEL}/lineage`, ready: heading(MODEL) },
    { name: 'model compare', hash: `#/models/${MODEL}/compare`, ready: heading(MODEL) },
    { name: 'deployments', hash: `#/models/${MODEL}/deployments`, ready: heading(MODEL) },
    { name: 'plugins', hash: '#/plugins', ready: heading('Plugins') },
    { name: 'settings', hash: '#/settings', ready: heading('Settings') }
  ]
}

/** Opens a page and waits until it has drawn and nothing is loading. */
async function visit(page: Page, hash: string, ready: (page: Page) => Promise<void>): Promise<void> {
  await ui.go(hash)
  await ready(page)
  await expect.poll(() => page.locator('.progress').count()).toBe(0)
}

/** The share of a screenshot's pixels that are dark (luminance below 60 of 255), decoded in a blank page. */
async function darkShare(page: Page): Promise<number> {
  const png = (await page.screenshot()).toString('base64')
  const blank = await page.context().newPage()
  try {
    return await blank.evaluate(async (data) => {
      const g = globalThis as unknown as {
        Image: new () => { src: string; width: number; height: number; decode: () => Promise<void> }
        document: { createElement: (tag: 'canvas') => { width: number; height: number; getContext: (kind: '2d') => { drawImage: (image: unknown, x: number, y: number) => void; getImageData: (x: number, y: number, w: number, h: number) => { data: Uint8ClampedArray } } } }
      }
      const image = new g.Image()
      image.src = `data:image/png;base64,${data}`
      await image.decode()
      const canvas = g.document.createElement('canvas')
      canvas.width = image.width
      canvas.height = image.height
      const context = canvas.getContext('2d')
      context.drawImage(image, 0, 0)
      const pixels = context.getImageData(0, 0, image.width, image.height).data
      let dark = 0
      for (let i = 0; i < pixels.length; i += 4) if (0.2126 * pixels[i]! + 0.7152 * pixels[i + 1]! + 0.0722 * pixels[i + 2]! < 60) dark++
      return dark / (pixels.length / 4)
    }, png)
  } finally {
    await blank.close()
  }
}

const theme = (page: Page) => page.evaluate(`document.documentElement.dataset.theme`)
const bodyBackground = (page: Page) => page.evaluate(`getComputedStyle(document.body).backgroundColor`)

describe('dark mode', () => {
  beforeAll(async () => {
    ui = await openServeBrowser()
    sweep = (await seedSweeps(ui.api, ['theme-sweep'], 4))[0]!
    for (const version of ['1', '2']) {
      await ui.api('POST', '/v1/ml/models/versions', {
        model_name: MODEL,
        version,
        artifact_uri: `s3://models/${MODEL}-v${version}.safetensors`,
        source_run_id: sweep.runIds[Number(version) - 1],
        performance_metrics: { accuracy: 0.8 + Number(version) / 100 }
      })
    }
  }, 120_000)

  afterAll(async () => {
    await ui?.close()
  })

  it('follows the system setting, and the switch (system / light / dark) overrides it and is remembered', async () => {
    const { page } = ui
    await ui.go('#/')
    await page.evaluate('localStorage.clear()')
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.reload()
    await page.getByRole('heading', { name: 'Experiments', level: 1 }).waitFor()
    expect(await page.getByLabel('theme').inputValue()).toBe('system')
    expect(await theme(page)).toBe('dark')
    expect(await bodyBackground(page)).toBe('rgb(15, 18, 23)')
    // The system turns light: the page follows at once.
    await page.emulateMedia({ colorScheme: 'light' })
    await expect.poll(() => theme(page)).toBe('light')
    expect(await bodyBackground(page)).toBe('rgb(246, 247, 249)')

    await page.getByLabel('theme').selectOption('dark')
    expect(await theme(page)).toBe('dark')
    await page.reload()
    await page.getByRole('heading', { name: 'Experiments', level: 1 }).waitFor()
    expect(await page.getByLabel('theme').inputValue()).toBe('dark')
    expect(await theme(page)).toBe('dark')
    // A manual choice is not moved by the system's.
    await page.emulateMedia({ colorScheme: 'light' })
    expect(await theme(page)).toBe('dark')
    await page.getByLabel('theme').selectOption('light')
    await page.emulateMedia({ colorScheme: 'dark' })
    expect(await theme(page)).toBe('light')
    await page.getByLabel('theme').selectOption('system')
    expect(await theme(page)).toBe('dark')
  }, 60_000)

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`axe finds nothing serious or critical on any page in the ${colorScheme} theme (from the system setting)`, async () => {
      const { page } = ui
      await page.evaluate('localStorage.clear()')
      await page.emulateMedia({ colorScheme })
      const found: Record<string, unknown[]> = {}
      for (const { name, hash, ready } of pages()) {
        await visit(page, hash, ready)
        // Polled: the page takes the emulated system setting from a media-query change event.
        await expect.poll(() => theme(page)).toBe(colorScheme)
        const serious = (await axeViolations(page)).filter(isSeriousOrCritical)
        if (serious.length > 0) found[name] = serious
      }
      expect(found).toEqual({})
    }, 240_000)
  }

  it('axe finds nothing serious or critical with the switch set to dark on a light system', async () => {
    const { page } = ui
    await page.emulateMedia({ colorScheme: 'light' })
    await ui.go('#/')
    await page.getByLabel('theme').selectOption('dark')
    const found: Record<string, unknown[]> = {}
    for (const { name, hash, ready } of pages()) {
      await visit(page, hash, ready)
      expect(await theme(page)).toBe('dark')
      const serious = (await axeViolations(page)).filter(isSeriousOrCritical)
      if (serious.length > 0) found[name] = serious
    }
    expect(found).toEqual({})
    await page.getByLabel('theme').selectOption('system')
  }, 240_000)

  it("the experiments page's header at 1280 px: its actions sit together on one line, each button on one line, in the light and the dark theme", async () => {
    const { page } = ui
    await page.setViewportSize({ width: 1280, height: 900 })
    try {
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.evaluate('localStorage.clear()')
        await page.emulateMedia({ colorScheme })
        await visit(page, '#/', async (p) => void (await p.getByRole('heading', { name: 'Experiments', level: 1 }).waitFor()))
        const names = ['Import from MLflow…', 'Import review bundle…', 'Open review bundle…']
        const boxes = await Promise.all(names.map(async (name) => (await page.getByRole('button', { name, exact: true }).boundingBox())!))
        const single = await page.getByRole('button', { name: 'Import from MLflow…' }).evaluate((button) => {
          // The tests compile without the DOM's types.
          type Style = { lineHeight: string; paddingTop: string; paddingBottom: string; borderTopWidth: string; borderBottomWidth: string }
          const style = (globalThis as unknown as { getComputedStyle: (element: unknown) => Style }).getComputedStyle(button)
          return [style.lineHeight, style.paddingTop, style.paddingBottom, style.borderTopWidth, style.borderBottomWidth].reduce((sum, value) => sum + parseFloat(value), 0)
        })
        // One row: the same top; and no label broken over two lines (a button one line tall).
        for (const [i, box] of boxes.entries()) {
          expect(box.y, names[i]).toBeCloseTo(boxes[0]!.y, 0)
          expect(box.height, names[i]).toBeLessThan(single * 1.5)
        }
        // In reading order, inside the page.
        expect(boxes[0]!.x).toBeLessThan(boxes[1]!.x)
        expect(boxes[1]!.x).toBeLessThan(boxes[2]!.x)
        const header = (await page.locator('.page').first().boundingBox())!
        expect(boxes[2]!.x + boxes[2]!.width).toBeLessThanOrEqual(header.x + header.width + 0.5)
        await page.screenshot({ path: join(screenshotsDir, `ui-experiments-header-${colorScheme}.png`), clip: { x: 0, y: 0, width: 1280, height: 260 } })
        expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])
      }
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 })
      await page.emulateMedia({ colorScheme: 'light' })
    }
  }, 120_000)

  it('a dark page is dark, and charts draw their axes, text and grid in the theme colours', async () => {
    const { page } = ui
    const run = pages().find((entry) => entry.name === 'run')!
    // Following the system setting, which this test switches.
    await page.getByLabel('theme').selectOption('system')

    await page.emulateMedia({ colorScheme: 'dark' })
    await visit(page, run.hash, run.ready)
    expect(await darkShare(page)).toBeGreaterThan(0.6)
    const canvas = page.getByTestId('chart-loss').locator('canvas').first()
    // Axis labels and tick values in the dark theme's light text colour (#d5dbe5), grid in its grid colour (#2b313b).
    const lightText = await pixelsOfColor(canvas, [0xd5, 0xdb, 0xe5], 30)
    const darkGrid = await pixelsOfColor(canvas, [0x2b, 0x31, 0x3b], 12)
    const lightThemeText = await pixelsOfColor(canvas, [0x1c, 0x24, 0x30], 12)
    expect(lightText.count).toBeGreaterThan(100)
    expect(darkGrid.count).toBeGreaterThan(100)
    expect(lightThemeText.count).toBe(0)
    await page.screenshot({ path: 'test-results/ui-dark-mode-run.png', fullPage: true })

    const experiment = pages().find((entry) => entry.name === 'experiment runs table and charts')!
    await visit(page, experiment.hash, experiment.ready)
    expect(await darkShare(page)).toBeGreaterThan(0.6)
    const panelCanvas = page.locator('.chart-panel canvas').first()
    expect((await pixelsOfColor(panelCanvas, [0xd5, 0xdb, 0xe5], 30)).count).toBeGreaterThan(100)
    expect((await pixelsOfColor(panelCanvas, [0x1c, 0x24, 0x30], 12)).count).toBe(0)

    // The same chart in the light theme: dark text, no light-theme-foreign pixels.
    await page.emulateMedia({ colorScheme: 'light' })
    await visit(page, run.hash, run.ready)
    expect(await darkShare(page)).toBeLessThan(0.2)
    const lightCanvas = page.getByTestId('chart-loss').locator('canvas').first()
    expect((await pixelsOfColor(lightCanvas, [0x1c, 0x24, 0x30], 30)).count).toBeGreaterThan(100)
    expect((await pixelsOfColor(lightCanvas, [0xd5, 0xdb, 0xe5], 12)).count).toBe(0)
  }, 120_000)

  it('README pictures: the runs table grouped with its charts, in the light and the dark theme', async () => {
    const { page } = ui
    // Into docs/ only when asked (HYPERCUBE_UPDATE_DOCS=1), so a test run does not rewrite the committed pictures.
    const docs = process.env.HYPERCUBE_UPDATE_DOCS === '1' ? join(repoRoot, 'docs') : screenshotsDir
    mkdirSync(docs, { recursive: true })
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme })
      await ui.go(`#/experiments/${sweep.experimentId}?group=params.optimizer`)
      await expect.poll(() => page.locator('.group-row').count()).toBe(2)
      if ((await page.getByRole('button', { name: 'Charts' }).getAttribute('aria-expanded')) !== 'true') await page.getByRole('button', { name: 'Charts' }).click()
      await expect.poll(() => page.getByTestId('charts-scope').textContent()).toContain('in 2 groups by params.optimizer')
      await page.locator('.chart-panel canvas').first().waitFor()
      await expect.poll(() => theme(page)).toBe(colorScheme)
      // The light picture is of the grouped table (the charts folded away); the dark one shows both.
      if (colorScheme === 'light') {
        await page.getByRole('button', { name: 'Charts' }).click()
        await expect.poll(() => page.locator('.chart-panel').count()).toBe(0)
      }
      await page.screenshot({ path: join(docs, colorScheme === 'dark' ? 'dark-mode.png' : 'runs-table-grouped.png') })
      if (colorScheme === 'dark') expect(await darkShare(page)).toBeGreaterThan(0.6)
    }
  }, 60_000)
})
