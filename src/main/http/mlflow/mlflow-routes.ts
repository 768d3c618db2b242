import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { isDomainError, type ErrorCode } from '../../../shared/errors'
import type { ArtifactStore } from '../../artifacts/artifact-store'
import type { ArtifactService } from '../../services/artifact-service'
import { downloadArtifactQuery, invalidValueMessage, listArtifactsQuery, mlflowArtifactPath, parseMlflow, withJsonSource } from '../../services/mlflow-schemas'
import type { MlflowHistoryBulk } from '../../services/mlflow-history-bulk'
import { MlflowError, type MlflowService } from '../../services/mlflow-service'
import { diskFullError, HttpRefusal, logRequestFailure, type ErrorContext } from '../errors'
import { stringifyJson } from '../json'
import { MalformedJsonError, parseJsonBody } from '../request-text'
import type { HttpContext } from '../server'

/**
 * The MLflow REST API (/api/2.0/mlflow/… and /api/2.0/mlflow-artifacts/…) as the official mlflow
 * client calls it, so training scripts log into Hypercube unchanged. An encapsulated plugin: its
 * errors are MLflow's `{error_code, message}` (never 5xx for a client's mistake — the client
 * retries 5xx for minutes), its JSON parser keeps int64 exact, and only its artifact routes take
 * non-JSON bodies.
 */

export interface MlflowPluginOptions {
  mlflow: MlflowService
  /** One metric of many runs at once (get-history-bulk, get-history-bulk-interval). */
  history: MlflowHistoryBulk
  artifacts: ArtifactService
  /** For logged-model files (MLflow 3), which belong to no run: <experiment>/models/<model_id>/…. */
  store: ArtifactStore
}

type Body = Record<string, unknown>

const DOMAIN_TO_MLFLOW: Record<ErrorCode, { code: string; status: number }> = {
  invalid_argument: { code: 'INVALID_PARAMETER_VALUE', status: 400 },
  not_found: { code: 'RESOURCE_DOES_NOT_EXIST', status: 404 },
  conflict: { code: 'INVALID_PARAMETER_VALUE', status: 400 },
  unavailable: { code: 'TEMPORARILY_UNAVAILABLE', status: 503 },
  // MLflow's code for an exhausted resource; 507 as /v1 answers a full disk.
  insufficient_storage: { code: 'RESOURCE_EXHAUSTED', status: 507 },
  read_only: { code: 'PERMISSION_DENIED', status: 403 },
  internal: { code: 'INTERNAL_ERROR', status: 500 }
}

const HTTP_REFUSAL_CODES: Record<number, string> = { 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 421: 'BAD_REQUEST' }

export function toMlflowError(error: unknown, context: ErrorContext = {}): { status: number; body: { error_code: string; message: string }; isBug: boolean } {
  error = diskFullError(error, context) ?? error
  if (error instanceof MlflowError) return { status: error.status, body: { error_code: error.errorCode, message: error.message }, isBug: error.status >= 500 }
  if (isDomainError(error)) {
    const mapped = DOMAIN_TO_MLFLOW[error.code]
    return { status: mapped.status, body: { error_code: mapped.code, message: error.message }, isBug: error.code === 'internal' }
  }
  if (error instanceof HttpRefusal) {
    return { status: error.status, body: { error_code: HTTP_REFUSAL_CODES[error.status] ?? 'BAD_REQUEST', message: error.message }, isBug: false }
  }
  const status = (error as FastifyError).statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Malformed JSON, a body over the size limit, an unsupported media type: the client's
    // request is at fault, so 400 with MLflow's code (413/415 would not tell the client more).
    return { status: 400, body: { error_code: 'BAD_REQUEST', message: (error as Error).message }, isBug: false }
  }
  return { status: 500, body: { error_code: 'INTERNAL_ERROR', message: 'internal error; the server log has the details' }, isBug: true }
}

function sendMlflowJson(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  // One string, one write: no Nagle/delayed-ACK stall on kept-alive connections.
  return reply.code(status).type('application/json').send(stringifyJson(value))
}

