import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { ArtifactFileEntry, ArtifactFolderListing } from '../../../shared/artifact-browser'
import type { ArtifactVerification } from '../../../shared/contract'
import type { ErrorInfo } from '../../../shared/errors'
import { artifactDownloadUrl, buildTree, fileName, folderPaths, MAX_CONTRACT_DOWNLOAD_BYTES, readArtifactBytes, uploadArtifact, zipOverContract, type FolderNode } from '../lib/artifact-tree'
import { call, errorInfo } from '../lib/call'
import { formatBytes, formatDateTime } from '../lib/format'
import { routeHash } from '../stores/app-store'
import { api } from '../stores'
import { downloadBlob } from './chart-export'
import { ArtifactPreview } from './artifact-previews'
import { ErrorNote, Progress } from './common'
import './artifact-browser.css'

/**
 * The files of a run (or of a model version: a folder of its source run) as a folder tree with
 * previews, size and BLAKE3 (Verify where a hash was recorded), downloads of a file or a folder
 * (zip), and on a run's page uploads (drag and drop, or the file picker) and "Register as model".
 */
export interface ArtifactBrowserProps {
  runId: number
  /** The folder shown as the root ("" for the whole run). */
  prefix?: string
  label: string
  /** A run's page: files can be added and folders registered as models. */
  editable?: boolean
}

interface UploadProgress {
  path: string
  sizeBytes: number
  sent: number
  error: ErrorInfo | null
  done: boolean
}

export function ArtifactBrowser({ runId, prefix = '', label, editable = false }: ArtifactBrowserProps): React.JSX.Element {
  const [listing, setListing] = useState<ArtifactFolderListing | null>(null)
  const [error, setError] = useState<ErrorInfo | null>(null)
  const [selected, setSelected] = useState<string | null>(null)
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set([prefix]))
  const [uploads, setUploads] = useState<UploadProgress[]>([])
  const [dragging, setDragging] = useState(false)
  const [registering, setRegistering] = useState<string | null>(null)

  const load = useCallback(async () => {
    try {
      const next = await call(api, 'artifacts.browse', { runId, prefix })
      setListing(next)
      setError(null)
    } catch (caught) {
      setError(errorInfo(caught))
    }
  }, [runId, prefix])
  useEffect(() => {
    setListing(null)
    setSelected(null)
    void load()
  }, [load])
  // A script's uploads show up when its run changes (a status, a tag, its completion) and after
  // the connection comes back; there is no event per file.
  useEffect(
    () =>
      api.onEvent((event) => {
        if ((event.name === 'runs.changed' && event.payload.runId === runId) || event.name === 'transport.reconnected' || event.name === 'events.resync') void load()
      }),
    [runId, load]
  )

  const tree = useMemo(() => (listing ? buildTree(listing.files, listing.prefix) : null), [listing])
  const selectedFile = listing?.files.find((file) => file.path === selected) ?? null
  // The folder uploads go to: the selected file's, else the root shown.
  const uploadFolder = selected ? selected.slice(0, Math.max(0, selected.lastIndexOf('/'))) : prefix

  const upload = async (files: readonly File[]): Promise<void> => {
    const targets = files.map((file) => ({ file, path: uploadFolder === '' ? file.name : `${uploadFolder}/${file.name}` }))
    setUploads((current) => [...current.filter((item) => !item.done), ...targets.map(({ file, path }) => ({ path, sizeBytes: file.size, sent: 0, error: null, done: false }))])
    const update = (path: string, change: Partial<UploadProgress>): void => setUploads((current) => current.map((item) => (item.path === path ? { ...item, ...change } : item)))
    for (const { file, path } of targets) {
      try {
        await uploadArtifact(api, runId, path, file, (sent) => update(path, { sent }))
        update(path, { done: true, sent: file.size })
      } catch (caught) {
        update(path, { error: errorInfo(caught), done: true })
      }
    }
    await load()
    if (targets.length === 1 && targets[0]) setSelected(targets[0].path)
  }

  const dropProps = editable
    ? {
        onDragOver: (event: React.DragEvent) => {
          if (![...event.dataTransfer.types].includes('Files')) return
          event.preventDefault()
          event.dataTransfer.dropEffect = 'copy'
          setDragging(true)
        },
        onDragLeave: (event: React.DragEvent) => {
          if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDragging(false)
        },
        onDrop: (event: React.DragEvent) => {
          event.preventDefault()
          setDragging(false)
          const files = [...event.dataTransfer.files]
          if (files.length > 0) void upload(files)
        }
      }
    : {}

  return (
    <section className={`panel artifact-browser${dragging ? ' dragging' : ''}`} aria-label={label} {...dropProps}>
      <div className="panel-header">
        <h2>{editable ? 'Artifacts' : 'Files'}</h2>
        <span className="actions">
          {tree && tree.fileCount > 0 && <FolderDownload runId={runId} folder={prefix} label={prefix === '' ? 'Download all (zip)' : 'Download folder (zip)'} />}
          {editable && <UploadButton folder={uploadFolder} onFiles={(files) => void upload(files)} />}
          {editable && tree && tree.fileCount > 0 && (
            <button type="button" onClick={() => setRegistering(uploadFolder)}>
              Register as model…
            </button>
          )}
        </span>
      </div>
      <ErrorNote error={error} title="Cannot list the files" />
      {uploads.length > 0 && <UploadList uploads={uploads} />}
      {registering !== null && tree && <RegisterAsModel runId={runId} folders={folderPaths(tree)} initialFolder={registering} onClose={() => setRegistering(null)} />}
      {!listing && !error && <Progress label="Listing files…" />}
      {tree && tree.fileCount === 0 && (
        <p className="subtle" data-testid="artifacts-empty">
          {editable ? (
            <>
              No files yet. Drop files here or use “Upload files”; a script can PUT them to <code>/v1/ml/runs/{runId}/artifacts/&lt;path&gt;</code>.
            </>
          ) : (
            'The folder holds no file.'
          )}
        </p>
      )}
      {listing?.truncated && <p className="subtle">Only the first {listing.files.length.toLocaleString()} files are listed.</p>}
      {tree && tree.fileCount > 0 && (
        <div className="artifact-layout">
          <nav className="artifact-tree" aria-label={`${label} tree`}>
            <FolderView
              node={tree}
              root
              runId={runId}
              expanded={expanded}
              selected={selected}
              onToggle={(path) =>
                setExpanded((current) => {
                  const next = new Set(current)
                  if (next.has(path)) next.delete(path)
                  else next.add(path)
                  return next
                })
              }
              onSelect={setSelected}
              onRegister={editable ? setRegistering : undefined}
            />
          </nav>
          <div className="artifact-detail">
            {selectedFile ? (
              <FileDetail runId={runId} file={selectedFile} onVerified={() => void load()} />
            ) : (
              <p className="subtle">Choose a file to preview it.</p>
            )}
          </div>
        </div>
      )}
    </section>
  )
}

