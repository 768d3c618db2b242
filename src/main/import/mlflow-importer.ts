import { createReadStream, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { MetricPoint, MlflowImportReport } from '../../shared/domain'
import type { DoorServices } from '../services/core-services'
import type { MlflowService } from '../services/mlflow-service'
import type { MlflowImportExperiment, MlflowImportLoggedModel, MlflowImportRegisteredModel, MlflowImportRun, MlflowStoreSnapshot } from './mlflow-records'

/**
 * Writes what an MLflow store reader read through Hypercube's services — the same rule path as
 * every other write. A door, not a decider: it maps MLflow's fields onto the services' inputs.
 *
 * Where things land: experiments by name (tags kept), runs keep their MLflow run id (so mlflow
 * clients go on naming them), params, tags, every metric point (through the binary COPY batch
 * path), dataset inputs, artifacts copied into the artifact store, logged models with their
 * ids, params, tags and metrics, registered models with versions, stages (labels, as the MLflow
 * door keeps them) and aliases. What has no place is kept as a tag under IMPORT_TAG_PREFIX.
 */

/** Tags that keep what has no field of its own in Hypercube. */
export const IMPORT_TAG_PREFIX = 'hypercube.import.'

export interface MlflowImportOptions {
  /** Only experiments with these names (and the registry entries whose runs they hold). */
  experiments?: readonly string[]
  /** Read and compare, write nothing. */
  dryRun?: boolean
  onProgress?: (line: string) => void
  /**
   * How far the import is, in units of one per metric point and one per run (a run's points are
   * most of its work): called after each run, with the total of the runs selected.
   */
  onAdvance?: (done: number, total: number, detail: string) => void
}

export type { MlflowImportReport }

const RUN_STATUS = { RUNNING: 'running', SCHEDULED: 'pending', FINISHED: 'completed', FAILED: 'failed', KILLED: 'killed' } as const

/** At most this many points go in one batch (the service takes up to 10M; this bounds a transaction). */
const POINTS_PER_BATCH = 500_000
/** Runs written side by side (each holds at most one batch of points in memory). */
const RUNS_AT_ONCE = 3

/** Calls `work` on every item, at most `limit` at a time; resolves when all are done. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!)
    })
  )
}

function filesUnder(dir: string, prefix = ''): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.isDirectory()) found.push(...filesUnder(join(dir, entry.name), `${prefix}${entry.name}/`))
    else if (entry.isFile()) found.push(`${prefix}${entry.name}`)
  }
  return found
}

/**
 * The logged model without the mlflow.modelVersions entries of registry versions this import
 * creates: creating a version records it there (as MLflow does), so keeping them would list it twice.
 */
function withoutRegisteredVersions(model: MlflowImportLoggedModel, snapshot: MlflowStoreSnapshot): MlflowImportLoggedModel {
  const text = model.tags[MODEL_VERSIONS_TAG]
  if (text === undefined) return model
  let entries: unknown
  try {
    entries = JSON.parse(text)
  } catch {
    return model
  }
  if (!Array.isArray(entries)) return model
  const recreated = (entry: { name?: unknown; version?: unknown }): boolean =>
    snapshot.registeredModels.some((registered) => registered.name === entry.name && registered.versions.some((version) => version.modelId === model.modelId && String(version.version) === String(entry.version)))
  const kept = (entries as { name?: unknown; version?: unknown }[]).filter((entry) => !recreated(entry))
  const tags = { ...model.tags }
  if (kept.length === 0) delete tags[MODEL_VERSIONS_TAG]
  // Python's json.dumps spacing, as MLflow writes the tag.
  else tags[MODEL_VERSIONS_TAG] = `[${kept.map((entry) => `{"name": ${JSON.stringify(entry.name)}, "version": ${JSON.stringify(entry.version)}}`).join(', ')}]`
  return { ...model, tags }
}

const MODEL_VERSIONS_TAG = 'mlflow.modelVersions'

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export class MlflowImporter {
  constructor(
    private readonly services: DoorServices,
    private readonly mlflow: MlflowService
  ) {}

  async import(snapshot: MlflowStoreSnapshot, options: MlflowImportOptions = {}): Promise<MlflowImportReport> {
    const dryRun = options.dryRun ?? false
    const progress = options.onProgress ?? ((): void => undefined)
    const report: MlflowImportReport = {
      source: snapshot.location,
      dryRun,
      imported: { experiments: 0, runs: 0, points: 0, params: 0, tags: 0, artifacts: 0, datasetInputs: 0, loggedModels: 0, registeredModels: 0, modelVersions: 0, aliases: 0 },
      skipped: { experiments: [], runs: [], loggedModels: [], registeredModels: [], modelVersions: [] },
      duplicatePointsAbsorbed: 0,
      keptAsTags: {},
      problems: []
    }
    const keep = (tags: Record<string, string>, key: string, value: string | number | null): void => {
      if (value === null || value === '') return
      tags[IMPORT_TAG_PREFIX + key] = String(value)
      report.keptAsTags[IMPORT_TAG_PREFIX + key] = (report.keptAsTags[IMPORT_TAG_PREFIX + key] ?? 0) + 1
    }
    const wanted = options.experiments && options.experiments.length > 0 ? new Set(options.experiments) : undefined
    const experiments = snapshot.experiments.filter((experiment) => !wanted || wanted.has(experiment.name))
    for (const name of wanted ?? []) if (!experiments.some((experiment) => experiment.name === name)) report.problems.push(`no experiment named ${JSON.stringify(name)} in the store`)
    const importedRunIds = new Set<string>()
    const advance = options.onAdvance ?? ((): void => undefined)
    const runUnits = (run: MlflowImportRun): number => run.metrics.length + 1
    const totalUnits = experiments.reduce((sum, experiment) => sum + experiment.runs.reduce((n, run) => n + runUnits(run), 0), 0)
    let doneUnits = 0

    for (const experiment of experiments) {
      progress(`experiment ${experiment.name}: ${experiment.runs.length} runs`)
      const hypercubeId = await this.experimentFor(experiment, report, keep, dryRun)
      const runIds = new Map<string, number>()
      const written = new Set<string>()
      const importOne = async (run: MlflowImportRun): Promise<void> => {
        importedRunIds.add(run.runId)
        const existing = await this.services.runs.findByUuid(run.runId)
        if (existing) {
          report.skipped.runs.push(run.runId)
          runIds.set(run.runId, existing.id)
          return
        }
        if (dryRun || hypercubeId === undefined) {
          this.countRun(run, report)
          return
        }
        try {
          runIds.set(run.runId, await this.writeRun(hypercubeId, run, report, keep, progress))
          written.add(run.runId)
        } catch (error) {
          report.problems.push(`run ${run.runId} (${run.name}): not imported: ${errorText(error)}`)
        }
      }
      // A few runs at a time: one run's write is mostly waiting on PostgreSQL (one COPY, then
      // the summary), so runs side by side keep both the app and the database busy.
      await forEachConcurrently(experiment.runs, RUNS_AT_ONCE, async (run) => {
        await importOne(run)
        doneUnits += runUnits(run)
        advance(doneUnits, totalUnits, `${experiment.name}: run ${run.name}`)
      })
      const newRuns = experiment.runs.filter((run) => written.has(run.runId))
      const models = snapshot.loggedModels.filter((model) => model.experimentId === experiment.experimentId)
      for (const model of models) {
        await this.writeLoggedModel(hypercubeId, withoutRegisteredVersions(model, snapshot), runIds, report, dryRun).catch((error: unknown) => {
          report.imported.loggedModels--
          report.problems.push(`logged model ${model.modelId}: not imported whole: ${errorText(error)}`)
        })
      }
      if (dryRun || hypercubeId === undefined) continue
      // Outputs need their logged models; the end status and deletion come last, as a deleted
      // run takes no more writes.
      for (const run of newRuns) {
        const id = runIds.get(run.runId)!
        if (run.modelOutputs.length > 0) await this.services.runs.logOutputs({ runId: id, outputs: run.modelOutputs })
        if (run.status !== 'RUNNING') await this.services.runs.setStatusAsMlflow({ runId: id, status: RUN_STATUS[run.status], endTime: run.endTime })
        if (run.deleted) await this.services.runs.delete(id)
      }
      if (experiment.deleted && !report.skipped.experiments.includes(experiment.name)) await this.services.experiments.delete(hypercubeId)
    }

    for (const model of snapshot.registeredModels) {
      const versions = model.versions.filter((version) => !wanted || (version.runId !== null && importedRunIds.has(version.runId)))
      if (wanted && versions.length === 0) continue
      await this.writeRegisteredModel(model, versions, report, dryRun, progress)
    }
    return report
  }

  private async experimentFor(
    experiment: MlflowImportExperiment,
    report: MlflowImportReport,
    keep: (tags: Record<string, string>, key: string, value: string | number | null) => void,
    dryRun: boolean
  ): Promise<number | undefined> {
    // MLflow's Default experiment maps onto Hypercube's default one, which every import finds
    // or makes: a dry run reports it as the import will, not as new.
    if (experiment.name === 'Default' && dryRun) {
      report.skipped.experiments.push(experiment.name)
      return (await this.services.experiments.findByName(experiment.name))?.id
    }
    const existing = experiment.name === 'Default' ? await this.services.experiments.ensureDefault() : await this.services.experiments.findByName(experiment.name)
    if (existing) {
      report.skipped.experiments.push(experiment.name)
      return existing.id
    }
    report.imported.experiments++
    if (dryRun) return undefined
    const tags = { ...experiment.tags }
    keep(tags, 'mlflow_experiment_id', experiment.experimentId)
    keep(tags, 'creation_time', experiment.creationTime)
    keep(tags, 'artifact_location', experiment.artifactLocation)
    const created = await this.services.experiments.create({ name: experiment.name, tags })
    return created.id
  }

  private countRun(run: MlflowImportRun, report: MlflowImportReport): void {
    report.imported.runs++
    // As the write would store them: an exact duplicate (same key, step, time and value bits —
    // NaN equal to NaN, -0 not 0) once, so a preview matches the import.
    const bits = new Float64Array(1)
    const distinct = new Set<string>()
    for (const point of run.metrics) {
      bits[0] = Number.isNaN(point.value) ? NaN : point.value
      distinct.add(`${point.key}\u0000${point.step}\u0000${point.timestampMs}\u0000${new BigUint64Array(bits.buffer)[0]}`)
    }
    report.imported.points += distinct.size
    report.duplicatePointsAbsorbed += run.metrics.length - distinct.size
    report.imported.params += Object.keys(run.params).length
    report.imported.tags += Object.keys(run.tags).length
    report.imported.datasetInputs += run.datasetInputs.length
    if (run.artifactDir) report.imported.artifacts += filesUnder(run.artifactDir).length
  }

  /**
   * One run, whole or not at all: a run that fails half-way is removed again, so it is not
   * taken for imported (and skipped) by the next run of the import.
   */
  private async writeRun(
    experimentId: number,
    run: MlflowImportRun,
    report: MlflowImportReport,
    keep: (tags: Record<string, string>, key: string, value: string | number | null) => void,
    progress: (line: string) => void
  ): Promise<number> {
    const tags = { ...run.tags, 'mlflow.runName': run.name }
    const kept: Record<string, string> = {}
    keep(kept, 'artifact_uri', run.artifactUri)
    const created = await this.services.runs.startWithUuid({
      experimentId,
      name: run.name,
      tags: { ...tags, ...kept },
      status: 'running',
      startedAt: run.startTime,
      userId: run.userId,
      uuid: run.runId
    })
    let points = 0
    let duplicates = 0
    let artifacts = 0
    try {
      if (Object.keys(run.params).length > 0) await this.services.runs.logTextParams({ runId: created.id, params: run.params })
      for (let start = 0; start < run.metrics.length; start += POINTS_PER_BATCH) {
        const batch: MetricPoint[] = run.metrics
          .slice(start, start + POINTS_PER_BATCH)
          .map((point) => ({ key: point.key, value: point.value, step: point.step, epoch: null, timestamp: point.timestampMs, kind: 'train' }))
        const result = await this.services.runs.logValidatedMetrics(created.id, batch)
        points += result.inserted
        duplicates += result.duplicates
      }
      if (run.datasetInputs.length > 0) await this.services.runs.logInputs({ runId: created.id, datasets: run.datasetInputs, modelIds: [] })
      if (run.artifactDir) {
        for (const path of filesUnder(run.artifactDir)) {
          await this.services.artifacts.putFile(created.id, path, createReadStream(join(run.artifactDir, path)))
          artifacts++
        }
      }
    } catch (error) {
      for (const key of Object.keys(kept)) report.keptAsTags[key]! -= 1
      await this.services.runs.delete(created.id)
      await this.services.runs.deletePermanently(created.id)
      throw error
    }
    report.imported.runs++
    report.imported.tags += Object.keys(run.tags).length
    report.imported.params += Object.keys(run.params).length
    report.imported.points += points
    report.duplicatePointsAbsorbed += duplicates
    report.imported.datasetInputs += run.datasetInputs.length
    report.imported.artifacts += artifacts
    progress(`  run ${run.runId} ${run.name}: ${run.metrics.length} points, ${Object.keys(run.params).length} params, ${Object.keys(run.tags).length} tags, ${artifacts} artifacts`)
    return created.id
  }

  private async writeLoggedModel(experimentId: number | undefined, model: MlflowImportLoggedModel, runIds: Map<string, number>, report: MlflowImportReport, dryRun: boolean): Promise<void> {
    if ((await this.mlflow.loggedModelExperiment(model.modelId)) !== undefined) {
      report.skipped.loggedModels.push(model.modelId)
      return
    }
    report.imported.loggedModels++
    if (dryRun || experimentId === undefined) {
      if (model.artifactDir) report.imported.artifacts += filesUnder(model.artifactDir).length
      return
    }
    const sourceRunId = model.sourceRunId === null ? null : (runIds.get(model.sourceRunId) ?? null)
    await this.services.models.createLoggedModel({
      modelId: model.modelId,
      experimentId,
      name: model.name,
      modelType: model.modelType ?? '',
      sourceRunId,
      // A source run the store does not hold (or this import left out) is kept as MLflow named it.
      mlflowSourceRunId: sourceRunId === null ? model.sourceRunId : null,
      params: model.params,
      tags: model.tags,
      userId: model.tags['mlflow.user'] ?? null
    })
    await this.services.models.updateLoggedModel({ modelId: model.modelId, status: model.status })
    for (const metric of model.metrics) {
      await this.services.models.logLoggedModelMetric({
        modelId: model.modelId,
        runId: metric.runId === null ? null : (runIds.get(metric.runId) ?? null),
        key: metric.key,
        value: metric.value,
        step: metric.step,
        timestampMs: metric.timestampMs,
        datasetName: metric.datasetName,
        datasetDigest: metric.datasetDigest
      })
    }
    if (model.artifactDir) {
      for (const path of filesUnder(model.artifactDir)) {
        await this.services.artifacts.putLoggedModelFile(experimentId, model.modelId, path, createReadStream(join(model.artifactDir, path)))
        report.imported.artifacts++
      }
    }
  }

  /** A version source that names a run's artifacts in the old store, rewritten to where the run's artifacts are now. */
  private async rewriteSource(source: string): Promise<string> {
    const match = /\/([0-9a-f]{32})\/artifacts(\/.*)?$/.exec(source)
    if (!match || source.startsWith('models:') || source.startsWith('runs:')) return source
    const run = await this.services.runs.findByUuid(match[1]!)
    if (!run) return source
    const json = (await this.mlflow.getRun({ run_id: run.uuid })) as { run: { info: { artifact_uri: string } } }
    return `${json.run.info.artifact_uri}${match[2] ?? ''}`
  }

  private async writeRegisteredModel(
    model: MlflowImportRegisteredModel,
    versions: MlflowImportRegisteredModel['versions'],
    report: MlflowImportReport,
    dryRun: boolean,
    progress: (line: string) => void
  ): Promise<void> {
    const exists = await this.mlflow.getRegisteredModel({ name: model.name }).then(
      () => true,
      () => false
    )
    if (exists) report.skipped.registeredModels.push(model.name)
    else {
      report.imported.registeredModels++
      if (!dryRun) {
        await this.mlflow.createRegisteredModel({
          name: model.name,
          ...(model.description === null ? {} : { description: model.description }),
          tags: Object.entries(model.tags).map(([key, value]) => ({ key, value }))
        })
      }
    }
    // MLflow's version number → the number it has here. Numbers are given in order, so once a
    // version fails the later ones wait for the next import rather than take its number.
    const numbers = new Map<number, string>()
    let blockedBy: number | undefined
    for (const version of versions) {
      const present =
        exists &&
        (await this.mlflow.getModelVersion({ name: model.name, version: String(version.version) }).then(
          () => true,
          () => false
        ))
      if (present) {
        report.skipped.modelVersions.push(`${model.name}/${version.version}`)
        numbers.set(version.version, String(version.version))
        continue
      }
      if (blockedBy !== undefined) {
        report.problems.push(`${model.name} version ${version.version}: not imported, as version ${blockedBy} before it was not (it would have taken its number)`)
        continue
      }
      if (dryRun) {
        report.imported.modelVersions++
        numbers.set(version.version, String(version.version))
        continue
      }
      let created: string
      try {
        const answer = (await this.mlflow.createModelVersion({
          name: model.name,
          source: await this.rewriteSource(version.source),
          ...(version.runId === null ? {} : { run_id: version.runId }),
          ...(version.modelId === null ? {} : { model_id: version.modelId }),
          ...(version.runLink === null ? {} : { run_link: version.runLink }),
          ...(version.description === null ? {} : { description: version.description }),
          tags: Object.entries(version.tags).map(([key, value]) => ({ key, value }))
        })) as { model_version: { version: string } }
        created = answer.model_version.version
      } catch (error) {
        report.problems.push(`${model.name} version ${version.version}: not imported: ${errorText(error)}`)
        blockedBy = version.version
        continue
      }
      report.imported.modelVersions++
      numbers.set(version.version, created)
      if (created !== String(version.version)) {
        report.problems.push(`${model.name}: MLflow version ${version.version} became version ${created} (versions are numbered in order, and MLflow's had gaps)`)
      }
      if (version.currentStage !== 'None') {
        await this.mlflow
          .transitionStage({ name: model.name, version: created, stage: version.currentStage })
          .catch((error: unknown) => report.problems.push(`${model.name} version ${created}: stage ${version.currentStage} not set: ${errorText(error)}`))
      }
    }
    for (const [alias, version] of Object.entries(model.aliases)) {
      const here = numbers.get(version)
      if (here === undefined) continue
      const current = await this.mlflow.getModelVersionByAlias({ name: model.name, alias }).then(
        () => true,
        () => false
      )
      if (current) continue
      if (!dryRun) {
        const set = await this.mlflow.setAlias({ name: model.name, alias, version: here }).then(
          () => true,
          (error: unknown) => (report.problems.push(`${model.name} alias ${alias}: not set: ${errorText(error)}`), false)
        )
        if (!set) continue
      }
      report.imported.aliases++
    }
    progress(`model ${model.name}: ${versions.length} versions, ${Object.keys(model.aliases).length} aliases`)
  }
}
