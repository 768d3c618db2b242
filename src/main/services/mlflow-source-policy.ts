import { lstat, readlink } from 'node:fs/promises'
import { MlflowError } from './mlflow-schemas'

/**
 * Which sources a model version may name (MLflow's _validate_source_run / _validate_source_model,
 * mlflow/server/handlers.py — the fixes of its path-traversal CVEs), the one place that decides
 * it (STYLE.md point 14). The rules and messages are MLflow's, because clients and mlflow's own
 * tests match on them:
 *
 * Allowed: a local path or file: URI inside the artifact folder of the run named by run_id (or of
 *   the logged model named by model_id), when that folder is itself local; any other URI whose
 *   path is absolute and has no relative part ('..', percent-encoded or not) and no NUL.
 * Denied: a local path or file: URI without run_id/model_id, or outside that folder, or when the
 *   run keeps its artifacts in the server (mlflow-artifacts:) — 400; a file: URI naming another
 *   host — 500, as MLflow answers; a non-local URI with a relative part — 400.
 *
 * URIs are read as Python's urllib.parse reads them, and paths resolved as pathlib's
 * Path.resolve() does (symlinks of the server's file system followed), so the same source gets
 * the same answer here as from MLflow. POSIX only: MLflow's Windows drive rules do not apply.
 *
 * An experiment's artifact_location is checked here too (experimentArtifactLocation).
 */

/** What a source's owner (the run, or the logged model) is, looked up only for a local source. */
export interface SourceOwner {
  field: 'run_id' | 'model_id'
  /** As the request gave it; '' for none. */
  id: string
  /** The owner's artifact location URI; refuses (404) an owner that does not exist. */
  artifactLocation: () => Promise<string>
}

export async function checkModelVersionSource(source: string, owner: SourceOwner): Promise<void> {
  if (isLocalUri(source)) {
    let shown = source
    if (owner.id) {
      const location = await owner.artifactLocation()
      const resolved = await resolvePath(localUriToPath(source))
      shown = resolved
      if (isLocalUri(location) && isWithin(resolved, await resolvePath(localUriToPath(location)))) return
    }
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid model version source: '${shown}'. To use a local path as a model version source, the ${owner.field} request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the ${owner.field}.`
    )
  }
  await checkNoRelativePath(source)
}

/** MLflow's _validate_non_local_source_contains_relative_paths. */
export async function checkNoRelativePath(original: string): Promise<void> {
  let source = original
  for (let unquoted = unquotePlus(source); unquoted !== source; unquoted = unquotePlus(source)) source = unquoted
  const sourcePath = urlParse(source).path.replace(/\/+$/, '').replace(/\/+/g, '/')
  const refused =
    sourcePath.includes('\0') || source.split('/').some((part) => part === '..') || (await resolvePath(sourcePath)) !== sourcePath
  if (refused) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid model version source: '${original}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`
    )
  }
}

/** A URI as urllib.parse.urlparse splits it (the parts these rules read). */
export interface ParsedUri {
  scheme: string
  netloc: string
  path: string
  /** Lower-cased, without user and port; undefined when there is none. */
  hostname: string | undefined
  /** After '?', '#' and ';' (params only for the schemes urlparse splits them for); '' for none. */
  query: string
  fragment: string
  params: string
}

const SCHEME_CHARS = /^[A-Za-z0-9+\-.]+$/
// urlparse splits ;params off the path only for these schemes.
const USES_PARAMS = new Set(['', 'ftp', 'hdl', 'prospero', 'http', 'imap', 'https', 'shttp', 'rtsp', 'rtsps', 'rtspu', 'sip', 'sips', 'mms', 'sftp', 'tel'])

export function urlParse(input: string): ParsedUri {
  // eslint-disable-next-line no-control-regex -- urlsplit strips leading C0 controls and spaces, and drops tab/CR/LF anywhere
  let rest = input.replace(/^[\x00-\x20]+/, '').replace(/[\t\r\n]/g, '')
  let scheme = ''
  const colon = rest.indexOf(':')
  if (colon > 0 && /^[A-Za-z]/.test(rest) && SCHEME_CHARS.test(rest.slice(0, colon))) {
    scheme = rest.slice(0, colon).toLowerCase()
    rest = rest.slice(colon + 1)
  }
  let netloc = ''
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?#]/)
    netloc = end < 0 ? rest.slice(2) : rest.slice(2, end + 2)
    rest = end < 0 ? '' : rest.slice(end + 2)
  }
  let fragment = ''
  const hash = rest.indexOf('#')
  if (hash >= 0) [rest, fragment] = [rest.slice(0, hash), rest.slice(hash + 1)]
  let query = ''
  const question = rest.indexOf('?')
  if (question >= 0) [rest, query] = [rest.slice(0, question), rest.slice(question + 1)]
  let params = ''
  if (USES_PARAMS.has(scheme) && rest.includes(';')) {
    const afterSlash = rest.lastIndexOf('/')
    const semicolon = afterSlash >= 0 ? rest.indexOf(';', afterSlash) : rest.indexOf(';')
    if (semicolon >= 0) [rest, params] = [rest.slice(0, semicolon), rest.slice(semicolon + 1)]
  }
  return { scheme, netloc, path: rest, hostname: hostnameOf(netloc), query, fragment, params }
}

/**
 * An experiment's artifact_location as MLflow's create_experiment takes it: no fragment or
 * ;params, no '..' in its query however often percent-encoded (validate_query_string), and a
 * relative local path made absolute against the server's working folder (resolve_uri_if_local),
 * which is what MLflow stores and answers. The same resolution applies to serve's
 * --default-artifact-root.
 */
