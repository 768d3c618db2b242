import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { DeploymentStrategy, MetricPoint, ModelVersion } from '../../shared/domain'
import type { BundleImportReport } from '../../shared/bundles'
import { isDomainError } from '../../shared/errors'
import type { DoorServices } from '../services/core-services'
import { BundleReader, checkAgainstManifest, verifyBundle, type VerifiedBundle } from './bundle-archive'
import { BundleError, classifyMember, experimentSchema, modelSchema, parseMember, runSchema, type BundleExperiment, type BundleModel, type BundleRun } from './bundle-format'
import { readMetricBatches } from './metric-columns'
import { silentProgress, type ProgressSink } from './progress'

/**
 * Imports a review bundle through the services — the same rule path as every other write. The
 * bundle is read twice: once to check every member against the manifest (nothing is written
 * if any fails), once to write, member by member, as they stream past.
 *
 * Runs keep their uuid. A run already here is a conflict, settled by `onConflict`: skip it (the
 * default), keep both (the bundle's run comes in under a new uuid, tagged with the one it had),
 * or replace it (the run here is deleted for good, the bundle's takes its place).
 */

export const CONFLICT_MODES = ['skip', 'keep-both', 'replace'] as const
export type ConflictMode = (typeof CONFLICT_MODES)[number]

/** The tag a kept-both copy carries: the uuid the run has in the bundle (and here). */
export const COPY_OF_TAG = 'hypercube.bundle.copy_of'
/** The tag a model version registered under a new number (keep-both) carries: its number in the bundle. */
export const ORIGINAL_VERSION_TAG = 'hypercube.bundle.original_version'

export interface BundleImportOptions {
  onConflict?: ConflictMode
  progress?: ProgressSink
  /** Called with the verified bundle before anything is written. */
  onVerified?: (bundle: VerifiedBundle) => void
}

// The report's shape is shared with the window (the import dialog shows it).
export type { BundleImportReport } from '../../shared/bundles'

/** Points per logValidatedMetrics call (one transaction each). */
const POINTS_PER_BATCH = 200_000

interface RunPlan {
  action: 'import' | 'skip' | 'replace' | 'copy'
  /** The uuid the run has here. */
  uuid: string
  existingId?: number
}

interface CurrentRun {
  bundle: BundleRun
  plan: RunPlan
  /** Its id here once started; undefined when it is skipped or failed. */
  id: number | undefined
  points: number
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))
const ms = (time: string | null): number | null => (time === null ? null : Date.parse(time))

export class BundleImporter {
  constructor(private readonly services: DoorServices) {}

  async import(file: string, options: BundleImportOptions = {}): Promise<BundleImportReport> {
    const onConflict = options.onConflict ?? 'skip'
    const progress = options.progress ?? silentProgress
    // Pass 1: every member against the manifest. A BundleError here means nothing was written.
    let verified: VerifiedBundle
    try {
      verified = await verifyBundle(file, (read, total) => progress.update(read, total * 2, 'checking every member against the manifest'))
    } catch (error) {
      progress.finish()
      if (error instanceof BundleError) throw new BundleError(`${error.message}. The bundle was refused; nothing was imported`, error.member)
      throw error
    }
    options.onVerified?.(verified)
    const report: BundleImportReport = {
      file,
      onConflict,
      experiments: { created: [], existing: [] },
      runs: { imported: [], skipped: [], replaced: [], copied: [] },
      points: 0,
      checkpoints: 0,
      artifacts: { files: 0, bytes: 0, byUri: 0, notInBundle: 0 },
      models: { created: [], existing: [] },
      versions: { created: [], skipped: [] },
      deploymentEvents: 0,
      aliases: 0,
      problems: []
    }

    const plans = new Map<string, RunPlan>()
    for (const run of verified.header.runs) {
      const existing = await this.services.runs.findByUuid(run.uuid)
      if (!existing) plans.set(run.uuid, { action: 'import', uuid: run.uuid })
      else if (onConflict === 'skip') plans.set(run.uuid, { action: 'skip', uuid: run.uuid, existingId: existing.id })
      else if (onConflict === 'replace') plans.set(run.uuid, { action: 'replace', uuid: run.uuid, existingId: existing.id })
      else plans.set(run.uuid, { action: 'copy', uuid: randomBytes(16).toString('hex'), existingId: existing.id })
    }

    // Pass 2: write as the members stream past, hashing them again (the file must not have changed).
    const experimentIds = new Map<number, number>()
    const runIds = new Map<string, number>()
    let current: CurrentRun | undefined
    const reader = new BundleReader(file, (read, total) => progress.update(total + read, total * 2, 'importing'))
    try {
      current = await this.writeMembers(reader, plans, verified, report, progress, onConflict, experimentIds, runIds)
    } catch (error) {
      progress.finish()
      throw reader.explain(error as Error)
    }
    if (current) await this.finishRun(current, report, runIds, progress)
    checkAgainstManifest(verified.manifest, reader.hashes, true)
    progress.finish()
    return report
  }

