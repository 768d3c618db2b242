import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { chosenSavePath, exportSaveDialog } from '../../src/main/desktop/export-save'

/** Saving an export from the desktop window (bundles.saveExport): the decisions the Electron glue (src/main/index.ts) follows, under Node. */

describe('saving an exported review bundle from the desktop window', () => {
  it("offers the export's own name in the Downloads folder, as a .hcube, asking before replacing a file", () => {
    const dialog = exportSaveDialog('my-sweep-2-runs.hcube', '/home/me/Downloads')
    expect(dialog.defaultPath).toBe(join('/home/me/Downloads', 'my-sweep-2-runs.hcube'))
    expect(dialog.filters).toEqual([{ name: 'Review bundles', extensions: ['hcube'] }])
    expect(dialog.properties).toContain('showOverwriteConfirmation')
    expect(dialog.title).toBe('Save Review Bundle')
  })

  it('takes the chosen path, adds .hcube to a name typed without an extension, and answers nothing when the user cancelled', () => {
    expect(chosenSavePath({ canceled: false, filePath: '/home/me/review.hcube' })).toBe('/home/me/review.hcube')
    expect(chosenSavePath({ canceled: false, filePath: '/home/me/review' })).toBe('/home/me/review.hcube')
    expect(chosenSavePath({ canceled: false, filePath: '/home/me/review.tar.gz' })).toBe('/home/me/review.tar.gz')
    expect(chosenSavePath({ canceled: true, filePath: '/home/me/review.hcube' })).toBeNull()
    expect(chosenSavePath({ canceled: false, filePath: '' })).toBeNull()
    expect(chosenSavePath({ canceled: false })).toBeNull()
  })
})
