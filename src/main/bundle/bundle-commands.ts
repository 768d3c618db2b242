import { existsSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { startCore, type Core } from '../core'
import { BundleExporter, type ExportResult, type ExportSelection } from './bundle-exporter'
import { BundleImporter, type ConflictMode } from './bundle-importer'
import { formatBundleImportReport } from './bundle-report'
import { exportThroughApp, importThroughApp, runningAppOn } from './bundle-remote'
import { formatBytes, TerminalProgress } from './progress'

/**
 * `hypercube export` and `hypercube import`: the same core as `serve` (on the app's data folder,
 * or --data-dir / --database-url), without its HTTP server or plugins — or, when the app is
 * running on that folder, the running app itself, through its API (bundle-remote.ts).
 */

export interface CommandIo {
  out: (text: string) => void
  /** On a terminal, progress is a bar with an ETA; otherwise plain lines. */
  tty: boolean
}

export interface StoreOptions {
  dataDir: string
  databaseUrl?: string
}

async function withCore<T>(store: StoreOptions, work: (core: Core) => Promise<T>): Promise<T> {
  const core = await startCore({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, http: false, plugins: false, healthCheckIntervalMs: false })
  try {
    return await work(core)
  } finally {
    await core.close()
  }
}

export async function exportCommand(options: StoreOptions & CommandIo & { selection: ExportSelection; output: string }): Promise<number> {
  const output = resolve(options.output)
  if (!existsSync(dirname(output)) || !statSync(dirname(output)).isDirectory()) throw new Error(`-o ${options.output}: the folder ${dirname(output)} does not exist`)
  if (existsSync(output) && statSync(output).isDirectory()) throw new Error(`-o ${options.output}: is a folder; name the bundle file to write`)
  const app = options.databaseUrl ? null : runningAppOn(options.dataDir)
  if (app) {
    const progress = new TerminalProgress(options.out, options.tty)
    const started = Date.now()
    const result = await exportThroughApp(app, options.selection, output, progress)
    progress.finish()
    reportExport(options, { ...result, path: output }, (Date.now() - started) / 1000)
    return 0
  }
  return withCore(options, async (core) => {
    const exporter = new BundleExporter(core.services, core.mlflow)
    const plan = await exporter.plan(options.selection)
    options.out(`Exporting ${BundleExporter.describe(plan)}\n`)
    const progress = new TerminalProgress(options.out, options.tty)
    const started = Date.now()
    const result = await exporter.write(plan, output, progress)
    reportExport(options, result, (Date.now() - started) / 1000)
    return 0
  })
}

function reportExport(io: CommandIo, result: ExportResult, seconds: number): void {
  const perPoint = result.points > 0 ? ` (${((result.bytes - result.artifactBytes) / result.points).toFixed(2)} bytes per point without artifacts)` : ''
  io.out(
    `Wrote ${result.path}: ${formatBytes(result.bytes)}${perPoint}, ${result.members} members — ${result.runs} runs, ${result.points.toLocaleString('en-US')} metric points, ${result.artifactFiles} artifact files, ${result.models} models, in ${seconds.toFixed(1)} s\n`
  )
  for (const problem of result.problems) io.out(`  not exported: ${problem}\n`)
}

// The report's text lives beside the importer's types so the review host (which the core builds) can use it without importing the CLI's core start-up.
export { formatBundleImportReport } from './bundle-report'

export async function importCommand(options: StoreOptions & CommandIo & { file: string; onConflict: ConflictMode }): Promise<number> {
  const file = resolve(options.file)
  if (!existsSync(file)) throw new Error(`${options.file}: no such file`)
  const app = options.databaseUrl ? null : runningAppOn(options.dataDir)
  if (app) {
    const progress = new TerminalProgress(options.out, options.tty)
    const report = await importThroughApp(app, file, options.onConflict, progress)
    progress.finish()
    options.out(formatBundleImportReport(report))
    return report.problems.length > 0 ? 1 : 0
  }
  return withCore(options, async (core) => {
    const progress = new TerminalProgress(options.out, options.tty)
    const report = await new BundleImporter(core.services).import(file, {
      onConflict: options.onConflict,
      progress,
      onVerified: ({ header, manifest }) =>
        progress.line(
          `Checked ${manifest.members.length} members against the manifest: ${header.totals.runs} runs, ${header.totals.points.toLocaleString('en-US')} metric points, ${header.totals.artifactFiles} artifact files, ${header.models.length} models`
        )
    })
    progress.finish()
    options.out(formatBundleImportReport(report))
    return report.problems.length > 0 ? 1 : 0
  })
}