/**
 * JSON numbers past 2^53 (int64 steps, timestamps) would be rounded by JSON.parse; this puts
 * such integer literals in quotes first, so they arrive as decimal strings (which MLflow's int64
 * fields accept) with every digit. The scan only runs when the text has an integer-looking run of
 * 16+ digits (not the fraction of a double like 0.9801986733067553, which every batch has).
 */
const LONG_INTEGER = /(?<![\d.])\d{16,}(?![\d.eE])/

export function quoteLargeIntegers(text: string): string {
  if (!LONG_INTEGER.test(text)) return text
  let out = ''
  let i = 0
  let copiedTo = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      i++
      while (i < text.length && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 /* \ */ ? 2 : 1
      i++
      continue
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i
      i++
      while (i < text.length && /[0-9.eE+-]/.test(text[i]!)) i++
      const literal = text.slice(start, i)
      if (/^-?\d{16,}$/.test(literal) && !Number.isSafeInteger(Number(literal))) {
        out += text.slice(copiedTo, start) + '"' + literal + '"'
        copiedTo = i
      }
      continue
    }
    i++
  }
  return out + text.slice(copiedTo)
}

export function mlflowPlugin(options: MlflowPluginOptions): (app: FastifyInstance, context: HttpContext) => Promise<void> {
  return async (app, context) => {
    // A path the router cannot decode never reaches these scopes' error handlers.
    for (const prefix of ['/api/', '/ajax-api/']) context.addErrorFormat(prefix, (error) => toMlflowError(error))
    const answerError = async (error: unknown, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const { status, body, isBug } = toMlflowError(error, { dataDir: context.dataDir })
      if (isBug) logRequestFailure(request, error, 'MLflow request failed')
      return sendMlflowJson(reply, status, body)
    }
    const door = (register: (scope: FastifyInstance) => Promise<void>) => async (scope: FastifyInstance): Promise<void> => {
      scope.setErrorHandler(answerError)
      scope.setNotFoundHandler(async (request, reply) =>
        sendMlflowJson(reply, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: `no MLflow endpoint ${request.method} ${request.url.split('?')[0]}` })
      )
      scope.removeContentTypeParser('application/json')
      // Bytes, as /v1 reads them (request-text.ts): invalid UTF-8, another charset, a lone
      // surrogate or nesting past 100 levels is INVALID_PARAMETER_VALUE naming the field; text
      // that is not JSON stays BAD_REQUEST, and an empty body an empty request.
      scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, bytes, done) => {
        const body = bytes as Buffer
        bodyBytes.set(request.raw, body.length)
        try {
          done(null, parseJsonBody(body, { contentType: request.headers['content-type'], parse: (text) => withJsonSource(JSON.parse(quoteLargeIntegers(text)), text), emptyBody: {} }))
        } catch (error) {
          done(error instanceof MalformedJsonError ? new MlflowError('BAD_REQUEST', error.message) : (error as Error), undefined)
        }
      })

      await register(scope)
    }
    const everything = door(async (scope) => {
      registerTracking(scope, options)
      await scope.register(async (artifactScope) => registerArtifacts(artifactScope, options))
    })
    // /ajax-api is where MLflow's web UI (and some tools built on it) call the same handlers.
    for (const prefix of ['/api/2.0', '/ajax-api/2.0']) await app.register(everything, { prefix })
    // MLflow's web UI downloads a run's or a model version's file from the server's root.
    for (const prefix of DOWNLOAD_ROUTES) context.addErrorFormat(prefix, (error) => toMlflowError(error))
    await app.register(async (scope) => {
      scope.setErrorHandler(answerError)
      registerDownloads(scope, options)
    })
    // The client asks for sampled histories under the API version that introduced them.
    await app.register(
      door(async (scope) => routeIn(scope, 'GET', 'metrics/get-history-bulk-interval', (body) => options.history.bulkInterval(body))),
      { prefix: '/api/2.11' }
    )
    // Calls of other MLflow API versions the door does not serve (3.0's traces, datasets and
    // scorers; 2.11's bulk history) get MLflow's own 404, so a client says "endpoint not found".
    for (const prefix of ['/api', '/ajax-api']) {
      await app.register(async (scope) => {
        scope.setNotFoundHandler(async (request, reply) =>
          sendMlflowJson(reply, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: `no MLflow endpoint ${request.method} ${request.url.split('?')[0]}` })
        )
      }, { prefix })
    }
  }
}

