import { mkdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createBLAKE3 } from 'hash-wasm'
import type { Page } from 'playwright-core'
import { expect } from 'vitest'
import { writeSafetensors } from '../support/safetensors-writer'
import { apiClient, screenshotsDir } from './ui-harness'

/**
 * The issue-7 scenarios, written once and run against both shells: the browser against
 * `serve` (ui-compare-models.test.ts) and the Electron window (ui-electron-compare-models.test.ts).
 * Data goes in through the /v1 API as a training script would send it; every UI action is
 * then checked through the /v1 API too.
 */

export type Api = ReturnType<typeof apiClient>

export interface ScenarioContext {
  page: Page
  api: Api
  /** Shows a route of the app (hash routing works the same in both shells). */
  go: (hash: string) => Promise<void>
  /** Screenshot file prefix: 'ui' for serve, 'electron' for the window. */
  shot: string
  /** Where the test may write model files. */
  workDir: string
}

async function screenshot(context: ScenarioContext, name: string): Promise<void> {
  await context.page.screenshot({ path: join(screenshotsDir, `${context.shot}-${name}.png`) })
}

async function blake3Of(path: string): Promise<string> {
  const hasher = await createBLAKE3()
  hasher.init()
  hasher.update(await readFile(path))
  return hasher.digest('hex')
}

/** Five runs: lr and layers differ, batch_size is the same everywhere; loss curves differ by run. */
export async function seedCompareExperiment(api: Api, name: string): Promise<{ experimentId: number; runIds: number[] }> {
  const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name })
  const runIds: number[] = []
  for (let i = 0; i < 5; i++) {
    const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', {
      experiment_id: experiment.experiment_id,
      run_name: `cmp-${i}`,
      hyperparameters: { lr: [0.1, 0.03, 0.01, 0.003, 0.001][i], layers: 2 + i, batch_size: 64 },
      tags: { arch: i % 2 === 0 ? 'cnn' : 'mlp' }
    })
    const points = []
    for (let step = 0; step < 40; step++) points.push({ key: 'loss', value: (1 + i) / (step + 1), step })
    points.push({ key: 'accuracy', value: 0.6 + i * 0.07, step: 39 })
    await api('POST', '/v1/ml/metrics', { run_id: run.run_id, points })
    await api('POST', '/v1/ml/runs/complete', { run_id: run.run_id, resources: { gpu_hours: 0.5 + i, cpu_hours: 1, peak_memory_bytes: 1_000_000 } })
    runIds.push(run.run_id)
  }
  return { experimentId: experiment.experiment_id, runIds }
}

