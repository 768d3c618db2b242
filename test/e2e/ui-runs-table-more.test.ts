import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'
import { apiClient, assertRendererBuilt, axeViolations, isSeriousOrCritical, launchChromium, screenshotsDir } from './ui-harness'

/**
 * What users of MLflow, W&B and Aim expect of the runs table (issue 13, "Runs table"): tag
 * columns, column resize and reorder, tooltips on cut-off cells, run-name search, the filter
 * box's completions and its check for misspelled keys, bulk tag/delete/restore/compare, and
 * CSV/JSON export. In a real browser against `serve`; data goes in through the /v1 API and the
 * tests read what the user sees (cell values, header order and widths, the suggestion list,
 * the warning, the downloaded file).
 */

type Api = ReturnType<typeof apiClient>

let testCore: TestCore
let browser: Browser
let context: BrowserContext
let page: Page
let api: Api
let baseUrl: string

const LONG_NAME = 'resnet-152-imagenet-pretrained-with-cosine-warmup-and-label-smoothing'

/** name, params, final accuracy (null: never completes), tags. */
const RUNS: Array<{ name: string; lr: number; batch: number; accuracy: number | null; tags: Record<string, string> }> = [
  { name: 'alpha', lr: 0.1, batch: 32, accuracy: 0.81, tags: { team: 'vision', owner: 'ana' } },
  { name: 'beta', lr: 0.01, batch: 64, accuracy: 0.93, tags: { team: 'nlp' } },
  { name: 'gamma-baseline', lr: 0.001, batch: 32, accuracy: 0.88, tags: { team: 'vision' } },
  { name: 'delta-baseline', lr: 0.01, batch: 128, accuracy: 0.95, tags: {} },
  { name: LONG_NAME, lr: 0.1, batch: 64, accuracy: null, tags: { team: 'nlp' } }
]

interface Seeded {
  experimentId: number
  bulkExperimentId: number
  runIds: Record<string, number>
}
let seeded: Seeded

async function seedRuns(experimentName: string, runIds: Record<string, number>): Promise<number> {
  const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: experimentName })
  for (const [index, spec] of RUNS.entries()) {
    const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', {
      experiment_id: experiment.experiment_id,
      run_name: spec.name,
      hyperparameters: { lr: spec.lr, batch: spec.batch },
      tags: spec.tags
    })
    runIds[`${experimentName}/${spec.name}`] = run.run_id
    await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points: [{ key: 'val_loss', value: 0.5 - index * 0.05, step: 1 }] })
    if (spec.accuracy !== null) await api('POST', '/v1/ml/runs/complete', { run_id: run.run_id, status: 'completed', final_metrics: { accuracy: spec.accuracy } })
  }
  return experiment.experiment_id
}

async function seed(): Promise<Seeded> {
  const runIds: Record<string, number> = {}
  const experimentId = await seedRuns('table-more', runIds)
  const bulkExperimentId = await seedRuns('table-bulk', runIds)
  return { experimentId, bulkExperimentId, runIds }
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(screenshotsDir, `ui-runs-table-more-${name}.png`) })
}

const table = (): ReturnType<Page['locator']> => page.locator('[role="table"][aria-label="runs"]')
const header = (id: string): ReturnType<Page['locator']> => table().locator(`[role="columnheader"][data-column-id="${id}"]`)

function rowNames(): Promise<string[]> {
  return table().locator('.tbody [role="row"] [role="cell"]:nth-child(3)').allTextContents()
}

/** The column ids of the headers, left to right. */
function headerIds(): Promise<string[]> {
  return table()
    .locator('.thead [role="columnheader"]')
    .evaluateAll((elements) => elements.map((element) => element.getAttribute('data-column-id') ?? ''))
}

/** The text of one run's cell in the column with this id. */
async function cellText(runName: string, columnId: string): Promise<string> {
  const index = (await headerIds()).indexOf(columnId)
  if (index < 0) throw new Error(`no column ${columnId}`)
  return (await table().locator('.tbody [role="row"]', { has: page.getByRole('link', { name: runName, exact: true }) }).locator('[role="cell"]').nth(index).textContent()) ?? ''
}

async function openTable(experimentId: number, query = ''): Promise<void> {
  await page.goto(`${baseUrl}/#/experiments/${experimentId}${query}`)
  await expect.poll(async () => (await rowNames()).length, { timeout: 10_000 }).toBeGreaterThan(0)
}

