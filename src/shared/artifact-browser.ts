/**
 * What the artifact browser (run page, model version cards) exchanges with main: the files
 * under a run's folder, byte ranges of one of them, a safetensors file's tensor table, and
 * chunked uploads. Pure types and limits, shared by the contract and the renderer.
 */

/** One stored file under a run's artifact folder, with what was recorded of it. */
export interface ArtifactFileEntry {
  /** Relative to the run's artifact folder, forward slashes. */
  path: string
  sizeBytes: number
  /** The file's registration (artifacts row), when it has one: its id, BLAKE3 and last verification. */
  artifactId: number | null
  blake3: string | null
  verifiedAt: string | null
}

export interface ArtifactFolderListing {
  runId: number
  /** The folder listed ("" for the run's top level). */
  prefix: string
  files: ArtifactFileEntry[]
  /** More files than MAX_BROWSE_FILES were found; only the first (by path) are listed. */
  truncated: boolean
}

/** Bytes [offset, offset + length) of a stored file, base64-encoded (the contract is JSON). */
export interface ArtifactBytes {
  path: string
  /** The whole file's size. */
  sizeBytes: number
  offset: number
  base64: string
}

export interface SafetensorsTensorRow {
  name: string
  dtype: string
  shape: number[]
  /** Bytes of the tensor's data (its data_offsets range). */
  sizeBytes: number
}

export interface SafetensorsSummary {
  path: string
  sizeBytes: number
  headerBytes: number
  tensors: SafetensorsTensorRow[]
  /** The header's __metadata__ (string to string), when it has one. */
  metadata: Record<string, string>
}

/** Where a model version's files are browsable: a folder of a run this app stores. */
export type VersionArtifactLocation = { runId: number; prefix: string } | { runId: null; reason: string }

/** At most this many bytes per artifacts.read call (base64 keeps one answer under the transport's 1 MiB message). */
export const MAX_READ_BYTES = 512 * 1024
/** At most this many bytes per upload chunk (same bound). */
export const MAX_UPLOAD_CHUNK_BYTES = 512 * 1024
/** A folder listing stops after this many files. */
export const MAX_BROWSE_FILES = 20_000

export type PreviewKind = 'image' | 'svg' | 'text' | 'json' | 'csv' | 'tsv' | 'markdown' | 'safetensors' | 'none'

const EXTENSION_KINDS: Record<string, PreviewKind> = {
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  gif: 'image',
  svg: 'svg',
  json: 'json',
  csv: 'csv',
  tsv: 'tsv',
  md: 'markdown',
  markdown: 'markdown',
  safetensors: 'safetensors',
  txt: 'text',
  log: 'text',
  yaml: 'text',
  yml: 'text',
  toml: 'text',
  ini: 'text',
  cfg: 'text',
  py: 'text',
  sh: 'text',
  out: 'text',
  err: 'text',
  jsonl: 'text',
  ndjson: 'text'
}

/** Which preview a file gets, by its name (files without a known extension get none; their bytes are never guessed at). */
export function previewKindOf(path: string): PreviewKind {
  const name = path.split('/').pop() ?? ''
  if (name === 'MLmodel' || name === 'requirements.txt' || name === 'LICENSE' || name === 'README') return 'text'
  const dot = name.lastIndexOf('.')
  if (dot <= 0) return 'none'
  return EXTENSION_KINDS[name.slice(dot + 1).toLowerCase()] ?? 'none'
}

/** The image MIME type of a previewable image (a data: URL needs one). */
export function imageMimeOf(path: string): string | null {
  const extension = path.slice(path.lastIndexOf('.') + 1).toLowerCase()
  return { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml' }[extension] ?? null
}
