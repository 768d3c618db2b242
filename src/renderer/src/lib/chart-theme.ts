/**
 * The colours charts drawn in code use for their axes, grid and text: the theme's CSS
 * variables (styles.css, --chart-*), read when a chart is built. Charts are rebuilt when the
 * theme changes (their effects depend on it), so a canvas never keeps the other theme's colours.
 */
export interface ChartColors {
  text: string
  axis: string
  grid: string
}

const FALLBACK: ChartColors = { text: '#1c2430', axis: '#667085', grid: '#ededed' }

export function chartColors(): ChartColors {
  // Through globalThis: lib/ is also compiled for Node (unit tests), without the DOM.
  const { document, getComputedStyle } = globalThis as unknown as {
    document?: { documentElement: unknown }
    getComputedStyle?: (element: unknown) => { getPropertyValue: (name: string) => string }
  }
  if (!document || !getComputedStyle) return FALLBACK
  const style = getComputedStyle(document.documentElement)
  const read = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback
  return { text: read('--chart-text', FALLBACK.text), axis: read('--chart-axis', FALLBACK.axis), grid: read('--chart-grid', FALLBACK.grid) }
}

/** uPlot axis options in the theme's colours: labels and tick values in the text colour, grid and ticks in the grid colour. */
export function themedAxis<T extends object>(axis: T, colors: ChartColors): T & { stroke: string; grid: { stroke: string; width: number }; ticks: { stroke: string; width: number } } {
  return { ...axis, stroke: colors.text, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 } }
}
