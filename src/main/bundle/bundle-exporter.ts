import { createReadStream, createWriteStream, mkdtempSync, statSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BUNDLE_BYTES_PER_POINT } from '../../shared/bundles'
import type { Experiment, MetricPoint, ModelVersion, RunWithMetrics } from '../../shared/domain'
import { invalidArgument, notFound } from '../../shared/errors'
import type { DoorServices } from '../services/core-services'
import type { MlflowService } from '../services/mlflow-service'
import { BundleWriter } from './bundle-archive'
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  HEADER_MEMBER,
  memberNames,
  type BundleExperiment,
  type BundleHeader,
  type BundleModel,
  type BundleRun
} from './bundle-format'
import { metricStreamWriter, pointsToBatch } from './metric-columns'
import { formatBytes, silentProgress, type ProgressSink } from './progress'

/**
 * Writes a review bundle from what the services read: an experiment (all its active runs or
 * some of them) or a registered model (its versions' source runs with it), with the models whose
 * versions came from the exported runs. Metric points are read a window at a time (the
 * downsampled series tells where the points are, the history reads each window exactly), so a
 * series of any length passes through in bounded memory.
 */

export interface ExportSelection {
  /** An experiment's name or numeric id. */
  experiment?: string
  /** Runs of that experiment, by id or uuid (default: all its active runs). */
  runs?: readonly string[]
  /** A registered model: its versions and their source runs. */
  model?: string
  /** Stored artifact files in the bundle (their records are always in it). */
  artifacts: boolean
}

export interface ExportPlan {
  selection: ExportSelection
  experiments: Experiment[]
  runs: { run: RunWithMetrics; experiment: number; artifactFiles: { path: string; sizeBytes: number }[] }[]
  models: string[]
  totals: BundleHeader['totals']
}

export interface ExportResult {
  path: string
  bytes: number
  members: number
  runs: number
  points: number
  artifactFiles: number
  artifactBytes: number
  models: number
  /** What could not be exported (an artifact record whose file is gone), and why. */
  problems: string[]
}

/** Points read per history call: the reading window. */
const WINDOW_POINTS = 200_000
/** Rows per Arrow record batch: what an importer holds at once. */
const BATCH_ROWS = 100_000
/** The history call's own limit (RunService's historyInput). */
const HISTORY_LIMIT = 1_000_000
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** Bytes of records a run adds to a bundle (run.json, tar headers, manifest lines), roughly. */
const RECORD_BYTES_PER_RUN = 4096

const iso = (time: string | null): string | null => (time === null ? null : new Date(time).toISOString())

export class BundleExporter {
  private readonly windowPoints: number
  private readonly batchRows: number
  private readonly historyLimit: number

  constructor(
    private readonly services: DoorServices,
    private readonly mlflow: MlflowService,
    /** Smaller windows and batches make tests cross their edges with few points. */
    tuning: { windowPoints?: number; batchRows?: number; historyLimit?: number } = {}
  ) {
    this.windowPoints = tuning.windowPoints ?? WINDOW_POINTS
    this.batchRows = tuning.batchRows ?? BATCH_ROWS
    this.historyLimit = tuning.historyLimit ?? HISTORY_LIMIT
  }

