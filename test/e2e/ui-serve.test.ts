import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'
import { apiClient, assertRendererBuilt, launchChromium, screenshotsDir } from './ui-harness'

/**
 * The renderer in a real browser against `serve` (the core's HTTP server with the serve-mode
 * UI), on a real PostgreSQL: data goes in through the /v1 API as a training script sends it,
 * and the test watches the views.
 */

type Api = ReturnType<typeof apiClient>

let testCore: TestCore
let browser: Browser
let context: BrowserContext
let page: Page
let api: Api
let baseUrl: string

interface Seeded {
  experimentId: number
  runIds: number[]
}
let seeded: Seeded

const LRS = ['0.1', '0.01', '0.001']

async function seed(): Promise<Seeded> {
  const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'resnet-sweep', description: 'learning-rate sweep' })
  const runIds: number[] = []
  for (let i = 0; i < 12; i++) {
    const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', {
      experiment_id: experiment.experiment_id,
      run_name: `run-${String(i).padStart(2, '0')}`,
      hyperparameters: { lr: LRS[i % 3], batch_size: 32 },
      tags: { team: i % 2 === 0 ? 'vision' : 'nlp' },
      random_seed: 1000 + i
    })
    // val_loss ends at 0.1 + i * 0.05: runs 0..3 are below 0.3.
    const points = []
    for (let step = 0; step < 50; step++) {
      points.push({ key: 'val_loss', value: 0.1 + i * 0.05 + (50 - step) / 100, step, epoch: Math.floor(step / 10) })
      points.push({ key: 'train_loss', value: 1 / (step + 1), step, epoch: Math.floor(step / 10) })
    }
    points.push({ key: 'val_loss', value: 0.1 + i * 0.05, step: 50, epoch: 5 })
    await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points })
    runIds.push(run.run_id)
  }
  await api('POST', '/v1/ml/runs/complete', {
    run_id: runIds[1],
    status: 'failed',
    error_message: 'CUDA out of memory',
    stack_trace: 'Traceback (most recent call last):\n  File "train.py", line 42, in <module>\n    loss.backward()\nRuntimeError: CUDA out of memory',
    logs: 'epoch 0: ok\nepoch 1: ok\nepoch 2: OOM',
    resources: { gpu_hours: 0.5, cpu_hours: 1.25, peak_memory_bytes: 8_000_000_000 }
  })
  await api('POST', `/v1/ml/runs/${runIds[0]}/checkpoints`, { path: 'ckpt/step-25.pt', step: 25, epoch: 2, metrics_snapshot: { val_loss: 0.35 } })
  await api('POST', `/v1/ml/runs/${runIds[0]}/checkpoints`, { path: 'ckpt/step-50.pt', step: 50, epoch: 5, metrics_snapshot: { val_loss: 0.1 }, is_best: true })
  return { experimentId: experiment.experiment_id, runIds }
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(screenshotsDir, `ui-${name}.png`) })
}

function rowNames(): Promise<string[]> {
  return page.locator('[role="table"][aria-label="runs"] [role="rowgroup"].tbody [role="row"] [role="cell"]:nth-child(3)').allTextContents()
}

async function applyFilter(text: string): Promise<void> {
  await page.getByLabel('filter runs').fill(text)
  await page.getByLabel('filter runs').press('Enter')
}

