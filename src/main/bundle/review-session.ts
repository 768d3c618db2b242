import type { ReviewImportResult, ReviewInfo } from '../../shared/domain'
import type { ConflictMode } from './bundle-importer'

/**
 * A review of a bundle, as the core sees it (`hypercube review FILE`): what the banner shows,
 * the message every refused write carries, and the one action that writes — "Import into my
 * workspace", which runs the normal import into the user's own data folder or database.
 */
export interface ReviewSession {
  readonly info: ReviewInfo
  readonly readOnlyMessage: string
  importIntoWorkspace(onConflict: ConflictMode): Promise<ReviewImportResult>
  /**
   * "Close review" from its own window, when a running app's review host opened it: the host
   * stops this review (server stopped, folder removed) once the answer has gone out. Absent in
   * `hypercube review FILE`.
   */
  close?(): void
}
