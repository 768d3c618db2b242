import type { ReviewInfo } from './domain'

/**
 * Review bundles (.hcube) as the window sees them: what an export will hold and weigh before it
 * is written, what an export wrote, what an uploaded bundle holds and which of its runs are here
 * already, what an import did, and the reviews this app has open.
 */

/** The conflict choices of an import: a run of the bundle already here (same uuid) is skipped, kept beside the bundle's, or replaced. */
export const BUNDLE_CONFLICT_MODES = ['skip', 'keep-both', 'replace'] as const
export type BundleConflictMode = (typeof BUNDLE_CONFLICT_MODES)[number]

/** Bytes a metric point takes in a bundle, as measured by `npm run bench:bundle` (11.3–11.6 here), rounded up: the estimate's rate. */
export const BUNDLE_BYTES_PER_POINT = 12

/** What an export will hold, sized before anything is written (the exporter's plan). */
export interface BundleExportEstimate {
  experiments: string[]
  runs: number
  points: number
  /** Stored artifact files of those runs, and their bytes, whether or not the export includes them. */
  artifactFiles: number
  artifactBytes: number
  models: string[]
  /** The bundle's expected size without and with the artifact files. */
  estimatedBytes: { withoutArtifacts: number; withArtifacts: number }
  /** The file name the download will have. */
  fileName: string
}

/** An export written to a temporary file, waiting to be downloaded once (then removed). */
export interface BundleExportResult {
  exportId: string
  fileName: string
  bytes: number
  runs: number
  points: number
  artifactFiles: number
  models: number
  problems: string[]
}

/** A written export saved by main where the user chose (the desktop app), or not: the user cancelled, and it still waits. */
export type BundleSaveResult = { status: 'saved'; path: string; fileName: string; sizeBytes: number } | { status: 'cancelled' }

/** An uploaded bundle, checked member by member against its manifest, and what importing it would meet here. */
export interface BundleCheck {
  bundleId: string
  fileName: string
  sizeBytes: number
  members: number
  createdAt: string
  experiments: string[]
  runs: number
  points: number
  artifactFiles: number
  models: string[]
  /** Runs of the bundle already in this workspace (same uuid): the import's conflicts. */
  conflicts: Array<{ uuid: string; name: string }>
}

/** What an import did (the CLI prints the same report). */
export interface BundleImportReport {
  file: string
  onConflict: BundleConflictMode
  experiments: { created: string[]; existing: string[] }
  runs: { imported: string[]; skipped: string[]; replaced: string[]; copied: { from: string; to: string }[] }
  points: number
  checkpoints: number
  artifacts: { files: number; bytes: number; byUri: number; notInBundle: number }
  models: { created: string[]; existing: string[] }
  versions: { created: string[]; skipped: string[] }
  deploymentEvents: number
  aliases: number
  /** What could not be imported, and why. */
  problems: string[]
}

/** A review this app opened (a bundle served read-only by a core of its own, on loopback). */
export interface OpenReview {
  reviewId: string
  info: ReviewInfo
  /** Where the review is served (its origin); sign in through a login URL, not this. */
  origin: string
}
