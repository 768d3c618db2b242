import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { BundleTransfers, bundleFileName } from '../../src/main/bundle/bundle-transfers'

/** Bundles between the window and the core: uploads staged in a private temp folder, exports handed out once. */

const base = mkdtempSync(join(tmpdir(), 'hypercube-transfers-test-'))
let transfers: BundleTransfers | undefined

afterEach(() => {
  transfers?.dispose()
  transfers = undefined
})
afterAll(() => rmSync(base, { recursive: true, force: true }))

async function refusal(work: Promise<unknown>): Promise<{ code?: string; field?: string; message: string }> {
  return work.then(
    () => {
      throw new Error('not refused')
    },
    (error: { code?: string; field?: string; message: string }) => error
  )
}

describe('bundle transfers', () => {
  it('names files safely: an export gets .hcube, an upload keeps its own name', () => {
    expect(bundleFileName('resnet sweep (v2)')).toBe('resnet-sweep-v2.hcube')
    expect(bundleFileName('sweep.hcube')).toBe('sweep.hcube')
    expect(bundleFileName('../../etc/passwd')).toBe('passwd.hcube')
    expect(bundleFileName('C:\\Users\\me\\colleague.hcube', 'as given')).toBe('colleague.hcube')
    expect(bundleFileName('notes.txt', 'as given')).toBe('notes.txt')
    expect(bundleFileName('...', 'as given')).toBe('bundle')
  })

  it('stages an upload in a private folder, hands it over once, and removes everything on dispose', async () => {
    transfers = new BundleTransfers(base)
    const bytes = Buffer.from('x'.repeat(1_000_000))
    const uploadId = transfers.beginUpload('sweep.hcube', bytes.length)
    await transfers.appendUpload(uploadId, 0, bytes.subarray(0, 600_000))
    await transfers.appendUpload(uploadId, 600_000, bytes.subarray(600_000))
    const staged = await transfers.finishUpload(uploadId)
    expect(staged).toMatchObject({ name: 'sweep.hcube', sizeBytes: bytes.length })
    expect(readFileSync(staged.path).equals(bytes)).toBe(true)
    expect(transfers.waiting).toEqual({ uploads: 1, exports: 0 })
    const folder = transfers.folderPath!
    expect(folder.startsWith(join(base, 'hypercube-bundles-'))).toBe(true)

    const taken = transfers.takeUpload(staged.id)
    expect(taken.path).toBe(staged.path)
    expect(transfers.waiting.uploads).toBe(0)
    expect(() => transfers!.uploaded(staged.id)).toThrow(expect.objectContaining({ code: 'not_found', field: 'bundleId' }))
    transfers.dispose()
    expect(existsSync(folder)).toBe(false)
  })

  it('discards an upload on request', async () => {
    transfers = new BundleTransfers(base)
    const uploadId = transfers.beginUpload('a.hcube', 3)
    await transfers.appendUpload(uploadId, 0, Buffer.from('abc'))
    const staged = await transfers.finishUpload(uploadId)
    await transfers.discardUpload(staged.id)
    expect(existsSync(staged.path)).toBe(false)
    expect(transfers.waiting.uploads).toBe(0)
  })

  it('saves an export where the user chose, once: renamed on the same filesystem, the temporary file gone; a second save is refused naming exportId', async () => {
    transfers = new BundleTransfers(base)
    const { id, path } = transfers.exportPath()
    const content = Buffer.from(Array.from({ length: 2_500 }, (_, i) => i % 251))
    writeFileSync(path, content)
    const kept = transfers.keepExport(id, path, 'my sweep')
    expect(kept).toMatchObject({ name: 'my-sweep.hcube', sizeBytes: content.length })
    expect(transfers.waitingExport(id).name).toBe('my-sweep.hcube')
    const destination = join(base, 'saved-here.hcube')
    expect(await transfers.saveExport(id, destination)).toEqual({ id, path: destination, name: 'my-sweep.hcube', sizeBytes: content.length })
    expect(readFileSync(destination).equals(content)).toBe(true)
    expect(existsSync(path)).toBe(false)
    expect(transfers.waiting.exports).toBe(0)
    expect(await refusal(transfers.saveExport(id, join(base, 'again.hcube')))).toMatchObject({ code: 'not_found', field: 'exportId' })
    expect(() => transfers!.waitingExport(id)).toThrow(expect.objectContaining({ code: 'not_found', field: 'exportId' }))
    expect(existsSync(join(base, 'again.hcube'))).toBe(false)
  })

  it('copies an export to another filesystem (no rename across devices), streamed, and removes the temporary file', async () => {
    transfers = new BundleTransfers(base)
    const { id, path } = transfers.exportPath()
    const content = Buffer.alloc(3_000_000, 7)
    writeFileSync(path, content)
    transfers.keepExport(id, path, 'big')
    const elsewhere = mkdtempSync('/dev/shm/hypercube-save-test-')
    // The point of the test: a destination on another device, where rename fails with EXDEV.
    expect(statSync(elsewhere).dev, '/dev/shm must be another filesystem than the temporary folder').not.toBe(statSync(base).dev)
    try {
      const destination = join(elsewhere, 'big.hcube')
      expect((await transfers.saveExport(id, destination)).path).toBe(destination)
      expect(readFileSync(destination).equals(content)).toBe(true)
      expect(existsSync(path)).toBe(false)
    } finally {
      rmSync(elsewhere, { recursive: true, force: true })
    }
  })

  it('a save the file system refuses names the destination, leaves no file there, and keeps the export waiting to be saved elsewhere', async () => {
    transfers = new BundleTransfers(base)
    const { id, path } = transfers.exportPath()
    writeFileSync(path, 'bundle bytes')
    transfers.keepExport(id, path, 'sweep')
    const nowhere = join(base, 'no-such-folder', 'sweep.hcube')
    const refused = await refusal(transfers.saveExport(id, nowhere))
    expect(refused).toMatchObject({ code: 'conflict', field: 'destination' })
    expect(refused.message).toContain(nowhere)
    expect(existsSync(nowhere)).toBe(false)
    expect(transfers.waiting.exports).toBe(1)
    const destination = join(base, 'sweep-after-refusal.hcube')
    await transfers.saveExport(id, destination)
    expect(readFileSync(destination, 'utf8')).toBe('bundle bytes')
  })
})
