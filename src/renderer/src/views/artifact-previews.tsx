import Papa from 'papaparse'
import { useEffect, useState } from 'react'
import type { ArtifactFileEntry, PreviewKind, SafetensorsSummary } from '../../../shared/artifact-browser'
import { imageMimeOf, previewKindOf } from '../../../shared/artifact-browser'
import type { ErrorInfo } from '../../../shared/errors'
import { readArtifactBytes } from '../lib/artifact-tree'
import { call, errorInfo } from '../lib/call'
import { formatBytes } from '../lib/format'
import { api } from '../stores'
import { ErrorNote, Progress } from './common'
import { Markdown } from './Markdown'

/**
 * Previews of a run's files, read over the contract in bounded slices (artifacts.read), so they
 * work alike in the Electron window and in serve mode, and never execute what they show: images
 * (SVG included) are <img> elements on a data: URL, which runs no script; everything else is
 * React text (no innerHTML anywhere); Markdown goes through Markdown.tsx, which builds elements.
 */

/** Images larger than this are not previewed (download them). */
export const MAX_IMAGE_PREVIEW_BYTES = 8 * 1024 * 1024
/** Text and logs come this many bytes at a time ("Load more"). */
export const TEXT_PAGE_BYTES = 64 * 1024
/** JSON and Markdown are parsed whole, up to this size. */
export const MAX_PARSED_PREVIEW_BYTES = 2 * 1024 * 1024
/** CSV/TSV: the table shows the first rows of the file's first bytes. */
export const CSV_PREVIEW_BYTES = 256 * 1024
export const CSV_PREVIEW_ROWS = 100

export function ArtifactPreview({ runId, file }: { runId: number; file: ArtifactFileEntry }): React.JSX.Element {
  const kind: PreviewKind = previewKindOf(file.path)
  switch (kind) {
    case 'image':
    case 'svg':
      return <ImagePreview runId={runId} file={file} />
    case 'text':
      return <TextPreview runId={runId} file={file} />
    case 'json':
      return <JsonPreview runId={runId} file={file} />
    case 'csv':
    case 'tsv':
      return <TablePreview runId={runId} file={file} delimiter={kind === 'csv' ? ',' : '\t'} />
    case 'markdown':
      return <MarkdownPreview runId={runId} file={file} />
    case 'safetensors':
      return <SafetensorsPreview runId={runId} file={file} />
    default:
      return <p className="subtle">No preview for this kind of file; download it to open it.</p>
  }
}

/** Reads bytes [0, limit) of a file once per file; `null` while loading. */
function useFileBytes(runId: number, file: ArtifactFileEntry, limit: number, enabled = true): { bytes: Uint8Array | null; error: ErrorInfo | null } {
  const [state, setState] = useState<{ key: string; bytes: Uint8Array | null; error: ErrorInfo | null }>({ key: '', bytes: null, error: null })
  const key = `${runId}:${file.path}:${file.sizeBytes}:${limit}`
  useEffect(() => {
    if (!enabled) return
    let current = true
    readArtifactBytes(api, runId, file.path, 0, Math.min(limit, file.sizeBytes)).then(
      ({ bytes }) => current && setState({ key, bytes, error: null }),
      (error: unknown) => current && setState({ key, bytes: null, error: errorInfo(error) })
    )
    return () => {
      current = false
    }
  }, [runId, file.path, file.sizeBytes, limit, key, enabled])
  return state.key === key ? state : { bytes: null, error: null }
}

function TooLarge({ file, limit, what }: { file: ArtifactFileEntry; limit: number; what: string }): React.JSX.Element {
  return (
    <p className="subtle">
      {file.path} is {formatBytes(file.sizeBytes)}, more than the {formatBytes(limit)} {what}; download it to open it.
    </p>
  )
}

function ImagePreview({ runId, file }: { runId: number; file: ArtifactFileEntry }): React.JSX.Element {
  const tooLarge = file.sizeBytes > MAX_IMAGE_PREVIEW_BYTES
  const { bytes, error } = useFileBytes(runId, file, MAX_IMAGE_PREVIEW_BYTES, !tooLarge)
  const [natural, setNatural] = useState<{ src: string; width: number; height: number } | null>(null)
  const [src, setSrc] = useState<string | null>(null)
  useEffect(() => {
    if (!bytes) return setSrc(null)
    // A data: URL (the CSP allows them for images only); read by FileReader, not string-built.
    const reader = new FileReader()
    reader.onload = () => setSrc(String(reader.result))
    reader.readAsDataURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: imageMimeOf(file.path) ?? 'application/octet-stream' }))
    return () => reader.abort()
  }, [bytes, file.path])
  if (tooLarge) return <TooLarge file={file} limit={MAX_IMAGE_PREVIEW_BYTES} what="an image preview reads" />
  if (error) return <ErrorNote error={error} title="Cannot read the image" />
  if (!src) return <Progress label="Reading the image…" />
  return (
    <figure className="artifact-image">
      <img
        src={src}
        alt={`preview of ${file.path}`}
        data-testid="artifact-image"
        onLoad={(event) => setNatural({ src, width: event.currentTarget.naturalWidth, height: event.currentTarget.naturalHeight })}
        onError={() => setNatural(null)}
      />
      <figcaption className="subtle" data-testid="artifact-image-size">
        {natural?.src === src ? `${natural.width} × ${natural.height} px` : 'decoding…'}
      </figcaption>
    </figure>
  )
}

