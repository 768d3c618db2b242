import type { BundleImportReport } from './bundle-importer'
import { formatBytes } from './progress'

/** An import's report as text: what `hypercube import` prints and a review's "Import into my workspace" shows. */
export function formatBundleImportReport(report: BundleImportReport): string {
  const r = report.runs
  const lines = [
    `Imported from ${report.file}:`,
    `  experiments      ${report.experiments.created.length} created, ${report.experiments.existing.length} already here`,
    `  runs             ${r.imported.length} imported, ${r.replaced.length} replaced, ${r.copied.length} kept both, ${r.skipped.length} skipped`,
    `  metric points    ${report.points}`,
    `  checkpoints      ${report.checkpoints}`,
    `  artifacts        ${report.artifacts.files} files (${formatBytes(report.artifacts.bytes)}), ${report.artifacts.byUri} by URI${report.artifacts.notInBundle > 0 ? `, ${report.artifacts.notInBundle} recorded but not in the bundle` : ''}`,
    `  models           ${report.models.created.length} created, ${report.models.existing.length} already here`,
    `  model versions   ${report.versions.created.length} created, ${report.versions.skipped.length} already here`,
    `  deployment events ${report.deploymentEvents}`,
    `  aliases          ${report.aliases}`
  ]
  if (r.skipped.length > 0 && report.onConflict === 'skip') {
    lines.push(
      `Conflict: ${r.skipped.length} run(s) of the bundle are already here (same uuid) and were skipped: ${r.skipped.slice(0, 5).join(', ')}${r.skipped.length > 5 ? ', …' : ''}`,
      '  --on-conflict keep-both imports them as new runs beside these; --on-conflict replace replaces these with the bundle\'s'
    )
  }
  for (const copy of r.copied) lines.push(`  run ${copy.from} is here already: the bundle's run came in as ${copy.to}`)
  if (report.problems.length > 0) lines.push('Not imported:', ...report.problems.map((problem) => `  ${problem}`))
  return `${lines.join('\n')}\n`
}
