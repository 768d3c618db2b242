/**
 * What the charts show, in words: how many runs, and for grouped charts whose bands cover them —
 * every run for the step-axis panels (main aggregates them), the first `maxRuns` (all the
 * browser fetches) for the panels on another x axis (the browser aggregates those).
 */
export function chartsScope(scope: {
  /** Runs the browser draws at most (ExperimentCharts' MAX_CHART_RUNS). */
  maxRuns: number
  plotted: number
  candidates: number
  selected: boolean
  groupBy: string | null
  groups: number
  /** Panels drawn from the runs' own series (not main's aggregates). */
  browserPanels: number
  groupedError: string | null
}): string {
  const runs = (n: number) => `${n.toLocaleString('en-US')} ${scope.selected ? 'selected ' : ''}run${n === 1 ? '' : 's'}`
  if (scope.groupBy === null) return `${runs(scope.plotted)}${scope.candidates > scope.plotted ? ` (the first ${scope.maxRuns} of ${scope.candidates.toLocaleString('en-US')})` : ''}`
  const grouped = `${runs(scope.candidates)} in ${scope.groups} group${scope.groups === 1 ? '' : 's'} by ${scope.groupBy}`
  const partial = scope.candidates > scope.plotted
  if (scope.groupedError !== null) return `${grouped}; bands of the first ${scope.maxRuns} runs (main's could not be read: ${scope.groupedError})`
  if (scope.browserPanels > 0 && partial) return `${grouped}; on a time or metric x axis, bands of the first ${scope.maxRuns} runs`
  return grouped
}