describe('the UI in a browser against serve', () => {
  beforeAll(async () => {
    assertRendererBuilt()
    testCore = await startTestCore({ http: true })
    baseUrl = testCore.core.http!.url
    api = apiClient(baseUrl, testCore.core.http!.token)
    seeded = await seed()
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
  })

  afterAll(async () => {
    await browser?.close()
    await testCore?.close()
  })

  it('signs in with the one-time URL (a session cookie), which then stops working', async () => {
    const loginUrl = testCore.core.ui!.loginUrl()
    // Without the cookie, the page says how to get in and the contract refuses calls.
    const anonymous = await fetch(`${baseUrl}/`)
    expect(anonymous.status).toBe(401)
    expect(await anonymous.text()).toContain('hypercube serve')
    const call = await fetch(`${baseUrl}/ui/api/call`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"system.status","input":{}}' })
    expect(call.status).toBe(401)

    await page.goto(loginUrl)
    expect(new URL(page.url()).search).toBe('') // the token left the URL bar
    await expect.poll(() => page.getByRole('heading', { name: 'Experiments' }).count()).toBe(1)
    const cookies = await context.cookies()
    const session = cookies.find((cookie) => cookie.name.startsWith('hypercube_session_'))
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' })

    // The same link a second time (another browser): refused.
    const again = await fetch(loginUrl, { redirect: 'manual' })
    expect(again.status).toBe(401)
    // A page on another origin cannot use the session (Origin check), even with the cookie.
    const foreign = await fetch(`${baseUrl}/ui/api/call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'http://evil.example', Cookie: `${session!.name}=${session!.value}` },
      body: '{"name":"system.status","input":{}}'
    })
    expect(foreign.status).toBe(403)
    // The cookie opens the UI routes only, not the /v1 API — but it lets the browser read the
    // API's documentation.
    const v1 = await fetch(`${baseUrl}/v1/ml/experiments`, { headers: { Cookie: `${session!.name}=${session!.value}` } })
    expect(v1.status).toBe(401)
    const openApi = await fetch(`${baseUrl}/v1/openapi.json`, { headers: { Cookie: `${session!.name}=${session!.value}` } })
    expect(openApi.status).toBe(200)
    expect(((await openApi.json()) as { paths: Record<string, unknown> }).paths["/v1/ml/metrics"]).toBeDefined()
    expect((await fetch(`${baseUrl}/v1/openapi.json`)).status).toBe(401)
    const docs = await page.goto(`${baseUrl}/v1/docs`)
    expect(docs!.status()).toBe(200)
    await expect.poll(() => page.locator('.swagger-ui').count(), { timeout: 15_000 }).toBeGreaterThan(0)
    await screenshot('api-docs')
  })

  it('lists experiments with run counts; creates, renames, archives and restores', async () => {
    await page.goto(`${baseUrl}/#/`)
    const row = page.getByTestId(`experiment-${seeded.experimentId}`)
    await expect.poll(() => row.locator('td').nth(2).textContent()).toBe('12')
    await screenshot('experiments')

    await page.getByLabel('new experiment name').fill('resnet-sweep')
    await page.getByRole('button', { name: 'Create experiment' }).click()
    // Names are unique: the refusal shows by the form.
    await expect.poll(() => page.locator('.create-form .error-note').textContent()).toMatch(/resnet-sweep|exists|unique/i)

    await page.getByLabel('new experiment name').fill('bert-finetune')
    await page.getByRole('button', { name: 'Create experiment' }).click()
    const created = page.locator('tr', { hasText: 'bert-finetune' })
    await expect.poll(() => created.count()).toBe(1)

    await created.getByRole('button', { name: 'Rename' }).click()
    await page.getByLabel('experiment name', { exact: true }).fill('bert-finetune-v2')
    await page.getByRole('button', { name: 'Save' }).click()
    const renamed = page.locator('tr', { hasText: 'bert-finetune-v2' })
    await expect.poll(() => renamed.count()).toBe(1)

    await renamed.getByRole('button', { name: 'Delete' }).click()
    await expect.poll(() => renamed.count()).toBe(0) // hidden unless deleted ones are shown
    await page.getByLabel(/Show deleted/).check()
    await expect.poll(() => renamed.locator('.badge').textContent()).toBe('deleted')
    await renamed.getByRole('button', { name: 'Restore' }).click()
    await expect.poll(() => renamed.locator('.badge').textContent()).toBe('active')
  })

  it('shows what to do in an experiment without runs: the API URL and token', async () => {
    const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'empty-experiment' })
    await page.goto(`${baseUrl}/#/experiments/${experiment.experiment_id}`)
    const empty = page.locator('.empty-state')
    await expect.poll(() => empty.textContent()).toContain('No runs in this experiment yet')
    const text = (await empty.textContent()) ?? ''
    expect(text).toContain(`${baseUrl}/v1`)
    expect(text).toContain(testCore.core.http!.token)
    await screenshot('experiment-empty')
  })

  it('shows the runs table; filters with and/or/parentheses, shows errors at their position; sorts; selects', async () => {
    await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('12 runs')
    await expect.poll(async () => (await rowNames()).length).toBe(12)

    await applyFilter("metrics.val_loss < 0.3 and params.lr = '0.001'")
    // val_loss < 0.3: runs 00..03; lr 0.001: runs 02, 05, 08, 11 → run-02.
    await expect.poll(() => rowNames()).toEqual(['run-02'])

    await applyFilter("(params.lr = '0.1' or params.lr = '0.01') and metrics.val_loss < 0.3")
    await expect.poll(async () => (await rowNames()).sort()).toEqual(['run-00', 'run-01', 'run-03'])

    await applyFilter("tags.team = 'nlp' and name LIKE 'run-0%'")
    await expect.poll(async () => (await rowNames()).sort()).toEqual(['run-01', 'run-03', 'run-05', 'run-07', 'run-09'])

    await applyFilter('metrics.val_loss < and params.lr')
    const error = page.locator('#filter-error')
    await expect.poll(() => error.textContent()).toMatch(/position 19/)
    expect(await error.locator('pre').textContent()).toContain(`${' '.repeat(19)}^`)
    expect(await page.getByLabel('filter runs').getAttribute('aria-invalid')).toBe('true')
    await screenshot('runs-filter-error')

    await page.getByRole('button', { name: 'Clear' }).first().click()
    await applyFilter('')
    await expect.poll(async () => (await rowNames()).length).toBe(12)

    // Sort by the latest val_loss, ascending then descending.
    const header = page.getByRole('columnheader', { name: /^val_loss/ })
    await header.click()
    await expect.poll(async () => (await rowNames())[0]).toBe('run-00')
    expect(await header.getAttribute('aria-sort')).toBe('ascending')
    await header.click()
    await expect.poll(async () => (await rowNames())[0]).toBe('run-11')
    // By name.
    await page.getByRole('columnheader', { name: /^Name/ }).click()
    await expect.poll(async () => (await rowNames()).slice(0, 2)).toEqual(['run-00', 'run-01'])

    // Select two runs to compare: the choice is remembered for the compare view.
    await page.getByLabel('select run-03 for comparison').check()
    await page.getByLabel('select run-07 for comparison').check()
    await expect.poll(() => page.getByTestId('selection').textContent()).toContain('2 selected')
    const stored = await page.evaluate((key) => (globalThis as unknown as { localStorage: { getItem(key: string): string | null } }).localStorage.getItem(key), `hypercube.compare.selection.${seeded.experimentId}`)
    expect(JSON.parse(stored!).sort()).toEqual([seeded.runIds[3], seeded.runIds[7]].sort())
    await screenshot('runs-table')
  })

  it('remembers the chosen columns', async () => {
    await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
    await expect.poll(async () => (await rowNames()).length).toBe(12)
    expect(await page.getByRole('columnheader', { name: /^batch_size/ }).count()).toBe(1)
    await page.locator('.column-picker summary').click()
    await page.getByRole('group', { name: 'columns' }).getByLabel('params.batch_size', { exact: true }).uncheck()
    await expect.poll(() => page.getByRole('columnheader', { name: /^batch_size/ }).count()).toBe(0)
    await page.reload()
    await expect.poll(async () => (await rowNames()).length).toBe(12)
    expect(await page.getByRole('columnheader', { name: /^batch_size/ }).count()).toBe(0)
    expect(await page.getByRole('columnheader', { name: /^lr/ }).count()).toBe(1)
  })

  it('adds a run to the open table as soon as a script starts it, and updates its metrics live', async () => {
    await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}`)
    await expect.poll(async () => (await rowNames()).length).toBe(12)
    const started = Date.now()
    const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', { experiment_id: seeded.experimentId, run_name: 'live-run', hyperparameters: { lr: '0.001' } })
    await expect.poll(async () => (await rowNames()).includes('live-run'), { timeout: 5_000, interval: 50 }).toBe(true)
    const appearedMs = Date.now() - started
    await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points: [{ key: 'val_loss', value: 0.0123, step: 1 }] })
    const liveRow = page.locator(`[role="row"][data-run-id="${run.run_id}"]`)
    await expect.poll(() => liveRow.textContent(), { timeout: 5_000, interval: 50 }).toContain('0.0123')
    console.log(`live: a new run appeared in the table ${appearedMs} ms after the API call`)
    expect(appearedMs).toBeLessThan(2_000)
  })

  it('shows a run page: summary, params, tags, error and stack trace, logs, checkpoints with the best flagged', async () => {
    await page.goto(`${baseUrl}/#/runs/${seeded.runIds[1]}`)
    await expect.poll(() => page.getByRole('heading', { name: 'run-01' }).count()).toBe(1)
    const summary = page.getByRole('region', { name: 'summary' })
    await expect.poll(() => summary.textContent()).toContain('1001') // the seed
    expect(await summary.textContent()).toContain('7.5 GiB')
    expect(await page.getByRole('region', { name: 'error' }).textContent()).toContain('RuntimeError: CUDA out of memory')
    expect(await page.getByRole('region', { name: 'logs' }).textContent()).toContain('epoch 2: OOM')
    expect(await page.getByRole('region', { name: 'parameters' }).textContent()).toContain('0.01')
    expect(await page.getByRole('region', { name: 'tags' }).textContent()).toContain('nlp')
    await expect.poll(() => page.getByTestId('chart-val_loss').getAttribute('data-total-points')).toBe('51')
    await screenshot('run-failed')

    await page.goto(`${baseUrl}/#/runs/${seeded.runIds[0]}`)
    const checkpoints = page.getByRole('region', { name: 'checkpoints' })
    await expect.poll(() => checkpoints.locator('tr.best').textContent()).toContain('ckpt/step-50.pt')
    expect(await checkpoints.locator('tr.best .badge').textContent()).toBe('best')
  })

  it("opens the links the mlflow client prints (View run / View experiment at: <tracking URI>/#/experiments/…) on Hypercube's pages", async () => {
    const mlflow = async <T,>(path: string, body: unknown): Promise<T> => api<T>('POST', `/api/2.0/mlflow/${path}`, body)
    const { experiment_id: experimentId } = await mlflow<{ experiment_id: string }>('experiments/create', { name: 'mlflow-linked' })
    const { run } = await mlflow<{ run: { info: { run_id: string } } }>('runs/create', { experiment_id: experimentId, run_name: 'linked-run' })
    const runUuid = run.info.run_id

    await page.goto(`${baseUrl}/#/experiments/${experimentId}/runs/${runUuid}`)
    await expect.poll(() => page.getByRole('heading', { name: 'linked-run' }).count()).toBe(1)
    // The run's own address replaces the link's, so Back does not bounce through it.
    expect(new URL(page.url()).hash).toMatch(/^#\/runs\/\d+$/)
    await expect.poll(() => page.locator('.breadcrumbs').textContent()).toContain('mlflow-linked')
    await screenshot('mlflow-run-link')

    await page.goto(`${baseUrl}/#/experiments/${experimentId}`)
    await expect.poll(() => page.getByRole('heading', { name: 'mlflow-linked' }).count()).toBe(1)

    await page.goto(`${baseUrl}/#/experiments/${experimentId}/runs/${'0'.repeat(32)}`)
    await expect.poll(async () => (await page.locator('.page').textContent()) ?? '').toContain(`no run with MLflow run id ${'0'.repeat(32)}`)
    expect(await page.getByRole('link', { name: `Open experiment ${experimentId}` }).count()).toBe(1)
  })

  it('grows a chart while a script logs, zooms into a range at full detail, and zooms back out', async () => {
    const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', { experiment_id: seeded.experimentId, run_name: 'long-run' })
    const batch = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ key: 'loss', value: Math.exp(-(from + i) / 3000) + ((from + i) % 7) / 100, step: from + i }))
    await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points: batch(0, 10_000) })
    await page.goto(`${baseUrl}/#/runs/${run.run_id}`)
    const chart = page.getByTestId('chart-loss')
    await expect.poll(() => chart.getAttribute('data-total-points')).toBe('10000')
    expect(await chart.getAttribute('data-mode')).toBe('buckets')
    await expect.poll(async () => Number(await chart.locator('.chart-host').getAttribute('data-drawn-points'))).toBeGreaterThan(100)

    // Live: each batch the script sends shows up without a reload.
    for (const from of [10_000, 12_000]) {
      await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points: batch(from, 2_000) })
      await expect.poll(() => chart.getAttribute('data-total-points'), { timeout: 5_000, interval: 50 }).toBe(String(from + 2_000))
    }
    await screenshot('run-chart-live')

    // Drag across the first tenth of the x axis: the chart re-reads that range from main.
    const over = chart.locator('.u-over')
    const box = (await over.boundingBox())!
    await page.mouse.move(box.x + 2, box.y + box.height / 2)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width * 0.05, box.y + box.height / 2, { steps: 5 })
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2, { steps: 5 })
    await page.mouse.up()
    await expect.poll(async () => Number(await chart.getAttribute('data-total-points'))).toBeLessThan(2_000)
    expect(Number(await chart.getAttribute('data-total-points'))).toBeGreaterThan(100)
    expect(await chart.getAttribute('data-mode')).toBe('raw')
    await screenshot('run-chart-zoomed')
    await chart.getByRole('button', { name: 'Reset zoom' }).click()
    await expect.poll(() => chart.getAttribute('data-total-points')).toBe('14000')

    // Axis, smoothing and log scale redraw the same data.
    await page.getByLabel('x-axis').selectOption('time')
    await page.getByLabel('log scale').check()
    await expect.poll(async () => Number(await chart.locator('.chart-host').getAttribute('data-drawn-points'))).toBeGreaterThan(100)
  })

  it('ranks runs on the leaderboard by any metric, either direction', async () => {
    await page.goto(`${baseUrl}/#/experiments/${seeded.experimentId}/leaderboard`)
    const table = page.getByRole('table', { name: 'leaderboard' })
    await page.getByLabel('leaderboard metric').selectOption('val_loss')
    await page.getByLabel('leaderboard order').selectOption('asc')
    await expect.poll(() => table.locator('tbody tr').first().locator('td').nth(1).textContent()).toBe('live-run')
    await page.getByLabel('leaderboard order').selectOption('desc')
    await expect.poll(() => table.locator('tbody tr').first().locator('td').nth(1).textContent()).toBe('run-11')
    await screenshot('leaderboard')
  })
})