  /** Pass 2's loop; returns the run still open at the end (its members were the last). */
  private async writeMembers(
    reader: BundleReader,
    plans: ReadonlyMap<string, RunPlan>,
    verified: VerifiedBundle,
    report: BundleImportReport,
    progress: ProgressSink,
    onConflict: ConflictMode,
    experimentIds: Map<number, number>,
    runIds: Map<string, number>
  ): Promise<CurrentRun | undefined> {
    let current: CurrentRun | undefined
    const manifestEntries = new Map(verified.manifest.members.map((entry) => [entry.name, entry]))
    for await (const member of reader.members()) {
      const kind = classifyMember(member.name)!
      if (current && (kind.kind !== 'metric' && kind.kind !== 'artifact')) {
        await this.finishRun(current, report, runIds, progress)
        current = undefined
      }
      switch (kind.kind) {
        case 'header':
        case 'manifest':
          break
        case 'experiment': {
          const record = parseMember(experimentSchema, member.name, await readAll(member.stream))
          experimentIds.set(kind.index, await this.experimentFor(record, report))
          break
        }
        case 'run': {
          const bundle = parseMember(runSchema, member.name, await readAll(member.stream))
          if (bundle.uuid !== kind.uuid) throw new BundleError(`${member.name}: holds run ${bundle.uuid}`, member.name)
          const plan = plans.get(bundle.uuid)
          if (!plan) throw new BundleError(`${member.name}: run ${bundle.uuid} is not in ${'bundle.json'}`, member.name)
          current = { bundle, plan, id: undefined, points: 0 }
          if (plan.action === 'skip') {
            runIds.set(bundle.uuid, plan.existingId!)
            report.runs.skipped.push(bundle.uuid)
            break
          }
          const experimentId = experimentIds.get(bundle.experiment)
          if (experimentId === undefined) throw new BundleError(`${member.name}: names experiment ${bundle.experiment}, which the bundle does not hold`, member.name)
          await this.startRun(current, experimentId, report)
          break
        }
        case 'metric': {
          if (!current || current.bundle.uuid !== kind.uuid) throw new BundleError(`${member.name} does not follow its run's run.json`, member.name)
          if (current.id === undefined) break
          const metric = current.bundle.metrics.find((candidate) => candidate.member === member.name)
          if (!metric) throw new BundleError(`${member.name} is not listed in its run.json`, member.name)
          await this.guard(current, report, async (runId) => {
            let read = 0
            let batch: MetricPoint[] = []
            for await (const points of readMetricBatches(keepOpen(member.stream), metric.key, member.name)) {
              read += points.length
              batch = batch.length === 0 ? points : batch.concat(points)
              if (batch.length >= POINTS_PER_BATCH) {
                await this.services.runs.logValidatedMetrics(runId, batch)
                batch = []
              }
            }
            if (batch.length > 0) await this.services.runs.logValidatedMetrics(runId, batch)
            if (read !== metric.points) throw new BundleError(`${member.name}: ${read} points, run.json says ${metric.points}`, member.name)
            current!.points += read
          })
          break
        }
        case 'artifact': {
          if (!current || current.bundle.uuid !== kind.uuid) throw new BundleError(`${member.name} does not follow its run's run.json`, member.name)
          if (current.id === undefined) break
          const record = current.bundle.artifacts.find((candidate) => candidate.member === member.name)
          if (!record) throw new BundleError(`${member.name} is not listed in its run.json`, member.name)
          await this.guard(current, report, async (runId) => {
            await this.services.artifacts.putFile(runId, record.path, member.stream as Readable, { kind: record.kind, metadata: record.metadata as never })
            report.artifacts.files++
            report.artifacts.bytes += member.size
          })
          break
        }
        case 'model': {
          const record = parseMember(modelSchema, member.name, await readAll(member.stream))
          await this.importModel(record, runIds, onConflict, report)
          progress.line(`model ${record.name}: ${record.versions.length} versions`)
          break
        }
      }
      const want = manifestEntries.get(member.name)
      const got = reader.hashes.get(member.name)
      if (want && got && (want.size !== got.size || want.blake3 !== got.blake3)) {
        throw new BundleError(`member ${member.name} changed while it was being imported (it passed its check a moment before): the file must not change during an import`, member.name)
      }
    }
    return current
  }