function TextPreview({ runId, file }: { runId: number; file: ArtifactFileEntry }): React.JSX.Element {
  const [pages, setPages] = useState<{ key: string; text: string; loaded: number; decoder: TextDecoder }>({ key: '', text: '', loaded: 0, decoder: new TextDecoder() })
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<ErrorInfo | null>(null)
  const key = `${runId}:${file.path}:${file.sizeBytes}`
  const current = pages.key === key ? pages : { key, text: '', loaded: 0, decoder: new TextDecoder() }
  const loadMore = async (from: typeof current): Promise<void> => {
    setLoading(true)
    try {
      const { bytes } = await readArtifactBytes(api, runId, file.path, from.loaded, TEXT_PAGE_BYTES)
      const loaded = from.loaded + bytes.length
      // stream: a character split across two pages is decoded once its second half comes.
      const text = from.text + from.decoder.decode(bytes, { stream: loaded < file.sizeBytes })
      setPages({ key, text, loaded, decoder: from.decoder })
      setError(null)
    } catch (caught) {
      setError(errorInfo(caught))
    } finally {
      setLoading(false)
    }
  }
  useEffect(() => {
    void loadMore({ key, text: '', loaded: 0, decoder: new TextDecoder() })
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the first page, once per file
  }, [key])
  return (
    <div>
      <ErrorNote error={error} title="Cannot read the file" />
      <pre className="artifact-text" tabIndex={0} aria-label={`contents of ${file.path}`} data-testid="artifact-text">
        {current.text}
      </pre>
      <p className="subtle">
        Showing {formatBytes(current.loaded)} of {formatBytes(file.sizeBytes)}
        {current.loaded < file.sizeBytes && (
          <>
            {' '}
            <button type="button" disabled={loading} onClick={() => void loadMore(current)}>
              {loading ? 'Loading…' : `Load more (${formatBytes(Math.min(TEXT_PAGE_BYTES, file.sizeBytes - current.loaded))})`}
            </button>
          </>
        )}
      </p>
    </div>
  )
}

function useParsedText(runId: number, file: ArtifactFileEntry, limit: number, enabled: boolean): { text: string | null; error: ErrorInfo | null } {
  const { bytes, error } = useFileBytes(runId, file, limit, enabled)
  return { text: bytes ? new TextDecoder().decode(bytes) : null, error }
}

function JsonPreview({ runId, file }: { runId: number; file: ArtifactFileEntry }): React.JSX.Element {
  const tooLarge = file.sizeBytes > MAX_PARSED_PREVIEW_BYTES
  const { text, error } = useParsedText(runId, file, MAX_PARSED_PREVIEW_BYTES, !tooLarge)
  if (tooLarge) return <TooLarge file={file} limit={MAX_PARSED_PREVIEW_BYTES} what="a JSON preview parses" />
  if (error) return <ErrorNote error={error} title="Cannot read the file" />
  if (text === null) return <Progress label="Reading…" />
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (caught) {
    return <ErrorNote error={{ code: 'invalid_argument', message: `not valid JSON: ${(caught as Error).message}` }} title="Cannot show the JSON tree" />
  }
  return (
    <div className="json-tree" data-testid="json-tree">
      <JsonNode name={null} value={value} depth={0} />
    </div>
  )
}