/** Compare three runs: diff-only table with min/max, overlay, scatter, similar runs under each plugin, heatmap, brush. */
export async function compareThreeRuns(context: ScenarioContext, plugins: string[]): Promise<void> {
  const { page, api, go } = context
  const { experimentId, runIds } = await seedCompareExperiment(api, `compare-${context.shot}`)
  await go(`#/experiments/${experimentId}`)
  for (const name of ['cmp-0', 'cmp-2', 'cmp-4']) await page.getByLabel(`select ${name} for comparison`).check()
  await page.getByRole('link', { name: 'Compare 3' }).click()
  await expect.poll(() => page.getByRole('heading', { name: 'Compare 3 runs' }).count()).toBe(1)

  const table = page.getByTestId('compare-table')
  await expect.poll(() => table.locator('tr[data-dimension="params.batch_size"]').count()).toBe(1)
  await page.getByLabel('Show only differences').check()
  await expect.poll(() => table.locator('tr[data-dimension="params.batch_size"]').count()).toBe(0)
  // lr: cmp-0 has the highest (0.1), cmp-4 the lowest (0.001).
  const lrRow = table.locator('tr[data-dimension="params.lr"]')
  await expect.poll(() => lrRow.locator('td.is-max').textContent()).toBe('0.1')
  expect(await lrRow.locator('td.is-min').textContent()).toBe('0.001')
  expect(await table.locator('tr[data-dimension="tags.arch"]').count()).toBe(0) // cnn for all three

  // One overlay chart per metric key, each with the three runs.
  await expect.poll(() => page.getByTestId('overlay-loss').getAttribute('data-runs')).toBe('3')
  await expect.poll(() => page.getByTestId('overlay-loss').locator('canvas').count()).toBeGreaterThan(0)
  await expect.poll(() => page.getByTestId('scatter').getAttribute('data-points')).toBe('3')
  await screenshot(context, 'compare')

  // Similar runs: the four other runs of the experiment, under each plugin, nearest first.
  const distancesByPlugin: Record<string, number[]> = {}
  for (const plugin of plugins) {
    await page.getByLabel('distance plugin').selectOption(plugin)
    await page.getByLabel('similar to run').selectOption({ label: 'cmp-0' })
    await page.getByRole('button', { name: 'Find similar runs' }).click()
    const similar = page.locator(`[data-testid="similar-runs"][data-plugin="${plugin}"] tbody tr`)
    await expect.poll(() => similar.count(), { timeout: 15_000 }).toBe(4)
    const distances = (await similar.locator('td.num').allTextContents()).map(Number)
    expect(distances.every((distance) => Number.isFinite(distance) && distance >= 0)).toBe(true)
    expect([...distances].sort((a, b) => a - b)).toEqual(distances)
    // cmp-1 is nearest to cmp-0 in every param and metric.
    expect(await similar.first().locator('a').textContent()).toBe('cmp-1')
    distancesByPlugin[plugin] = distances
  }
  // Different geometries give different distances.
  expect(new Set(Object.values(distancesByPlugin).map((distances) => distances.join(','))).size).toBe(plugins.length)
  await page.getByRole('button', { name: 'Distance matrix' }).click()
  await expect.poll(() => page.getByTestId('distance-heatmap').locator('rect[data-distance]').count(), { timeout: 15_000 }).toBe(9)
  await page.getByTestId('distance-heatmap').scrollIntoViewIfNeeded()
  await screenshot(context, 'compare-similar')

  // Brush the lr axis' top half: only cmp-0 (lr 0.1) stays; the table follows.
  const brush = page.getByTestId('brush-params.lr')
  await brush.scrollIntoViewIfNeeded()
  const box = (await brush.boundingBox())!
  await page.mouse.move(box.x + box.width / 2, box.y + 2)
  await page.mouse.down()
  await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.4, { steps: 5 })
  await page.mouse.up()
  await expect.poll(() => page.getByTestId('brushed-count').textContent()).toContain('1 of 3')
  expect(await page.locator('svg.parallel polyline[data-in-brush="true"]').count()).toBe(1)
  expect(await table.locator('thead th').count()).toBe(2)
  await screenshot(context, 'compare-brush')
  // Keeping the brushed runs narrows the stored selection the runs table shows.
  await page.getByRole('button', { name: 'Keep only these in the selection' }).click()
  await expect.poll(() => page.getByRole('heading', { name: /^Compare 1 runs?$/ }).count()).toBe(1)
  await go(`#/experiments/${experimentId}`)
  await expect.poll(() => page.getByTestId('selection').textContent()).toContain('1 selected')
  expect(runIds.length).toBe(5)
}

interface RegisteredModel {
  modelName: string
  versionIds: { v1: number; v2: number; v3: number }
  runId: number
}

