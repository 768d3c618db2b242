import {
  calls,
  isCallName,
  type AppSettings,
  type ApiInfo,
  type CallName,
  type CallOutcome,
  type CallResults,
  type EventPayloads,
  type PushedEvent,
  type RunRow
} from '../shared/contract'
import type { ComparisonProgress, RunWithMetrics, SystemStatus } from '../shared/domain'
import { asInsufficientStorage, DomainError, isDomainError } from '../shared/errors'
import { Emitter, type Disposable } from '../shared/event'
import { describeUrl, type DatabaseInfo } from './db/database-info'
import type { ApiDoor } from './api/api-supervisor'
import type { DomainEvents } from './services/domain-events'
import type { PluginRegistry } from './plugins/plugin-registry'
import { readSettings, settingsFile, validateDatabaseUrl, writeSettings } from './settings'
import { parseInput } from '../shared/schemas'
import type { z } from 'zod'
import type { CoreServices } from './services/core-services'
import type { Logger } from './logging'
import { verifyModelArtifact } from './artifacts/verify-model-artifact'
import { osUserFullName } from './reviewer-name'
import { ArtifactUploads } from './artifacts/artifact-uploads'
import { ArtifactDownloads } from './artifacts/artifact-downloads'
import { MAX_READ_BYTES } from '../shared/artifact-browser'
import { checkArtifactPath } from './artifacts/artifact-store'
import type { ReviewSession } from './bundle/review-session'
import { importMlflowSource } from './import/mlflow-import'
import type { MlflowService } from './services/mlflow-service'
import type { ProgressSink } from './bundle/progress'
import type { ReviewHost } from './bundle/review-host'
import type { WorkspaceBundles } from './bundle/workspace-bundles'
import type { ChooseExportPath } from './bundle/bundle-transfers'

/** What the contract needs from the core; the core itself, or the part built before its HTTP server. */
export interface ContractContext {
  readonly services: CoreServices
  readonly logger: Logger
  status(): Promise<SystemStatus>
  apiInfo(): ApiInfo
  dataDir: string
  database: DatabaseInfo
  /** The HTTP door once it runs, in this process or its own (settings show its port and rotate its token). */
  api(): ApiDoor | undefined
  /** Set when the core shows a review bundle (`hypercube review`). */
  review?: ReviewSession
  /** MLflow's view of the services, for importing MLflow history (absent: the import is unavailable). */
  mlflow?(): MlflowService
  /** Review bundles exported from and imported into this workspace (absent: unavailable). */
  bundles?: WorkspaceBundles
  /** Reviews opened from this app (absent in a review itself). */
  reviews?: ReviewHost
  /** Where to save an export: the desktop app's save dialog (absent in serve mode: the browser downloads it). */
  chooseExportPath?: ChooseExportPath
}

type Parsed<Name extends CallName> = z.output<(typeof calls)[Name]['input']>
export type ContractHandlers = { [Name in CallName]: (input: Parsed<Name>) => Promise<CallResults[Name]> }

export function toRunRow(run: RunWithMetrics): RunRow {
  const { logs: _logs, stackTrace: _stackTrace, errorMessage, ...row } = run
  return { ...row, hasError: errorMessage !== null }
}