const bodyBytes = new WeakMap<IncomingMessage, number>()

/** A GET's query and a POST/PATCH/DELETE's JSON body, as one object (the client uses both forms). */
function input(request: FastifyRequest): Body {
  const query = (request.query ?? {}) as Body
  const body = request.body
  refuseNul(query)
  if (body === undefined || body === null) return query
  if (typeof body !== 'object' || Array.isArray(body)) throw new MlflowError('BAD_REQUEST', 'request body must be a JSON object')
  refuseNul(body as Body)
  return { ...query, ...(body as Body) }
}

/** Path parameters as MLflow's messages name them. */
const PATH_PARAMETER_NAMES: Record<string, string> = { modelId: 'model_id', key: 'key', '*': 'path' }

/** The path parameters of a request, checked like every other parameter. */
function pathParams(request: FastifyRequest): Record<string, string> {
  const params = request.params as Record<string, string>
  for (const [name, value] of Object.entries(params)) refuseNul({ [PATH_PARAMETER_NAMES[name] ?? name]: value })
  return params
}

/**
 * No MLflow name, id or value holds a NUL, and PostgreSQL text cannot store one (SQLSTATE 22021,
 * once a 500): every string a request carries (path, query, body at any depth) is checked once
 * here, so every route refuses it alike, naming the parameter as MLflow's messages do
 * (`tags[0].key`). A loop, not recursion: bodies can nest deeply.
 */
function refuseNul(values: Body): void {
  const pending: Array<{ value: unknown; name: string }> = Object.entries(values).map(([name, value]) => ({ value, name }))
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value, name } = item
    if (typeof value === 'string') {
      if (value.includes('\0')) throw new MlflowError('INVALID_PARAMETER_VALUE', invalidValueMessage(name, value, 'must not contain a NUL byte'))
    } else if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) pending.push({ value: value[index], name: `${name}[${index}]` })
    } else if (value !== null && typeof value === 'object') {
      for (const [key, entry] of Object.entries(value)) pending.push({ value: entry, name: `${name}.${key}` })
    }
  }
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** An MLflow call under the scope's prefix: its input is the query and the JSON body as one object. */
function routeIn(app: FastifyInstance, methods: Method | Method[], path: string, handler: (body: Body, request: FastifyRequest) => Promise<unknown>): void {
  app.route({
    method: methods,
    url: `/mlflow/${path}`,
    handler: async (request, reply) => {
      pathParams(request)
      return sendMlflowJson(reply, 200, await handler(input(request), request))
    }
  })
}

