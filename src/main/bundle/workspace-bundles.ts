import type { BundleCheck, BundleConflictMode, BundleExportEstimate, BundleExportResult, BundleImportReport } from '../../shared/bundles'
import { DomainError } from '../../shared/errors'
import type { DoorServices } from '../services/core-services'
import type { MlflowService } from '../services/mlflow-service'
import { verifyBundle } from './bundle-archive'
import { BundleExporter, type ExportSelection } from './bundle-exporter'
import { BundleError } from './bundle-format'
import { BundleImporter } from './bundle-importer'
import { silentProgress, type ProgressSink } from './progress'
import type { BundleTransfers } from './bundle-transfers'

/**
 * Review bundles from the window, on this workspace's own services (the one rule path, as the
 * CLI's `hypercube export` and `import`, which run the same exporter and importer): the size
 * estimate before an export, the export to a file the window then downloads, and an uploaded
 * bundle checked, its conflicts named, and imported. Knows no transport.
 */

/** What the window exports: an experiment (or some of its runs), or a registered model with its versions' source runs. */
export type WindowExportTarget =
  | {
      experimentId: number
      /** Runs of that experiment (default: all its active runs). */
      runIds?: readonly number[]
    }
  | { modelName: string }

/** A bundle the checks refused is the user's file at fault: invalid_argument naming the file, with the member in the message. */
export function refusedBundle(error: unknown, fileName: string, path: string): unknown {
  if (!(error instanceof BundleError)) return error
  // The file is a temporary copy: name it as the user knows it.
  const said = error.message.split(path).join(fileName)
  const message = said.includes('nothing was imported') ? said : `${said}. The bundle was refused; nothing was imported`
  return new DomainError('invalid_argument', message.startsWith(fileName) ? message : `${fileName}: ${message}`, 'file')
}

export class WorkspaceBundles {
  constructor(
    private readonly services: DoorServices,
    private readonly mlflow: () => MlflowService,
    readonly transfers: BundleTransfers
  ) {}

  private selection(input: WindowExportTarget & { artifacts: boolean }): ExportSelection {
    if ('modelName' in input) return { model: input.modelName, artifacts: input.artifacts }
    return { experiment: String(input.experimentId), ...(input.runIds && input.runIds.length > 0 ? { runs: input.runIds.map(String) } : {}), artifacts: input.artifacts }
  }

  private async fileName(target: WindowExportTarget): Promise<string> {
    if ('modelName' in target) return `${target.modelName}-model.hcube`
    const { name } = await this.services.experiments.get(target.experimentId)
    const runIds = target.runIds
    return runIds && runIds.length > 0 ? `${name}-${runIds.length}-run${runIds.length === 1 ? '' : 's'}.hcube` : `${name}.hcube`
  }

  /** What an export will hold and weigh (the exporter's plan), with and without the artifact files. */
  async estimate(input: WindowExportTarget): Promise<BundleExportEstimate> {
    const plan = await new BundleExporter(this.services, this.mlflow()).plan(this.selection({ ...input, artifacts: true }))
    return {
      experiments: plan.experiments.map((entry) => entry.name),
      runs: plan.totals.runs,
      points: plan.totals.points,
      artifactFiles: plan.totals.artifactFiles,
      artifactBytes: plan.totals.artifactBytes,
      models: plan.models,
      estimatedBytes: { withoutArtifacts: BundleExporter.estimateBytes(plan.totals, false), withArtifacts: BundleExporter.estimateBytes(plan.totals, true) },
      fileName: await this.fileName(input)
    }
  }

  /** Writes the bundle to a temporary file the window downloads once (transfers.takeExport). */
  async export(input: WindowExportTarget & { artifacts: boolean }, progress: ProgressSink = silentProgress): Promise<BundleExportResult> {
    const exporter = new BundleExporter(this.services, this.mlflow())
    const plan = await exporter.plan(this.selection(input))
    const fileName = await this.fileName(input)
    const { id, path } = this.transfers.exportPath()
    const result = await exporter.write(plan, path, progress)
    const kept = this.transfers.keepExport(id, path, fileName)
    return {
      exportId: kept.id,
      fileName: kept.name,
      bytes: result.bytes,
      runs: result.runs,
      points: result.points,
      artifactFiles: result.artifactFiles,
      models: result.models,
      problems: result.problems
    }
  }

  /**
   * Checks every member of an uploaded bundle against its manifest and names the runs already
   * here (the conflicts the import will meet). A refused bundle is removed.
   */
  async check(bundleId: string, progress: ProgressSink = silentProgress): Promise<BundleCheck> {
    const staged = this.transfers.uploaded(bundleId)
    let verified: Awaited<ReturnType<typeof verifyBundle>>
    try {
      verified = await verifyBundle(staged.path, (read, total) => progress.update(read, total, 'checking every member against the manifest'))
    } catch (error) {
      await this.transfers.discardUpload(bundleId)
      // Whatever the reader stumbled on (not gzip, not tar), the file is at fault, not the app.
      throw refusedBundle(error instanceof BundleError || !(error instanceof Error) ? error : new BundleError(`the file is not a readable bundle: ${error.message}`), staged.name, staged.path)
    } finally {
      progress.finish()
    }
    const { header, manifest } = verified
    const conflicts: BundleCheck['conflicts'] = []
    for (const run of header.runs) {
      if (await this.services.runs.findByUuid(run.uuid)) conflicts.push({ uuid: run.uuid, name: run.name })
    }
    return {
      bundleId,
      fileName: staged.name,
      sizeBytes: staged.sizeBytes,
      members: manifest.members.length,
      createdAt: header.createdAt,
      experiments: header.experiments.map((experiment) => experiment.name),
      runs: header.totals.runs,
      points: header.totals.points,
      artifactFiles: header.totals.artifactFiles,
      models: header.models,
      conflicts
    }
  }

  /** Imports an uploaded bundle (checked again as it is read: the importer's own two passes), then removes it. */
  async import(bundleId: string, onConflict: BundleConflictMode, progress: ProgressSink = silentProgress): Promise<BundleImportReport> {
    const staged = this.transfers.takeUpload(bundleId)
    try {
      const report = await new BundleImporter(this.services).import(staged.path, { onConflict, progress })
      return { ...report, file: staged.name }
    } catch (error) {
      throw refusedBundle(error, staged.name, staged.path)
    } finally {
      await this.transfers.removeFile(staged.path)
    }
  }
}
