import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { startCore, type Core } from '../core'
import { describeUrl } from '../db/database-info'
import { verifyBundle } from './bundle-archive'
import { formatBundleImportReport, type CommandIo } from './bundle-commands'
import { BundleImporter, type ConflictMode } from './bundle-importer'
import { TerminalProgress } from './progress'
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
  const { header, manifest } = await verifyBundle(file, (read, total) => progress.update(read, total, 'checking every member against the manifest'))
  progress.finish()
  options.out(`Checked ${manifest.members.length} members of ${basename(file)} against its manifest\n`)

  const folder = mkdtempSync(join(tmpdir(), 'hypercube-review-'))
  // When root, the embedded server runs as another user that must reach the folder.
  chmodSync(folder, 0o755)
  let core: Core | undefined
  try {
    // The review's own embedded server: never a database named by the environment or settings,
    // which would be the user's workspace (startCore reads HYPERCUBE_DATABASE_URL when given no URL).
    const environmentUrl = process.env.HYPERCUBE_DATABASE_URL
    delete process.env.HYPERCUBE_DATABASE_URL
    try {
      const loading = await startCore({ dataDir: folder, http: false, plugins: false, healthCheckIntervalMs: false })
      try {
        const report = await new BundleImporter(loading.services).import(file, { progress })
        progress.finish()
        if (report.problems.length > 0) options.out(formatBundleImportReport(report))
      } finally {
        await loading.close()
      }
      const workspace = workspaceName(options.workspace)
      const session: ReviewSession = {
        info: {
          bundle: basename(file),
          createdAt: header.createdAt,
          experiments: header.experiments.map((experiment) => experiment.name),
          runs: header.totals.runs,
          points: header.totals.points,
          models: header.models,
          workspace
        },
        readOnlyMessage: `read-only: this is a review of the bundle ${basename(file)}, and nothing in it can be changed here. "Import into my workspace" copies it into your workspace, where you can work on it`,
        importIntoWorkspace: (onConflict) => importIntoWorkspace(file, options.workspace, onConflict, environmentUrl)
      }
      core = await startCore({ dataDir: folder, http: { port: options.http.port, host: options.http.host }, healthCheckIntervalMs: false, review: session })
    } finally {
      if (environmentUrl !== undefined) process.env.HYPERCUBE_DATABASE_URL = environmentUrl
    }
    options.out(`Reviewing bundle ${basename(file)} — read-only (${header.totals.runs} runs, ${header.totals.points.toLocaleString('en-US')} metric points, ${header.models.length} models; nothing here can be changed)\n`)
    options.out(`"Import into my workspace" (in the app) copies it into ${workspaceName(options.workspace)}; or run: hypercube import ${file}\n`)
    if (core.ui) options.out(`UI: ${core.ui.loginUrl()}\n`)
    options.onReady?.(core, folder)
    const signal = await options.stopped
    options.out(`Review stopping (${signal})…\n`)
    return 0
  } finally {
    await core?.close()
    rmSync(folder, { recursive: true, force: true })
  }
}

function workspaceName(workspace: { dataDir: string; databaseUrl?: string }): string {
  return workspace.databaseUrl ? `the database ${describeUrl(workspace.databaseUrl)} (data folder ${workspace.dataDir})` : `the data folder ${workspace.dataDir}`
}

async function importIntoWorkspace(file: string, workspace: { dataDir: string; databaseUrl?: string }, onConflict: ConflictMode, environmentUrl: string | undefined) {
  const core = await startCore({ dataDir: workspace.dataDir, databaseUrl: workspace.databaseUrl ?? environmentUrl, http: false, plugins: false, healthCheckIntervalMs: false })
  try {
    const report = await new BundleImporter(core.services).import(file, { onConflict })
    return {
      report: formatBundleImportReport(report),
      imported: report.runs.imported.length + report.runs.replaced.length + report.runs.copied.length,
      skipped: report.runs.skipped.length,
      problems: report.problems
    }
  } finally {
    await core.close()
  }
}
