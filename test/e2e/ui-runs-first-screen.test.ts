import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'
import { assertRendererBuilt, launchChromium, screenshotsDir } from './ui-harness'

/**
 * A large experiment's table shows its newest runs at once and the rest when they arrive
 * (issue 13, first paint of a 10,000-run table): reading and sending every run takes most of a
 * second, a screenful milliseconds. The browser holds the whole list's answer back until the
 * test has read what the user sees meanwhile, so the order of events is certain, not timed.
 */

const RUNS = 260
const FIRST_SCREEN = 200

let testCore: TestCore
let browser: Browser
let page: Page
let experimentId: number

beforeAll(async () => {
  assertRendererBuilt()
  testCore = await startTestCore({ http: true })
  const { experiments, runs } = testCore.core.services
  experimentId = (await experiments.create({ name: 'first-screen' })).id
  for (let i = 0; i < RUNS; i++) {
    await runs.start({ experimentId, name: `sweep-${String(i).padStart(3, '0')}`, hyperparameters: { lr: i % 2 === 0 ? '0.1' : '0.01' } })
  }
  browser = await launchChromium()
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
  await page.goto(testCore.core.ui!.loginUrl())
  await page.getByRole('heading', { name: 'Experiments' }).waitFor()
})

afterAll(async () => {
  await browser?.close()
  await testCore?.close()
})

interface ListCall {
  experimentId?: number
  limit?: number
}

/**
 * Watches the page's runs.list calls on both of serve's transports (HTTP before the WebSocket
 * is open, the WebSocket after) and lets `hold` keep a call from reaching the server until it
 * resolves. Calls are JSON in serve's wire format; runs.list's input has no tagged values.
 */
async function watchListCalls(hold: (input: ListCall) => Promise<void> | undefined): Promise<ListCall[]> {
  const asked: ListCall[] = []
  const listInput = (text: string): ListCall | null => {
    const body = JSON.parse(text) as { name?: string; input?: ListCall }
    return body.name === 'runs.list' && body.input?.experimentId === experimentId ? body.input : null
  }
  await page.route('**/ui/api/call', async (route) => {
    const input = listInput(route.request().postData() ?? '{}')
    if (input) {
      asked.push(input)
      await hold(input)
    }
    await route.continue()
  })
  await page.routeWebSocket('**/ui/ws', (ws) => {
    const server = ws.connectToServer()
    ws.onMessage(async (message) => {
      const input = listInput(String(message))
      if (input) {
        asked.push(input)
        await hold(input)
      }
      server.send(message)
    })
    server.onMessage((message) => ws.send(message))
  })
  return asked
}

async function unwatch(): Promise<void> {
  await page.unrouteAll({ behavior: 'ignoreErrors' })
}

const table = () => page.locator('[role="table"][aria-label="runs"]')
const shownNames = () => table().locator('.tbody [role="row"] [role="cell"]:nth-child(3)').allTextContents()

describe('the runs table of a large experiment', () => {
  it('shows the newest runs first, says the rest are loading, and holds back "every run" actions until they arrive', async () => {
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const asked = await watchListCalls((input) => (input.limit === undefined ? held : undefined))

    // A fresh page load, so the page's WebSocket is opened under the watch too.
    await page.goto('about:blank')
    await page.goto(`${testCore.core.http!.url}/#/experiments/${experimentId}`)
    // The first screen, while the whole list is held back.
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe(`the newest ${FIRST_SCREEN} runs so far`)
    await expect.poll(() => asked.map((input) => input.limit)).toEqual([FIRST_SCREEN, undefined])
    const names = await shownNames()
    expect(names[0]).toBe(`sweep-${RUNS - 1}`)
    expect(names.length).toBeGreaterThan(5)
    expect(await page.getByText('Loading the rest of the runs…').isVisible()).toBe(true)
    expect(await page.getByLabel('select every shown run').isDisabled()).toBe(true)
    expect(await page.getByRole('button', { name: 'Export CSV' }).isDisabled()).toBe(true)
    await page.screenshot({ path: join(screenshotsDir, 'ui-runs-first-screen-partial.png') })

    release()
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe(`${RUNS} runs`)
    expect(await page.getByText('Loading the rest of the runs…').count()).toBe(0)
    expect(await page.getByLabel('select every shown run').isDisabled()).toBe(false)
    expect(await page.getByRole('button', { name: 'Export CSV' }).isDisabled()).toBe(false)
    // Nothing moved: the first screen was the top of the whole table.
    expect((await shownNames()).slice(0, names.length)).toEqual(names)
    // The oldest run is in the table now (scrolled to the end of it).
    await table().evaluate((element) => void (element.scrollTop = element.scrollHeight))
    await expect.poll(async () => (await shownNames()).includes('sweep-000')).toBe(true)
    await unwatch()
  })

  it('loads the whole table at once for a sorted address: its top is not the newest runs', async () => {
    const asked = await watchListCalls(() => undefined)
    await page.goto('about:blank')
    await page.goto(`${testCore.core.http!.url}/#/experiments/${experimentId}?sort=name`)
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe(`${RUNS} runs`)
    expect((await shownNames())[0]).toBe('sweep-000')
    expect(asked.map((input) => input.limit)).toEqual([undefined])
    await unwatch()
  })
})
