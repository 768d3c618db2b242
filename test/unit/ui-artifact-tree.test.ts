import { describe, expect, it } from 'vitest'
import { imageMimeOf, previewKindOf, type ArtifactFileEntry } from '../../src/shared/artifact-browser'
import { buildTree, folderPaths } from '../../src/renderer/src/lib/artifact-tree'

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
