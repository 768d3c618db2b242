import type { ArtifactFileEntry } from '../../../shared/artifact-browser'
import { MAX_READ_BYTES } from '../../../shared/artifact-browser'
import type { HypercubeApi } from '../../../shared/contract'
import type { Artifact } from '../../../shared/domain'
import { call } from './call'
import { sendInChunks } from './chunked-upload'

/** A folder of the artifact browser's tree: its sub-folders and files, and what they hold in total. */
export interface FolderNode {
  /** Path from the run's top level ("" for the root shown). */
  path: string
  name: string
  folders: FolderNode[]
  files: ArtifactFileEntry[]
  totalBytes: number
  fileCount: number
}

/** The folder tree of a listing; `prefix` (a folder of the run) is its root. */
export function buildTree(files: readonly ArtifactFileEntry[], prefix = ''): FolderNode {
  const root: FolderNode = { path: prefix, name: prefix.split('/').pop() || '', folders: [], files: [], totalBytes: 0, fileCount: 0 }
  const folders = new Map<string, FolderNode>([[prefix, root]])
  const folderAt = (path: string): FolderNode => {
    const known = folders.get(path)
    if (known) return known
    const slash = path.lastIndexOf('/')
    const parent = folderAt(slash === -1 || path.length <= prefix.length ? prefix : path.slice(0, slash))
    const node: FolderNode = { path, name: path.slice(slash + 1), folders: [], files: [], totalBytes: 0, fileCount: 0 }
    parent.folders.push(node)
    folders.set(path, node)
    return node
  }
  for (const file of files) {
    const slash = file.path.lastIndexOf('/')
    const parentPath = slash === -1 ? '' : file.path.slice(0, slash)
    const folder = parentPath.length <= prefix.length ? root : folderAt(parentPath)
    folder.files.push(file)
    // Totals up the chain, so a collapsed folder still says what it holds.
    for (let path: string | undefined = folder.path; path !== undefined; ) {
      const node = folders.get(path)!
      node.totalBytes += file.sizeBytes
      node.fileCount++
      if (path === prefix) break
      const up = path.lastIndexOf('/')
      path = up === -1 || up < prefix.length ? prefix : path.slice(0, up)
    }
  }
  const sort = (node: FolderNode): void => {
    node.folders.sort((a, b) => a.name.localeCompare(b.name))
    node.files.sort((a, b) => a.path.localeCompare(b.path))
    node.folders.forEach(sort)
  }
  sort(root)
  return root
}

/** Every folder path of a tree, root first (the "register as model" folder choice). */
export function folderPaths(node: FolderNode): string[] {
  return [node.path, ...node.folders.flatMap(folderPaths)]
}

export function fileName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

function fromBase64(base64: string): Uint8Array {
  const binary = atob(base64)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}


/** Bytes [offset, offset + length) of a stored file, in MAX_READ_BYTES calls; also the file's size. */
export async function readArtifactBytes(api: HypercubeApi, runId: number, path: string, offset: number, length: number): Promise<{ bytes: Uint8Array; sizeBytes: number }> {
  const parts: Uint8Array[] = []
  let sizeBytes: number | undefined
  let position = offset
  for (;;) {
    const want = Math.min(MAX_READ_BYTES, offset + length - position)
    const answer = await call(api, 'artifacts.read', { runId, path, offset: position, length: want })
    sizeBytes = answer.sizeBytes
    const bytes = fromBase64(answer.base64)
    parts.push(bytes)
    position += bytes.length
    if (bytes.length < want || position >= offset + length || position >= sizeBytes) break
  }
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0))
  let at = 0
  for (const part of parts) {
    bytes.set(part, at)
    at += part.length
  }
  return { bytes, sizeBytes: sizeBytes ?? 0 }
}


/**
 * Uploads a file to a run through the contract (artifacts.uploadBegin, chunks, finish: the same
 * ArtifactService write as the API's PUT), reporting bytes acknowledged as they go.
 */
export async function uploadArtifact(
  api: HypercubeApi,
  runId: number,
  path: string,
  file: Blob,
  onProgress: (sentBytes: number) => void,
  signal?: AbortSignal
): Promise<Artifact> {
  const { uploadId } = await call(api, 'artifacts.uploadBegin', { runId, path, sizeBytes: file.size })
  try {
    await sendInChunks(file, (offset, base64) => call(api, 'artifacts.uploadChunk', { uploadId, offset, base64 }), onProgress, signal)
    return await call(api, 'artifacts.uploadFinish', { uploadId })
  } catch (error) {
    // The temp file goes; the path keeps what it had. (Already gone when the write failed.)
    await api.invoke('artifacts.uploadCancel', { uploadId }).catch(() => undefined)
    throw error
  }
}

/**
 * Where the browser can download a run's file or folder (zip) by URL: the serve-mode UI's own
 * routes, authenticated by its session cookie and streamed to disk. null in the Electron window
 * (a file:// page has no server of its own): files are then read over the contract instead.
 */
export function artifactDownloadUrl(runId: number, target: { file: string } | { folder: string }): string | null {
  // The preload's API on the window: the Electron shell (globalThis, so this module loads in unit tests too).
  if ((globalThis as { hypercube?: unknown }).hypercube) return null
  return 'file' in target
    ? `/ui/artifacts/${runId}/file?path=${encodeURIComponent(target.file)}`
    : `/ui/artifacts/${runId}/zip?prefix=${encodeURIComponent(target.folder)}`
}

/** Largest file the Electron window downloads over the contract (it holds the bytes before saving them). */
export const MAX_CONTRACT_DOWNLOAD_BYTES = 256 * 1024 * 1024

/**
 * A folder (or the whole run) as a zip pulled over the contract (artifacts.zipBegin / zipNext):
 * the Electron window's folder download. Refused past MAX_CONTRACT_DOWNLOAD_BYTES, since the
 * window holds the zip before saving it.
 */
export async function zipOverContract(api: HypercubeApi, runId: number, prefix: string): Promise<{ name: string; blob: Blob }> {
  const { downloadId, name } = await call(api, 'artifacts.zipBegin', { runId, prefix })
  const parts: Uint8Array<ArrayBuffer>[] = []
  let total = 0
  try {
    for (;;) {
      const next = await call(api, 'artifacts.zipNext', { downloadId })
      const bytes = fromBase64(next.base64) as Uint8Array<ArrayBuffer>
      parts.push(bytes)
      total += bytes.length
      if (next.done) break
      if (total > MAX_CONTRACT_DOWNLOAD_BYTES) {
        throw new Error(`the zip is over ${MAX_CONTRACT_DOWNLOAD_BYTES / 1024 / 1024} MiB; download the folder from hypercube serve or the API`)
      }
    }
  } catch (error) {
    await api.invoke('artifacts.zipCancel', { downloadId }).catch(() => undefined)
    throw error
  }
  return { name, blob: new Blob(parts, { type: 'application/zip' }) }
}