function registerTracking(scope: FastifyInstance, options: MlflowPluginOptions): void {
  const { mlflow, history } = options
  const route = (methods: Method | Method[], path: string, handler: (body: Body, request: FastifyRequest) => Promise<unknown>): void => routeIn(scope, methods, path, handler)
  const params = (request: FastifyRequest): Record<string, string> => request.params as Record<string, string>

  route('POST', 'experiments/create', (body) => mlflow.createExperiment(body))
  route('GET', 'experiments/get', (body) => mlflow.getExperiment(body))
  route('GET', 'experiments/get-by-name', (body) => mlflow.getExperimentByName(body))
  route(['GET', 'POST'], 'experiments/search', (body) => mlflow.searchExperiments(body))
  route('POST', 'experiments/update', (body) => mlflow.updateExperiment(body))
  route('POST', 'experiments/delete', (body) => mlflow.deleteExperiment(body))
  route('POST', 'experiments/restore', (body) => mlflow.restoreExperiment(body))
  route('POST', 'experiments/set-experiment-tag', (body) => mlflow.setExperimentTag(body))
  route('POST', 'experiments/delete-experiment-tag', (body) => mlflow.deleteExperimentTag(body))
  route('POST', 'experiments/search-datasets', (body) => mlflow.searchDatasets(body))

  route('POST', 'runs/create', (body) => mlflow.createRun(body))
  route('GET', 'runs/get', (body) => mlflow.getRun(body))
  route('POST', 'runs/update', (body) => mlflow.updateRun(body))
  route('POST', 'runs/delete', (body) => mlflow.deleteRun(body))
  route('POST', 'runs/restore', (body) => mlflow.restoreRun(body))
  route('POST', 'runs/log-metric', (body) => mlflow.logMetric(body))
  route('POST', 'runs/log-parameter', (body) => mlflow.logParam(body))
  route('POST', 'runs/set-tag', (body) => mlflow.setTag(body))
  route('POST', 'runs/delete-tag', (body) => mlflow.deleteTag(body))
  route('POST', 'runs/log-batch', (body, request) => mlflow.logBatch(body, bodyBytes.get(request.raw) ?? 0))
  route('POST', 'runs/log-model', (body) => mlflow.logModel(body))
  route('POST', 'runs/log-inputs', (body) => mlflow.logInputs(body))
  route('POST', 'runs/outputs', (body) => mlflow.logOutputs(body))
  route('POST', 'runs/search', (body) => mlflow.searchRuns(body))
  route('GET', 'metrics/get-history', (body) => mlflow.getMetricHistory(body))
  route('GET', 'metrics/get-history-bulk', (body) => history.bulk(body))
  route('GET', 'metrics/get-history-bulk-interval', (body) => history.bulkInterval(body))

  route('POST', 'registered-models/create', (body) => mlflow.createRegisteredModel(body))
  route('GET', 'registered-models/get', (body) => mlflow.getRegisteredModel(body))
  route('GET', 'registered-models/search', (body) => mlflow.searchRegisteredModels(body))
  route('PATCH', 'registered-models/update', (body) => mlflow.updateRegisteredModel(body))
  route('POST', 'registered-models/rename', (body) => mlflow.renameRegisteredModel(body))
  route('DELETE', 'registered-models/delete', (body) => mlflow.deleteRegisteredModel(body))
  route('POST', 'registered-models/set-tag', (body) => mlflow.setRegisteredModelTag(body))
  route('DELETE', 'registered-models/delete-tag', (body) => mlflow.deleteRegisteredModelTag(body))
  route(['GET', 'POST'], 'registered-models/get-latest-versions', (body) => mlflow.getLatestVersions(body))
  route('POST', 'registered-models/alias', (body) => mlflow.setAlias(body))
  route('GET', 'registered-models/alias', (body) => mlflow.getModelVersionByAlias(body))
  route('DELETE', 'registered-models/alias', (body) => mlflow.deleteAlias(body))

  route('POST', 'model-versions/create', (body) => mlflow.createModelVersion(body))
  route('GET', 'model-versions/get', (body) => mlflow.getModelVersion(body))
  route('GET', 'model-versions/search', (body) => mlflow.searchModelVersions(body))
  route('PATCH', 'model-versions/update', (body) => mlflow.updateModelVersion(body))
  route('DELETE', 'model-versions/delete', (body) => mlflow.deleteModelVersion(body))
  route('POST', 'model-versions/transition-stage', (body) => mlflow.transitionStage(body))
  route('POST', 'model-versions/set-tag', (body) => mlflow.setModelVersionTag(body))
  route('DELETE', 'model-versions/delete-tag', (body) => mlflow.deleteModelVersionTag(body))
  route('GET', 'model-versions/get-download-uri', (body) => mlflow.getDownloadUri(body))

  route('POST', 'logged-models', (body) => mlflow.createLoggedModel(body))
  route('POST', 'logged-models/search', (body) => mlflow.searchLoggedModels(body))
  route('GET', 'logged-models/:modelId', (_body, request) => mlflow.getLoggedModel(params(request).modelId!))
  route('PATCH', 'logged-models/:modelId', (body, request) => mlflow.finalizeLoggedModel(params(request).modelId!, body))
  route('DELETE', 'logged-models/:modelId', (_body, request) => mlflow.deleteLoggedModel(params(request).modelId!))
  route('PATCH', 'logged-models/:modelId/tags', (body, request) => mlflow.setLoggedModelTags(params(request).modelId!, body))
  route('DELETE', 'logged-models/:modelId/tags/:key', (_body, request) => mlflow.deleteLoggedModelTag(params(request).modelId!, params(request).key!))
  route('POST', 'logged-models/:modelId/params', (body, request) => mlflow.logLoggedModelParams(params(request).modelId!, body))
}