  private async experimentFor(experiment: BundleExperiment, report: BundleImportReport): Promise<number> {
    const existing = experiment.name === 'Default' ? await this.services.experiments.ensureDefault() : await this.services.experiments.findByName(experiment.name)
    if (existing) {
      report.experiments.existing.push(experiment.name)
      return existing.id
    }
    const created = await this.services.experiments.create({
      name: experiment.name,
      description: experiment.description,
      modelConfig: experiment.modelConfig,
      trainingConfig: experiment.trainingConfig,
      hyperparameters: experiment.hyperparameters,
      tags: experiment.tags,
      createdBy: experiment.createdBy
    })
    if (experiment.status !== 'active') await this.services.experiments.update({ experimentId: created.id, status: experiment.status })
    report.experiments.created.push(experiment.name)
    return created.id
  }

  private async startRun(current: CurrentRun, experimentId: number, report: BundleImportReport): Promise<void> {
    const { bundle, plan } = current
    try {
      if (plan.action === 'replace') {
        if (!(await this.services.runs.isDeleted(plan.existingId!))) await this.services.runs.delete(plan.existingId!)
        await this.services.runs.deletePermanently(plan.existingId!)
      }
      const tags = plan.action === 'copy' ? { ...bundle.tags, [COPY_OF_TAG]: bundle.uuid } : bundle.tags
      const run = await this.services.runs.startWithUuid({
        experimentId,
        name: bundle.name,
        hyperparameters: bundle.hyperparameters,
        randomSeed: bundle.randomSeed,
        gitCommit: bundle.gitCommit,
        tags,
        status: bundle.status === 'pending' ? 'pending' : 'running',
        startedAt: ms(bundle.startedAt),
        uuid: plan.uuid
      })
      current.id = run.id
    } catch (error) {
      report.problems.push(`run ${bundle.uuid} (${bundle.name}): not imported: ${errorText(error)}`)
      return
    }
    await this.guard(current, report, async (runId) => {
      for (const checkpoint of bundle.checkpoints) {
        await this.services.runs.saveCheckpoint({
          runId,
          path: checkpoint.path,
          step: checkpoint.step,
          epoch: checkpoint.epoch,
          metricsSnapshot: checkpoint.metricsSnapshot,
          isBest: checkpoint.isBest,
          sizeBytes: checkpoint.sizeBytes,
          blake3: checkpoint.blake3
        })
        report.checkpoints++
      }
      for (const artifact of bundle.artifacts) {
        if (artifact.uri !== null) {
          await this.services.artifacts.register({ runId, path: artifact.path, uri: artifact.uri, kind: artifact.kind, sizeBytes: artifact.sizeBytes, blake3: artifact.blake3, metadata: artifact.metadata })
          report.artifacts.byUri++
        } else if (artifact.member === null) {
          report.artifacts.notInBundle++
        }
      }
    })
  }

  /**
   * Runs a step of a run's import; if it fails, the run is removed again (so a later import
   * tries it afresh) and the rest of its members are passed over. Bundle errors stop the import.
   */
  private async guard(current: CurrentRun, report: BundleImportReport, step: (runId: number) => Promise<void>): Promise<void> {
    if (current.id === undefined) return
    try {
      await step(current.id)
    } catch (error) {
      if (error instanceof BundleError) throw error
      report.problems.push(`run ${current.bundle.uuid} (${current.bundle.name}): not imported: ${errorText(error)}`)
      const id = current.id
      current.id = undefined
      await this.services.runs.delete(id).catch(() => undefined)
      await this.services.runs.deletePermanently(id).catch(() => undefined)
    }
  }

