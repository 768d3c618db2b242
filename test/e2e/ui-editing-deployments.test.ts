import { execFileSync } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'
import { apiClient, assertRendererBuilt, launchChromium, screenshotsDir } from './ui-harness'

/**
 * Issue 14, "Editing what users must be able to edit" and "Deployments", in Chromium against
 * `serve` on a real PostgreSQL: data goes in through /v1 as a training script sends it, every
 * action is made in the UI, and each check reads what the screen shows after it.
 */

let testCore: TestCore
let browser: Browser
let page: Page
let api: ReturnType<typeof apiClient>
let baseUrl: string
let healthServer: Server
let healthUrl: string
/** What the model's health URL answers: its latency and the throughput it reports. */
let health = { delayMs: 0, throughput: 50 }

/** Opens a route with a fresh load of the app, so each view starts from what the database holds. */
async function go(hash: string): Promise<void> {
  await page.goto('about:blank')
  await page.goto(`${baseUrl}/${hash}`)
}

async function shot(name: string, locator?: Locator): Promise<void> {
  const path = join(screenshotsDir, `ui-editing-${name}.png`)
  if (locator) await locator.screenshot({ path })
  else await page.screenshot({ path, fullPage: true })
}

async function confirmDialog(notes?: string): Promise<void> {
  const dialog = page.getByRole('dialog')
  if (notes !== undefined) await dialog.locator('textarea').fill(notes)
  await dialog.locator('button[type="submit"]').click()
  await expect.poll(() => page.getByRole('dialog').count()).toBe(0)
}

async function registerVersion(modelName: string, version: string): Promise<number> {
  const registered = await api<{ version_id: number }>('POST', '/v1/ml/models/versions', { model_name: modelName, version, artifact_uri: `s3://models/${modelName}/${version}` })
  return registered.version_id
}

/** The browser APIs pixelsNear runs in the page (this file compiles without the DOM library). */
interface PageGlobals {
  createImageBitmap(blob: Blob): Promise<{ width: number; height: number }>
  OffscreenCanvas: new (
    width: number,
    height: number
  ) => {
    getContext(kind: '2d'): { drawImage(image: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } }
  }
  __pwned?: number
}

/** Pixels of an element's screenshot near a colour, decoded by the browser itself. */
async function pixelsNear(locator: Locator, hex: string, tolerance = 60): Promise<number> {
  const png = (await locator.screenshot()).toString('base64')
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
  return page.evaluate(
    async ({ png, rgb, tolerance }) => {
      // Decoded from bytes, not fetched: the app's CSP allows no data: URLs.
      const bytes = Uint8Array.from(atob(png), (char) => char.charCodeAt(0))
      const page = globalThis as unknown as PageGlobals
      const bitmap = await page.createImageBitmap(new Blob([bytes], { type: 'image/png' }))
      const canvas = new page.OffscreenCanvas(bitmap.width, bitmap.height)
      const context = canvas.getContext('2d')!
      context.drawImage(bitmap, 0, 0)
      const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height)
      let count = 0
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i]! - rgb[0]!) + Math.abs(data[i + 1]! - rgb[1]!) + Math.abs(data[i + 2]! - rgb[2]!) <= tolerance) count++
      }
      return count
    },
    { png, rgb, tolerance }
  )
}

