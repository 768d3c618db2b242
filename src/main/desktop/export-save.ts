import { extname, join } from 'node:path'

/**
 * Saving a bundle exported from the window, decided here (bundles.saveExport): the Electron glue
 * (index.ts) shows this save dialog and main moves the written export to the chosen path, so the
 * window never holds the file (a multi-GB bundle would exhaust the renderer).
 */

export interface SaveDialogSpec {
  title: string
  buttonLabel: string
  /** Where the dialog starts: the export's own name in the user's Downloads folder. */
  defaultPath: string
  filters: Array<{ name: string; extensions: string[] }>
  /** Linux's dialog asks before replacing a file only when told to (macOS and Windows always do). */
  properties: Array<'showOverwriteConfirmation' | 'createDirectory'>
}

export function exportSaveDialog(fileName: string, downloadsDir: string): SaveDialogSpec {
  return {
    title: 'Save Review Bundle',
    buttonLabel: 'Save',
    defaultPath: join(downloadsDir, fileName),
    filters: [{ name: 'Review bundles', extensions: ['hcube'] }],
    properties: ['showOverwriteConfirmation', 'createDirectory']
  }
}

/**
 * The path to save to, or null when the user cancelled. A name typed without an extension gets
 * .hcube (Linux's dialog adds none from the filter), so the file opens as a bundle again; a name
 * the user gave another extension is theirs to keep.
 */
export function chosenSavePath(result: { canceled: boolean; filePath?: string }): string | null {
  if (result.canceled || !result.filePath) return null
  return extname(result.filePath) === '' ? `${result.filePath}.hcube` : result.filePath
}
