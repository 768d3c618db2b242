import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromBuffer as zipFromBuffer, type Entry } from 'yauzl'
import { writeSafetensors } from '../support/safetensors-writer'
import { startTestCore, type TestCore } from '../support/test-env'
import { apiClient, assertRendererBuilt, axeViolations, isSeriousOrCritical, launchChromium, repoRoot, screenshotsDir } from './ui-harness'

/**
 * Issue 14, "Artifacts", in Chromium against `serve` on a real PostgreSQL: files go in as a
 * training script sends them (PUT /v1/ml/runs/<id>/artifacts/<path>) or from the UI (file
 * picker, drag and drop), and each check reads what the screen shows after the action: the
 * image's decoded size and pixels, the JSON tree's values, CSV cells, safetensors rows, a
 * downloaded zip's members, an uploaded file in the tree with its size, a registered version on
 * the model page.
 */

/** The page's DOM as the evaluated functions use it (this file compiles without the DOM library). */
interface Context2d {
  fillStyle: string
  strokeStyle: string
  lineWidth: number
  fillRect(x: number, y: number, w: number, h: number): void
  beginPath(): void
  lineTo(x: number, y: number): void
  stroke(): void
  drawImage(image: unknown, x: number, y: number): void
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray }
}
interface PageDom {
  document: { createElement(tag: 'canvas'): { width: number; height: number; getContext(kind: '2d'): Context2d | null } }
  OffscreenCanvas: new (width: number, height: number) => { getContext(kind: '2d'): Context2d | null; convertToBlob(options: { type: string }): Promise<Blob> }
}
interface ImageElement {
  naturalWidth: number
  naturalHeight: number
  src: string
}

let testCore: TestCore
let browser: Browser
let page: Page
let api: ReturnType<typeof apiClient>
let baseUrl: string
let token: string
let runId: number
let runUuid: string
const work = join(tmpdir(), `ui-artifacts-${process.pid}`)

