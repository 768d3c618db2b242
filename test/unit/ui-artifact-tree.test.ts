import { describe, expect, it } from 'vitest'
import { imageMimeOf, previewKindOf, type ArtifactFileEntry } from '../../src/shared/artifact-browser'
import { buildTree, folderPaths, readArtifactBytes, uploadArtifact, zipOverContract } from '../../src/renderer/src/lib/artifact-tree'
import { fakeApi, Refusal } from './ui-fake-api'

const file = (path: string, sizeBytes: number): ArtifactFileEntry => ({ path, sizeBytes, artifactId: null, blake3: null, verifiedAt: null })

describe('the artifact browser tree', () => {
  it('nests files in folders, sorted, with each folder totalling what is below it', () => {
    const tree = buildTree([file('model/weights/b.bin', 10), file('README.md', 1), file('model/MLmodel', 5), file('model/weights/a.bin', 20), file('plots/x.png', 3)])
    expect(tree.files.map((f) => f.path)).toEqual(['README.md'])
    expect(tree.folders.map((folder) => [folder.path, folder.fileCount, folder.totalBytes])).toEqual([
      ['model', 3, 35],
      ['plots', 1, 3]
    ])
    const weights = tree.folders[0]!.folders[0]!
    expect([weights.name, weights.files.map((f) => f.path), weights.totalBytes]).toEqual(['weights', ['model/weights/a.bin', 'model/weights/b.bin'], 30])
    expect([tree.fileCount, tree.totalBytes]).toEqual([5, 39])
    expect(folderPaths(tree)).toEqual(['', 'model', 'model/weights', 'plots'])
  })

  it('roots the tree at a folder of the run (a model version page)', () => {
    const tree = buildTree([file('model/MLmodel', 5), file('model/sub/a.bin', 7)], 'model')
    expect([tree.path, tree.files.map((f) => f.path), tree.folders.map((folder) => folder.path), tree.totalBytes]).toEqual(['model', ['model/MLmodel'], ['model/sub'], 12])
    expect(folderPaths(tree)).toEqual(['model', 'model/sub'])
  })
})

describe('which preview a file gets', () => {
  it.each([
    ['plots/loss.PNG', 'image'],
    ['a.jpeg', 'image'],
    ['chart.svg', 'svg'],
    ['eval/metrics.json', 'json'],
    ['preds.csv', 'csv'],
    ['preds.tsv', 'tsv'],
    ['README.md', 'markdown'],
    ['model.safetensors', 'safetensors'],
    ['train.log', 'text'],
    ['model/MLmodel', 'text'],
    ['weights.bin', 'none'],
    ['.hidden', 'none'],
    ['page.html', 'none']
  ])('%s: %s', (path, kind) => {
    expect(previewKindOf(path)).toBe(kind)
  })

  it('names the MIME type of an image for its data: URL, and none for anything else', () => {
    expect([imageMimeOf('a.svg'), imageMimeOf('a.JPG'), imageMimeOf('a.html')]).toEqual(['image/svg+xml', 'image/jpeg', null])
  })
})

describe('the renderer side of uploads and contract downloads (what the Electron window uses)', () => {
  const artifact = { id: 9, runId: 1, modelVersionId: null, kind: 'other', path: 'w.bin', uri: null, sizeBytes: 0, blake3: null, metadata: {}, createdAt: '', verifiedAt: null } as const

  it('uploads in 512 KiB chunks in order, at most 4 unacknowledged, reporting acknowledged bytes, then finishes', async () => {
    const size = 5 * 512 * 1024 + 10
    const received: number[] = []
    let pending = 0
    let most = 0
    const fake = fakeApi({
      'artifacts.uploadBegin': () => ({ uploadId: 'u'.repeat(32) }),
      'artifacts.uploadChunk': async (input) => {
        pending++
        most = Math.max(most, pending)
        await new Promise((resolve) => setTimeout(resolve, 5))
        pending--
        received.push(input.offset)
        return { received: input.offset + Buffer.from(input.base64, 'base64').length }
      },
      'artifacts.uploadFinish': () => ({ ...artifact, sizeBytes: size })
    })
    const progress: number[] = []
    const stored = await uploadArtifact(fake.api, 1, 'w.bin', new Blob([new Uint8Array(size).fill(3)]), (sent) => progress.push(sent))
    expect(stored.sizeBytes).toBe(size)
    expect(received).toEqual([0, 1, 2, 3, 4, 5].map((i) => i * 512 * 1024))
    expect(most).toBeLessThanOrEqual(4)
    expect(progress.at(-1)).toBe(size)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
    expect(fake.callsOf('artifacts.uploadBegin')[0]!.input).toEqual({ runId: 1, path: 'w.bin', sizeBytes: size })
  })

  it('cancels the upload when a chunk is refused, and fails with that refusal', async () => {
    const fake = fakeApi({
      'artifacts.uploadBegin': () => ({ uploadId: 'u'.repeat(32) }),
      'artifacts.uploadChunk': (input) =>
        input.offset === 512 * 1024 ? new Refusal({ code: 'insufficient_storage', message: 'disk full' }) : { received: input.offset + 512 * 1024 },
      'artifacts.uploadCancel': () => ({})
    })
    await expect(uploadArtifact(fake.api, 1, 'w.bin', new Blob([new Uint8Array(3 * 512 * 1024)]), () => undefined)).rejects.toThrow('disk full')
    expect(fake.callsOf('artifacts.uploadCancel')).toHaveLength(1)
    expect(fake.callsOf('artifacts.uploadFinish')).toHaveLength(0)
  })

  it('pulls a zip over the contract until done, and reads a file in 512 KiB slices', async () => {
    const zipParts = [Buffer.from('PK-first'), Buffer.from('-second'), Buffer.from('-last')]
    let next = 0
    const file = Buffer.alloc(1_200_000, 1)
    const fake = fakeApi({
      'artifacts.zipBegin': () => ({ downloadId: 'd'.repeat(32), name: 'model.zip' }),
      'artifacts.zipNext': () => {
        const part = zipParts[next]!
        next++
        return { base64: part.toString('base64'), offset: 0, done: next === zipParts.length }
      },
      'artifacts.read': (input) => ({ path: input.path, sizeBytes: file.length, offset: input.offset, base64: file.subarray(input.offset ?? 0, (input.offset ?? 0) + input.length).toString('base64') })
    })
    const zip = await zipOverContract(fake.api, 1, 'model')
    expect([zip.name, Buffer.from(await zip.blob.arrayBuffer()).toString()]).toEqual(['model.zip', 'PK-first-second-last'])
    const read = await readArtifactBytes(fake.api, 1, 'big.bin', 0, file.length)
    expect([read.bytes.length, read.sizeBytes, fake.callsOf('artifacts.read').map((call) => call.input.length)]).toEqual([file.length, file.length, [524288, 524288, 151424]])
  })
})