  /** What an export will hold: resolved and sized before anything is written (the size estimate). */
  async plan(selection: ExportSelection): Promise<ExportPlan> {
    if ((selection.experiment === undefined) === (selection.model === undefined)) {
      throw invalidArgument('name an experiment (--experiment) or a model (--model), one of them', selection.experiment === undefined ? 'experiment' : 'model')
    }
    if (selection.runs && selection.experiment === undefined) throw invalidArgument('--runs picks runs of an --experiment', 'runs')
    let runs: RunWithMetrics[]
    if (selection.experiment !== undefined) {
      const experiment = await this.findExperiment(selection.experiment)
      if (selection.runs && selection.runs.length > 0) {
        runs = []
        for (const ref of selection.runs) {
          const run = await this.findRun(ref)
          if (run.experimentId !== experiment.id) throw invalidArgument(`run ${ref} is in experiment ${run.experimentId}, not in ${experiment.name} (${experiment.id})`, 'runs')
          if (!runs.some((other) => other.id === run.id)) runs.push(run)
        }
      } else {
        // The list leaves out the long fields (logs, stack traces): each run is read whole.
        runs = await Promise.all((await this.services.runs.listByExperiment(experiment.id)).map((run) => this.services.runs.getWithMetrics(run.id)))
      }
    } else {
      const versions = await this.services.models.listVersions(selection.model)
      if (versions.length === 0) throw notFound(`no registered model named ${selection.model} with versions`, 'model')
      runs = []
      for (const version of versions) {
        if (version.sourceRunId === null || runs.some((run) => run.id === version.sourceRunId)) continue
        runs.push(await this.services.runs.getWithMetrics(version.sourceRunId))
      }
    }
    const experiments: Experiment[] = []
    const planned: ExportPlan['runs'] = []
    let points = 0
    let artifactFiles = 0
    let artifactBytes = 0
    for (const run of runs) {
      let index = experiments.findIndex((experiment) => experiment.id === run.experimentId)
      if (index < 0) {
        experiments.push(await this.services.experiments.get(run.experimentId))
        index = experiments.length - 1
      }
      const files = (await this.services.artifacts.listFiles(run.id, '', true)).filter((file) => !file.isDirectory).map((file) => ({ path: file.path, sizeBytes: file.sizeBytes ?? 0 }))
      if (selection.artifacts) {
        artifactFiles += files.length
        artifactBytes += files.reduce((sum, file) => sum + file.sizeBytes, 0)
      }
      points += run.metrics.reduce((sum, metric) => sum + metric.count, 0)
      planned.push({ run, experiment: index, artifactFiles: files })
    }
    const models = selection.model !== undefined ? [selection.model] : await this.modelsOf(new Set(runs.map((run) => run.id)))
    return { selection, experiments, runs: planned, models, totals: { runs: runs.length, points, artifactFiles, artifactBytes } }
  }

  /**
   * The bundle's expected size: the metric points at the rate `npm run bench:bundle` measures
   * (BUNDLE_BYTES_PER_POINT), a few kB of records per run, and the artifact files as they are
   * (they are stored, not recompressed to speak of). The window shows it before an export.
   */
  static estimateBytes(totals: BundleHeader['totals'], withArtifacts: boolean): number {
    return totals.points * BUNDLE_BYTES_PER_POINT + totals.runs * RECORD_BYTES_PER_RUN + (withArtifacts ? totals.artifactBytes : 0)
  }

  /** One line saying what the plan holds, how big its parts are before compression, and the bundle's expected size. */
  static describe(plan: ExportPlan): string {
    const t = plan.totals
    const artifacts = plan.selection.artifacts ? `${t.artifactFiles} artifact files (${formatBytes(t.artifactBytes)})` : 'no artifact files (--no-artifacts)'
    return `${plan.experiments.length} experiment(s), ${t.runs} runs, ${t.points.toLocaleString('en-US')} metric points (${formatBytes(t.points * 28)} as raw columns; the bundle about ${formatBytes(BundleExporter.estimateBytes(t, plan.selection.artifacts))}), ${artifacts}, ${plan.models.length} model(s)`
  }