async function setColumns(ids: string[]): Promise<void> {
  await page.locator('.column-picker summary').click()
  const picker = page.getByRole('group', { name: 'columns' })
  const ticked = picker.locator('input[type="checkbox"]:checked')
  // Untick everything, then tick the wanted ones in order (ticking appends). Clicks, not
  // uncheck(): a ticked box moves to the unticked part of the list, so its element is replaced.
  for (let count = await ticked.count(); count > 0; count = await ticked.count()) {
    await ticked.first().click()
    await expect.poll(() => ticked.count()).toBe(count - 1)
  }
  for (const id of ids) {
    await picker.getByLabel(id, { exact: true }).click()
    await expect.poll(() => picker.getByLabel(id, { exact: true }).isChecked()).toBe(true)
  }
  await page.locator('.column-picker summary').click()
}

async function applyFilter(text: string): Promise<void> {
  await page.getByLabel('filter runs').fill(text)
  await page.getByLabel('filter runs').press('Enter')
}

/** axe-core's serious and critical findings on the page as it is now. */
async function seriousAxeViolations(): Promise<Array<{ id: string; targets: string[] }>> {
  return (await axeViolations(page)).filter(isSeriousOrCritical).map(({ id, targets }) => ({ id, targets }))
}

describe('runs table: what users of MLflow, W&B and Aim expect (issue 13)', () => {
  beforeAll(async () => {
    assertRendererBuilt()
    testCore = await startTestCore({ http: true })
    baseUrl = testCore.core.http!.url
    api = apiClient(baseUrl, testCore.core.http!.token)
    seeded = await seed()
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true })
    page = await context.newPage()
    await page.goto(testCore.core.ui!.loginUrl())
    await page.getByRole('heading', { name: 'Experiments' }).waitFor()
  })

  // A fresh page per test (same session and local storage), as a user opening a new tab.
  beforeEach(async () => {
    await page.close()
    page = await context.newPage()
  })

  afterAll(async () => {
    await browser?.close()
    await testCore?.close()
  })

  it('offers tag columns in the column picker and shows each run’s tag value', async () => {
    await openTable(seeded.experimentId)
    await page.locator('.column-picker summary').click()
    const picker = page.getByRole('group', { name: 'columns' })
    const offered = await picker.locator('label').allTextContents()
    expect(offered.map((text) => text.trim()).filter((text) => text.startsWith('tags.'))).toEqual(['tags.owner', 'tags.team'])
    await picker.getByLabel('tags.team', { exact: true }).check()
    await page.locator('.column-picker summary').click()
    await expect.poll(() => cellText('alpha', 'tags.team')).toBe('vision')
    expect(await cellText('beta', 'tags.team')).toBe('nlp')
    expect(await cellText('delta-baseline', 'tags.team')).toBe('')
    // Sorting by a tag puts the runs without it last.
    await header('tags.team').getByRole('button').click()
    await expect.poll(async () => (await rowNames()).at(-1)).toBe('delta-baseline')
    expect((await rowNames()).slice(0, 2).sort()).toEqual(['beta', LONG_NAME].sort())
    await screenshot('tag-column')
  })

  it('resizes a column by dragging its header’s edge, and keeps the width across a reload (address and storage)', async () => {
    await openTable(seeded.experimentId)
    const before = (await header('params.lr').boundingBox())!
    const handle = (await table().getByRole('separator', { name: 'resize params.lr' }).boundingBox())!
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2)
    await page.mouse.down()
    await page.mouse.move(handle.x + handle.width / 2 + 90, handle.y + handle.height / 2, { steps: 8 })
    await page.mouse.up()
    await expect.poll(async () => Math.round((await header('params.lr').boundingBox())!.width)).toBe(Math.round(before.width) + 90)
    // The cells follow their header.
    const cell = table().locator('.tbody [role="row"]').first().locator('[role="cell"]').nth((await headerIds()).indexOf('params.lr'))
    expect(Math.round((await cell.boundingBox())!.width)).toBe(Math.round(before.width) + 90)
    expect(decodeURIComponent(page.url())).toContain(`w=${Math.round(before.width) + 90}:params.lr`)
    await screenshot('resized')
    await page.reload()
    await expect.poll(async () => Math.round((await header('params.lr').boundingBox())?.width ?? 0)).toBe(Math.round(before.width) + 90)
    // Once pressed, the edge takes ← and →: → widens by 10 px.
    await table().getByRole('separator', { name: 'resize params.lr' }).click()
    await page.keyboard.press('ArrowRight')
    await expect.poll(async () => Math.round((await header('params.lr').boundingBox())!.width)).toBe(Math.round(before.width) + 100)
    // From the keyboard alone: Alt+← on the focused header narrows it by 10 px.
    await header('params.lr').getByRole('button').focus()
    await page.keyboard.press('Alt+ArrowLeft')
    await page.keyboard.press('Alt+ArrowLeft')
    await expect.poll(async () => Math.round((await header('params.lr').boundingBox())!.width)).toBe(Math.round(before.width) + 80)
    expect(await header('params.lr').getAttribute('aria-sort')).toBe('none')
    await page.keyboard.press('Alt+ArrowRight')
    await page.keyboard.press('Alt+ArrowRight')
    // Another page of the same experiment without the address: the remembered width.
    await page.goto(`${baseUrl}/#/`)
    await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
    await expect.poll(async () => Math.round((await header('params.lr').boundingBox())?.width ?? 0)).toBe(Math.round(before.width) + 100)
  })

  it('reorders columns by dragging a header onto another, and from the keyboard with the column picker’s move buttons', async () => {
    await openTable(seeded.experimentId)
    await setColumns(['params.lr', 'params.batch', 'metrics.accuracy', 'metrics.val_loss'])
    await expect.poll(() => headerIds()).toEqual(['select', 'status', 'name', 'startedAt', 'duration', 'params.lr', 'params.batch', 'metrics.accuracy', 'metrics.val_loss'])
    // Drag lr onto the right half of accuracy: it goes after accuracy.
    const from = (await header('params.lr').boundingBox())!
    const onto = (await header('metrics.accuracy').boundingBox())!
    await page.mouse.move(from.x + 20, from.y + from.height / 2)
    await page.mouse.down()
    await page.mouse.move(onto.x + onto.width * 0.75, onto.y + onto.height / 2, { steps: 10 })
    await page.mouse.up()
    await expect.poll(() => headerIds()).toEqual(['select', 'status', 'name', 'startedAt', 'duration', 'params.batch', 'metrics.accuracy', 'params.lr', 'metrics.val_loss'])
    // The drag did not sort by lr.
    expect(await header('params.lr').getAttribute('aria-sort')).toBe('none')
    // The cells moved with their header: alpha's lr is 0.1, its accuracy 0.81.
    expect(await cellText('alpha', 'params.lr')).toBe('0.1')
    expect(await cellText('alpha', 'metrics.accuracy')).toBe('0.81')
    await screenshot('reordered-by-drag')

    // Keyboard: the column picker's move buttons.
    await page.locator('.column-picker summary').click()
    const picker = page.getByRole('group', { name: 'columns' })
    await picker.getByRole('button', { name: 'move metrics.val_loss left' }).focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => headerIds()).toEqual(['select', 'status', 'name', 'startedAt', 'duration', 'params.batch', 'metrics.accuracy', 'metrics.val_loss', 'params.lr'])
    await picker.getByRole('button', { name: 'move params.batch right' }).click()
    await expect.poll(() => headerIds()).toEqual(['select', 'status', 'name', 'startedAt', 'duration', 'metrics.accuracy', 'params.batch', 'metrics.val_loss', 'params.lr'])
    await screenshot('reordered-by-keyboard')
    await page.locator('.column-picker summary').click()
    // The order is in the address: a reload keeps it.
    await page.reload()
    await expect.poll(() => headerIds()).toEqual(['select', 'status', 'name', 'startedAt', 'duration', 'metrics.accuracy', 'params.batch', 'metrics.val_loss', 'params.lr'])
  })

  it('shows the full text of a cut-off cell as its tooltip, and none on a cell that fits', async () => {
    await openTable(seeded.experimentId)
    const longCell = table().locator('.tbody [role="row"]', { has: page.getByRole('link', { name: LONG_NAME }) }).locator('[role="cell"]').nth(2)
    await longCell.hover()
    await expect.poll(() => longCell.getAttribute('title')).toBe(LONG_NAME)
    // What the user sees in the cell is cut (the text is wider than the cell).
    expect(await longCell.evaluate((element) => element.scrollWidth > element.clientWidth)).toBe(true)
    const shortCell = table().locator('.tbody [role="row"]', { has: page.getByRole('link', { name: 'beta', exact: true }) }).locator('[role="cell"]').nth(2)
    await shortCell.hover()
    await expect.poll(() => shortCell.evaluate((element) => element.hasAttribute('title'))).toBe(false)
    await longCell.hover()
    await screenshot('tooltip')
  })

  it('narrows the rows to matching run names while typing, on top of the filter', async () => {
    await openTable(seeded.experimentId)
    await expect.poll(async () => (await rowNames()).length).toBe(5)
    const search = page.getByLabel('search run names')
    await search.pressSequentially('base', { delay: 40 })
    await expect.poll(async () => (await rowNames()).sort()).toEqual(['delta-baseline', 'gamma-baseline'])
    // Polled: the rows for “bas” are the same two, so they can be on screen before the last key is.
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('2 runs named like “base”')
    // Combined with the filter: baselines with accuracy above 0.9.
    await applyFilter('metrics.accuracy > 0.9')
    await expect.poll(() => rowNames()).toEqual(['delta-baseline'])
    await screenshot('name-search')
    // In the address, so a reload keeps both.
    await expect.poll(() => decodeURIComponent(page.url())).toContain('q=base')
    await page.reload()
    await expect.poll(() => rowNames()).toEqual(['delta-baseline'])
    expect(await page.getByLabel('search run names').inputValue()).toBe('base')
    await page.getByLabel('search run names').fill('')
    await expect.poll(async () => (await rowNames()).sort()).toEqual(['beta', 'delta-baseline'])
  })

  it('completes keys and operators in the filter box from the keyboard, as an ARIA combobox', async () => {
    await openTable(seeded.experimentId)
    const box = page.getByRole('combobox', { name: 'filter runs' })
    await box.click()
    await box.pressSequentially('acc')
    const options = page.getByRole('listbox', { name: 'filter suggestions' }).getByRole('option')
    await expect.poll(() => options.locator('span:first-child').allTextContents()).toEqual(['metrics.accuracy'])
    expect(await box.getAttribute('aria-expanded')).toBe('true')
    await screenshot('autocomplete-keys')
    await page.keyboard.press('ArrowDown')
    expect(await box.getAttribute('aria-activedescendant')).toBe(await options.first().getAttribute('id'))
    expect(await options.first().getAttribute('aria-selected')).toBe('true')
    await page.keyboard.press('Enter')
    await expect.poll(() => box.inputValue()).toBe('metrics.accuracy ')
    // Operators follow a field.
    await expect.poll(() => options.locator('span:first-child').allTextContents()).toEqual(['=', '!=', '<', '<=', '>', '>=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'])
    await screenshot('autocomplete-operators')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown') // the fifth: >
    await page.keyboard.press('Enter')
    await expect.poll(() => box.inputValue()).toBe('metrics.accuracy > ')
    await box.pressSequentially('0.9 a')
    await expect.poll(() => options.locator('span:first-child').allTextContents()).toEqual(['and'])
    await page.keyboard.press('Escape')
    await expect.poll(() => box.getAttribute('aria-expanded')).toBe('false')
    expect(await page.getByRole('listbox', { name: 'filter suggestions' }).count()).toBe(0)
    // Params and tags are offered too, by their key alone.
    await box.pressSequentially('nd te')
    await expect.poll(() => options.locator('span:first-child').allTextContents()).toEqual(['tags.team'])
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('Enter')
    await box.pressSequentially("= 'nlp'")
    expect(await box.inputValue()).toBe("metrics.accuracy > 0.9 and tags.team = 'nlp'")
    // Enter with no suggestion chosen applies the filter.
    await page.keyboard.press('Enter')
    await expect.poll(() => rowNames()).toEqual(['beta'])
  })

  it('keeps what is typed right after a completion is taken after the completion, even when frames are slow', async () => {
    await openTable(seeded.experimentId)
    const box = page.getByRole('combobox', { name: 'filter runs' })
    await box.click()
    await box.pressSequentially('tags.te')
    const options = page.getByRole('listbox', { name: 'filter suggestions' }).getByRole('option')
    await expect.poll(() => options.locator('span:first-child').allTextContents()).toEqual(['tags.team'])
    // A loaded machine: every animation frame comes 150 ms late, while the keys below are typed.
    await page.evaluate('window.requestAnimationFrame = (callback) => setTimeout(() => callback(performance.now()), 150)')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('Enter')
    await box.pressSequentially("= 'nlp'", { delay: 100 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await box.inputValue()).toBe("tags.team = 'nlp'")
  })

  it('axe finds nothing serious or critical with the suggestion list open, the picker’s move buttons shown and the deleted runs listed', async () => {
    await openTable(seeded.experimentId)
    const box = page.getByRole('combobox', { name: 'filter runs' })
    await box.click()
    await box.pressSequentially('metrics.')
    await page.keyboard.press('ArrowDown')
    await expect.poll(() => page.getByRole('listbox', { name: 'filter suggestions' }).getByRole('option').count()).toBe(2)
    expect(await seriousAxeViolations()).toEqual([])
    await page.keyboard.press('Escape')
    await page.locator('.column-picker summary').click()
    await expect.poll(() => page.getByRole('group', { name: 'columns' }).getByRole('button').count()).toBeGreaterThan(0)
    expect(await seriousAxeViolations()).toEqual([])
    await page.locator('.column-picker summary').click()
    await page.getByLabel('Show deleted runs').check()
    await expect.poll(() => page.getByRole('heading', { name: 'No deleted runs in this experiment' }).count()).toBe(1)
    expect(await seriousAxeViolations()).toEqual([])
  })

  it('says a filter names a key no run has, and suggests the closest one, instead of silently matching nothing', async () => {
    await openTable(seeded.experimentId)
    await applyFilter('metrics.acuracy > 0.9')
    const warning = page.getByRole('status').filter({ hasText: 'No run has' })
    await expect.poll(() => warning.textContent()).toBe('No run has metrics.acuracy — did you mean metrics.accuracy?')
    await expect.poll(() => page.getByRole('heading', { name: 'No run matches the filter' }).count()).toBe(1)
    await screenshot('misspelled-key')
    // A key nothing resembles is flagged without a guess; a correct filter shows no warning.
    await applyFilter("params.lr = 0.1 and tags.nonexistent_owner = 'x'")
    await expect.poll(() => warning.textContent()).toBe('No run has tags.nonexistent_owner, so it matches nothing.')
    await applyFilter('metrics.accuracy > 0.9')
    await expect.poll(async () => (await rowNames()).sort()).toEqual(['beta', 'delta-baseline'])
    expect(await warning.count()).toBe(0)
  })

  it('tags, deletes and restores the selected runs, and compares them', async () => {
    await openTable(seeded.bulkExperimentId)
    await setColumns(['tags.team'])
    await page.getByLabel('select alpha for comparison').check()
    await page.getByLabel('select beta for comparison').check()
    const bulk = page.getByRole('group', { name: 'bulk actions' })

    await bulk.getByRole('button', { name: 'Tag 2 runs…' }).click()
    await page.getByLabel('tag key').fill('reviewed')
    await page.getByLabel('tag value').fill('yes')
    await bulk.getByRole('button', { name: 'Add tag to 2 runs' }).click()
    await expect.poll(() => bulk.getByRole('status').textContent()).toBe('Tagged 2 runs with reviewed = yes')
    // The new tag is a column to pick, with the value on exactly the two runs.
    await page.locator('.column-picker summary').click()
    await page.getByRole('group', { name: 'columns' }).getByLabel('tags.reviewed', { exact: true }).check()
    await page.locator('.column-picker summary').click()
    await expect.poll(() => cellText('alpha', 'tags.reviewed')).toBe('yes')
    expect(await cellText('beta', 'tags.reviewed')).toBe('yes')
    expect(await cellText('gamma-baseline', 'tags.reviewed')).toBe('')
    await screenshot('bulk-tagged')

    // Compare the selection.
    await page.getByTestId('selection').getByRole('link', { name: 'Compare 2' }).click()
    await expect.poll(() => page.url()).toContain(`/experiments/${seeded.bulkExperimentId}/compare`)
    const legend = page.locator('section.panel').filter({ has: page.getByRole('heading', { name: 'Runs', exact: true }) }).locator('.legend-item')
    await expect.poll(async () => (await legend.allTextContents()).map((text) => text.trim()).sort(), { timeout: 10_000 }).toEqual(['alpha', 'beta'])
    await page.goBack()
    await expect.poll(async () => (await rowNames()).length).toBe(5)

    await bulk.getByRole('button', { name: 'Delete 2 runs' }).click()
    await expect.poll(async () => (await rowNames()).sort()).toEqual(['delta-baseline', 'gamma-baseline', LONG_NAME].sort())
    await expect.poll(() => bulk.getByRole('status').textContent()).toBe('Deleted 2 runs; "Show deleted runs" lists them for restore')
    expect(await page.getByTestId('selection').count()).toBe(0)
    await screenshot('bulk-deleted')

    await page.getByLabel('Show deleted runs').check()
    await expect.poll(async () => (await rowNames()).sort()).toEqual(['alpha', 'beta'])
    expect(await page.getByTestId('run-count').textContent()).toBe('2 deleted runs')
    await page.getByLabel('select every shown run').check()
    await screenshot('show-deleted')
    await bulk.getByRole('button', { name: 'Restore 2 runs' }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'No deleted runs in this experiment' }).count()).toBe(1)
    await page.getByLabel('Show deleted runs').uncheck()
    await expect.poll(async () => (await rowNames()).sort()).toEqual(['alpha', 'beta', 'delta-baseline', 'gamma-baseline', LONG_NAME].sort())
    expect(await cellText('alpha', 'tags.reviewed')).toBe('yes')
  })

  it('exports exactly the rows and columns the table shows, in its order, as CSV and as JSON', async () => {
    await openTable(seeded.experimentId)
    await setColumns(['metrics.accuracy', 'tags.team', 'params.lr'])
    await applyFilter('metrics.accuracy > 0.85')
    await expect.poll(async () => (await rowNames()).length).toBe(3)
    // Sort by accuracy, descending.
    await header('metrics.accuracy').getByRole('button').click()
    await header('metrics.accuracy').getByRole('button').click()
    await expect.poll(() => rowNames()).toEqual(['delta-baseline', 'beta', 'gamma-baseline'])
    await screenshot('before-export')

    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()])
    expect(csvDownload.suggestedFilename()).toBe(`experiment-${seeded.experimentId}-runs.csv`)
    const csv = readFileSync((await csvDownload.path())!, 'utf8')
    const lines = csv.trimEnd().split('\r\n')
    expect(lines[0]).toBe('status,name,startedAt,duration_ms,metrics.accuracy,tags.team,params.lr')
    const cells = lines.slice(1).map((line) => line.split(','))
    expect(cells.map((row) => [row[0], row[1], row[4], row[5], row[6]])).toEqual([
      ['completed', 'delta-baseline', '0.95', '', '0.01'],
      ['completed', 'beta', '0.93', 'nlp', '0.01'],
      ['completed', 'gamma-baseline', '0.88', 'vision', '0.001']
    ])
    for (const row of cells) {
      expect(row[2]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(row[3]).toMatch(/^\d+$/)
    }

    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()])
    expect(jsonDownload.suggestedFilename()).toBe(`experiment-${seeded.experimentId}-runs.json`)
    const json = JSON.parse(readFileSync((await jsonDownload.path())!, 'utf8')) as Array<Record<string, unknown>>
    expect(json.map((row) => Object.keys(row))).toEqual(Array(3).fill(['status', 'name', 'startedAt', 'duration_ms', 'metrics.accuracy', 'tags.team', 'params.lr']))
    expect(json.map((row) => [row.name, row['metrics.accuracy'], row['tags.team'], row['params.lr']])).toEqual([
      ['delta-baseline', 0.95, null, 0.01],
      ['beta', 0.93, 'nlp', 0.01],
      ['gamma-baseline', 0.88, 'vision', 0.001]
    ])

    // The run-name search narrows the export as it narrows the table.
    await page.getByLabel('search run names').fill('gamma')
    await expect.poll(() => rowNames()).toEqual(['gamma-baseline'])
    const [narrowed] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()])
    expect((JSON.parse(readFileSync((await narrowed.path())!, 'utf8')) as Array<{ name: string }>).map((row) => row.name)).toEqual(['gamma-baseline'])
  })
})