  private async finishRun(current: CurrentRun, report: BundleImportReport, runIds: Map<string, number>, progress: ProgressSink): Promise<void> {
    const { bundle, plan } = current
    if (plan.action === 'skip') return
    await this.guard(current, report, async (runId) => {
      if (bundle.status === 'completed' || bundle.status === 'failed' || bundle.status === 'killed') {
        await this.services.runs.complete({
          runId,
          status: bundle.status,
          finalMetrics: bundle.finalMetrics,
          errorMessage: bundle.errorMessage,
          stackTrace: bundle.stackTrace,
          resources: {
            gpuHours: bundle.resources.gpuHours,
            cpuHours: bundle.resources.cpuHours,
            peakMemoryBytes: bundle.resources.peakMemoryBytes
          },
          logs: bundle.logs
        })
        // The end time the run had (complete records now).
        if (bundle.completedAt !== null) await this.services.runs.setStatusAsMlflow({ runId, status: bundle.status, endTime: ms(bundle.completedAt) })
      }
    })
    if (current.id === undefined) return
    runIds.set(bundle.uuid, current.id)
    report.points += current.points
    if (plan.action === 'copy') report.runs.copied.push({ from: bundle.uuid, to: plan.uuid })
    else if (plan.action === 'replace') report.runs.replaced.push(bundle.uuid)
    else report.runs.imported.push(bundle.uuid)
    progress.line(`run ${plan.uuid} ${bundle.name}: ${current.points} points${plan.action === 'copy' ? ` (a copy of ${bundle.uuid})` : plan.action === 'replace' ? ' (replaced the run here)' : ''}`)
  }