async function put(path: string, bytes: Uint8Array | string, target = runId): Promise<void> {
  const response = await fetch(`${baseUrl}/v1/ml/runs/${target}/artifacts/${path}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}` },
    body: typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes
  })
  if (response.status !== 201) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`)
}

async function go(hash: string): Promise<void> {
  await page.goto('about:blank')
  await page.goto(`${baseUrl}/${hash}`)
}

const browserPanel = () => page.getByRole('region', { name: 'artifacts', exact: true })

/** Opens a file of the run's tree (expanding its folders) and waits for its detail. */
async function openFile(path: string): Promise<void> {
  const folders = path.split('/').slice(0, -1)
  for (let i = 1; i <= folders.length; i++) {
    const toggle = browserPanel().locator(`[data-folder="${folders.slice(0, i).join('/')}"] > .artifact-folder-row > .artifact-folder-toggle`)
    if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click()
  }
  await browserPanel().locator(`button[data-path="${path}"]`).click()
  await expect.poll(() => browserPanel().getByTestId('artifact-path').textContent()).toBe(path)
}

function zipMembers(bytes: Buffer): Promise<Array<{ name: string; size: number }>> {
  return new Promise((resolve, reject) => {
    zipFromBuffer(bytes, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error)
      const members: Array<{ name: string; size: number }> = []
      zip.on('entry', (entry: Entry) => {
        members.push({ name: entry.fileName, size: entry.uncompressedSize })
        zip.readEntry()
      })
      zip.on('end', () => resolve(members))
      zip.on('error', reject)
      zip.readEntry()
    })
  })
}

/** A PNG drawn by the browser itself: 320×200, white, a blue 100×60 block at (20, 20) and a red falling curve. */
async function testPng(): Promise<Uint8Array> {
  const base64 = await page.evaluate(async () => {
    const dom = globalThis as unknown as PageDom
    const canvas = new dom.OffscreenCanvas(320, 200)
    const context = canvas.getContext('2d')!
    context.fillStyle = '#ffffff'
    context.fillRect(0, 0, 320, 200)
    context.fillStyle = '#0000ff'
    context.fillRect(20, 20, 100, 60)
    context.strokeStyle = '#ff0000'
    context.lineWidth = 4
    context.beginPath()
    for (let x = 20; x <= 300; x += 4) context.lineTo(x, 180 - 150 * Math.exp(-(x - 20) / 60))
    context.stroke()
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer())
    let binary = ''
    for (const byte of bytes) binary += String.fromCharCode(byte)
    return btoa(binary)
  })
  return Buffer.from(base64, 'base64')
}

describe('the artifact browser on the run page and the model version page', () => {
  beforeAll(async () => {
    assertRendererBuilt()
    mkdirSync(work, { recursive: true })
    testCore = await startTestCore({ http: true })
    baseUrl = testCore.core.http!.url
    token = testCore.core.http!.token
    api = apiClient(baseUrl, token)
    browser = await launchChromium()
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true })
    page = await context.newPage()
    page.setDefaultTimeout(15_000)
    await page.goto(testCore.core.ui!.loginUrl())
    await page.getByRole('heading', { name: 'Experiments', exact: true }).waitFor()

    const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'artifact-browser' })
    const run = await api<{ run_id: number; run_uuid: string }>('POST', '/v1/ml/runs', { experiment_id: experiment.experiment_id, run_name: 'resnet-artifacts' })
    runId = run.run_id
    runUuid = run.run_uuid
    await put('plots/confusion.png', await testPng())
    await put(
      'plots/evil.svg',
      '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10" onload="window.__pwned=1"><script>window.__pwned=2</script><rect width="20" height="10" fill="#00ff00"/></svg>'
    )
    await put('eval/metrics.json', JSON.stringify({ accuracy: 0.9375, per_class: { cat: 0.91, dog: 0.96 }, labels: ['cat', 'dog'] }))
    await put('eval/predictions.csv', 'id,label,score\n1,cat,0.91\n2,"dog, big",0.96\n3,cat,0.42\n')
    await put('README.md', '# Model card\n\nTrained **3 epochs**.\n\n<script>window.__pwned=3</script>\n\n[bad](javascript:alert(1))\n')
    await put('logs/train.log', Array.from({ length: 10_000 }, (_, i) => `epoch ${Math.floor(i / 1000)} step ${i} loss ${(1 / (i + 1)).toFixed(6)}`).join('\n'))
    const weights = join(work, 'model.safetensors')
    writeSafetensors(weights, { 'fc.weight': { dtype: 'F32', shape: [10, 4], data: new Array(40).fill(0.25) }, 'fc.bias': { dtype: 'F16', shape: [10], data: new Array(10).fill(1) } })
    await put('model/model.safetensors', new Uint8Array(readFileSync(weights)))
    await put('model/MLmodel', 'artifact_path: model\nflavors:\n  pytorch: {}\n')
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await testCore?.close()
    rmSync(work, { recursive: true, force: true })
  })

  it('shows the run folder as a tree, and previews a PNG at its natural size with its pixels drawn', async () => {
    await go(`#/runs/${runId}`)
    await expect.poll(() => browserPanel().locator('[data-folder]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-folder')))).toEqual([
      'eval',
      'logs',
      'model',
      'plots'
    ])
    await expect.poll(() => browserPanel().locator('[data-folder="plots"] .artifact-folder-toggle').textContent()).toContain('2 files')
    await openFile('plots/confusion.png')
    const image = browserPanel().getByTestId('artifact-image')
    await expect.poll(() => browserPanel().getByTestId('artifact-image-size').textContent()).toBe('320 × 200 px')
    expect(await image.evaluate((img: ImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([320, 200])
    // The pixels the page decoded: blue inside the block, white in the empty corner.
    const pixels = await image.evaluate((img: ImageElement) => {
      const canvas = (globalThis as unknown as PageDom).document.createElement('canvas')
      canvas.width = img.naturalWidth
      canvas.height = img.naturalHeight
      const context = canvas.getContext('2d')!
      context.drawImage(img, 0, 0)
      return [Array.from(context.getImageData(60, 50, 1, 1).data), Array.from(context.getImageData(310, 10, 1, 1).data)]
    })
    expect(pixels).toEqual([
      [0, 0, 255, 255],
      [255, 255, 255, 255]
    ])
    const png = await api<{ artifacts: Array<{ path: string; size_bytes: number; blake3: string }> }>('GET', `/v1/ml/runs/${runId}/artifacts`)
    const recorded = png.artifacts.find((artifact) => artifact.path === 'plots/confusion.png')!
    expect(await browserPanel().getByTestId('artifact-size').textContent()).toMatch(new RegExp(`\\(${recorded.size_bytes.toLocaleString('en-US')} bytes\\)$`))
    expect(await browserPanel().getByTestId('artifact-blake3').textContent()).toContain(recorded.blake3)
    expect(await browserPanel().getByTestId('artifact-blake3').textContent()).toMatch(/^[0-9a-f]{64}/)
    await browserPanel().screenshot({ path: join(screenshotsDir, 'ui-artifacts-image.png') })
    // The README's picture is retaken only when asked (HYPERCUBE_UPDATE_DOCS=1): a test run does not rewrite committed files.
    if (process.env.HYPERCUBE_UPDATE_DOCS === '1') {
      mkdirSync(join(repoRoot, 'docs'), { recursive: true })
      copyFileSync(join(screenshotsDir, 'ui-artifacts-image.png'), join(repoRoot, 'docs', 'artifact-browser.png'))
    }
    expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])
  })

  it('shows an SVG as an image that runs none of its script', async () => {
    await go(`#/runs/${runId}`)
    await openFile('plots/evil.svg')
    const image = browserPanel().getByTestId('artifact-image')
    await expect.poll(() => browserPanel().getByTestId('artifact-image-size').textContent()).toBe('20 × 10 px')
    expect(await image.evaluate((img: ImageElement) => img.src.startsWith('data:image/svg+xml;base64,'))).toBe(true)
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(await page.locator('svg script').count()).toBe(0)
  })

  it('previews JSON as a collapsible tree, CSV as a table, Markdown sanitized, and a log 64 KiB at a time with "Load more"', async () => {
    await go(`#/runs/${runId}`)
    await openFile('eval/metrics.json')
    const tree = browserPanel().getByTestId('json-tree')
    await expect.poll(() => tree.locator('.json-leaf[data-json-key="accuracy"]').textContent()).toBe('accuracy: 0.9375')
    expect(await tree.locator('.json-leaf[data-json-key="dog"]').textContent()).toBe('dog: 0.96')
    expect(await tree.locator('.json-leaf[data-json-key="1"]').textContent()).toBe('1: "dog"')
    const perClass = tree.locator('details[data-json-key="per_class"]')
    expect(await perClass.locator('> summary').textContent()).toBe('per_class: {2}')
    await perClass.locator('> summary').click()
    expect(await perClass.evaluate((node) => (node as unknown as { open: boolean }).open)).toBe(false)
    expect(await tree.locator('.json-leaf[data-json-key="dog"]').isVisible()).toBe(false)
    expect(await tree.locator('.json-leaf[data-json-key="accuracy"]').isVisible()).toBe(true)
    expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])

    await openFile('eval/predictions.csv')
    const table = browserPanel().getByTestId('csv-table')
    await expect.poll(() => table.locator('thead th').allTextContents()).toEqual(['id', 'label', 'score'])
    expect(await table.locator('tbody tr').evaluateAll((rows) => rows.map((row) => Array.from(row.querySelectorAll('td'), (cell) => (cell as { textContent: string | null }).textContent)))).toEqual([
      ['1', 'cat', '0.91'],
      ['2', 'dog, big', '0.96'],
      ['3', 'cat', '0.42']
    ])

    await openFile('README.md')
    const markdown = browserPanel().getByTestId('artifact-markdown')
    // Markdown.tsx renders a note's headings two levels down (h3 under the page's h2).
    await expect.poll(() => markdown.locator('h3').textContent()).toBe('Model card')
    expect(await markdown.locator('strong').textContent()).toBe('3 epochs')
    expect(await markdown.locator('script').count()).toBe(0)
    expect(await markdown.locator('a[href^="javascript:"]').count()).toBe(0)
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined()

    await openFile('logs/train.log')
    const text = browserPanel().getByTestId('artifact-text')
    await expect.poll(() => text.textContent()).toMatch(/^epoch 0 step 0 loss 1\.000000\n/)
    expect(await text.textContent()).not.toContain('step 9999 ')
    const loadMore = browserPanel().getByRole('button', { name: /^Load more/ })
    while ((await loadMore.count()) > 0) {
      const before = (await text.textContent())!.length
      await loadMore.click()
      await expect.poll(async () => (await text.textContent())!.length).toBeGreaterThan(before)
    }
    expect((await text.textContent())!.endsWith('epoch 9 step 9999 loss 0.000100')).toBe(true)
    expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])
  })

  it("lists a safetensors file's tensors (names, dtypes, shapes, sizes) from its header", async () => {
    await go(`#/runs/${runId}`)
    await openFile('model/model.safetensors')
    const rows = browserPanel().getByTestId('tensor-table').locator('tbody tr')
    await expect.poll(() => rows.evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => (td as { textContent: string | null }).textContent)))).toEqual([
      ['fc.bias', 'F16', '[10]', '20 B'],
      ['fc.weight', 'F32', '[10, 4]', '160 B']
    ])
  })

  it('verifies a file against its BLAKE3, and downloads a file and a folder as a zip', async () => {
    await go(`#/runs/${runId}`)
    await openFile('eval/metrics.json')
    await browserPanel().getByTestId('artifact-blake3').getByRole('button', { name: 'Verify' }).click()
    await expect.poll(() => browserPanel().getByTestId('artifact-verified').textContent()).toMatch(/^✓ matches/)

    const [fileDownload] = await Promise.all([page.waitForEvent('download'), browserPanel().getByTestId('artifact-detail').getByRole('link', { name: 'Download' }).click()])
    expect(fileDownload.suggestedFilename()).toBe('metrics.json')
    expect(JSON.parse(readFileSync((await fileDownload.path())!, 'utf8'))).toMatchObject({ accuracy: 0.9375 })

    const [zipDownload] = await Promise.all([page.waitForEvent('download'), browserPanel().getByRole('link', { name: 'download model as zip' }).click()])
    expect(zipDownload.suggestedFilename()).toBe('model.zip')
    expect(await zipMembers(readFileSync((await zipDownload.path())!))).toEqual([
      { name: 'MLmodel', size: 44 },
      { name: 'model.safetensors', size: expect.any(Number) }
    ])
    const [allDownload] = await Promise.all([page.waitForEvent('download'), browserPanel().getByRole('link', { name: 'Download all (zip)' }).click()])
    expect((await zipMembers(readFileSync((await allDownload.path())!))).map((member) => member.name)).toEqual([
      'README.md',
      'eval/metrics.json',
      'eval/predictions.csv',
      'logs/train.log',
      'model/MLmodel',
      'model/model.safetensors',
      'plots/confusion.png',
      'plots/evil.svg'
    ])
  })

  it('uploads with the file picker (progress shown) and by drag and drop; the files appear in the tree with their sizes', async () => {
    const experiment = await api<{ experiment_id: number }>('POST', '/v1/ml/experiments', { name: 'artifact-uploads' })
    const run = await api<{ run_id: number }>('POST', '/v1/ml/runs', { experiment_id: experiment.experiment_id, run_name: 'upload-target' })
    await go(`#/runs/${run.run_id}`)
    await expect.poll(() => browserPanel().getByTestId('artifacts-empty').textContent()).toContain(`/v1/ml/runs/${run.run_id}/artifacts/<path>`)
    const big = Buffer.alloc(8 * 1024 * 1024 + 123, 7)
    // Every value the upload's progress bar takes, as the page draws it.
    await browserPanel().evaluate((panel) => {
      const seen: number[] = []
      ;(globalThis as unknown as { __progress: number[] }).__progress = seen
      const dom = globalThis as unknown as { MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void } }
      new dom.MutationObserver(() => {
        const bar = panel.querySelector('[data-upload="weights.bin"] progress')
        const value = Number(bar?.getAttribute('value'))
        if (bar && seen.at(-1) !== value) seen.push(value)
      }).observe(panel, { subtree: true, childList: true, attributes: true, attributeFilter: ['value'] })
    })
    await browserPanel().locator('input[type="file"]').setInputFiles({ name: 'weights.bin', mimeType: 'application/octet-stream', buffer: big })
    const item = browserPanel().locator('[data-upload="weights.bin"]')
    await expect.poll(() => item.textContent(), { timeout: 60_000 }).toContain('uploaded, 8.0 MiB')
    // It moved as chunks (512 KiB each) were taken, not from nothing to done. (React may draw
    // several acknowledgements at once, so not every chunk is a separate value.)
    const progress = await page.evaluate(() => (globalThis as unknown as { __progress: number[] }).__progress)
    expect(progress[0]).toBe(0)
    expect(progress.filter((value) => value > 0 && value < big.length).length).toBeGreaterThanOrEqual(1)
    expect(progress.at(-1)).toBe(big.length)
    await expect.poll(() => browserPanel().locator('button[data-path="weights.bin"] .artifact-size').textContent()).toBe('8.0 MiB')
    await expect.poll(() => browserPanel().getByTestId('artifact-size').textContent()).toBe(`8.0 MiB (${big.length.toLocaleString('en-US')} bytes)`)

    // A drop of a file onto the run's browser, as the OS hands it to the page.
    await browserPanel().evaluate((panel) => {
      // The drag-and-drop classes of the page (this file compiles without the DOM library's).
      const dom = globalThis as unknown as {
        DataTransfer: new () => { items: { add(file: unknown): void } }
        DragEvent: new (type: string, init: { dataTransfer: unknown; bubbles: boolean; cancelable: boolean }) => Event
      }
      const transfer = new dom.DataTransfer()
      transfer.items.add(new File(['hello from a drop\n'], 'notes.txt', { type: 'text/plain' }))
      panel.dispatchEvent(new dom.DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }))
      panel.dispatchEvent(new dom.DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }))
    })
    await expect.poll(() => browserPanel().locator('button[data-path="notes.txt"] .artifact-size').textContent()).toBe('18 B')
    await expect.poll(() => browserPanel().getByTestId('artifact-text').textContent()).toBe('hello from a drop\n')
    // What the API lists is what was uploaded, with its BLAKE3.
    const listed = await api<{ artifacts: Array<{ path: string; size_bytes: number; blake3: string }> }>('GET', `/v1/ml/runs/${run.run_id}/artifacts`)
    expect(listed.artifacts.map((artifact) => [artifact.path, artifact.size_bytes])).toEqual([
      ['notes.txt', 18],
      ['weights.bin', big.length]
    ])

    // A script's upload appears on the open page once its run changes (here: it completes).
    await put('final/report.md', '# Done\n', run.run_id)
    await api('POST', '/v1/ml/runs/complete', { run_id: run.run_id, status: 'completed' })
    await expect.poll(() => browserPanel().locator('[data-folder="final"] .artifact-folder-toggle').textContent()).toContain('1 file')
  })

  it('registers a folder of the run as a model, and the version appears on the model page with its files', async () => {
    await go(`#/runs/${runId}`)
    await browserPanel().getByRole('button', { name: 'register model as model' }).click()
    const form = page.getByRole('form', { name: 'register as model' })
    expect(await form.getByLabel('folder to register').inputValue()).toBe('model')
    await form.getByLabel('model name').fill('resnet-classifier')
    await expect.poll(() => form.getByTestId('register-target').textContent()).toBe('a new model, resnet-classifier')
    await form.getByRole('button', { name: 'Register' }).click()
    await expect.poll(() => form.getByRole('status').textContent()).toContain('Registered resnet-classifier v1.')
    await form.getByRole('link', { name: 'Open the model' }).click()
    const card = page.getByRole('article', { name: 'version 1' })
    await expect.poll(() => card.locator('td.mono').first().textContent()).toBe(`runs:/${runUuid}/model`)
    expect(await card.getByRole('link', { name: `run #${runId}` }).count()).toBe(1)
    // No BLAKE3 was registered for a folder: no Verify that could only fail.
    expect(await card.getByRole('button', { name: 'Verify' }).count()).toBe(0)
    await card.getByRole('button', { name: 'Browse files' }).click()
    const files = card.getByRole('region', { name: 'files of version 1' })
    await expect.poll(() => files.locator('button[data-path]').evaluateAll((buttons) => buttons.map((button) => button.getAttribute('data-path')))).toEqual([
      'model/MLmodel',
      'model/model.safetensors'
    ])
    await files.locator('button[data-path="model/model.safetensors"]').click()
    await expect.poll(() => files.getByTestId('tensor-table').locator('tbody tr').count()).toBe(2)
    await files.getByTestId('artifact-blake3').getByRole('button', { name: 'Verify' }).click()
    await expect.poll(() => files.getByTestId('artifact-verified').textContent()).toMatch(/^✓ matches/)
    await card.screenshot({ path: join(screenshotsDir, 'ui-artifacts-version-files.png') })
    expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])

    // A second registration of another folder into the same model is its next version.
    await go(`#/runs/${runId}`)
    await browserPanel().getByRole('button', { name: 'register eval as model' }).click()
    await form.getByLabel('model name').fill('resnet-classifier')
    await expect.poll(() => form.getByTestId('register-target').textContent()).toBe('a new version of resnet-classifier')
    await form.getByRole('button', { name: 'Register' }).click()
    await expect.poll(() => form.getByRole('status').textContent()).toContain('Registered resnet-classifier v2.')
    expect((await axeViolations(page)).filter(isSeriousOrCritical)).toEqual([])
    await page.screenshot({ path: join(screenshotsDir, 'ui-artifacts-register.png'), fullPage: true })
  })
})
