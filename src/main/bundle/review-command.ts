import { basename, resolve } from 'node:path'
import { startCore, type Core } from '../core'
import { describeUrl } from '../db/database-info'
import { formatBundleImportReport, type CommandIo } from './bundle-commands'
import { BundleImporter, type BundleImportReport, type ConflictMode } from './bundle-importer'
import { importThroughApp, runningAppOn } from './bundle-remote'
import { silentProgress, TerminalProgress } from './progress'
import { loadReviewFolder, reviewInfo, reviewReadOnlyMessage } from './review-folder'
import type { ReviewSession } from './review-session'

/**
 * `hypercube review FILE`: opens a bundle read-only without touching the workspace. The bundle
 * is imported (through the services, as any import) into a throwaway data folder with its own
 * embedded PostgreSQL, and that folder is served with every write refused (read_only) and a
 * banner saying what it is. "Import into my workspace" then runs the normal import into the
 * user's data folder or database. The throwaway folder is removed when the review stops.
 */

export interface ReviewOptions extends CommandIo {
  file: string
  /** The workspace "Import into my workspace" writes to. */
  workspace: { dataDir: string; databaseUrl?: string }
  http: { port?: number; host?: string }
  /** Resolves when the review should stop (a signal); the command then closes and cleans up. */
  stopped: Promise<string>
  /** Called once the review is served (tests reach its core through this). */
  onReady?: (core: Core, folder: string) => void
}

export async function reviewCommand(options: ReviewOptions): Promise<number> {
  const file = resolve(options.file)
  const progress = new TerminalProgress(options.out, options.tty)
  // The review's own embedded server (embeddedDatabase): never a database named by the
  // environment or settings, which would be the user's workspace.
  const loaded = await loadReviewFolder(file, (dataDir) => startCore({ dataDir, embeddedDatabase: true, http: false, plugins: false, healthCheckIntervalMs: false }), progress)
  const { verified, folder } = loaded
  const { header, manifest } = verified
  let core: Core | undefined
  try {
    options.out(`Checked ${manifest.members.length} members of ${basename(file)} against its manifest\n`)
    if (loaded.report.problems.length > 0) options.out(formatBundleImportReport(loaded.report))
    const workspace = workspaceName(options.workspace)
    const session: ReviewSession = {
      // Not closable from its window: the terminal that started it stops it (Ctrl+C), as it always has.
      info: reviewInfo(basename(file), verified, workspace, false),
      readOnlyMessage: reviewReadOnlyMessage(basename(file)),
      importIntoWorkspace: (onConflict) => importIntoWorkspace(file, options.workspace, onConflict)
    }
    core = await startCore({ dataDir: folder, embeddedDatabase: true, http: { port: options.http.port, host: options.http.host }, healthCheckIntervalMs: false, review: session })
    options.out(`Reviewing bundle ${basename(file)} — read-only (${header.totals.runs} runs, ${header.totals.points.toLocaleString('en-US')} metric points, ${header.models.length} models; nothing here can be changed)\n`)
    options.out(`"Import into my workspace" (in the app) copies it into ${workspaceName(options.workspace)}; or run: hypercube import ${file}\n`)
    if (core.ui) options.out(`UI: ${core.ui.loginUrl()}\n`)
    options.onReady?.(core, folder)
    const signal = await options.stopped
    options.out(`Review stopping (${signal})…\n`)
    return 0
  } finally {
    await core?.close()
    loaded.remove()
  }
}

function workspaceName(workspace: { dataDir: string; databaseUrl?: string }): string {
  return workspace.databaseUrl ? `the database ${describeUrl(workspace.databaseUrl)} (data folder ${workspace.dataDir})` : `the data folder ${workspace.dataDir}`
}

async function importIntoWorkspace(file: string, workspace: { dataDir: string; databaseUrl?: string }, onConflict: ConflictMode) {
  const summary = (report: BundleImportReport) => ({
    report: formatBundleImportReport(report),
    imported: report.runs.imported.length + report.runs.replaced.length + report.runs.copied.length,
    skipped: report.runs.skipped.length,
    problems: report.problems
  })
  // The app running on the workspace holds it locked: the import goes through that app's API.
  const app = workspace.databaseUrl ? null : runningAppOn(workspace.dataDir)
  if (app) return summary(await importThroughApp(app, file, onConflict, silentProgress))
  // The workspace as the user names it: --database-url, else HYPERCUBE_DATABASE_URL or its settings, as `serve` would.
  const core = await startCore({ dataDir: workspace.dataDir, databaseUrl: workspace.databaseUrl, http: false, plugins: false, healthCheckIntervalMs: false })
  try {
    return summary(await new BundleImporter(core.services).import(file, { onConflict }))
  } finally {
    await core.close()
  }
}