/** Each contract call mapped to a service: the only place the contract meets the core. */
export function createContractHandlers(context: ContractContext): ContractHandlers {
  const { experiments, runs, models } = context.services
  const uploads = new ArtifactUploads()
  const downloads = new ArtifactDownloads()
  // Who did it, for approvals and deployments made from the UI: the name saved in Settings, else
  // the full name of the desktop user main runs as (the one person at this machine; serve
  // mode's browser session is that same user's). Read per call, so a change applies at once.
  let osDefault: string | undefined
  const reviewer = () => {
    osDefault ??= osUserFullName()
    const saved = readSettings(context.dataDir).reviewerName
    return { name: saved ?? osDefault, saved, osDefault }
  }
  const actorName = () => reviewer().name
  const plugins = () => {
    if (!context.services.plugins) throw new DomainError('unavailable', 'the geometric plugins are not running in this core', 'plugin')
    return context.services.plugins
  }
  const bundles = () => {
    if (!context.bundles) throw new DomainError('unavailable', 'review bundles are not available in this core')
    return context.bundles
  }
  const reviews = () => {
    if (context.review) throw new DomainError('read_only', 'a review cannot open another review: open the bundle from your workspace', 'bundleId')
    if (!context.reviews) throw new DomainError('unavailable', 'opening reviews is not available in this core')
    return context.reviews
  }
  const refuseInReview = (what: string) => {
    if (context.review) throw new DomainError('read_only', `a review shows a bundle read-only: ${what} into your workspace instead`, 'bundleId')
  }
  const similarRuns = () => {
    if (!context.services.similarRuns) throw new DomainError('unavailable', 'the geometric plugins are not running in this core', 'plugin')
    return context.services.similarRuns
  }
  const settings = (): AppSettings => {
    const stored = readSettings(context.dataDir)
    const saved = stored.databaseUrl
    const api = context.api()
    return {
      dataDir: context.dataDir,
      database: { mode: context.database.mode, description: context.database.description, serverVersion: context.database.serverVersion },
      savedDatabase: saved ? { mode: 'external', description: describeUrl(saved) } : { mode: 'embedded', description: `embedded server, data in ${context.dataDir}/pg` },
      databaseOverridden: Boolean(process.env.HYPERCUBE_DATABASE_URL) || (context.database.mode === 'external' && !saved),
      settingsFile: settingsFile(context.dataDir),
      api: { ...context.apiInfo(), port: api?.port ?? null },
      savedApiPort: stored.apiPort,
      reviewer: reviewer()
    }
  }
  return {
    'system.status': () => context.status(),
    'system.apiInfo': async () => context.apiInfo(),
    'experiments.list': (input) => experiments.list(input),
    'experiments.get': (input) => experiments.get(input.experimentId),
    'experiments.create': (input) => experiments.create(input),
    'experiments.update': (input) => experiments.update(input),
    'experiments.setTag': (input) => experiments.setTag(input),
    'experiments.deleteTag': async (input) => {
      await experiments.deleteTag(input)
      return experiments.get(input.experimentId)
    },
    'experiments.delete': (input) => experiments.delete(input.experimentId),
    'experiments.restore': (input) => experiments.restore(input.experimentId),
    'runs.list': async (input) => (await runs.listByExperiment(input.experimentId, { deleted: input.deleted, limit: input.limit })).map(toRunRow),
    'runs.search': async (input) =>
      (await runs.searchRuns({ experimentIds: [input.experimentId], filter: input.filter, maxResults: input.maxResults, deleted: input.deleted })).runs.map(
        toRunRow
      ),
    'runs.rows': async (input) => {
      const rows: RunRow[] = []
      for (const runId of input.runIds) {
        try {
          if (input.deleted !== undefined && (await runs.isDeleted(runId)) !== input.deleted) continue
          rows.push(toRunRow(await runs.getWithMetrics(runId)))
        } catch (error) {
          // A run named by an event may be gone by now; the others still answer.
          if (!(isDomainError(error) && error.code === 'not_found')) throw error
        }
      }
      return rows
    },
    'runs.keys': (input) => runs.keysOf(input.experimentId),
    'runs.tagMany': async (input) => ({ tagged: await runs.setTagsOfMany({ runIds: input.runIds, tags: { [input.key]: input.value } }) }),
    'runs.deleteMany': async (input) => ({ runIds: await runs.deleteMany(input.runIds) }),
    'runs.restoreMany': async (input) => ({ runIds: await runs.restoreMany(input.runIds) }),
    'runs.get': (input) => runs.getWithMetrics(input.runId),
    'runs.findByUuid': async (input) => {
      const run = await runs.findByUuid(input.runUuid)
      if (!run) throw new DomainError('not_found', `no run with MLflow run id ${input.runUuid}`, 'runUuid')
      return { runId: run.id, experimentId: run.experimentId }
    },
    'runs.checkpoints': (input) => runs.listCheckpoints(input.runId),
    'runs.rename': async (input) => {
      await runs.rename(input)
      return runs.getWithMetrics(input.runId)
    },
    'runs.setTags': async (input) => {
      await runs.setTags(input)
      return runs.getWithMetrics(input.runId)
    },
    'runs.deleteTag': async (input) => {
      await runs.deleteTag(input)
      return runs.getWithMetrics(input.runId)
    },
    'runs.delete': async (input) => {
      await runs.delete(input.runId)
      return { runId: input.runId, deleted: await runs.isDeleted(input.runId) }
    },
    'runs.restore': async (input) => {
      await runs.restore(input.runId)
      return { runId: input.runId, deleted: await runs.isDeleted(input.runId) }
    },
    'runs.isDeleted': (input) => runs.isDeleted(input.runId),
    'runs.metricSeries': (input) => runs.metricSeries(input),
    'runs.groupedSeries': (input) => runs.metricSeriesByGroup(input),
    'artifacts.list': (input) => context.services.artifacts.list(input.runId),
    'artifacts.verify': (input) => context.services.artifacts.verify(input.artifactId),
    'artifacts.browse': (input) => context.services.artifacts.browse(input.runId, input.prefix),
    'artifacts.read': (input) => context.services.artifacts.read(input.runId, input.path, input.offset, input.length),
    'artifacts.safetensors': (input) => context.services.artifacts.readSafetensorsHeader(input.runId, input.path),
    'artifacts.uploadBegin': async (input) => {
      const { artifacts } = context.services
      // Checked before the upload starts, so a wrong run or path is refused at once, not at the first chunk.
      await runs.get(input.runId)
      checkArtifactPath(input.path)
      return { uploadId: uploads.begin(input.sizeBytes, (content) => artifacts.putFile(input.runId, input.path, content)) }
    },
    'artifacts.uploadChunk': (input) => uploads.append(input.uploadId, input.offset, Buffer.from(input.base64, 'base64')),
    'artifacts.uploadFinish': (input) => uploads.finish(input.uploadId),
    'artifacts.uploadCancel': async (input) => {
      await uploads.cancel(input.uploadId)
      return {}
    },
    'artifacts.zipBegin': async (input) => {
      const zip = await context.services.artifacts.openFolderZip(input.runId, input.prefix)
      return { downloadId: downloads.begin(zip.name, zip.stream), name: zip.name }
    },
    'artifacts.zipNext': async (input) => {
      const { bytes, done, offset } = await downloads.next(input.downloadId, MAX_READ_BYTES)
      return { base64: bytes.toString('base64'), offset, done }
    },
    'artifacts.zipCancel': async (input) => {
      downloads.cancel(input.downloadId)
      return {}
    },
    'runs.leaderboard': (input) => runs.leaderboard(input),

    'compare.nearestRuns': (input) => similarRuns().nearestRuns(input.experimentId, input.runId, input.plugin, input.k),
    'compare.distanceMatrix': async (input) => {
      const { runIds, matrix, keys } = await similarRuns().distanceMatrix(input.experimentId, input.runIds, input.plugin)
      const n = runIds.length
      return { runIds, keys, matrix: Array.from({ length: n }, (_, i) => Array.from(matrix.subarray(i * n, (i + 1) * n))) }
    },

    'models.list': () => models.listModels(),
    'models.versions': (input) => models.listVersions(input.modelName),
    'models.version': (input) => models.getVersion(input.versionId),
    'models.review': (input) => {
      const review = { versionId: input.versionId, notes: input.notes, actor: actorName() }
      if (input.decision === 'approve') return models.approve(review)
      if (input.decision === 'reject') return models.reject(review)
      return models.deprecate(review)
    },
    'models.verifyArtifact': async (input) => verifyModelArtifact(await models.getVersion(input.versionId)),
    'models.versionArtifacts': async (input) => context.services.artifacts.findVersionFolder((await models.getVersion(input.versionId)).artifactUri),
    'models.registerFromRun': async (input) => {
      const folder = await context.services.artifacts.folderAsModelArtifact(input.runId, input.folder)
      return models.registerVersion({
        modelName: input.modelName,
        artifactUri: folder.artifactUri,
        sourceRunId: folder.runId,
        artifactSizeBytes: folder.sizeBytes,
        description: input.description,
        createdBy: actorName()
      })
    },
    'models.aliases': (input) => models.listAliases(input.modelName),
    'models.setAlias': async (input) => {
      await models.setAlias(input)
      return models.listAliases(input.modelName)
    },
    'models.deleteAlias': async (input) => {
      await models.deleteAlias(input)
      return models.listAliases(input.modelName)
    },
    'models.compare': (input) => {
      if (!context.services.modelComparison) throw new DomainError('unavailable', 'model comparison is not available in this core')
      return context.services.modelComparison.compareVersions({ versionIdA: input.versionIdA, versionIdB: input.versionIdB }, (progress) =>
        comparisonProgress.fire({ ...progress, requestId: input.requestId })
      )
    },

    'deployments.list': (input) => models.listDeployments(input.modelName),
    'deployments.history': (input) => models.deploymentHistory(input),
    'deployments.healthChecks': (input) => models.listHealthChecks({ ...input, currentVersionOnly: true }),
    'deployments.deploy': (input) => models.deploy({ ...input, actor: input.actor ?? actorName() }),
    'deployments.promote': (input) => models.promoteCanary({ ...input, actor: input.actor ?? actorName() }),
    'deployments.abort': (input) => models.abortCanary({ ...input, actor: input.actor ?? actorName() }),
    'deployments.rollback': (input) => models.rollback({ ...input, actor: input.actor ?? actorName() }),

    'plugins.list': async () => plugins().list(),
    'plugins.reload': (input) => plugins().reload(input.name),
    'plugins.enable': (input) => plugins().enable(input.name),
    'plugins.disable': (input) => plugins().disable(input.name),

    'settings.get': async () => settings(),
    'settings.setDatabase': async (input) => {
      if (input.url === null || input.url.trim() === '') {
        writeSettings(context.dataDir, { databaseUrl: null })
      } else {
        const url = input.url.trim()
        await validateDatabaseUrl(url, context.logger.child({ component: 'settings' }))
        writeSettings(context.dataDir, { databaseUrl: url })
      }
      context.logger.info({ database: settings().savedDatabase }, 'database choice saved for the next start')
      return settings()
    },
    'settings.setApiPort': async (input) => {
      writeSettings(context.dataDir, { apiPort: input.port })
      context.logger.info({ port: input.port }, 'API port saved for the next start')
      return settings()
    },
    'review.importIntoWorkspace': async (input) => {
      if (!context.review) throw new DomainError('invalid_argument', 'this app is not reviewing a bundle: there is nothing to import (hypercube review FILE opens one)')
      return context.review.importIntoWorkspace(input.onConflict)
    },
    'review.close': async () => {
      if (!context.review) throw new DomainError('invalid_argument', 'this app is not reviewing a bundle: there is no review to close')
      if (!context.review.close) throw new DomainError('unavailable', 'this review was started with `hypercube review FILE`: stop it where it runs (Ctrl+C in its terminal)')
      context.review.close()
      return {}
    },
    'imports.mlflow': async ({ requestId, source, experiments, artifactsDir, token, dryRun }) => {
      if (context.review) throw new DomainError('read_only', 'a review shows a bundle read-only: import MLflow history into your workspace instead', 'source')
      const mlflow = context.mlflow?.()
      if (!mlflow) throw new DomainError('unavailable', 'importing MLflow history is not available in this core')
      return importMlflowSource(context.services, mlflow, {
        source,
        artifactsDir,
        token,
        experiments,
        dryRun,
        onAdvance: (done, total, detail) => importProgress.fire({ requestId, done, total, detail })
      })
    },
    'bundles.estimate': (input) => bundles().estimate(input),
    'bundles.export': ({ requestId, ...input }) => bundles().export(input, bundleProgressFor(requestId)),
    'bundles.estimateModel': (input) => bundles().estimate(input),
    'bundles.exportModel': ({ requestId, ...input }) => bundles().export(input, bundleProgressFor(requestId)),
    'bundles.saveExport': async (input) => {
      const { transfers } = bundles()
      if (!context.chooseExportPath) throw new DomainError('unavailable', 'saving an export where you choose is the desktop app\'s: in a browser, the export downloads from its link', 'exportId')
      // Named before the dialog opens: an export already saved is refused without asking where.
      const waiting = transfers.waitingExport(input.exportId)
      const destination = await context.chooseExportPath(waiting.name)
      if (destination === null) return { status: 'cancelled' }
      const saved = await transfers.saveExport(input.exportId, destination)
      return { status: 'saved', path: saved.path, fileName: saved.name, sizeBytes: saved.sizeBytes }
    },
    'bundles.uploadBegin': async (input) => ({ uploadId: bundles().transfers.beginUpload(input.name, input.sizeBytes) }),
    'bundles.uploadChunk': (input) => bundles().transfers.appendUpload(input.uploadId, input.offset, Buffer.from(input.base64, 'base64')),
    'bundles.uploadFinish': async (input) => {
      const staged = await bundles().transfers.finishUpload(input.uploadId)
      return { bundleId: staged.id, fileName: staged.name, sizeBytes: staged.sizeBytes }
    },
    'bundles.uploadCancel': async (input) => {
      await bundles().transfers.cancelUpload(input.uploadId)
      return {}
    },
    'bundles.check': (input) => bundles().check(input.bundleId, bundleProgressFor(input.requestId)),
    'bundles.import': (input) => {
      refuseInReview('import bundles')
      return bundles().import(input.bundleId, input.onConflict, bundleProgressFor(input.requestId))
    },
    'bundles.discard': async (input) => {
      await bundles().transfers.discardUpload(input.bundleId)
      return {}
    },
    'reviews.open': async (input) => {
      const host = reviews()
      const staged = bundles().transfers.takeUpload(input.bundleId)
      return host.open(staged.path, { name: staged.name, ownsFile: true, progress: bundleProgressFor(input.requestId) })
    },
    'reviews.list': async () => context.reviews?.list() ?? [],
    'reviews.loginUrl': async (input) => ({ loginUrl: reviews().loginUrl(input.reviewId) }),
    'reviews.close': async (input) => {
      await reviews().close(input.reviewId)
      return {}
    },
    'settings.setReviewerName': async (input) => {
      const name = input.name === null || input.name.trim() === '' ? null : input.name.trim()
      writeSettings(context.dataDir, { reviewerName: name })
      context.logger.info({ reviewerName: name }, 'reviewer name saved')
      return settings()
    },
    'settings.rotateToken': async () => {
      const api = context.api()
      if (!api) throw new DomainError('unavailable', 'this core runs without the HTTP API, so it has no token')
      api.rotateToken()
      context.logger.info('API token rotated')
      return settings()
    }
  }
}

