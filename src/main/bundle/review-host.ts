import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import type { OpenReview } from '../../shared/bundles'
import type { ReviewImportResult } from '../../shared/domain'
import { DomainError } from '../../shared/errors'
import { Emitter, type Event } from '../../shared/event'
import type { Logger } from '../logging'
import type { DoorServices } from '../services/core-services'
import { BundleImporter, type ConflictMode } from './bundle-importer'
import { formatBundleImportReport } from './bundle-report'
import { silentProgress, type ProgressSink } from './progress'
import { loadReviewFolder, reviewInfo, reviewReadOnlyMessage, type ReviewFolder, type StartLoadingCore } from './review-folder'
import type { ReviewSession } from './review-session'

/**
 * Reviews opened from a running app (serve mode's "Open review bundle…", the desktop's File →
 * Open Review Bundle): each bundle is checked, loaded into a throwaway folder with its own
 * embedded PostgreSQL (review-folder.ts, as `hypercube review` does) and served read-only by a
 * core of its own on loopback, reached through a one-time login URL. Its "Import into my
 * workspace" imports through the RUNNING workspace's own services — the app holds the
 * workspace's folder (its instance lock), so no second core may open it. A review is closed —
 * its server stopped, its folder removed — when the user closes it (from the workspace's list,
 * its desktop window, or its own banner's "Close review"), and all of them when the app stops. Knows no transport: the core builds it with its own start function.
 */

/** A review's own server: the read-only core serving the UI. */
export interface ReviewServer {
  /** Where it is served (http://127.0.0.1:port). */
  readonly origin: string
  /** A new one-time login link. */
  loginUrl(): string
  close(): Promise<void>
}

export type StartReviewServer = (dataDir: string, session: ReviewSession) => Promise<ReviewServer>

export interface ReviewHostOptions {
  /** The running workspace's services: where "Import into my workspace" writes. */
  workspace: DoorServices
  /** How the banner names the workspace. */
  workspaceName: string
  startLoadingCore: StartLoadingCore
  startReviewServer: StartReviewServer
  logger?: Logger
}

interface OpenEntry {
  review: OpenReview
  server: ReviewServer
  folder: ReviewFolder
  /** The bundle, kept while the review is open ("Import into my workspace" reads it). */
  file: string
  /** Removed with the review (an uploaded copy), or the user's own file (left alone). */
  ownsFile: boolean
}

/** How long "Close review" waits for the review's answer to leave its server before stopping it. */
const CLOSE_AFTER_ANSWER_MS = 100

export class ReviewHost {
  private readonly reviews = new Map<string, OpenEntry>()
  private readonly opening = new Set<Promise<unknown>>()
  private closed = false
  private readonly changed = new Emitter<OpenReview[]>()
  /** The reviews open, each time one opens or closes (the workspace's windows list them). */
  readonly onDidChangeReviews: Event<OpenReview[]> = this.changed.event

  constructor(private readonly options: ReviewHostOptions) {}

  /**
   * Opens a review of `file`. `name` is how the user knows it (an upload's own name);
   * `ownsFile`: the file is a copy to remove when the review closes (or when opening fails).
   */
  async open(file: string, options: { name: string; ownsFile: boolean; progress?: ProgressSink }): Promise<{ review: OpenReview; loginUrl: string }> {
    if (this.closed) throw new DomainError('unavailable', 'the app is closing')
    const work = this.openNow(file, options)
    this.opening.add(work)
    try {
      return await work
    } finally {
      this.opening.delete(work)
    }
  }

  private async openNow(file: string, options: { name: string; ownsFile: boolean; progress?: ProgressSink }): Promise<{ review: OpenReview; loginUrl: string }> {
    let folder: ReviewFolder | undefined
    try {
      folder = await loadReviewFolder(file, this.options.startLoadingCore, options.progress ?? silentProgress)
      const reviewId = randomBytes(16).toString('hex')
      const info = reviewInfo(options.name, folder.verified, this.options.workspaceName, true)
      const session: ReviewSession = {
        info,
        readOnlyMessage: reviewReadOnlyMessage(options.name),
        importIntoWorkspace: (onConflict) => this.importIntoWorkspace(file, options.name, onConflict),
        // Asked by the review's own server, in a call it is still answering: stopping that server
        // waits for the call, so the close starts once the answer has gone out, not within it.
        close: () => {
          setTimeout(() => {
            if (!this.reviews.has(reviewId)) return
            this.close(reviewId).catch((error: unknown) => this.options.logger?.error({ err: error }, 'could not close a review'))
          }, CLOSE_AFTER_ANSWER_MS).unref?.()
        }
      }
      const server = await this.options.startReviewServer(folder.folder, session)
      const entry: OpenEntry = { review: { reviewId, info, origin: server.origin }, server, folder, file, ownsFile: options.ownsFile }
      this.reviews.set(reviewId, entry)
      this.changed.fire(this.list())
      if (folder.report.problems.length > 0) this.options.logger?.warn({ bundle: options.name, problems: folder.report.problems }, 'parts of the reviewed bundle could not be loaded')
      this.options.logger?.info({ bundle: options.name, origin: server.origin }, 'review opened')
      return { review: entry.review, loginUrl: server.loginUrl() }
    } catch (error) {
      folder?.remove()
      if (options.ownsFile) await rm(file, { force: true })
      throw error
    }
  }

  /** The reviews open now. */
  list(): OpenReview[] {
    return [...this.reviews.values()].map((entry) => entry.review)
  }

  /** A new one-time login link to an open review (to open it again). */
  loginUrl(reviewId: string): string {
    return this.entry(reviewId).server.loginUrl()
  }

  /** Stops a review's server and removes its folder (and its uploaded copy of the bundle). */
  async close(reviewId: string): Promise<void> {
    const entry = this.entry(reviewId)
    this.reviews.delete(reviewId)
    this.changed.fire(this.list())
    await this.dispose(entry)
  }

  /** Every review, when the app stops; reviews still opening are closed once they are up. */
  async closeAll(): Promise<void> {
    this.closed = true
    await Promise.allSettled([...this.opening])
    const entries = [...this.reviews.values()]
    this.reviews.clear()
    await Promise.all(entries.map((entry) => this.dispose(entry)))
  }

  private async dispose(entry: OpenEntry): Promise<void> {
    try {
      await entry.server.close()
    } catch (error) {
      this.options.logger?.error({ err: error }, 'could not stop a review cleanly')
    } finally {
      entry.folder.remove()
      if (entry.ownsFile) await rm(entry.file, { force: true })
      this.options.logger?.info({ bundle: entry.review.info.bundle }, 'review closed')
    }
  }

  private entry(reviewId: string): OpenEntry {
    const entry = this.reviews.get(reviewId)
    if (!entry) throw new DomainError('not_found', `reviewId: no review ${reviewId} is open (it was closed)`, 'reviewId')
    return entry
  }

  private async importIntoWorkspace(file: string, name: string, onConflict: ConflictMode): Promise<ReviewImportResult> {
    const report = await new BundleImporter(this.options.workspace).import(file, { onConflict })
    report.file = name
    return {
      report: formatBundleImportReport(report),
      imported: report.runs.imported.length + report.runs.replaced.length + report.runs.copied.length,
      skipped: report.runs.skipped.length,
      problems: report.problems
    }
  }
}