/** Where an mlflow-artifacts path points: a run's files or a logged model's files. */
type ArtifactTarget =
  | { kind: 'run'; runId: number; experimentId: number; runUuid: string; path: string }
  | { kind: 'model'; experimentId: number; modelId: string; path: string }

/**
 * `<experiment>/<run_id>/artifacts/<path>` (what a run's artifact_uri names) or
 * `<experiment>/models/<model_id>/artifacts/<path>`. `path` is '' for the folder itself; it is
 * checked for traversal by the artifact store before any file is touched.
 */
async function resolveArtifactPath(mlflow: MlflowService, fullPath: string): Promise<ArtifactTarget> {
  const segments = fullPath.split('/')
  const rest = segments.slice(3).join('/')
  const [experiment, second, third] = segments
  const badPath = (): never => {
    throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid artifact path '${fullPath}': expected <experiment_id>/<run_id>/artifacts/<path> or <experiment_id>/models/<model_id>/artifacts/<path>`)
  }
  if (!experiment || !/^\d{1,15}$/.test(experiment)) badPath()
  const experimentId = Number(experiment)
  if (second === 'models') {
    const modelId = segments[2] ?? ''
    if (segments[3] !== 'artifacts') badPath()
    const owner = /^m-[0-9a-f]{32}$/.test(modelId) ? await mlflow.loggedModelExperiment(modelId) : undefined
    if (owner !== experimentId) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Logged model with ID '${modelId}' not found in experiment ${experimentId}.`)
    return { kind: 'model', experimentId, modelId, path: segments.slice(4).join('/') }
  }
  if (third !== 'artifacts' || second === undefined) badPath()
  const run = await mlflow.runForArtifacts(second!)
  if (!run || run.experimentId !== experimentId) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run with id=${second} not found in experiment ${experimentId}`)
  return { kind: 'run', runId: run.id, experimentId, runUuid: run.uuid, path: rest }
}

function registerArtifacts(app: FastifyInstance, options: MlflowPluginOptions): void {
  const { mlflow, artifacts, store } = options
  // Uploads are files of any type (a .json file is a file here, not a request), streamed to disk
  // as they arrive (a model can be gigabytes).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
  const prefix = '/mlflow-artifacts/artifacts'
  const modelFolder = (target: { modelId: string }): string => `models/${target.modelId}/artifacts`

  const listFiles = async (target: ArtifactTarget): Promise<{ path: string; is_dir: boolean; file_size?: number }[]> => {
    const listed =
      target.kind === 'run'
        ? await artifacts.listFiles(target.runId, target.path)
        : (await store.list(target.experimentId, modelFolder(target), target.path))
    const strip = target.path === '' ? 0 : target.path.length + 1
    return listed.map((file) => {
      const entry: { path: string; is_dir: boolean; file_size?: number } = { path: file.path.slice(strip), is_dir: file.isDirectory }
      if (!file.isDirectory && file.sizeBytes !== null) entry.file_size = file.sizeBytes
      return entry
    })
  }

  app.get(prefix, async (request, reply) => {
    const path = input(request).path
    if (typeof path !== 'string' || path === '') throw new MlflowError('INVALID_PARAMETER_VALUE', "Missing value for required parameter 'path'")
    const files = await listFiles(await resolveArtifactPath(mlflow, path.replace(/\/+$/, '')))
    return sendMlflowJson(reply, 200, files.length > 0 ? { files } : {})
  })

  app.get(`${prefix}/*`, async (request, reply) => {
    const target = await resolveArtifactPath(mlflow, pathParams(request)['*']!)
    const opened =
      target.kind === 'run'
        ? await artifacts.openFile(target.runId, target.path)
        : await store.open(target.experimentId, modelFolder(target), target.path)
    return reply.code(200).type('application/octet-stream').header('content-length', opened.sizeBytes).send(opened.stream)
  })

  app.put(`${prefix}/*`, async (request, reply) => {
    const target = await resolveArtifactPath(mlflow, pathParams(request)['*']!)
    // An empty upload arrives without a body stream.
    const upload = request.body instanceof Readable ? request.body : undefined
    // Read without destroying the stream when the write fails (a full disk): the rest of the
    // upload is then read and dropped, so a client still sending gets the answer rather than a
    // reset connection.
    const content = upload ? (upload.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>) : new Uint8Array(0)
    try {
      if (target.kind === 'run') await artifacts.putFile(target.runId, target.path, content)
      else await store.write(target.experimentId, modelFolder(target), target.path, content)
    } catch (error) {
      if (upload && !upload.readableEnded) upload.resume()
      throw error
    }
    return sendMlflowJson(reply, 200, {})
  })

  app.delete(`${prefix}/*`, async (request, reply) => {
    const target = await resolveArtifactPath(mlflow, pathParams(request)['*']!)
    if (target.kind === 'run') await artifacts.deleteFile(target.runId, target.path)
    else await store.delete(target.experimentId, modelFolder(target), target.path)
    return sendMlflowJson(reply, 200, {})
  })

  // The tracking API's own listing (runs:/ URIs in older clients): files of a run by run_id.
  app.get('/mlflow/artifacts/list', async (request, reply) => {
    const query = input(request)
    const { path: requestedPath } = parseMlflow(listArtifactsQuery, query)
    const runUuid = query.run_id ?? query.run_uuid
    const run = typeof runUuid === 'string' ? await mlflow.runForArtifacts(runUuid) : undefined
    if (!run) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run with id=${String(runUuid)} not found`)
    const path = requestedPath?.replace(/\/+$/, '') ?? ''
    const files = await listFiles({ kind: 'run', runId: run.id, experimentId: run.experimentId, runUuid: run.uuid, path })
    const json: Record<string, unknown> = { root_uri: `mlflow-artifacts:/${run.experimentId}/${run.uuid}/artifacts` }
    if (files.length > 0) json.files = files.map((file) => ({ ...file, path: path === '' ? file.path : `${path}/${file.path}` }))
    return sendMlflowJson(reply, 200, json)
  })

  // MLflow's web UI uploads one file to a run with the path in the query and the bytes as the body.
  app.post('/mlflow/upload-artifact', async (request, reply) => {
    // The body is the file's bytes: only the query holds parameters.
    refuseNul(request.query as Body)
    const { run_uuid: runUuid, path } = request.query as Body
    if (typeof runUuid !== 'string' || runUuid === '') throw new MlflowError('INVALID_PARAMETER_VALUE', 'Request must specify run_uuid.')
    if (typeof path !== 'string' || path === '') throw new MlflowError('INVALID_PARAMETER_VALUE', 'Request must specify path.')
    const checkedPath = parseMlflow(mlflowArtifactPath, path)
    if (!(request.body instanceof Readable) || Number(request.headers['content-length'] ?? 1) === 0) throw new MlflowError('INVALID_PARAMETER_VALUE', 'Request must specify data.')
    const run = await mlflow.runForArtifacts(runUuid)
    if (!run) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run with id=${runUuid} not found`)
    await artifacts.putFile(run.id, checkedPath, request.body as AsyncIterable<Uint8Array>)
    return sendMlflowJson(reply, 200, {})
  })

  // A logged model's files (MLflow 3), as MLflow's web UI lists and shows them.
  const loggedModelFiles = async (request: FastifyRequest, pathParameter: string): Promise<ArtifactTarget & { kind: 'model' }> => {
    const modelId = pathParams(request).modelId!
    const experimentId = /^m-[0-9a-f]{32}$/.test(modelId) ? await mlflow.loggedModelExperiment(modelId) : undefined
    if (experimentId === undefined) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Logged model with ID '${modelId}' not found.`)
    const requested = input(request)[pathParameter]
    const path = requested === undefined ? '' : parseMlflow(mlflowArtifactPath, requested).replace(/\/+$/, '')
    return { kind: 'model', experimentId, modelId, path }
  }
  app.get('/mlflow/logged-models/:modelId/artifacts/directories', async (request, reply) => {
    const target = await loggedModelFiles(request, 'artifact_directory_path')
    const files = await listFiles(target)
    const json: Record<string, unknown> = {}
    if (files.length > 0) json.files = files.map((file) => ({ ...file, path: target.path === '' ? file.path : `${target.path}/${file.path}` }))
    return sendMlflowJson(reply, 200, json)
  })
  app.get('/mlflow/logged-models/:modelId/artifacts/files', async (request, reply) => {
    const target = await loggedModelFiles(request, 'artifact_file_path')
    if (target.path === '') throw new MlflowError('INVALID_PARAMETER_VALUE', "Missing value for required parameter 'artifact_file_path'.")
    const opened = await store.open(target.experimentId, modelFolder(target), target.path)
    return reply.code(200).type('application/octet-stream').header('content-length', opened.sizeBytes).send(opened.stream)
  })
}

/**
 * The MLflow server's own download routes outside the REST API (mlflow/server/handlers.py:
 * get_artifact_handler, get_model_version_artifact_handler), which clients and mlflow's tests
 * call by URL: a run's file, and a file of a model version's artifacts. Flask merges duplicate
 * slashes, so `//model-versions/get-artifact` (as mlflow's test_path_validation writes it) is
 * the same route. The path is checked (MLflow's "Invalid path") before anything is looked up.
 */
