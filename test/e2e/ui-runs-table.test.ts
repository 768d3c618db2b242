import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'
import { apiClient, assertRendererBuilt, axeViolations, isSeriousOrCritical, launchChromium, screenshotsDir } from './ui-harness'

/**
 * The runs table, run page and keyboard paths of issue 13 (items 2, 6, 7, 8) in a real
 * browser against `serve`: data goes in through the /v1 API, the test reads what the user
 * sees (values on screen, the focused element, the row order, axe's findings).
 */

type Api = ReturnType<typeof apiClient>

let testCore: TestCore
let browser: Browser
let context: BrowserContext
let page: Page
let api: Api
let baseUrl: string

/** Final test_accuracy per run-00..09; >0.9 for run-05..09. */
const FINAL_ACCURACY = [0.81, 0.83, 0.85, 0.87, 0.89, 0.91, 0.93, 0.95, 0.97, 0.99]

interface Seeded {
  experimentId: number
  runIds: number[]
  manyExperimentId: number
}
let seeded: Seeded

async function seed(): Promise<Seeded> {
  const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'table-sweep' })
  const runIds: number[] = []
  for (let i = 0; i < 12; i++) {
    const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', {
      experiment_id: experiment.experiment_id,
      run_name: `run-${String(i).padStart(2, '0')}`,
      hyperparameters: { lr: ['0.1', '0.01', '0.001'][i % 3], batch_size: 32, depth: 10 + i, width: 64, dropout: 0.1 }
    })
    const points = []
    for (let step = 0; step < 5; step++) points.push({ key: 'val_loss', value: 0.1 + i * 0.05 + (5 - step) / 100, step })
    // run-02 logs a test_accuracy series that ends above 0.9 but reports 0.85 at completion;
    // run-10 never completes and has only its logged series (0.92).
    if (i === 2) points.push({ key: 'test_accuracy', value: 0.96, step: 4 })
    if (i === 10) points.push({ key: 'test_accuracy', value: 0.92, step: 4 })
    await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points })
    if (i < 10) {
      await api('POST', '/v1/ml/runs/complete', {
        run_id: run.run_id,
        status: 'completed',
        final_metrics: { test_accuracy: FINAL_ACCURACY[i], test_f1: Number((FINAL_ACCURACY[i]! - 0.05).toFixed(2)) },
        logs: Array.from({ length: 60 }, (_, line) => `epoch ${line}: loss ${(1 / (line + 1)).toFixed(4)} ${'·'.repeat(120)}`).join('\n')
      })
    }
    runIds.push(run.run_id)
  }
  const many = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'many-runs' })
  for (let i = 0; i < 105; i++) {
    await api('POST', '/v1/ml/runs', { experiment_id: many.experiment_id, run_name: `many-${String(i).padStart(3, '0')}` })
  }
  return { experimentId: experiment.experiment_id, runIds, manyExperimentId: many.experiment_id }
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(screenshotsDir, `ui-runs-table-${name}.png`) })
}

const table = (): ReturnType<Page['locator']> => page.locator('[role="table"][aria-label="runs"]')

function rowNames(): Promise<string[]> {
  return table().locator('.tbody [role="row"] [role="cell"]:nth-child(3)').allTextContents()
}

/** The text of one run's cell in the column with this header. */
async function cellText(runName: string, header: string): Promise<string> {
  const headers = await table().locator('.thead [role="columnheader"]').allTextContents()
  const index = headers.findIndex((text) => text.replace(/[▲▼]/g, '').trim() === header)
  if (index < 0) throw new Error(`no column ${header} in ${JSON.stringify(headers)}`)
  return (await table().locator('.tbody [role="row"]', { hasText: runName }).locator('[role="cell"]').nth(index).textContent()) ?? ''
}

async function applyFilter(text: string): Promise<void> {
  await page.getByLabel('filter runs').fill(text)
  await page.getByLabel('filter runs').press('Enter')
}

