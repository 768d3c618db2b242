import type { EventPayloads, HypercubeApi } from '../../../shared/contract'
import { call } from './call'
import { sendInChunks } from './chunked-upload'

/** Review bundles between the window and main: the upload, the export's download, and the progress of the long calls. */

/**
 * The desktop window (the preload's API on the window): it opens reviews from File → Open Review
 * Bundle… in windows of its own, since it opens no tabs.
 */
export function inDesktopWindow(): boolean {
  return Boolean((globalThis as { hypercube?: unknown }).hypercube)
}

export function newRequestId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
}

export type BundleProgress = Omit<EventPayloads['bundles.progress'], 'requestId'>

/** Calls `listener` with the 'bundles.progress' events of one call (its requestId); returns the unsubscribe. */
export function onBundleProgress(api: HypercubeApi, requestId: string, listener: (progress: BundleProgress) => void): () => void {
  return api.onEvent((event) => {
    if (event.name === 'bundles.progress' && event.payload.requestId === requestId) {
      const { requestId: _id, ...progress } = event.payload
      listener(progress)
    }
  })
}



/**
 * Uploads a bundle file to main (bundles.uploadBegin, chunks, finish — as the artifact browser's
 * uploads: main streams the chunks to a temporary file, never holding the file whole), reporting
 * bytes acknowledged as they go. Answers the staged bundle's id.
 */
export async function uploadBundle(api: HypercubeApi, file: File, onProgress: (sentBytes: number) => void): Promise<{ bundleId: string; fileName: string; sizeBytes: number }> {
  const { uploadId } = await call(api, 'bundles.uploadBegin', { name: file.name, sizeBytes: file.size })
  try {
    await sendInChunks(file, (offset, base64) => call(api, 'bundles.uploadChunk', { uploadId, offset, base64 }), onProgress)
    return await call(api, 'bundles.uploadFinish', { uploadId })
  } catch (error) {
    await api.invoke('bundles.uploadCancel', { uploadId }).catch(() => undefined)
    throw error
  }
}

/**
 * Where the browser downloads a written export (once): serve mode's own route, authenticated by
 * its session cookie and streamed to disk. null in the Electron window (no server of its own):
 * main saves the export where the user chooses instead (bundles.saveExport), so the window never
 * holds the file.
 */
export function bundleDownloadUrl(exportId: string): string | null {
  if (inDesktopWindow()) return null
  return `/ui/bundles/exports/${exportId}`
}