  async write(plan: ExportPlan, target: string, progress: ProgressSink = silentProgress): Promise<ExportResult> {
    const writer = BundleWriter.create(target)
    // Metric members are spooled beside the target (the tar header needs each member's size).
    const spool = mkdtempSync(join(dirname(target), `.${basename(target)}.spool-`))
    const problems: string[] = []
    const total = plan.totals.points + plan.totals.artifactBytes
    let done = 0
    let points = 0
    const advance = (amount: number, detail: string): void => {
      done += amount
      progress.update(done, total, detail)
    }
    try {
      const header: BundleHeader = {
        format: BUNDLE_FORMAT,
        version: BUNDLE_FORMAT_VERSION,
        createdAt: new Date().toISOString(),
        createdBy: 'Hypercube',
        source: { experiment: plan.selection.experiment ?? null, runs: plan.selection.runs ? [...plan.selection.runs] : null, model: plan.selection.model ?? null },
        includesArtifacts: plan.selection.artifacts,
        experiments: plan.experiments.map((experiment, index) => ({ name: experiment.name, runs: plan.runs.filter((run) => run.experiment === index).length })),
        runs: plan.runs.map(({ run, experiment }) => ({ uuid: run.uuid, name: run.name, experiment, points: run.metrics.reduce((sum, metric) => sum + metric.count, 0) })),
        models: plan.models,
        totals: plan.totals
      }
      await writer.addBuffer(HEADER_MEMBER, json(header))
      for (const [index, experiment] of plan.experiments.entries()) await writer.addBuffer(memberNames.experiment(index), json(experimentRecord(experiment)))

      for (const { run, experiment, artifactFiles } of plan.runs) {
        // Metrics first, into spool files: run.json (which comes before them) says how many points each has.
        const metrics: BundleRun['metrics'] = []
        const spooled: { member: string; file: string }[] = []
        for (const [index, summary] of run.metrics.entries()) {
          const member = memberNames.metric(run.uuid, index)
          const file = join(spool, `${run.uuid}-${index}.arrow`)
          const count = await this.spoolMetric(run.id, summary.key, file, (n) => advance(n, `run ${run.name}: ${summary.key}`))
          if (count !== summary.count) throw new Error(`run ${run.uuid} metric ${summary.key}: read ${count} points where its summary counts ${summary.count} (was it written to during the export?)`)
          points += count
          metrics.push({ key: summary.key, member, points: count })
          spooled.push({ member, file })
        }
        const records = await this.services.artifacts.list(run.id)
        const artifacts: BundleRun['artifacts'] = []
        for (const file of artifactFiles) {
          const record = records.find((candidate) => candidate.uri === null && candidate.path === file.path)
          artifacts.push({
            path: file.path,
            kind: record?.kind ?? 'other',
            uri: null,
            sizeBytes: file.sizeBytes,
            blake3: record?.blake3 ?? null,
            metadata: record?.metadata ?? {},
            member: plan.selection.artifacts ? memberNames.artifact(run.uuid, file.path) : null
          })
        }
        for (const record of records) {
          if (record.uri !== null) artifacts.push({ path: record.path, kind: record.kind, uri: record.uri, sizeBytes: record.sizeBytes, blake3: record.blake3, metadata: record.metadata, member: null })
          else if (!artifactFiles.some((file) => file.path === record.path)) problems.push(`run ${run.uuid}: artifact ${record.path} is recorded but its file is gone; not exported`)
        }
        const checkpoints = await this.services.runs.listCheckpoints(run.id)
        const record: BundleRun = {
          uuid: run.uuid,
          experiment,
          name: run.name,
          status: run.status,
          hyperparameters: run.hyperparameters,
          tags: run.tags,
          finalMetrics: run.finalMetrics,
          randomSeed: run.randomSeed === null ? null : run.randomSeed.toString(),
          gitCommit: run.gitCommit,
          resources: run.resources,
          logs: run.logs,
          errorMessage: run.errorMessage,
          stackTrace: run.stackTrace,
          createdAt: iso(run.createdAt)!,
          startedAt: iso(run.startedAt),
          completedAt: iso(run.completedAt),
          checkpoints: checkpoints.map((checkpoint) => ({
            path: checkpoint.path,
            step: checkpoint.step.toString(),
            epoch: checkpoint.epoch,
            metricsSnapshot: checkpoint.metricsSnapshot,
            isBest: checkpoint.isBest,
            sizeBytes: checkpoint.sizeBytes,
            blake3: checkpoint.blake3,
            createdAt: iso(checkpoint.createdAt)!
          })),
          artifacts,
          metrics
        }
        await writer.addBuffer(memberNames.run(run.uuid), json(record))
        for (const { member, file } of spooled) {
          await writer.addStream(member, statSync(file).size, createReadStream(file))
          await rm(file, { force: true })
        }
        if (plan.selection.artifacts) {
          for (const file of artifactFiles) {
            // openFile checks the recorded BLAKE3 as the bytes stream: a corrupted artifact fails the export.
            const opened = await this.services.artifacts.openFile(run.id, file.path)
            await writer.addStream(memberNames.artifact(run.uuid, file.path), opened.sizeBytes, opened.stream)
            advance(opened.sizeBytes, `run ${run.name}: artifact ${file.path}`)
          }
        }
        progress.line(`run ${run.uuid} ${run.name}: ${metrics.reduce((sum, metric) => sum + metric.points, 0)} points, ${metrics.length} metrics, ${checkpoints.length} checkpoints, ${artifacts.length} artifacts`)
      }

      const exportedRuns = new Map(plan.runs.map(({ run }) => [run.id, run.uuid]))
      for (const [index, name] of plan.models.entries()) {
        const model = await this.modelRecord(name, exportedRuns)
        await writer.addBuffer(memberNames.model(index), json(model))
        progress.line(`model ${name}: ${model.versions.length} versions, ${model.deployments.length} deployments, ${model.history.length} deployment events`)
      }
      const written = await writer.finish()
      progress.finish()
      return { ...written, runs: plan.runs.length, points, artifactFiles: plan.selection.artifacts ? plan.totals.artifactFiles : 0, artifactBytes: plan.selection.artifacts ? plan.totals.artifactBytes : 0, models: plan.models.length, problems }
    } catch (error) {
      progress.finish()
      await writer.abort()
      throw error
    } finally {
      await rm(spool, { recursive: true, force: true })
    }
  }