/** One JSON value: objects and arrays as native <details> (collapsible by mouse and keyboard), leaves as text. */
function JsonNode({ name, value, depth }: { name: string | null; value: unknown; depth: number }): React.JSX.Element {
  const label = name === null ? null : <span className="json-key">{name}: </span>
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value)
    const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`
    return (
      <details open={depth < 2} className="json-node" data-json-key={name ?? ''}>
        <summary>
          {label}
          <span className="subtle">{summary}</span>
        </summary>
        <div className="json-children">
          {entries.map(([key, item]) => (
            <JsonNode key={key} name={key} value={item} depth={depth + 1} />
          ))}
        </div>
      </details>
    )
  }
  return (
    <div className="json-leaf" data-json-key={name ?? ''}>
      {label}
      <span className={`json-${value === null ? 'null' : typeof value}`}>{typeof value === 'string' ? JSON.stringify(value) : String(value)}</span>
    </div>
  )
}

function TablePreview({ runId, file, delimiter }: { runId: number; file: ArtifactFileEntry; delimiter: string }): React.JSX.Element {
  const { text, error } = useParsedText(runId, file, CSV_PREVIEW_BYTES, true)
  if (error) return <ErrorNote error={error} title="Cannot read the file" />
  if (text === null) return <Progress label="Reading…" />
  const complete = file.sizeBytes <= CSV_PREVIEW_BYTES
  // Only whole lines: the read may have cut the last one.
  const usable = complete ? text : text.slice(0, Math.max(0, text.lastIndexOf('\n')))
  const parsed = Papa.parse<string[]>(usable, { delimiter, skipEmptyLines: true, preview: CSV_PREVIEW_ROWS + 1 })
  const [header = [], ...rows] = parsed.data
  return (
    <div>
      <div className="artifact-table-scroll" tabIndex={0} aria-label={`first rows of ${file.path}`}>
        <table className="grid compact" data-testid="csv-table">
          <thead>
            <tr>
              {header.map((cell, index) => (
                <th key={index}>{cell}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, index) => (
              <tr key={index}>
                {row.map((cell, column) => (
                  <td key={column}>{cell}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="subtle">
        {rows.length === CSV_PREVIEW_ROWS || !complete ? `The first ${rows.length} rows` : `${rows.length} rows`}
        {!complete && ` (from the first ${formatBytes(CSV_PREVIEW_BYTES)} of ${formatBytes(file.sizeBytes)})`}.
      </p>
    </div>
  )
}

function MarkdownPreview({ runId, file }: { runId: number; file: ArtifactFileEntry }): React.JSX.Element {
  const tooLarge = file.sizeBytes > MAX_PARSED_PREVIEW_BYTES
  const { text, error } = useParsedText(runId, file, MAX_PARSED_PREVIEW_BYTES, !tooLarge)
  if (tooLarge) return <TooLarge file={file} limit={MAX_PARSED_PREVIEW_BYTES} what="a Markdown preview reads" />
  if (error) return <ErrorNote error={error} title="Cannot read the file" />
  if (text === null) return <Progress label="Reading…" />
  return (
    <div className="artifact-markdown" data-testid="artifact-markdown">
      <Markdown source={text} label={`rendered ${file.path}`} />
    </div>
  )
}

function SafetensorsPreview({ runId, file }: { runId: number; file: ArtifactFileEntry }): React.JSX.Element {
  const [state, setState] = useState<{ path: string; summary: SafetensorsSummary | null; error: ErrorInfo | null }>({ path: '', summary: null, error: null })
  useEffect(() => {
    let current = true
    call(api, 'artifacts.safetensors', { runId, path: file.path }).then(
      (summary) => current && setState({ path: file.path, summary, error: null }),
      (error: unknown) => current && setState({ path: file.path, summary: null, error: errorInfo(error) })
    )
    return () => {
      current = false
    }
  }, [runId, file.path, file.sizeBytes])
  if (state.path !== file.path) return <Progress label="Reading the header…" />
  if (state.error || !state.summary) return <ErrorNote error={state.error} title="Cannot read the safetensors header" />
  const { summary } = state
  const parameters = summary.tensors.reduce((total, tensor) => total + tensor.shape.reduce((product, dimension) => product * dimension, 1), 0)
  return (
    <div>
      <p className="subtle">
        {summary.tensors.length} tensors, {parameters.toLocaleString()} parameters; header {formatBytes(summary.headerBytes)} (no weights were read).
      </p>
      <div className="artifact-table-scroll" tabIndex={0} aria-label={`tensors of ${file.path}`}>
        <table className="grid compact" data-testid="tensor-table">
          <thead>
            <tr>
              <th>Tensor</th>
              <th>dtype</th>
              <th>Shape</th>
              <th className="num">Size</th>
            </tr>
          </thead>
          <tbody>
            {summary.tensors.map((tensor) => (
              <tr key={tensor.name}>
                <td className="mono">{tensor.name}</td>
                <td className="mono">{tensor.dtype}</td>
                <td className="mono">[{tensor.shape.join(', ')}]</td>
                <td className="num">{formatBytes(tensor.sizeBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {Object.keys(summary.metadata).length > 0 && (
        <p className="subtle">
          Metadata:{' '}
          {Object.entries(summary.metadata).map(([key, value]) => (
            <span key={key} className="kv">
              {key} = {value}
            </span>
          ))}
        </p>
      )}
    </div>
  )
}