function FolderView({
  node,
  root = false,
  runId,
  expanded,
  selected,
  onToggle,
  onSelect,
  onRegister
}: {
  node: FolderNode
  root?: boolean
  runId: number
  expanded: ReadonlySet<string>
  selected: string | null
  onToggle: (path: string) => void
  onSelect: (path: string) => void
  onRegister?: (folder: string) => void
}): React.JSX.Element {
  const open = root || expanded.has(node.path)
  const children = (
    <ul className="artifact-list">
      {node.folders.map((folder) => (
        <li key={folder.path}>
          <FolderView node={folder} runId={runId} expanded={expanded} selected={selected} onToggle={onToggle} onSelect={onSelect} onRegister={onRegister} />
        </li>
      ))}
      {node.files.map((file) => (
        <li key={file.path}>
          <button
            type="button"
            className={`artifact-file${selected === file.path ? ' selected' : ''}`}
            aria-current={selected === file.path ? 'true' : undefined}
            data-path={file.path}
            onClick={() => onSelect(file.path)}
          >
            <span className="artifact-name">{fileName(file.path)}</span> <span className="subtle artifact-size">{formatBytes(file.sizeBytes)}</span>
          </button>
        </li>
      ))}
    </ul>
  )
  if (root) return children
  return (
    <div className="artifact-folder" data-folder={node.path}>
      <div className="artifact-folder-row">
        <button type="button" className="artifact-folder-toggle" aria-expanded={open} onClick={() => onToggle(node.path)}>
          <span aria-hidden="true">{open ? '▾' : '▸'}</span> {node.name}/{' '}
          <span className="subtle">
            {node.fileCount} {node.fileCount === 1 ? 'file' : 'files'}, {formatBytes(node.totalBytes)}
          </span>
        </button>
        <FolderDownload runId={runId} folder={node.path} label="zip" ariaLabel={`download ${node.path} as zip`} />
        {onRegister && (
          <button type="button" className="link-button" aria-label={`register ${node.path} as model`} onClick={() => onRegister(node.path)}>
            register
          </button>
        )}
      </div>
      {open && children}
    </div>
  )
}