/** v1 → v2 (child), and v3; v1 and v2 are safetensors files with one changed, one shape-changed and one-sided tensors. */
async function registerModel(context: ScenarioContext, modelName: string): Promise<RegisteredModel> {
  const { api, workDir } = context
  mkdirSync(workDir, { recursive: true })
  const { runIds } = await seedCompareExperiment(api, `${modelName}-training`)
  const fileA = join(workDir, `${modelName}-a.safetensors`)
  const fileB = join(workDir, `${modelName}-b.safetensors`)
  writeSafetensors(fileA, {
    'encoder.weight': { dtype: 'F32', shape: [2, 2], data: [1, 2, 3, 4] },
    'encoder.bias': { dtype: 'F32', shape: [2], data: [0.5, 0.5] },
    'head.weight': { dtype: 'F32', shape: [3], data: [1, 1, 1] }
  })
  writeSafetensors(fileB, {
    'encoder.weight': { dtype: 'F32', shape: [2, 2], data: [1, 2, 3, 7] },
    'head.weight': { dtype: 'F32', shape: [4], data: [1, 1, 1, 1] },
    'decoder.weight': { dtype: 'F32', shape: [2], data: [1, 0] }
  })
  const register = (body: Record<string, unknown>) => api<{ version_id: number }>('POST', '/v1/ml/models/versions', { model_name: modelName, ...body })
  const v1 = await register({
    version: '1',
    artifact_uri: pathToFileURL(fileA).href,
    artifact_blake3: await blake3Of(fileA),
    source_run_id: runIds[0],
    performance_metrics: { accuracy: 0.81, latency_ms: 12 },
    tags: { framework: 'torch' }
  })
  const v2 = await register({
    version: '2',
    artifact_uri: pathToFileURL(fileB).href,
    artifact_blake3: await blake3Of(fileB),
    source_run_id: runIds[1],
    parent_version_id: v1.version_id,
    performance_metrics: { accuracy: 0.86, latency_ms: 14 }
  })
  const v3 = await register({ version: '3', artifact_uri: 's3://models/v3.safetensors', parent_version_id: v1.version_id, performance_metrics: { accuracy: 0.5 } })
  return { modelName, versionIds: { v1: v1.version_id, v2: v2.version_id, v3: v3.version_id }, runId: runIds[0]! }
}

async function confirmDialog(page: Page, notes?: string): Promise<void> {
  const dialog = page.getByRole('dialog')
  if (notes !== undefined) await dialog.locator('textarea').fill(notes)
  await dialog.locator('button[type="submit"]').click()
  await expect.poll(() => page.getByRole('dialog').count()).toBe(0)
}

async function review(page: Page, versionId: number, button: 'Approve' | 'Reject' | 'Deprecate', notes: string): Promise<void> {
  await page.locator(`[data-version-id="${versionId}"]`).getByRole('button', { name: button }).click()
  await confirmDialog(page, notes)
}

async function deploy(page: Page, versionId: number, options: { strategy: string; canary?: string; target?: string }): Promise<void> {
  const form = page.getByRole('form', { name: 'deploy' })
  await form.getByLabel('version to deploy').selectOption(String(versionId))
  await form.getByLabel('target').fill(options.target ?? 'production')
  await form.getByLabel('strategy').selectOption(options.strategy)
  if (options.canary) await form.getByLabel('canary traffic percent').fill(options.canary)
  await form.getByRole('button', { name: 'Deploy…' }).click()
  await confirmDialog(page)
}