describe('editing runs, experiments and models, and deployments that offer only legal moves', () => {
  beforeAll(async () => {
    assertRendererBuilt()
    testCore = await startTestCore({ http: true })
    baseUrl = testCore.core.http!.url
    api = apiClient(baseUrl, testCore.core.http!.token)
    healthServer = createServer((_request, response) => {
      setTimeout(() => {
        response.setHeader('Content-Type', 'application/json')
        response.end(JSON.stringify({ throughput_rps: health.throughput }))
      }, health.delayMs)
    })
    await new Promise<void>((resolve) => healthServer.listen(0, '127.0.0.1', resolve))
    healthUrl = `http://127.0.0.1:${(healthServer.address() as AddressInfo).port}/health`
    browser = await launchChromium()
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
    await page.goto(testCore.core.ui!.loginUrl())
    await page.getByRole('heading', { name: 'Experiments', exact: true }).waitFor()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    healthServer?.close()
    await testCore?.close()
  })

  it('renames a run, edits its tags and Markdown note (no script runs), deletes and restores it', async () => {
    const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'edit-runs' })
    const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', { experiment_id: experiment.experiment_id, run_name: 'draft-run', tags: { team: 'vision' } })
    await go(`#/runs/${run.run_id}`)
    await page.getByRole('button', { name: 'Rename' }).click()
    await page.getByLabel('run name').fill('resnet50-lr-0.1')
    await page.getByRole('form', { name: 'rename run' }).getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => page.getByTestId('run-name').textContent()).toBe('resnet50-lr-0.1')
    await page.reload()
    await expect.poll(() => page.getByTestId('run-name').textContent()).toBe('resnet50-lr-0.1')

    const tags = page.getByRole('region', { name: 'tags' })
    await tags.getByLabel('tag key').fill('dataset')
    await tags.getByLabel('tag value').fill('imagenet-1k')
    await tags.getByRole('button', { name: 'Set tag' }).click()
    await expect.poll(() => tags.locator('tr[data-tag="dataset"] td.mono').textContent()).toBe('imagenet-1k')
    await tags.getByRole('button', { name: 'remove tag team' }).click()
    await expect.poll(() => tags.locator('tr[data-tag]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-tag')))).toEqual(['dataset'])

    const note = page.getByRole('region', { name: 'note' })
    await note.getByRole('button', { name: 'Add a note' }).click()
    await note
      .getByLabel('note markdown')
      .fill('# Why this run\nHalved **the learning rate** after `epoch 3`.\n- see [the paper](https://arxiv.org/abs/1512.03385)\n- <script>window.__pwned = 1</script>\n<img src="x" onerror="window.__pwned = 2">\n[bad](javascript:window.__pwned=3)')
    await note.getByRole('button', { name: 'Save note' }).click()
    const rendered = page.getByLabel('run note')
    await expect.poll(() => rendered.locator('h3').textContent()).toBe('Why this run')
    expect(await rendered.locator('strong').textContent()).toBe('the learning rate')
    expect(await rendered.locator('code').textContent()).toBe('epoch 3')
    expect(await rendered.locator('a').evaluateAll((links) => links.map((link) => link.getAttribute('href')))).toEqual(['https://arxiv.org/abs/1512.03385'])
    // The HTML is shown as the text it is: no script, image or javascript: link was created, nothing ran.
    expect(await rendered.textContent()).toContain('<script>window.__pwned = 1</script>')
    expect(await rendered.locator('script, img').count()).toBe(0)
    await page.reload()
    await expect.poll(() => page.getByLabel('run note').locator('h3').textContent()).toBe('Why this run')
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__pwned)).toBeUndefined()
    // Stored where MLflow keeps a note.
    const stored = await api<{ tags: Record<string, string> }>('GET', `/v1/ml/runs/${run.run_id}`)
    expect(stored.tags['mlflow.note.content']).toContain('# Why this run')
    await shot('run-page')

    await page.getByRole('button', { name: 'Delete…' }).click()
    await confirmDialog()
    await expect.poll(() => page.getByTestId('run-deleted').textContent()).toBe('deleted')
    await go(`#/experiments/${experiment.experiment_id}`)
    await page.getByRole('heading', { name: 'edit-runs' }).waitFor()
    await expect.poll(() => page.getByRole('link', { name: 'resnet50-lr-0.1' }).count()).toBe(0)
    await go(`#/runs/${run.run_id}`)
    await page.getByRole('button', { name: 'Restore' }).click()
    await expect.poll(() => page.getByTestId('run-deleted').count()).toBe(0)
    await go(`#/experiments/${experiment.experiment_id}`)
    await expect.poll(() => page.getByRole('link', { name: 'resnet50-lr-0.1' }).count()).toBe(1)
  }, 90_000)

  it('edits an experiment’s description and tags, finds it with the search box, deletes and restores it', async () => {
    for (const name of ['vision-baseline', 'nlp-sweep']) await api('POST', '/v1/ml/experiments', { name })
    await go('#/experiments')
    const row = (name: string) => page.locator('tr[data-testid^="experiment-"]', { hasText: name })
    await expect.poll(() => row('vision-baseline').count()).toBe(1)
    await row('vision-baseline').getByRole('button', { name: 'Edit details' }).click()
    const form = page.getByRole('form', { name: 'details of vision-baseline' })
    await form.getByLabel('experiment description').fill('ResNet baseline on ImageNet')
    await form.getByLabel('experiment tags').fill('owner=ana\npriority=high')
    await form.getByRole('button', { name: 'Save details' }).click()
    await expect.poll(() => row('vision-baseline').locator('.subtle').first().textContent()).toBe('ResNet baseline on ImageNet')
    expect(await row('vision-baseline').locator('.kv').allTextContents()).toEqual(['owner = ana', 'priority = high'])

    await page.getByLabel('search experiments').fill('NLP')
    await expect.poll(() => page.locator('tr[data-testid^="experiment-"] a').allTextContents()).toEqual(['nlp-sweep'])
    await page.getByLabel('search experiments').fill('priority=high')
    await expect.poll(() => page.locator('tr[data-testid^="experiment-"] a').allTextContents()).toEqual(['vision-baseline'])
    await shot('experiments-search')
    await page.getByLabel('search experiments').fill('')

    await row('nlp-sweep').getByRole('button', { name: 'Delete' }).click()
    await expect.poll(() => row('nlp-sweep').count()).toBe(0)
    await page.getByLabel(/Show deleted/).check()
    await expect.poll(() => row('nlp-sweep').locator('.badge').textContent()).toBe('deleted')
    await row('nlp-sweep').getByRole('button', { name: 'Restore' }).click()
    await expect.poll(() => row('nlp-sweep').locator('.badge').textContent()).toBe('active')
    // The MLflow door sees the same lifecycle.
    const experiments = await api<{ experiments: Array<{ name: string; status: string }> }>('GET', '/v1/ml/experiments')
    expect(experiments.experiments.find((experiment) => experiment.name === 'nlp-sweep')?.status).toBe('active')
  }, 60_000)

  it('searches models, sets, moves and removes an alias, reviews as the reviewer in Settings, and warns before deprecating a deployed version', async () => {
    const v1 = await registerVersion('fraud-detector', '1')
    const v2 = await registerVersion('fraud-detector', '2')
    await registerVersion('churn-model', '1')
    await go('#/models')
    await page.getByLabel('search models').fill('FRAUD')
    await expect.poll(() => page.getByRole('table', { name: 'models' }).locator('tbody a').allTextContents()).toEqual(['fraud-detector'])

    // The reviewer defaults to the OS user's full name (passwd GECOS), then follows Settings.
    await go('#/settings')
    const login = userInfo().username
    const gecos = execFileSync('getent', ['passwd', login], { encoding: 'utf8' }).split(':')[4]!.split(',')[0]!.trim()
    await expect.poll(() => page.getByTestId('reviewer-name').textContent()).toContain(`Reviews are recorded as ${gecos || login}`)
    await page.getByLabel('reviewer name').fill('Grace Hopper')
    await page.getByRole('region', { name: 'reviewer settings' }).getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => page.getByTestId('reviewer-name').textContent()).toContain('Reviews are recorded as Grace Hopper.')

    await go('#/models/fraud-detector')
    const card = (id: number) => page.locator(`[data-version-id="${id}"]`)
    for (const id of [v1, v2]) {
      await card(id).getByRole('button', { name: 'Approve' }).click()
      await confirmDialog('passes the offline eval')
    }
    await expect.poll(() => page.getByTestId(`review-${v1}`).textContent()).toMatch(/^Approved by Grace Hopper on .+ — “passes the offline eval”$/)

    await card(v1).getByLabel('alias for v1').fill('champion')
    await card(v1).getByRole('button', { name: 'Set alias' }).click()
    await expect.poll(() => card(v1).locator('[data-alias]').allTextContents()).toEqual(['@champion ×'])
    await card(v2).getByLabel('alias for v2').fill('champion')
    await expect.poll(() => card(v2).getByRole('button', { name: 'Move @champion here' }).count()).toBe(1)
    await card(v2).getByRole('button', { name: 'Move @champion here' }).click()
    await expect.poll(() => card(v2).locator('[data-alias]').allTextContents()).toEqual(['@champion ×'])
    expect(await card(v1).locator('[data-alias]').count()).toBe(0)
    await shot('model-aliases')
    await card(v2).getByRole('button', { name: 'remove alias champion' }).click()
    await expect.poll(() => card(v2).locator('[data-alias]').count()).toBe(0)

    await page.getByRole('link', { name: 'Deployments' }).click()
    await page.getByRole('form', { name: 'deploy' }).getByLabel('version to deploy').selectOption(String(v1))
    await page.getByRole('form', { name: 'deploy' }).getByRole('button', { name: 'Deploy…' }).click()
    await confirmDialog()
    await expect.poll(() => page.getByTestId('current-production').textContent()).toBe('v1')
    await page.getByRole('link', { name: 'Versions' }).click()
    await card(v1).getByRole('button', { name: 'Deprecate' }).click()
    await expect.poll(() => page.getByTestId('deprecate-deployed').textContent()).toContain('v1 is deployed on production (100% of traffic)')
    await shot('deprecate-deployed', page.getByRole('dialog'))
    await confirmDialog('superseded by v2')
    await expect.poll(() => page.getByTestId(`review-${v1}`).textContent()).toContain('deprecated by Grace Hopper')
  }, 90_000)

  it('deploys only approved versions, aborts only with a version to return to, previews and shows every move, and charts health per version', async () => {
    const model = 'ranker'
    const [v1, v2, v3, v4] = [await registerVersion(model, '1'), await registerVersion(model, '2'), await registerVersion(model, '3'), await registerVersion(model, '4')]
    await go(`#/models/${model}`)
    const card = (id: number) => page.locator(`[data-version-id="${id}"]`)
    for (const [id, button] of [
      [v1, 'Approve'],
      [v2, 'Approve'],
      [v3, 'Reject']
    ] as const) {
      await card(id).getByRole('button', { name: button }).click()
      await confirmDialog(button === 'Reject' ? 'accuracy regression' : 'ok')
    }
    await expect.poll(() => page.getByTestId(`review-${v3}`).textContent()).toContain('Rejected by')
    await page.getByRole('link', { name: 'Deployments' }).click()
    const form = page.getByRole('form', { name: 'deploy' })
    // Only approved versions are offered: not the rejected v3 nor the pending v4.
    await expect.poll(() => form.getByLabel('version to deploy').locator('option').allTextContents()).toEqual(['v2', 'v1'])
    expect(v4).toBeGreaterThan(v3)

    // A first canary has nothing to go back to: promote only, no "Abort canary … back to —".
    await form.getByLabel('version to deploy').selectOption(String(v1))
    await form.getByLabel('target').fill('staging')
    await form.getByLabel('strategy').selectOption('canary')
    await form.getByRole('button', { name: 'Deploy…' }).click()
    await confirmDialog()
    const staging = page.locator('[data-target="staging"]')
    await expect.poll(() => page.getByTestId('traffic-staging').textContent()).toBe('v1 10% (no previous version)')
    expect(await staging.locator('.actions button').allTextContents()).toEqual(['Promote canary'])

    // Production: v1 blue-green with an SLA and a health URL that is too slow and serves too little.
    health = { delayMs: 220, throughput: 8 }
    await form.getByLabel('version to deploy').selectOption(String(v1))
    await form.getByLabel('target').fill('production')
    await form.getByLabel('strategy').selectOption('blue-green')
    await form.getByLabel('sla latency p99 ms').fill('150')
    await form.getByLabel('sla throughput rps').fill('20')
    await form.getByLabel('sla availability percent').fill('99')
    await form.getByLabel('health url').fill(healthUrl)
    await form.getByRole('button', { name: 'Deploy…' }).click()
    await confirmDialog()
    await expect.poll(() => page.getByTestId('traffic-production').textContent()).toBe('v1 100%')
    for (let i = 0; i < 4; i++) await testCore.core.services.healthMonitor!.checkAll()
    await expect.poll(() => page.getByTestId('degraded-production').textContent()).toMatch(/^Degraded: p99 latency [\d.]+ ms > SLA 150 ms; throughput 8 rps < SLA 20 rps$/)
    await expect.poll(() => page.getByTestId('breaches-production').textContent()).toBe('4 of the last 4 checks of v1 missed the SLA: p99 latency 4×, throughput 4×')
    expect(await page.getByTestId('health-production').textContent()).toMatch(/^p99 latency [\d.]+ ms · throughput 8 rps · availability 100% · checked/)

    // The chart: p99 latency above its SLA line, throughput below it; blue lines and red SLA lines drawn.
    const chart = page.getByTestId('health-chart-production')
    await expect.poll(() => chart.locator('figure[data-series="latencyP99Ms"]').getAttribute('data-points')).toBe('4')
    for (const series of ['latencyP99Ms', 'throughputRps', 'availabilityPercent']) {
      const figure = chart.locator(`figure[data-series="${series}"]`)
      expect(await pixelsNear(figure.locator('svg'), '#2563eb')).toBeGreaterThan(150)
      expect(await pixelsNear(figure.locator('svg'), '#dc2626')).toBeGreaterThan(150)
    }
    const latency = chart.locator('figure[data-series="latencyP99Ms"] svg')
    const slaY = Number(await latency.locator('line[data-sla]').getAttribute('y1'))
    const lineYs = (await latency.locator('polyline').getAttribute('points'))!.split(' ').map((point) => Number(point.split(',')[1]))
    expect(lineYs.every((y) => y < slaY)).toBe(true) // above the SLA line on screen: slower than 150 ms
    await chart.scrollIntoViewIfNeeded()
    await shot('deployment-health', page.locator('[data-target="production"]'))

    // Canary v2 at 10%: its health history starts empty, and v1 keeps 90%.
    health = { delayMs: 0, throughput: 40 }
    await form.getByLabel('version to deploy').selectOption(String(v2))
    await form.getByLabel('target').fill('production')
    await form.getByLabel('strategy').selectOption('canary')
    await form.getByLabel('canary traffic percent').fill('10')
    await form.getByRole('button', { name: 'Deploy…' }).click()
    await confirmDialog()
    const production = page.locator('[data-target="production"]')
    await expect.poll(() => page.getByTestId('traffic-production').textContent()).toBe('v2 10% · v1 90%')
    expect(await page.getByTestId('health-production').textContent()).toContain('v2 not checked yet since it was deployed')
    expect(await page.getByTestId('breaches-production').count()).toBe(0)
    expect(await production.locator('.actions button').allTextContents()).toEqual(['Promote canary', 'Abort canary'])

    // Promote: the dialog says what changes before it is confirmed, the screen says what the database holds after.
    await production.getByRole('button', { name: 'Promote canary' }).click()
    expect(await page.getByTestId('planned-from').textContent()).toBe('v2 10% · v1 90%')
    expect(await page.getByTestId('planned-to').textContent()).toBe('v2 100%')
    await shot('promote-preview', page.getByRole('dialog'))
    await confirmDialog('canary healthy')
    await expect.poll(() => page.getByTestId('traffic-production').textContent()).toBe('v2 100%')
    expect(await page.getByTestId('strategy-production').textContent()).toBe('canary, promoted')
    expect(await production.textContent()).not.toContain('canary 100%')
    expect(await production.locator('.actions button').allTextContents()).toEqual(['Roll back'])
    await testCore.core.services.healthMonitor!.checkAll()
    await expect.poll(() => page.getByTestId('health-production').textContent()).toMatch(/^p99 latency [\d.]+ ms · throughput 40 rps · availability 100%/)

    // Roll back: preview, then v1 takes all traffic with a fresh health history.
    await production.getByRole('button', { name: 'Roll back' }).click()
    expect(await page.getByTestId('planned-from').textContent()).toBe('v2 100%')
    expect(await page.getByTestId('planned-to').textContent()).toBe('v1 100%')
    await confirmDialog('rolling back for the demo')
    await expect.poll(() => page.getByTestId('traffic-production').textContent()).toBe('v1 100%')
    expect(await page.getByTestId('strategy-production').textContent()).toBe('blue-green')
    expect(await page.getByTestId('current-production').textContent()).toBe('v1')
    expect(await page.getByTestId('previous-production').textContent()).toBe('v2')
    expect(await page.getByTestId('health-production').textContent()).toContain('v1 not checked yet since it was deployed')
    expect(await page.getByTestId('breaches-production').count()).toBe(0)
    await testCore.core.services.healthMonitor!.checkAll()
    await expect.poll(() => chart.locator('figure[data-series="latencyP99Ms"]').getAttribute('data-points')).toBe('1')
    expect(await page.getByTestId('breaches-production').count()).toBe(0)
    await shot('deployments-after-rollback')
  }, 120_000)
})