function FolderDownload({ runId, folder, label, ariaLabel }: { runId: number; folder: string; label: string; ariaLabel?: string }): React.JSX.Element {
  const [state, setState] = useState<{ busy: boolean; error: ErrorInfo | null }>({ busy: false, error: null })
  const url = artifactDownloadUrl(runId, { folder })
  if (url) {
    return (
      <a className="button-link" href={url} download aria-label={ariaLabel}>
        {label}
      </a>
    )
  }
  // The Electron window has no URL to stream from: the zip comes over the contract.
  const download = async (): Promise<void> => {
    setState({ busy: true, error: null })
    try {
      const { name, blob } = await zipOverContract(api, runId, folder)
      downloadBlob(name, blob)
      setState({ busy: false, error: null })
    } catch (caught) {
      setState({ busy: false, error: errorInfo(caught) })
    }
  }
  return (
    <>
      <button type="button" className="button-link" aria-label={ariaLabel} disabled={state.busy} onClick={() => void download()}>
        {state.busy ? '…' : label}
      </button>
      {state.error && <span className="bad">{state.error.message}</span>}
    </>
  )
}

function FileDetail({ runId, file, onVerified }: { runId: number; file: ArtifactFileEntry; onVerified: () => void }): React.JSX.Element {
  const [verification, setVerification] = useState<{ path: string; result: ArtifactVerification | null; error: ErrorInfo | null; running: boolean } | null>(null)
  const [downloadError, setDownloadError] = useState<ErrorInfo | null>(null)
  const result = verification?.path === file.path ? verification : null
  const verify = async (): Promise<void> => {
    if (file.artifactId === null) return
    setVerification({ path: file.path, result: null, error: null, running: true })
    try {
      const answer = await call(api, 'artifacts.verify', { artifactId: file.artifactId })
      setVerification({ path: file.path, result: answer, error: null, running: false })
      if (answer.verified) onVerified()
    } catch (caught) {
      setVerification({ path: file.path, result: null, error: errorInfo(caught), running: false })
    }
  }
  const url = artifactDownloadUrl(runId, { file: file.path })
  const downloadOverContract = async (): Promise<void> => {
    setDownloadError(null)
    try {
      const { bytes } = await readArtifactBytes(api, runId, file.path, 0, file.sizeBytes)
      downloadBlob(fileName(file.path), new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }))
    } catch (caught) {
      setDownloadError(errorInfo(caught))
    }
  }
  return (
    <article aria-label={`file ${file.path}`} data-testid="artifact-detail">
      <div className="panel-header">
        <h3 className="mono" data-testid="artifact-path">{file.path}</h3>
        {url ? (
          <a className="button-link" href={url} download>
            Download
          </a>
        ) : (
          <button type="button" disabled={file.sizeBytes > MAX_CONTRACT_DOWNLOAD_BYTES} title={file.sizeBytes > MAX_CONTRACT_DOWNLOAD_BYTES ? `files over ${formatBytes(MAX_CONTRACT_DOWNLOAD_BYTES)} download from hypercube serve or the API` : undefined} onClick={() => void downloadOverContract()}>
            Download
          </button>
        )}
      </div>
      <ErrorNote error={downloadError} title="Cannot download" />
      <dl className="facts artifact-facts">
        <div>
          <dt>Size</dt>
          <dd data-testid="artifact-size">
            {formatBytes(file.sizeBytes)} ({file.sizeBytes.toLocaleString()} bytes)
          </dd>
        </div>
        <div>
          <dt>BLAKE3</dt>
          <dd className="mono hash-wide" data-testid="artifact-blake3">
            {file.blake3 ?? 'not recorded'}{' '}
            {file.blake3 !== null && file.artifactId !== null && (
              <button type="button" disabled={result?.running} onClick={() => void verify()}>
                {result?.running ? 'Verifying…' : 'Verify'}
              </button>
            )}
          </dd>
        </div>
        <div>
          <dt>Verified</dt>
          <dd data-testid="artifact-verified">
            {result?.result ? (
              result.result.verified ? (
                <span className="ok">✓ matches ({formatDateTime(result.result.artifact.verifiedAt)})</span>
              ) : (
                <span className="bad">
                  ✗ differs: now {result.result.actualBlake3.slice(0, 16)}…, {formatBytes(result.result.actualSizeBytes)}
                </span>
              )
            ) : result?.error ? (
              <span className="bad">{result.error.message}</span>
            ) : (
              formatDateTime(file.verifiedAt)
            )}
          </dd>
        </div>
      </dl>
      <ArtifactPreview runId={runId} file={file} />
    </article>
  )
}