  /** Every point of one key into an Arrow file; returns how many. */
  private async spoolMetric(runId: number, key: string, file: string, onPoints: (count: number) => void): Promise<number> {
    const writer = metricStreamWriter()
    const sink = pipeline(Readable.from(writer), createWriteStream(file, { mode: 0o600 }))
    let count = 0
    try {
      for await (const window of this.pointsOf(runId, key)) {
        for (let start = 0; start < window.length; start += this.batchRows) writer.write(pointsToBatch(window.slice(start, start + this.batchRows)))
        count += window.length
        onPoints(window.length)
      }
    } finally {
      writer.finish()
      await sink
    }
    return count
  }

  /**
   * A key's points in step order, a window at a time. The downsampled series (min/max buckets
   * with counts, answered from the rollups) says how the points spread over the steps; the
   * buckets are grouped into windows of about WINDOW_POINTS, each read exactly by the history.
   * The first and last windows reach to the ends of the int64 range so no point can fall outside.
   */
  private async *pointsOf(runId: number, key: string, range?: { from: bigint; to: bigint }): AsyncGenerator<MetricPoint[]> {
    const series = await this.services.runs.metricSeries({ runId, key, maxPoints: 20_000, ...(range ? { fromStep: range.from, toStep: range.to } : {}) })
    if (series.mode === 'raw') {
      if (range) {
        yield series.points
        return
      }
      // The extent the series looked at ends at the last step logged; read the whole int64 range.
      yield* this.window(runId, key, INT64_MIN, INT64_MAX)
      return
    }
    const from = range?.from ?? INT64_MIN
    const to = range?.to ?? INT64_MAX
    let start = from
    let pending = 0
    for (const bucket of series.buckets) {
      if (pending > 0 && pending + bucket.count > this.windowPoints) {
        yield* this.window(runId, key, start, bucket.fromStep - 1n)
        start = bucket.fromStep
        pending = 0
      }
      pending += bucket.count
    }
    yield* this.window(runId, key, start, to)
  }

  private async *window(runId: number, key: string, from: bigint, to: bigint): AsyncGenerator<MetricPoint[]> {
    if (from > to) return
    const points = await this.services.runs.metricHistory({ runId, key, fromStep: from, toStep: to, limit: this.historyLimit })
    if (points.length < this.historyLimit) {
      if (points.length > 0) yield points
      return
    }
    // More points than a history call returns: split the window where the points are.
    const first = points[0]!.step
    const last = points[points.length - 1]!.step
    if (first === last && from === to) throw new Error(`run ${runId} metric ${key}: more than ${this.historyLimit} points at step ${from}; such a series cannot be exported`)
    if (from < first) yield* this.window(runId, key, from, first - 1n)
    const middle = first + (last - first) / 2n
    if (first === last) {
      yield* this.window(runId, key, first, first)
    } else {
      yield* this.window(runId, key, first, middle)
      yield* this.window(runId, key, middle + 1n, last)
    }
    if (last < to) yield* this.window(runId, key, last + 1n, to)
  }

  private async findExperiment(ref: string): Promise<Experiment> {
    if (/^\d{1,15}$/.test(ref)) {
      const byId = await this.services.experiments.get(Number(ref)).catch(() => undefined)
      if (byId) return byId
    }
    const byName = await this.services.experiments.findByName(ref)
    if (!byName) throw notFound(`no experiment named or numbered ${JSON.stringify(ref)}`, 'experiment')
    return byName
  }