/** register → approve → deploy → deploy a canary → promote → roll back; reject a version and see its deploy refused. */
export async function registryAndDeployments(context: ScenarioContext): Promise<RegisteredModel> {
  const { page, api, go } = context
  const model = await registerModel(context, `classifier-${context.shot}`)
  const { v1, v2, v3 } = model.versionIds
  await go('#/models')
  await page.getByRole('link', { name: model.modelName }).click()
  const card = (id: number) => page.locator(`[data-version-id="${id}"]`)
  // Only legal moves: a pending version offers approve and reject, nothing else.
  await expect.poll(() => card(v1).getByRole('button', { name: /^(Approve|Reject|Deprecate)$/ }).allTextContents()).toEqual(['Approve', 'Reject'])
  await review(page, v1, 'Approve', 'passes the offline eval')
  await expect.poll(() => page.getByTestId(`review-${v1}`).textContent()).toMatch(/Approved by .+ — “passes the offline eval”/)
  expect(await card(v1).getByRole('button', { name: /^(Approve|Reject|Deprecate)$/ }).allTextContents()).toEqual(['Deprecate'])
  await review(page, v2, 'Approve', 'better accuracy')
  await review(page, v3, 'Reject', 'accuracy regression')
  await expect.poll(() => page.getByTestId(`review-${v3}`).textContent()).toContain('Rejected by')
  expect(await card(v3).getByRole('button', { name: /^(Approve|Reject|Deprecate)$/ }).count()).toBe(0)
  const version3 = await api<{ approval_status: string }>('GET', `/v1/ml/models/versions/${v3}`)
  expect(version3.approval_status).toBe('rejected')
  // BLAKE3 verified against the file.
  await card(v1).getByRole('button', { name: 'Verify' }).click()
  await expect.poll(() => page.getByTestId(`verify-${v1}`).textContent()).toContain('matches')
  await screenshot(context, 'model-versions')

  await page.getByRole('link', { name: 'Lineage' }).click()
  await expect.poll(() => page.locator('.lineage li[data-version="1"] li').count()).toBe(2)
  await screenshot(context, 'model-lineage')

  await page.getByRole('link', { name: 'Deployments' }).click()
  await deploy(page, v1, { strategy: 'blue-green' })
  await expect.poll(() => page.getByTestId('current-production').textContent()).toBe('v1')
  await deploy(page, v2, { strategy: 'canary', canary: '10' })
  const production = page.locator('[data-target="production"]')
  await expect.poll(() => page.getByTestId('traffic-production').textContent()).toBe('v2 10% · v1 90%')
  await screenshot(context, 'deployments-canary')
  await production.getByRole('button', { name: 'Promote canary' }).click()
  await confirmDialog(page, 'canary healthy for an hour')
  await expect.poll(() => production.getByRole('button', { name: 'Promote canary' }).count()).toBe(0)
  expect(await page.getByTestId('current-production').textContent()).toBe('v2')
  await production.getByRole('button', { name: 'Roll back' }).click()
  await confirmDialog(page, 'p99 regression')
  await expect.poll(() => page.getByTestId('current-production').textContent()).toBe('v1')

  // The rejected version cannot go out, so it is not offered (main refuses it too).
  const offered = await page.getByRole('form', { name: 'deploy' }).getByLabel('version to deploy').locator('option').evaluateAll((options) => options.map((option) => (option as unknown as { value: string }).value))
  expect(offered.sort()).toEqual([String(v1), String(v2)].sort())
  await screenshot(context, 'deployments')

  // Every action is visible through the API.
  const deployment = await api<{ current_version_id: number; previous_version_id: number }>('GET', `/v1/ml/models/${model.modelName}/deployment?target=production`)
  expect(deployment.current_version_id).toBe(v1)
  const history = await api<Array<{ action: string; notes: string | null; actor: string | null }>>('GET', `/v1/ml/models/${model.modelName}/deployment/history`)
  const list = Array.isArray(history) ? history : ((history as unknown as { events: typeof history }).events ?? [])
  expect(list).toHaveLength(4)
  expect(list.filter((event) => event.action === 'promote')).toHaveLength(1)
  expect(list.filter((event) => event.action === 'rollback')).toHaveLength(1)
  expect(list.find((event) => event.action === 'rollback')).toMatchObject({ notes: 'p99 regression' })
  expect(list.every((event) => event.actor)).toBe(true)
  const historyRows = page.getByTestId('deployment-history').locator('tbody tr')
  expect(await historyRows.count()).toBe(4)
  return model
}