/** What the focused element is, as a test can compare it. */
// Browser-side code as text: this file is type-checked for Node, without the DOM's types.
function focused(): Promise<{ tag: string; label: string | null; text: string; inDialog: boolean }> {
  return page.evaluate(`(() => {
    const element = document.activeElement
    return {
      tag: element ? element.tagName.toLowerCase() : 'none',
      label: element ? element.getAttribute('aria-label') : null,
      text: ((element && element.textContent) || '').trim(),
      inDialog: Boolean(element && element.closest('dialog, [role="dialog"]'))
    }
  })()`)
}

describe('runs table, run page and keyboard (issue 13 items 2, 6, 7, 8)', () => {
  beforeAll(async () => {
    assertRendererBuilt()
    testCore = await startTestCore({ http: true })
    baseUrl = testCore.core.http!.url
    api = apiClient(baseUrl, testCore.core.http!.token)
    seeded = await seed()
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
    await page.goto(testCore.core.ui!.loginUrl())
    await page.getByRole('heading', { name: 'Experiments' }).waitFor()
  })

  // Each test starts from a freshly loaded app (same session and local storage), as a user
  // opening a new tab would: what one test left in memory cannot make another pass or fail.
  beforeEach(async () => {
    await page.close()
    page = await context.newPage()
  })

  afterAll(async () => {
    await browser?.close()
    await testCore?.close()
  })

  describe('item 2: final metrics', () => {
    it('shows a run’s final metrics on its page, with their values', async () => {
      await page.goto(`${baseUrl}/#/runs/${seeded.runIds[7]}`)
      const section = page.getByRole('region', { name: 'final metrics' })
      await expect.poll(() => section.locator('tr').allTextContents(), { timeout: 10_000 }).toEqual(['test_accuracy0.95', 'test_f10.9'])
      await section.scrollIntoViewIfNeeded()
      await screenshot('final-metrics')
    })

    it('offers final metrics in the column picker and shows their values in the table (the final value wins over a logged series)', async () => {
      await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
      await expect.poll(async () => (await rowNames()).length).toBe(12)
      await page.locator('.column-picker summary').click()
      const picker = page.getByRole('group', { name: 'columns' })
      await picker.getByLabel('metrics.test_f1', { exact: true }).check()
      await page.locator('.column-picker summary').click()
      await expect.poll(() => cellText('run-07', 'test_f1')).toBe('0.9')
      // test_accuracy is offered among the first metrics: a logged series (run-02, run-10) and final values.
      expect(await cellText('run-07', 'test_accuracy')).toBe('0.95')
      expect(await cellText('run-02', 'test_accuracy')).toBe('0.85')
      expect(await cellText('run-10', 'test_accuracy')).toBe('0.92')
      expect(await cellText('run-11', 'test_accuracy')).toBe('—')
      await screenshot('final-metric-columns')
    })

    it('matches metrics.<key> against final metrics (a final value wins, else the latest logged value)', async () => {
      await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
      await expect.poll(async () => (await rowNames()).length).toBe(12)
      await applyFilter('metrics.test_accuracy > 0.9')
      await expect.poll(async () => (await rowNames()).sort()).toEqual(['run-05', 'run-06', 'run-07', 'run-08', 'run-09', 'run-10'])
      await applyFilter('metrics.test_f1 >= 0.9')
      await expect.poll(async () => (await rowNames()).sort()).toEqual(['run-07', 'run-08', 'run-09'])
    })

    it('ranks by a final metric on the leaderboard', async () => {
      await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}/leaderboard`)
      const board = page.getByRole('table', { name: 'leaderboard' })
      await expect.poll(() => page.getByLabel('leaderboard metric').locator('option').allTextContents()).toEqual(['test_accuracy', 'test_f1', 'val_loss'])
      await page.getByLabel('leaderboard metric').selectOption('test_f1')
      await page.getByLabel('leaderboard order').selectOption('desc')
      await expect.poll(() => board.locator('tbody tr').first().locator('td').nth(1).textContent()).toBe('run-09')
      expect(await board.locator('tbody tr').first().locator('td').nth(3).textContent()).toBe('0.94')
      expect(await board.locator('tbody tr').first().locator('td').nth(4).textContent()).toBe('final')
      await screenshot('leaderboard-final')
    })
  })

  describe('item 6: table state in the URL, pinned name, compare limit', () => {
    it('keeps filter, sort, columns and selection across a reload, and back/forward restore them', async () => {
      await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
      await expect.poll(async () => (await rowNames()).length).toBe(12)
      // The latest val_loss of run-i is 0.11 + 0.05 i.
      await applyFilter('metrics.val_loss < 0.5')
      await expect.poll(async () => (await rowNames()).length).toBe(8) // run-00..07
      await applyFilter('metrics.val_loss < 0.3')
      await expect.poll(async () => (await rowNames()).length).toBe(4) // run-00..03
      // Sort by name, descending (two clicks).
      const name = page.getByRole('columnheader', { name: /^Name/ })
      await name.click()
      await name.click()
      await expect.poll(() => rowNames()).toEqual(['run-03', 'run-02', 'run-01', 'run-00'])
      await page.locator('.column-picker summary').click()
      await page.getByRole('group', { name: 'columns' }).getByLabel('params.batch_size', { exact: true }).uncheck()
      await page.locator('.column-picker summary').click()
      await page.getByLabel('select run-01 for comparison').check()
      await page.getByLabel('select run-03 for comparison').check()
      await expect.poll(() => page.getByTestId('selection').textContent()).toContain('2 selected')

      // Another tab with this address, without the first tab's local storage: the URL alone.
      const shared = await context.newPage()
      await shared.goto(page.url())
      await shared.evaluate('localStorage.clear()')
      await shared.reload()
      const sharedNames = (): Promise<string[]> =>
        shared.locator('[role="table"][aria-label="runs"] .tbody [role="row"] [role="cell"]:nth-child(3)').allTextContents()
      await expect.poll(() => sharedNames()).toEqual(['run-03', 'run-02', 'run-01', 'run-00'])
      expect(await shared.getByLabel('filter runs').inputValue()).toBe('metrics.val_loss < 0.3')
      expect(await shared.getByRole('columnheader', { name: /^batch_size/ }).count()).toBe(0)
      expect(await shared.getByRole('columnheader', { name: /^lr/ }).count()).toBe(1)
      expect(await shared.getByLabel('select run-01 for comparison').isChecked()).toBe(true)
      expect(await shared.getByLabel('select run-03 for comparison').isChecked()).toBe(true)
      expect(await shared.getByTestId('selection').textContent()).toContain('2 selected')
      await shared.close()

      await page.reload()
      await expect.poll(() => rowNames()).toEqual(['run-03', 'run-02', 'run-01', 'run-00'])
      expect(await page.getByLabel('filter runs').inputValue()).toBe('metrics.val_loss < 0.3')
      expect(await page.getByRole('columnheader', { name: /^Name/ }).getAttribute('aria-sort')).toBe('descending')
      await screenshot('state-after-reload')

      // Back through the history: sort off, then the first filter.
      await page.goBack() // before the columns change
      await page.goBack() // before the second sort click
      await expect.poll(() => page.getByRole('columnheader', { name: /^Name/ }).getAttribute('aria-sort')).toBe('ascending')
      await expect.poll(() => rowNames()).toEqual(['run-00', 'run-01', 'run-02', 'run-03'])
      await page.goBack()
      await page.goBack()
      await expect.poll(() => page.getByLabel('filter runs').inputValue()).toBe('metrics.val_loss < 0.5')
      await expect.poll(async () => (await rowNames()).length).toBe(8)
      await page.goForward()
      await expect.poll(() => page.getByLabel('filter runs').inputValue()).toBe('metrics.val_loss < 0.3')
      await expect.poll(async () => (await rowNames()).length).toBe(4)
    })

    it('keeps the Name column in view when the table scrolls sideways', async () => {
      await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
      await expect.poll(async () => (await rowNames()).length).toBeGreaterThan(0)
      // Enough columns to scroll: every param and metric.
      await page.locator('.column-picker summary').click()
      const boxes = page.getByRole('group', { name: 'columns' }).locator('input[type="checkbox"]')
      for (let i = 0; i < (await boxes.count()); i++) await boxes.nth(i).check()
      await page.locator('.column-picker summary').click()
      const scroller = table()
      const scrollable = await scroller.evaluate((element) => element.scrollWidth - element.clientWidth)
      expect(scrollable).toBeGreaterThan(200)
      await scroller.evaluate((element) => (element.scrollLeft = element.scrollWidth))
      await expect.poll(() => scroller.evaluate((element) => element.scrollLeft)).toBeGreaterThan(200)
      const scrollerBox = (await scroller.boundingBox())!
      const nameCell = table().locator('.tbody [role="row"]').first().locator('[role="cell"]').nth(2)
      const name = await nameCell.textContent()
      const nameBox = (await nameCell.boundingBox())!
      // The name stays at the left edge (after the checkbox column), readable, not scrolled away.
      expect(nameBox.x).toBeGreaterThanOrEqual(scrollerBox.x)
      expect(nameBox.x + nameBox.width).toBeLessThan(scrollerBox.x + scrollerBox.width / 2)
      const atPoint = await page.evaluate(`document.elementFromPoint(${nameBox.x + 20}, ${nameBox.y + nameBox.height / 2})?.closest('[role="cell"]')?.textContent ?? null`)
      expect(atPoint).toBe(name)
      await screenshot('name-pinned')
    })

    it('says that compare takes the first 100 of a larger selection', async () => {
      await page.goto(`${baseUrl}/#/experiments/${seeded.manyExperimentId}`)
      await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('105 runs')
      await page.getByLabel('select every shown run').check()
      await expect.poll(() => page.getByTestId('selection').textContent()).toContain('105 selected')
      const link = page.getByTestId('selection').getByRole('link')
      expect(await link.textContent()).toBe('Compare first 100 of 105 selected')
      await screenshot('compare-first-100')
    })
  })

  describe('item 7: experiment names', () => {
    it('says plainly that a name is taken when renaming onto it', async () => {
      await api('POST', '/v1/ml/experiments', { name: 'taken-name' })
      const other = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'rename-me' })
      await page.goto(`${baseUrl}/#/`)
      const row = page.getByTestId(`experiment-${other.experiment_id}`)
      await row.getByRole('button', { name: 'Rename' }).click()
      await page.getByLabel('experiment name', { exact: true }).fill('taken-name')
      await page.getByRole('button', { name: 'Save' }).click()
      const note = page.locator('tr.row-error .error-note')
      await expect.poll(() => note.textContent()).toBe("an experiment named 'taken-name' already exists (name)")
      await screenshot('duplicate-name')
    })

    it('cancels an inline rename with Esc, restoring the old name', async () => {
      const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'keep-this-name' })
      await page.goto(`${baseUrl}/#/`)
      const row = page.getByTestId(`experiment-${experiment.experiment_id}`)
      await row.getByRole('button', { name: 'Rename' }).click()
      const input = row.getByLabel('experiment name', { exact: true })
      await input.fill('half-typed')
      await input.press('Escape')
      await expect.poll(() => row.getByLabel('experiment name', { exact: true }).count()).toBe(0)
      expect(await row.locator('td').first().locator('a').textContent()).toBe('keep-this-name')
      // Opening the editor again starts from the stored name, and focus went back to Rename.
      expect((await focused()).text).toBe('Rename')
      await row.getByRole('button', { name: 'Rename' }).click()
      expect(await row.getByLabel('experiment name', { exact: true }).inputValue()).toBe('keep-this-name')
      await row.getByLabel('experiment name', { exact: true }).press('Escape')
    })
  })

  describe('item 8: keyboard and accessibility', () => {
    it('sorts from the keyboard: headers are buttons reached by Tab, Enter and Space sort, aria-sort says how', async () => {
      await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
      await expect.poll(async () => (await rowNames()).length).toBe(12)
      await page.getByLabel('select every shown run').focus()
      await page.keyboard.press('Tab')
      expect(await focused()).toMatchObject({ tag: 'button', text: 'Status' })
      await page.keyboard.press('Tab')
      expect(await focused()).toMatchObject({ tag: 'button', text: 'Name' })
      await page.keyboard.press('Enter')
      await expect.poll(() => rowNames()).toEqual([...Array(12).keys()].map((i) => `run-${String(i).padStart(2, '0')}`))
      expect(await page.getByRole('columnheader', { name: /^Name/ }).getAttribute('aria-sort')).toBe('ascending')
      await page.keyboard.press('Space')
      await expect.poll(async () => (await rowNames())[0]).toBe('run-11')
      expect(await page.getByRole('columnheader', { name: /^Name/ }).getAttribute('aria-sort')).toBe('descending')
      expect(await focused()).toMatchObject({ tag: 'button', text: expect.stringMatching(/^Name/) })
    })

    it('keeps focus on a row’s checkbox when it is ticked', async () => {
      await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
      await expect.poll(async () => (await rowNames()).length).toBe(12)
      const box = page.getByLabel('select run-04 for comparison')
      await box.focus()
      await page.keyboard.press('Space')
      await expect.poll(() => box.isChecked()).toBe(true)
      expect((await focused()).label).toBe('select run-04 for comparison')
      await page.keyboard.press('Space')
      await expect.poll(() => box.isChecked()).toBe(false)
      expect((await focused()).label).toBe('select run-04 for comparison')
      await box.click()
      await expect.poll(() => box.isChecked()).toBe(true)
      expect((await focused()).label).toBe('select run-04 for comparison')
    })

    it('the rotate-token dialog takes focus, keeps Tab inside, closes on Esc and gives focus back', async () => {
      await page.goto(`${baseUrl}/#/settings`)
      const token = page.getByTestId('api-token')
      await expect.poll(() => token.textContent()).toBe(testCore.core.http!.token)
      const rotate = page.getByRole('button', { name: 'Rotate…' })
      await rotate.click()
      const dialog = page.getByRole('dialog', { name: 'Rotate the API token' })
      await expect.poll(() => dialog.isVisible()).toBe(true)
      expect(await focused()).toMatchObject({ inDialog: true, text: 'Cancel' })
      await screenshot('rotate-dialog')
      for (let i = 0; i < 5; i++) {
        await page.keyboard.press('Tab')
        expect((await focused()).inDialog).toBe(true)
      }
      await page.keyboard.press('Shift+Tab')
      expect((await focused()).inDialog).toBe(true)
      await page.keyboard.press('Escape')
      await expect.poll(() => dialog.count()).toBe(0)
      expect(await focused()).toMatchObject({ tag: 'button', text: 'Rotate…' })
      expect(await token.textContent()).toBe(testCore.core.http!.token) // nothing rotated
    })

    it('axe finds no link-in-text-block or scrollable-region-focusable problems, nor anything serious or critical, on the run and experiment pages', async () => {
      const found: Array<{ page: string; id: string; impact: string | null; targets: string[] }> = []
      const check = async (name: string): Promise<void> => {
        for (const violation of await axeViolations(page)) {
          if (isSeriousOrCritical(violation) || ['link-in-text-block', 'scrollable-region-focusable'].includes(violation.id)) {
            found.push({ page: name, ...violation })
          }
        }
      }
      await page.goto(`${baseUrl}/#/runs/${seeded.runIds[3]}`)
      await expect.poll(() => page.getByRole('region', { name: 'logs' }).textContent()).toContain('epoch 59')
      await expect.poll(() => page.locator('.breadcrumbs').textContent()).toContain('table-sweep')
      await check('run')
      await screenshot('run-page-axe')

      await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
      await expect.poll(async () => (await rowNames()).length).toBe(12)
      await check('experiment')
      expect(found).toEqual([])
    })
  })
})