/**
 * Comparison progress goes to every connected renderer; each keeps only the requestId it
 * passed. Module-level because a comparison's caller and the event subscriptions are made
 * separately (one per window or WebSocket).
 */
const comparisonProgress = new Emitter<ComparisonProgress & { requestId: string }>()
/** Progress of MLflow imports, likewise by requestId. */
const importProgress = new Emitter<EventPayloads['imports.progress']>()
/** Progress of review bundle exports, checks, imports and reviews being opened, likewise by requestId. */
const bundleProgress = new Emitter<EventPayloads['bundles.progress']>()

/**
 * A bundle call's progress as events: one per 0.1 % of the work that changed (the reader reports
 * every chunk it reads), so at most a thousand per phase; a phase that starts again from zero
 * (opening a review checks the bundle, then loads it) is reported from its start.
 */
function bundleProgressFor(requestId: string): ProgressSink {
  let lastPermille = -1
  return {
    update: (done, total, detail) => {
      const permille = total > 0 ? Math.floor((done / total) * 1000) : 1000
      if (permille === lastPermille) return
      lastPermille = permille
      bundleProgress.fire({ requestId, done, total, detail })
    },
    line: () => undefined,
    finish: () => undefined
  }
}

/**
 * Validates an untrusted call (name and input) and runs it. Transport-neutral: Electron IPC and
 * the serve-mode transport both go through here, and errors come back as data with their code.
 * A full disk under `dataDir` (a settings or token file, say) comes back as insufficient_storage
 * naming it, which the UI shows, rather than as an internal error.
 */
