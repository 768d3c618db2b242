import { describe, expect, it } from 'vitest'
import { decideNavigation, decideReviewNavigation, reviewOrigin } from '../../src/main/desktop/navigation-policy'
import { chosenBundle, planReviewWindow, reviewBundleDialog } from '../../src/main/desktop/review-window'

/** File → Open Review Bundle…: the decisions the Electron glue (src/main/index.ts) follows, under Node. */

describe('File → Open Review Bundle…', () => {
  it('asks for one .hcube file (or any file: a renamed bundle is still checked against its manifest)', () => {
    const dialog = reviewBundleDialog()
    expect(dialog.properties).toEqual(['openFile'])
    expect(dialog.filters[0]).toEqual({ name: 'Review bundles', extensions: ['hcube'] })
    expect(dialog.title).toBe('Open Review Bundle')
  })

  it('takes the chosen file, and nothing when the user cancelled', () => {
    expect(chosenBundle({ canceled: false, filePaths: ['/home/me/sweep.hcube'] })).toBe('/home/me/sweep.hcube')
    expect(chosenBundle({ canceled: true, filePaths: ['/home/me/sweep.hcube'] })).toBeNull()
    expect(chosenBundle({ canceled: false, filePaths: [] })).toBeNull()
  })

  it("plans a window on the review's loopback server, loading its one-time login URL", () => {
    expect(planReviewWindow('/home/me/sweep.hcube', { origin: 'http://127.0.0.1:41234', loginUrl: 'http://127.0.0.1:41234/?login=abc' })).toEqual({
      origin: 'http://127.0.0.1:41234',
      url: 'http://127.0.0.1:41234/?login=abc',
      title: 'Review — sweep.hcube (read-only)'
    })
  })

  it('refuses a window on anything but a loopback http server, or a login URL off the review’s own origin', () => {
    for (const origin of ['https://127.0.0.1:41234', 'http://10.0.0.5:41234', 'http://example.com:41234', 'http://127.0.0.1', 'app://hypercube']) {
      expect(() => planReviewWindow('/x.hcube', { origin, loginUrl: `${origin}/?login=abc` }), origin).toThrow(/not served on a loopback address/)
    }
    expect(() => planReviewWindow('/x.hcube', { origin: 'http://127.0.0.1:41234', loginUrl: 'http://127.0.0.1:9999/?login=abc' })).toThrow(/not on its own server/)
  })
})

describe("navigation policy of a review's window", () => {
  const origin = 'http://127.0.0.1:41234'

  it('knows a review origin only as http on a loopback address with a port', () => {
    expect(reviewOrigin('http://127.0.0.1:41234/?login=abc')).toBe(origin)
    expect(reviewOrigin('http://[::1]:41234/')).toBe('http://[::1]:41234')
    for (const url of ['https://127.0.0.1:41234/', 'http://127.0.0.1/', 'http://evil.example:41234/', 'http://user:pw@127.0.0.1:41234/', 'app://hypercube/index.html', 'not a url']) {
      expect(reviewOrigin(url), url).toBeNull()
    }
  })

  it("allows the review's own pages (the login redirect, its views) and nothing else", () => {
    expect(decideReviewNavigation('http://127.0.0.1:41234/', origin)).toEqual({ allow: true, openExternally: null })
    expect(decideReviewNavigation('http://127.0.0.1:41234/#/experiments/1', origin)).toEqual({ allow: true, openExternally: null })
    // The app's own page would hand a review page the bridge to the workspace's core: never.
    expect(decideReviewNavigation('app://hypercube/index.html', origin)).toEqual({ allow: false, openExternally: null })
    // Another loopback server (the workspace's API, another review) is not this review.
    expect(decideReviewNavigation('http://127.0.0.1:8377/v1/docs', origin)).toEqual({ allow: false, openExternally: null })
    expect(decideReviewNavigation('http://localhost:41234/', origin)).toEqual({ allow: false, openExternally: null })
    // An https link goes to the browser, as from the app's window.
    expect(decideReviewNavigation('https://mlflow.org/docs/latest/', origin)).toEqual({ allow: false, openExternally: 'https://mlflow.org/docs/latest/' })
  })

  it("leaves the app's window as it was: a review origin is no page of the app", () => {
    expect(decideNavigation('http://127.0.0.1:41234/')).toEqual({ allow: false, openExternally: null })
  })
})