  private async importModel(model: BundleModel, runIds: ReadonlyMap<string, number>, onConflict: ConflictMode, report: BundleImportReport): Promise<void> {
    const modelName = model.name
    let existed = false
    try {
      await this.services.models.createRegisteredModel({ modelName, description: model.description, tags: model.tags })
      report.models.created.push(modelName)
    } catch (error) {
      if (!isDomainError(error) || error.code !== 'conflict') throw error
      existed = true
      report.models.existing.push(modelName)
    }
    const here = new Map((await this.services.models.listVersions(modelName)).map((version) => [version.version, version]))
    const ids = new Map<string, number>()
    const created = new Set<string>()
    for (const version of model.versions) {
      const present = here.get(version.version)
      if (present && onConflict !== 'keep-both') {
        ids.set(version.version, present.id)
        report.versions.skipped.push(`${modelName}/${version.version}`)
        continue
      }
      let sourceRunId: number | null = null
      if (version.sourceRun !== null) {
        sourceRunId = runIds.get(version.sourceRun) ?? (await this.services.runs.findByUuid(version.sourceRun))?.id ?? null
        if (sourceRunId === null) report.problems.push(`${modelName} version ${version.version}: its source run ${version.sourceRun} is neither in the bundle nor here; registered without it`)
      }
      const parentVersionId = version.parentVersion === null ? null : (ids.get(version.parentVersion) ?? here.get(version.parentVersion)?.id ?? null)
      try {
        const registered: ModelVersion = await this.services.models.registerVersion({
          modelName,
          version: present ? null : version.version,
          artifactUri: version.artifactUri,
          sourceRunId,
          parentVersionId,
          performanceMetrics: version.performanceMetrics,
          artifactBlake3: version.artifactBlake3,
          artifactSizeBytes: version.artifactSizeBytes,
          description: version.description,
          tags: present ? { ...version.tags, [ORIGINAL_VERSION_TAG]: version.version } : version.tags,
          createdBy: version.createdBy
        })
        ids.set(version.version, registered.id)
        created.add(version.version)
        report.versions.created.push(`${modelName}/${registered.version}`)
      } catch (error) {
        report.problems.push(`${modelName} version ${version.version}: not imported: ${errorText(error)}`)
      }
    }

    // Approvals, deprecations and deployments again, in the order they happened. The actors and
    // notes are kept; the times are this import's (the services record when they act).
    const deployedHere = new Set((existed ? await this.services.models.listDeployments(modelName) : []).map((deployment) => deployment.target))
    type Step = { at: number; order: number; label: string; run: () => Promise<unknown> }
    const steps: Step[] = []
    for (const version of model.versions) {
      const id = ids.get(version.version)
      if (id === undefined || !created.has(version.version)) continue
      const reviewed = ms(version.reviewedAt) ?? ms(version.createdAt)!
      if (version.approvalStatus === 'approved' || version.approvalStatus === 'deprecated') {
        steps.push({ at: reviewed, order: 0, label: `approve ${version.version}`, run: () => this.services.models.approve({ versionId: id, notes: version.approvalNotes, actor: version.reviewedBy }) })
      } else if (version.approvalStatus === 'rejected') {
        steps.push({ at: reviewed, order: 0, label: `reject ${version.version}`, run: () => this.services.models.reject({ versionId: id, notes: version.approvalNotes, actor: version.reviewedBy }) })
      }
      if (version.approvalStatus === 'deprecated') {
        steps.push({
          at: ms(version.deprecatedAt) ?? reviewed,
          order: 2,
          label: `deprecate ${version.version}`,
          run: () => this.services.models.deprecate({ versionId: id, notes: version.deprecationNotes, actor: version.deprecatedBy })
        })
      }
    }
    for (const event of model.history) {
      if (deployedHere.has(event.target)) continue
      const final = model.deployments.find((deployment) => deployment.target === event.target)
      const target = event.target
      const base = { modelName, target, actor: event.actor, notes: event.notes }
      let run: () => Promise<unknown>
      if (event.action === 'deploy' || event.action === 'update') {
        const versionId = event.toVersion === null ? undefined : ids.get(event.toVersion)
        if (versionId === undefined) {
          report.problems.push(`${modelName} on ${target}: ${event.action} of version ${event.toVersion ?? '?'} not replayed (the version is not here)`)
          continue
        }
        run = () =>
          this.services.models.deploy({
            modelName,
            versionId,
            target,
            strategy: (event.strategy ?? 'blue-green') as DeploymentStrategy,
            canaryTrafficPercent: event.strategy === 'canary' ? event.canaryTrafficPercent : null,
            sla: final?.sla ?? { latencyP99Ms: null, throughputRps: null, availabilityPercent: null },
            healthUrl: final?.healthUrl ?? null,
            actor: event.actor
          })
      } else if (event.action === 'rollback') run = () => this.services.models.rollback(base)
      else if (event.action === 'promote') run = () => this.services.models.promoteCanary(base)
      else run = () => this.services.models.abortCanary(base)
      steps.push({ at: ms(event.occurredAt)!, order: 1, label: `${event.action} on ${target}`, run })
    }
    for (const target of deployedHere) {
      if (model.history.some((event) => event.target === target)) report.problems.push(`${modelName} on ${target}: already deployed here; the bundle's deployment history for it was not replayed`)
    }
    steps.sort((a, b) => a.at - b.at || a.order - b.order)
    for (const step of steps) {
      try {
        await step.run()
        if (step.order === 1) report.deploymentEvents++
      } catch (error) {
        report.problems.push(`${modelName}: ${step.label}: ${errorText(error)}`)
      }
    }

    for (const version of model.versions) {
      const id = ids.get(version.version)
      if (id === undefined) continue
      for (const alias of version.aliases) {
        const taken = await this.services.models.getAlias({ modelName, alias }).then(
          () => true,
          () => false
        )
        if (taken) continue
        try {
          await this.services.models.setAlias({ modelName, alias, versionId: id })
          report.aliases++
        } catch (error) {
          report.problems.push(`${modelName} alias ${alias}: ${errorText(error)}`)
        }
      }
    }
  }
}

/**
 * The stream's chunks for a reader that stops at its own end marker (Arrow's does): its
 * return() must not destroy the member's stream, whose rest the bundle reader still drains and hashes.
 */
function keepOpen(stream: Readable): AsyncIterable<Uint8Array> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => iterator.next(),
      return: () => Promise.resolve({ done: true as const, value: undefined })
    })
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
