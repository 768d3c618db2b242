import { startCore, type Core } from '../core'
import { TerminalProgress } from '../bundle/progress'
import { MlflowImporter, type MlflowImportReport } from './mlflow-importer'
import { readMlflowSource } from './mlflow-import'

export function formatImportReport(report: MlflowImportReport): string {
  const { imported: i, skipped: s } = report
  const lines = [
    `${report.dryRun ? 'Would import' : 'Imported'} from ${report.source}:`,
    `  experiments      ${i.experiments}`,
    `  runs             ${i.runs}`,
    `  metric points    ${i.points}`,
    `  params           ${i.params}`,
    `  tags             ${i.tags}`,
    `  dataset inputs   ${i.datasetInputs}`,
    `  artifacts        ${i.artifacts}`,
    `  logged models    ${i.loggedModels}`,
    `  models           ${i.registeredModels}`,
    `  model versions   ${i.modelVersions}`,
    `  aliases          ${i.aliases}`,
    `Skipped (already here): ${s.experiments.length} experiments, ${s.runs.length} runs, ${s.loggedModels.length} logged models, ${s.registeredModels.length} models, ${s.modelVersions.length} model versions`
  ]
  if (report.duplicatePointsAbsorbed > 0) lines.push(`Exact duplicate points stored once: ${report.duplicatePointsAbsorbed}`)
  const kept = Object.entries(report.keptAsTags)
  if (kept.length > 0) lines.push('Kept as tags:', ...kept.map(([key, count]) => `  ${key} (${count})`))
  if (report.problems.length > 0) lines.push('Not imported:', ...report.problems.map((problem) => `  ${problem}`))
  return `${lines.join('\n')}\n`
}

export async function importMlflowCommand(options: {
  source: string
  dataDir: string
  databaseUrl?: string
  experiments?: string[]
  dryRun: boolean
  /** Where a database store's artifact folders are (see readMlflowSource). */
  artifactsDir?: string
  out: (text: string) => void
  /** On a terminal, progress is a bar with the ETA rewritten in place; otherwise (a pipe, a log) plain lines. */
  tty?: boolean
}): Promise<number> {
  const snapshot = await readMlflowSource(options.source, { artifactsDir: options.artifactsDir })
  options.out(`Read ${snapshot.kind} store ${snapshot.location}: ${snapshot.experiments.length} experiments, ${snapshot.experiments.reduce((n, e) => n + e.runs.length, 0)} runs, ${snapshot.registeredModels.length} registered models\n`)
  const core: Core = await startCore({ dataDir: options.dataDir, databaseUrl: options.databaseUrl, http: false, plugins: false }).catch(async (error: unknown) => {
    await snapshot.dispose?.()
    throw error
  })
  try {
    // On a terminal a bar with the ETA (points and runs done of all selected), rewritten in
    // place; otherwise (a pipe, a log) every progress line as it comes.
    const bar = new TerminalProgress(options.out, true)
    const report = await new MlflowImporter(core.services, core.mlflow).import(snapshot, {
      experiments: options.experiments,
      dryRun: options.dryRun,
      onProgress: options.tty ? undefined : (line) => options.out(`${line}\n`),
      onAdvance: options.tty ? (done, total, detail) => bar.update(done, total, detail) : undefined
    })
    if (options.tty) bar.finish()
    options.out(formatImportReport(report))
    return 0
  } finally {
    await core.close()
    await snapshot.dispose?.()
  }
}