  private async findRun(ref: string): Promise<RunWithMetrics> {
    if (/^[0-9a-f]{32}$/.test(ref)) {
      const run = await this.services.runs.findByUuid(ref)
      if (!run) throw notFound(`no run with uuid ${ref}`, 'runs')
      return this.services.runs.getWithMetrics(run.id)
    }
    if (!/^\d{1,15}$/.test(ref)) throw invalidArgument(`runs: ${JSON.stringify(ref)} is neither a run id nor a run uuid`, 'runs')
    return this.services.runs.getWithMetrics(Number(ref)).catch(() => {
      throw notFound(`no run ${ref}`, 'runs')
    })
  }

  /** Registered models with a version whose source run is exported. */
  private async modelsOf(runIds: ReadonlySet<number>): Promise<string[]> {
    const names: string[] = []
    for (const model of await this.services.models.listModels()) {
      const versions = await this.services.models.listVersions(model.modelName)
      if (versions.some((version) => version.sourceRunId !== null && runIds.has(version.sourceRunId))) names.push(model.modelName)
    }
    return names
  }

  private async modelRecord(name: string, exportedRuns: ReadonlyMap<number, string>): Promise<BundleModel> {
    const versions = await this.services.models.listVersions(name)
    const byId = new Map<number, ModelVersion>(versions.map((version) => [version.id, version]))
    const versionText = (id: number | null): string | null => (id === null ? null : (byId.get(id)?.version ?? null))
    const registered = (await this.mlflow.getRegisteredModel({ name })) as { registered_model: { description?: string; tags?: { key: string; value: string }[] } }
    const sourceUuid = async (runId: number | null): Promise<string | null> => {
      if (runId === null) return null
      return exportedRuns.get(runId) ?? (await this.services.runs.get(runId).then((run) => run.uuid, () => null))
    }
    const deployments = await this.services.models.listDeployments(name)
    const history = await this.services.models.deploymentHistory({ modelName: name })
    return {
      name,
      description: registered.registered_model.description ?? '',
      tags: Object.fromEntries((registered.registered_model.tags ?? []).map(({ key, value }) => [key, value])),
      versions: await Promise.all(
        [...versions]
          .sort((a, b) => a.id - b.id)
          .map(async (version) => ({
            version: version.version,
            parentVersion: versionText(version.parentVersionId),
            sourceRun: await sourceUuid(version.sourceRunId),
            artifactUri: version.artifactUri,
            artifactSizeBytes: version.artifactSizeBytes,
            artifactBlake3: version.artifactBlake3,
            performanceMetrics: version.performanceMetrics,
            description: version.description,
            tags: version.tags,
            approvalStatus: version.approvalStatus,
            approvalNotes: version.approvalNotes,
            reviewedBy: version.reviewedBy,
            reviewedAt: iso(version.reviewedAt),
            deprecatedBy: version.deprecatedBy,
            deprecatedAt: iso(version.deprecatedAt),
            deprecationNotes: version.deprecationNotes,
            aliases: version.aliases,
            createdBy: version.createdBy,
            createdAt: iso(version.createdAt)!
          }))
      ),
      deployments: deployments.map((deployment) => ({
        target: deployment.target,
        currentVersion: versionText(deployment.currentVersionId)!,
        previousVersion: versionText(deployment.previousVersionId),
        strategy: deployment.strategy,
        canaryTrafficPercent: deployment.canaryTrafficPercent,
        sla: deployment.sla,
        healthUrl: deployment.health.url,
        deployedBy: deployment.deployedBy,
        deployedAt: iso(deployment.deployedAt)!
      })),
      history: [...history]
        .sort((a, b) => a.id - b.id)
        .map((event) => ({
          target: event.target,
          action: event.action,
          fromVersion: versionText(event.fromVersionId),
          toVersion: versionText(event.toVersionId),
          strategy: event.strategy,
          canaryTrafficPercent: event.canaryTrafficPercent,
          actor: event.actor,
          notes: event.notes,
          occurredAt: iso(event.occurredAt)!
        }))
    }
  }
}

function experimentRecord(experiment: Experiment): BundleExperiment {
  return {
    name: experiment.name,
    description: experiment.description,
    modelConfig: experiment.modelConfig,
    trainingConfig: experiment.trainingConfig,
    hyperparameters: experiment.hyperparameters,
    tags: experiment.tags,
    status: experiment.status,
    createdBy: experiment.createdBy,
    createdAt: iso(experiment.createdAt)!
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`)
}