export function experimentArtifactLocation(location: string, cwd: string = process.cwd()): string {
  const parsed = urlParse(location)
  if (parsed.fragment || parsed.params) throw new MlflowError('INVALID_PARAMETER_VALUE', "'artifact_location' URL can't include fragments or params.")
  let query = parsed.query
  for (let round = 0; ; round++) {
    const decoded = unquote(query)
    if (decoded === query) break
    if (round === 9) throw new MlflowError('INVALID_PARAMETER_VALUE', 'Failed to decode url')
    query = decoded
  }
  if (query.includes('..')) throw new MlflowError('INVALID_PARAMETER_VALUE', 'Invalid query string')
  return resolveUriIfLocal(location, cwd)
}

/** MLflow's resolve_uri_if_local: a relative local path or file: URI made absolute against cwd. */
export function resolveUriIfLocal(uri: string, cwd: string = process.cwd()): string {
  if (!isLocalUri(uri)) return uri
  const localPath = localUriToPath(uri)
  if (localPath.startsWith('/')) return uri
  // pathlib's joinpath: empty and '.' parts dropped, '..' kept as written.
  const joined = `/${[...cwd.split('/'), ...localPath.split('/')].filter((part) => part !== '' && part !== '.').join('/')}`
  const parsed = urlParse(uri)
  if (parsed.scheme === '') return joined
  return `${parsed.scheme}://${joined}${parsed.query ? `?${parsed.query}` : ''}${parsed.fragment ? `#${parsed.fragment}` : ''}`
}

function hostnameOf(netloc: string): string | undefined {
  const hostinfo = netloc.slice(netloc.lastIndexOf('@') + 1)
  const bracket = hostinfo.indexOf('[')
  const host = bracket >= 0 ? hostinfo.slice(bracket + 1).split(']')[0]! : hostinfo.split(':')[0]!
  if (host === '') return undefined
  const zone = host.indexOf('%')
  return zone >= 0 ? host.slice(0, zone).toLowerCase() + host.slice(zone) : host.toLowerCase()
}

/** MLflow's is_local_uri for a registry source: no scheme, or file: on this machine. */
export function isLocalUri(uri: string): boolean {
  if (uri === 'databricks') return false
  const parsed = urlParse(uri)
  if (parsed.scheme === '') return true
  const host = parsed.hostname
  const remoteHost = host !== undefined && !(host === '.' || host.startsWith('localhost') || host.startsWith('127.0.0.1'))
  if (parsed.scheme === 'file') {
    if (remoteHost) {
      // MLflow answers this with a 500 (INTERNAL_ERROR); it is the caller's source, so here a
      // 400 with MLflow's message: a client retries a 5xx, and no retry can fix this one.
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `${uri} is not a valid remote uri. For remote access on windows, please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>).`
      )
    }
    return true
  }
  return false
}

/** MLflow's local_file_uri_to_path: a file: URI's path, or the text itself, percent-decoded. */
export function localUriToPath(uri: string): string {
  return unquote(uri.startsWith('file:') ? urlParse(uri).path : uri)
}

/** urllib.parse.unquote: %XX runs decoded as UTF-8 (invalid bytes become U+FFFD). */
export function unquote(text: string): string {
  if (!text.includes('%')) return text
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'))
}

export function unquotePlus(text: string): string {
  return unquote(text.replace(/\+/g, ' '))
}

function isWithin(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith('/') ? folder : `${folder}/`)
}

/**
 * pathlib's Path(path).resolve() (posixpath.realpath, not strict): absolute against the working
 * folder, symlinks that exist followed, '..' applied to what they resolved to, missing parts kept.
 */
export async function resolvePath(path: string, cwd: string = process.cwd()): Promise<string> {
  const seen = new Map<string, string | null>()
  const [resolved] = await joinRealPath('', path, seen)
  return normalize(resolved.startsWith('/') ? resolved : `${cwd}/${resolved}`)
}

async function joinRealPath(start: string, input: string, seen: Map<string, string | null>): Promise<[string, boolean]> {
  let path = start
  let rest = input
  if (rest.startsWith('/')) {
    rest = rest.slice(1)
    path = '/'
  }
  while (rest !== '') {
    const slash = rest.indexOf('/')
    const name = slash < 0 ? rest : rest.slice(0, slash)
    rest = slash < 0 ? '' : rest.slice(slash + 1)
    if (name === '' || name === '.') continue
    if (name === '..') {
      if (path === '') path = '..'
      else {
        const [head, tail] = split(path)
        path = tail === '..' ? join(join(head, '..'), '..') : head
      }
      continue
    }
    const next = join(path, name)
    // A part that does not exist is kept as it is (realpath's non-strict mode).
    const isLink = await lstat(next).then(
      (stats) => stats.isSymbolicLink(),
      () => false
    )
    if (!isLink) {
      path = next
      continue
    }
    if (seen.has(next)) {
      const known = seen.get(next)
      if (known !== null && known !== undefined) {
        path = known
        continue
      }
      return [join(next, rest), false] // a symlink loop: left as it is
    }
    seen.set(next, null)
    const [target, ok] = await joinRealPath(path, await readlink(next), seen)
    if (!ok) return [join(target, rest), false]
    path = target
    seen.set(next, path)
  }
  return [path, true]
}

function join(head: string, tail: string): string {
  if (tail.startsWith('/')) return tail
  if (head === '' || head.endsWith('/')) return head + tail
  return `${head}/${tail}`
}

function split(path: string): [string, string] {
  const slash = path.lastIndexOf('/') + 1
  let head = path.slice(0, slash)
  if (head !== '' && head !== '/'.repeat(head.length)) head = head.replace(/\/+$/, '')
  return [head, path.slice(slash)]
}

/** posixpath.normpath for an absolute path. */
function normalize(path: string): string {
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') parts.pop()
    else parts.push(part)
  }
  return `/${parts.join('/')}`
}