/** Two safetensors versions compared tensor by tensor, with progress pushed while it runs. */
export async function compareVersions(context: ScenarioContext, model: RegisteredModel): Promise<void> {
  const { page, go } = context
  await go(`#/models/${model.modelName}/compare`)
  await page.getByLabel('version A').selectOption({ label: 'v1' })
  await page.getByLabel('version B').selectOption({ label: 'v2' })
  await page.getByRole('button', { name: 'Compare', exact: true }).click()
  const tensors = page.getByTestId('tensor-table')
  await expect.poll(() => tensors.locator('tbody tr').count(), { timeout: 20_000 }).toBe(4)
  const status = (name: string) => tensors.locator(`tr[data-tensor="${name}"]`).getAttribute('data-status')
  expect(await status('encoder.weight')).toBe('compared')
  expect(await status('encoder.bias')).toBe('only_in_a')
  expect(await status('decoder.weight')).toBe('only_in_b')
  expect(await status('head.weight')).toBe('shape_changed')
  // encoder.weight differs by 3 in one element: L2 = L1 = 3.
  const cells = await tensors.locator('tr[data-tensor="encoder.weight"] td.num').allTextContents()
  expect(cells.slice(0, 2)).toEqual(['3', '3'])
  // Progress reached the UI as events through the contract.
  await expect.poll(() => page.getByTestId('version-comparison').getAttribute('data-progress-bytes')).not.toBe('0')
  await expect.poll(() => page.getByTestId('version-comparison').textContent()).toContain('accuracy')
  await screenshot(context, 'model-compare')
}

/** Plugins page (disable → enable) and Settings (rotate token; a bad server URL is not saved). */
export async function pluginsAndSettings(context: ScenarioContext, oldToken: string | null): Promise<void> {
  const { page, go } = context
  await go('#/plugins')
  const row = page.locator('tr[data-plugin="manhattan"]')
  await expect.poll(() => page.getByTestId('state-manhattan').textContent()).toContain('running')
  expect(await row.textContent()).toContain('verified')
  await row.getByRole('button', { name: 'Disable' }).click()
  await expect.poll(() => page.getByTestId('state-manhattan').textContent()).toContain('disabled')
  await row.getByRole('button', { name: 'Enable' }).click()
  await expect.poll(() => page.getByTestId('state-manhattan').textContent(), { timeout: 15_000 }).toContain('running')
  await screenshot(context, 'plugins')

  await go('#/settings')
  await expect.poll(() => page.getByTestId('api-token').textContent()).not.toBe('')
  const before = await page.getByTestId('api-token').textContent()
  await page.getByLabel('PostgreSQL server').check()
  await page.getByLabel('database url').fill('postgresql://nobody:wrong@127.0.0.1:1/none')
  await page.getByRole('button', { name: 'Check and save' }).click()
  await expect.poll(() => page.locator('[role="alert"]').textContent(), { timeout: 20_000 }).toContain('cannot use this server')
  await page.getByRole('button', { name: 'Rotate…' }).click()
  await confirmDialog(page)
  await expect.poll(() => page.getByTestId('api-token').textContent()).not.toBe(before)
  if (oldToken) {
    const apiUrl = (await page.locator('section[aria-label="api settings"] td.mono').first().textContent())!
    const refused = await fetch(`${apiUrl}/ml/experiments`, { headers: { Authorization: `Bearer ${oldToken}` } })
    expect(refused.status).toBe(401)
    const accepted = await fetch(`${apiUrl}/ml/experiments`, { headers: { Authorization: `Bearer ${(await page.getByTestId('api-token').textContent())!}` } })
    expect(accepted.status).toBe(200)
  }
  // The API port is saved for the next start (settings.json); an out-of-range one is refused.
  await page.getByLabel('api port').fill('80')
  await page.getByRole('button', { name: 'Save for next start' }).click()
  await expect.poll(() => page.locator('section[aria-label="api settings"] [role="alert"]').textContent()).toContain('port')
  await page.getByLabel('api port').fill('18377')
  await page.getByRole('button', { name: 'Save for next start' }).click()
  await expect.poll(() => page.getByTestId('api-port-saved').textContent()).toContain('18377')
  await screenshot(context, 'settings')
}
