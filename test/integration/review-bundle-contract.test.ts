import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallName, CallResults } from '../../src/shared/contract'
import { verifyBundle } from '../../src/main/bundle/bundle-archive'
import { writeExperimentBundle } from '../support/bundle-files'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * Review bundles through the window's contract and serve mode's download route, below the UI
 * (issue 15): bad input named by its field, the export saved by main where the user chose (the
 * desktop app's path) and downloaded once by URL (serve mode's), an unreadable upload refused as the
 * file's fault, and a review that refuses what would write or open another review.
 */
describe('review bundles through the contract', () => {
  let test: TestCore
  let work: string
  let bundle: string
  let experimentId: number
  let baseUrl: string
  let cookie: string
  /** The fake "where to save" of the desktop app: what it answers, and the names it was offered. */
  let chooser: { answer: string | null; asked: string[] } = { answer: null, asked: [] }

  async function invoke<Name extends CallName>(name: Name, input: unknown): Promise<CallResults[Name]> {
    const outcome = await test.core.contract.dispatch(name, input)
    if (!outcome.ok) throw Object.assign(new Error(outcome.error.message), outcome.error)
    return outcome.value as CallResults[Name]
  }

  async function refusal(name: CallName, input: unknown): Promise<{ code: string; field?: string; message: string }> {
    const outcome = await test.core.contract.dispatch(name, input)
    if (outcome.ok) throw new Error(`${name} was not refused`)
    return outcome.error
  }

  /** Uploads bytes as a bundle, in chunks as the window does; answers its staged id. */
  async function upload(name: string, bytes: Buffer): Promise<string> {
    const { uploadId } = await invoke('bundles.uploadBegin', { name, sizeBytes: bytes.length })
    const chunk = 512 * 1024
    for (let offset = 0; offset < bytes.length; offset += chunk) await invoke('bundles.uploadChunk', { uploadId, offset, base64: bytes.subarray(offset, offset + chunk).toString('base64') })
    return (await invoke('bundles.uploadFinish', { uploadId })).bundleId
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'hypercube-bundle-contract-'))
    test = await startTestCore({
      http: true,
      chooseExportPath: async (fileName) => {
        chooser.asked.push(fileName)
        return chooser.answer
      }
    })
    bundle = join(work, 'sweep.hcube')
    await writeExperimentBundle(test.core, bundle, 'sweep', 2, 30)
    experimentId = (await test.core.services.experiments.findByName('sweep'))!.id
    baseUrl = test.core.http!.url
    const login = await fetch(test.core.ui!.loginUrl(), { redirect: 'manual' })
    cookie = login.headers.get('set-cookie')!.split(';')[0]!
  }, 120_000)

  afterAll(async () => {
    await test?.close()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('names the field of bad input', async () => {
    expect(await refusal('bundles.estimate', { experimentId: 'x' })).toMatchObject({ code: 'invalid_argument', field: 'experimentId' })
    expect(await refusal('bundles.estimate', { experimentId: 999_999 })).toMatchObject({ code: 'not_found', field: 'experiment' })
    expect(await refusal('bundles.export', { experimentId, artifacts: 'yes', requestId: 'r' })).toMatchObject({ code: 'invalid_argument', field: 'artifacts' })
    expect(await refusal('bundles.uploadBegin', { name: 'x.hcube', sizeBytes: 0 })).toMatchObject({ code: 'invalid_argument', field: 'sizeBytes' })
    expect(await refusal('bundles.check', { bundleId: 'nope', requestId: 'r' })).toMatchObject({ code: 'invalid_argument', field: 'bundleId' })
    expect(await refusal('bundles.check', { bundleId: 'a'.repeat(32), requestId: 'r' })).toMatchObject({ code: 'not_found', field: 'bundleId' })
    expect(await refusal('bundles.import', { bundleId: 'a'.repeat(32), onConflict: 'merge', requestId: 'r' })).toMatchObject({ code: 'invalid_argument', field: 'onConflict' })
    expect(await refusal('reviews.close', { reviewId: 'b'.repeat(32) })).toMatchObject({ code: 'not_found', field: 'reviewId' })
    const { uploadId } = await invoke('bundles.uploadBegin', { name: 'x.hcube', sizeBytes: 10 })
    expect(await refusal('bundles.uploadChunk', { uploadId, offset: 4, base64: 'AAAA' })).toMatchObject({ code: 'conflict', field: 'offset' })
    await invoke('bundles.uploadCancel', { uploadId })
  })

  it('estimates, exports, and hands the export out once: saved by main where the user chose (desktop) or by URL (serve mode)', async () => {
    const estimate = await invoke('bundles.estimate', { experimentId })
    expect(estimate).toMatchObject({ experiments: ['sweep'], runs: 2, points: 60, artifactFiles: 0, fileName: 'sweep.hcube' })
    expect(estimate.estimatedBytes.withArtifacts).toBe(estimate.estimatedBytes.withoutArtifacts)

    // Saved by main where the user chose (the desktop app's save dialog, faked): cancelled first,
    // the export still waits; then saved, the file is the bundle; a second save is refused without asking.
    const first = await invoke('bundles.export', { experimentId, artifacts: true, requestId: 'e1' })
    chooser = { answer: null, asked: [] }
    expect(await invoke('bundles.saveExport', { exportId: first.exportId })).toEqual({ status: 'cancelled' })
    expect(chooser.asked).toEqual(['sweep.hcube'])
    const saved = join(work, 'saved', 'my-copy.hcube')
    mkdirSync(join(work, 'saved'))
    chooser = { answer: saved, asked: [] }
    expect(await invoke('bundles.saveExport', { exportId: first.exportId })).toEqual({ status: 'saved', path: saved, fileName: 'sweep.hcube', sizeBytes: first.bytes })
    expect(statSync(saved).size).toBe(first.bytes)
    expect((await verifyBundle(saved)).header.totals).toMatchObject({ runs: 2, points: 60 })
    chooser = { answer: join(work, 'saved', 'again.hcube'), asked: [] }
    expect(await refusal('bundles.saveExport', { exportId: first.exportId })).toMatchObject({ code: 'not_found', field: 'exportId' })
    expect(chooser.asked).toEqual([])
    expect(existsSync(join(work, 'saved', 'again.hcube'))).toBe(false)
    expect(await refusal('bundles.saveExport', { exportId: 'not an id' })).toMatchObject({ code: 'invalid_argument', field: 'exportId' })

    // By URL: only with the session; an attachment named after the experiment; once.
    const second = await invoke('bundles.export', { experimentId, artifacts: false, requestId: 'e2' })
    expect((await fetch(`${baseUrl}/ui/bundles/exports/${second.exportId}`)).status).toBe(401)
    expect((await fetch(`${baseUrl}/ui/bundles/exports/not-an-id`, { headers: { cookie } })).status).toBe(400)
    const download = await fetch(`${baseUrl}/ui/bundles/exports/${second.exportId}`, { headers: { cookie } })
    expect(download.status).toBe(200)
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="sweep.hcube"')
    expect(download.headers.get('x-content-type-options')).toBe('nosniff')
    const bytes = Buffer.from(await download.arrayBuffer())
    expect(bytes.length).toBe(second.bytes)
    expect((await fetch(`${baseUrl}/ui/bundles/exports/${second.exportId}`, { headers: { cookie } })).status).toBe(404)
  })

  it('refuses a file that is not a bundle as the file’s fault, and forgets it', async () => {
    const bundleId = await upload('notes.txt', Buffer.from('these are not the bytes of a bundle\n'.repeat(100)))
    const refused = await refusal('bundles.check', { bundleId, requestId: 'c1' })
    expect(refused).toMatchObject({ code: 'invalid_argument', field: 'file' })
    expect(refused.message).toMatch(/^notes\.txt is not a Hypercube bundle \(incorrect header check\)/)
    expect(refused.message).toContain('nothing was imported')
    expect(refused.message).not.toContain(tmpdir()) // the user's name for it, not our temporary copy's path
    expect(await refusal('bundles.import', { bundleId, onConflict: 'skip', requestId: 'c2' })).toMatchObject({ code: 'not_found', field: 'bundleId' })
  })

  it('a review refuses to import a bundle or open another review, and exports what it shows', async () => {
    const bundleId = await upload('sweep.hcube', readFileSync(bundle))
    const { review, loginUrl } = await invoke('reviews.open', { bundleId, requestId: 'o1' })
    try {
      expect(review.info).toMatchObject({ bundle: 'sweep.hcube', runs: 2, points: 60, experiments: ['sweep'] })
      const login = await fetch(loginUrl, { redirect: 'manual' })
      const reviewCookie = login.headers.get('set-cookie')!.split(';')[0]!
      const call = async (name: string, input: unknown) =>
        (await (await fetch(`${review.origin}/ui/api/call`, { method: 'POST', headers: { cookie: reviewCookie, 'content-type': 'application/json' }, body: JSON.stringify({ name, input }) })).json()) as {
          ok: boolean
          error?: { code: string; field?: string }
          value?: { runs?: number }
        }
      expect(await call('bundles.import', { bundleId: 'c'.repeat(32), onConflict: 'skip', requestId: 'x' })).toMatchObject({ ok: false, error: { code: 'read_only' } })
      expect(await call('reviews.open', { bundleId: 'c'.repeat(32), requestId: 'x' })).toMatchObject({ ok: false, error: { code: 'read_only' } })
      const reviewed = (await call('experiments.list', {})) as unknown as { value: Array<{ id: number; name: string }> }
      const inReview = reviewed.value.find((experiment) => experiment.name === 'sweep')!
      expect(await call('bundles.estimate', { experimentId: inReview.id })).toMatchObject({ ok: true, value: { runs: 2 } })
      // A review in a browser has no save dialog in main: its export downloads from the link.
      const reviewExport = (await call('bundles.export', { experimentId: inReview.id, artifacts: false, requestId: 'x' })) as unknown as { value: { exportId: string } }
      const unavailable = await call('bundles.saveExport', { exportId: reviewExport.value.exportId })
      expect(unavailable).toMatchObject({ ok: false, error: { code: 'unavailable', field: 'exportId' } })
      expect((unavailable.error as unknown as { message: string }).message).toMatch(/desktop app.*downloads from its link/)
      expect(await invoke('reviews.list', {})).toEqual([review])
    } finally {
      await invoke('reviews.close', { reviewId: review.reviewId })
    }
    expect(await invoke('reviews.list', {})).toEqual([])
    await expect(fetch(`${review.origin}/`)).rejects.toThrow()
  }, 120_000)
})