export async function dispatchCall(handlers: ContractHandlers, name: unknown, input: unknown, logger: Logger, dataDir?: string): Promise<CallOutcome<unknown>> {
  try {
    if (!isCallName(name)) throw new DomainError('invalid_argument', `unknown call ${JSON.stringify(name)}`, 'name')
    const parsed = parseInput(calls[name].input, input ?? {})
    const handler = handlers[name] as (input: unknown) => Promise<unknown>
    return { ok: true, value: await handler(parsed) }
  } catch (caught) {
    const error = asInsufficientStorage(caught, dataDir === undefined ? 'the data folder' : `the data folder ${dataDir}`) ?? caught
    if (isDomainError(error)) return { ok: false, error: error.toJSON() }
    logger.error({ err: error, call: name }, 'call failed')
    return { ok: false, error: { code: 'internal', message: 'internal error; see the log in the data folder' } }
  }
}

export interface EventSources {
  events: DomainEvents
  plugins?: PluginRegistry
  reviews?: ReviewHost
  api(): ApiDoor | undefined
}

/**
 * Forwards the domain's events (heard from PostgreSQL, so from every process and instance) as
 * contract events to `send` (a window's webContents, a WebSocket): one subscription per
 * connected renderer, disposed when it goes.
 */
export function subscribeToEvents(sources: EventSources, send: (event: PushedEvent) => void): Disposable {
  const { events } = sources
  const api = sources.api()
  const subscriptions = [
    events.onDidChangeRun((payload) => send({ name: 'runs.changed', payload })),
    events.onDidLogMetrics((payload) => send({ name: 'metrics.logged', payload })),
    events.onDidChangeExperiment((payload) => send({ name: 'experiments.changed', payload })),
    events.onDidChangeModelVersion((payload) => send({ name: 'models.versionChanged', payload })),
    events.onDidChangeDeployment((payload) => send({ name: 'deployments.changed', payload })),
    events.onDidMissEvents(() => send({ name: 'events.resync', payload: {} })),
    comparisonProgress.event((progress) => send({ name: 'models.compareProgress', payload: progress })),
    importProgress.event((progress) => send({ name: 'imports.progress', payload: progress })),
    bundleProgress.event((progress) => send({ name: 'bundles.progress', payload: progress })),
    ...(api ? [api.onDidChangeState((state) => send({ name: 'api.stateChanged', payload: state }))] : []),
    ...(sources.plugins ? [sources.plugins.onDidChangePlugins((list) => send({ name: 'plugins.changed', payload: list }))] : []),
    ...(sources.reviews ? [sources.reviews.onDidChangeReviews((list) => send({ name: 'reviews.changed', payload: list }))] : [])
  ]
  return { dispose: () => subscriptions.forEach((subscription) => subscription.dispose()) }
}