function UploadButton({ folder, onFiles }: { folder: string; onFiles: (files: File[]) => void }): React.JSX.Element {
  const input = useRef<HTMLInputElement>(null)
  return (
    <>
      <button type="button" onClick={() => input.current?.click()} title={`to ${folder === '' ? 'the top folder' : `${folder}/`}`}>
        Upload files…
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        aria-label={`upload files to ${folder === '' ? 'the top folder' : folder}`}
        onChange={(event) => {
          const files = [...(event.target.files ?? [])]
          event.target.value = ''
          if (files.length > 0) onFiles(files)
        }}
      />
    </>
  )
}

function UploadList({ uploads }: { uploads: readonly UploadProgress[] }): React.JSX.Element {
  return (
    <ul className="upload-list" aria-label="uploads" aria-live="polite">
      {uploads.map((item) => {
        const percent = item.sizeBytes === 0 ? 100 : Math.floor((item.sent / item.sizeBytes) * 100)
        return (
          <li key={item.path} data-upload={item.path}>
            <span className="mono">{item.path}</span>{' '}
            <progress max={Math.max(item.sizeBytes, 1)} value={item.sizeBytes === 0 ? 1 : item.sent} aria-label={`upload of ${item.path}`} />{' '}
            {item.error ? (
              <span className="bad">failed: {item.error.message}</span>
            ) : item.done ? (
              <span className="ok">uploaded, {formatBytes(item.sizeBytes)}</span>
            ) : (
              <span>
                {percent}% ({formatBytes(item.sent)} of {formatBytes(item.sizeBytes)})
              </span>
            )}
          </li>
        )
      })}
    </ul>
  )
}

function RegisterAsModel({ runId, folders, initialFolder, onClose }: { runId: number; folders: string[]; initialFolder: string; onClose: () => void }): React.JSX.Element {
  const [folder, setFolder] = useState(folders.includes(initialFolder) ? initialFolder : (folders[0] ?? ''))
  const [modelName, setModelName] = useState('')
  const [description, setDescription] = useState('')
  const [models, setModels] = useState<string[]>([])
  const [state, setState] = useState<{ busy: boolean; error: ErrorInfo | null; registered: { modelName: string; version: string } | null }>({ busy: false, error: null, registered: null })
  useEffect(() => {
    call(api, 'models.list', {}).then(
      (list) => setModels(list.map((model) => model.modelName)),
      () => setModels([])
    )
  }, [])
  const submit = async (event: React.FormEvent): Promise<void> => {
    event.preventDefault()
    setState({ busy: true, error: null, registered: null })
    try {
      const version = await call(api, 'models.registerFromRun', { runId, folder, modelName: modelName.trim(), description })
      setState({ busy: false, error: null, registered: { modelName: version.modelName, version: version.version } })
    } catch (caught) {
      setState({ busy: false, error: errorInfo(caught), registered: null })
    }
  }
  const existing = models.includes(modelName.trim())
  return (
    <form className="panel register-model" aria-label="register as model" onSubmit={(event) => void submit(event)}>
      <h3>Register a folder as a model version</h3>
      <label>
        Folder{' '}
        <select aria-label="folder to register" value={folder} onChange={(event) => setFolder(event.target.value)}>
          {folders.map((path) => (
            <option key={path} value={path}>
              {path === '' ? '(all files of the run)' : `${path}/`}
            </option>
          ))}
        </select>
      </label>{' '}
      <label>
        Model{' '}
        <input aria-label="model name" list={`models-${runId}`} value={modelName} required onChange={(event) => setModelName(event.target.value)} placeholder="new or existing model" />
        <datalist id={`models-${runId}`}>
          {models.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </label>{' '}
      <span className="subtle" data-testid="register-target">
        {modelName.trim() === '' ? '' : existing ? `a new version of ${modelName.trim()}` : `a new model, ${modelName.trim()}`}
      </span>
      <label className="block">
        Description <input aria-label="version description" value={description} onChange={(event) => setDescription(event.target.value)} />
      </label>
      <ErrorNote error={state.error} title="Cannot register" />
      {state.registered && (
        <p className="ok" role="status">
          Registered {state.registered.modelName} v{state.registered.version}.{' '}
          <a href={routeHash({ page: 'model', modelName: state.registered.modelName, tab: 'versions' })}>Open the model</a>
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={state.busy || modelName.trim() === ''}>
          {state.busy ? 'Registering…' : 'Register'}
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  )
}
