import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import type { ReviewInfo } from '../../shared/domain'
import type { DoorServices } from '../services/core-services'
import { verifyBundle, type VerifiedBundle } from './bundle-archive'
import { BundleImporter, type BundleImportReport } from './bundle-importer'
import { silentProgress, type ProgressSink } from './progress'

/**
 * What a review of a bundle needs before it is served, shared by `hypercube review FILE` and the
 * running app's review host: the bundle checked against its manifest, then imported (through the
 * services, as any import) into a throwaway data folder with its own embedded PostgreSQL — never
 * the workspace's database. The caller then serves that folder read-only and removes it after.
 */

/** A core on a data folder's own embedded server, without HTTP (the loading pass). */
export type StartLoadingCore = (dataDir: string) => Promise<{ services: DoorServices; close(): Promise<void> }>

export interface ReviewFolder {
  folder: string
  verified: VerifiedBundle
  /** The loading import's report (problems, if any, are worth showing). */
  report: BundleImportReport
  remove(): void
}

export async function loadReviewFolder(file: string, startLoadingCore: StartLoadingCore, progress: ProgressSink = silentProgress): Promise<ReviewFolder> {
  const verified = await verifyBundle(file, (read, total) => progress.update(read, total, 'checking every member against the manifest'))
  progress.finish()
  const folder = mkdtempSync(join(tmpdir(), 'hypercube-review-'))
  const remove = (): void => rmSync(folder, { recursive: true, force: true })
  try {
    // When root, the embedded server runs as another user that must reach the folder.
    chmodSync(folder, 0o755)
    const loading = await startLoadingCore(folder)
    try {
      const report = await new BundleImporter(loading.services).import(file, { progress })
      progress.finish()
      return { folder, verified, report, remove }
    } finally {
      await loading.close()
    }
  } catch (error) {
    remove()
    throw error
  }
}

/** What the banner shows of a bundle. */
export function reviewInfo(bundleName: string, verified: VerifiedBundle, workspace: string, closable: boolean): ReviewInfo {
  const { header } = verified
  return {
    bundle: bundleName,
    createdAt: header.createdAt,
    experiments: header.experiments.map((experiment) => experiment.name),
    runs: header.totals.runs,
    points: header.totals.points,
    models: header.models,
    workspace,
    closable
  }
}

/** The message every refused write of a review carries. */
export function reviewReadOnlyMessage(bundleName: string): string {
  return `read-only: this is a review of the bundle ${bundleName}, and nothing in it can be changed here. "Import into my workspace" copies it into your workspace, where you can work on it`
}

export function bundleDisplayName(file: string): string {
  return basename(file)
}