const DOWNLOAD_ROUTES = ['/get-artifact', '/model-versions/get-artifact', '//model-versions/get-artifact']

function registerDownloads(app: FastifyInstance, options: MlflowPluginOptions): void {
  const { mlflow, artifacts, store } = options

  app.get('/get-artifact', async (request, reply) => {
    const query = input(request)
    const { path } = parseMlflow(downloadArtifactQuery, query)
    const runUuid = query.run_id ?? query.run_uuid
    const run = typeof runUuid === 'string' ? await mlflow.runForArtifacts(runUuid) : undefined
    if (!run) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run with id=${String(runUuid)} not found`)
    return sendAttachment(reply, path, await artifacts.openFile(run.id, path))
  })

  const modelVersionFile = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const query = input(request)
    const { path } = parseMlflow(downloadArtifactQuery, query)
    const { artifact_uri: uri } = (await mlflow.getDownloadUri(query)) as { artifact_uri: string }
    const target = await modelVersionTarget(mlflow, uri, path)
    const opened =
      target.kind === 'run'
        ? await artifacts.openFile(target.runId, target.path)
        : await store.open(target.experimentId, `models/${target.modelId}/artifacts`, target.path)
    return sendAttachment(reply, path, opened)
  }
  app.get('/model-versions/get-artifact', modelVersionFile)
  app.get('//model-versions/get-artifact', modelVersionFile)
}

/**
 * Where `path` below a model version's download URI is: a run's or a logged model's files when
 * the URI names this server's artifacts (mlflow-artifacts:/…, what the client registers). Any
 * other URI (a local folder, s3://…) is not this server's to read.
 */
async function modelVersionTarget(mlflow: MlflowService, uri: string, path: string): Promise<ArtifactTarget> {
  const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(uri)
  if (!proxied) throw new MlflowError('INVALID_PARAMETER_VALUE', `The model version's artifacts are at ${uri}, which this server does not serve`)
  return resolveArtifactPath(mlflow, [proxied[1]!.replace(/^\/+|\/+$/g, ''), path].filter((part) => part !== '').join('/'))
}

/** A file as a download: its name in Content-Disposition (ASCII, plus RFC 5987 UTF-8 when it has other characters). */
function sendAttachment(reply: FastifyReply, path: string, opened: { stream: Readable; sizeBytes: number }): FastifyReply {
  const name = path.split('/').pop() || 'artifact'
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  const disposition = ascii === name ? `attachment; filename="${name}"` : `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
  return reply
    .code(200)
    .type('application/octet-stream')
    .header('content-length', opened.sizeBytes)
    .header('content-disposition', disposition)
    .header('x-content-type-options', 'nosniff')
    .send(opened.stream)
}
